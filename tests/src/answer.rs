//! A GraphQL answer as the tests read it: JSON in which a field that isn't there is a failure.
//!
//! `serde_json::Value` reads a missing field as `null`, so a test that misspells a field, or
//! reads one its query never asked for, sees `null` and an `is_null()` assertion passes. An
//! [`Answer`] panics instead, naming the field and showing the JSON: only a field the server
//! sent is read, and `null` means the server said null.

use std::fmt;
use std::ops::{Deref, Index};

use bytemuck::TransparentWrapper;
use ref_cast::RefCast;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, RefCast, TransparentWrapper, Serialize, Deserialize)]
#[repr(transparent)]
#[serde(transparent)]
pub struct Answer(Value);

impl Answer {
    pub fn new(value: Value) -> Answer {
        Answer(value)
    }

    pub fn into_value(self) -> Value {
        self.0
    }

    /// The field, if the server sent it (`null` included).
    pub fn get(&self, key: &str) -> Option<&Answer> {
        self.0.get(key).map(Answer::ref_cast)
    }

    /// Whether the answer carries errors: an `errors` list that is there and not empty.
    pub fn has_errors(&self) -> bool {
        self.0
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|errors| !errors.is_empty())
    }

    /// No `data`, or no value for this top-level field: the operation did not run.
    pub fn did_not_run(&self, field: &str) -> bool {
        self.0
            .get("data")
            .is_none_or(|data| data.is_null() || data.get(field).is_none_or(Value::is_null))
    }

    /// The items of a list, each read as strictly as the answer itself.
    pub fn as_array(&self) -> Option<&[Answer]> {
        // `Answer` is `#[repr(transparent)]` over `Value`: bytemuck checks that and casts the slice.
        self.0
            .as_array()
            .map(|items| Answer::wrap_slice(items.as_slice()))
    }

    /// The items of a list that must be there.
    pub fn items(&self) -> &[Answer] {
        self.as_array()
            .unwrap_or_else(|| panic!("expected a list: {self}"))
    }
}

impl Deref for Answer {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0
    }
}

impl Index<&str> for Answer {
    type Output = Answer;

    fn index(&self, key: &str) -> &Answer {
        let Some(object) = self.0.as_object() else {
            panic!("field {key:?} read from something that isn't an object: {self}");
        };
        match object.get(key) {
            Some(value) => Answer::ref_cast(value),
            None => panic!("the answer has no field {key:?}: {self}"),
        }
    }
}

impl Index<usize> for Answer {
    type Output = Answer;

    fn index(&self, index: usize) -> &Answer {
        match self.0.as_array().map(|items| items.get(index)) {
            Some(Some(value)) => Answer::ref_cast(value),
            Some(None) => panic!("the list has no item {index}: {self}"),
            None => panic!("item {index} read from something that isn't a list: {self}"),
        }
    }
}

impl<T> PartialEq<T> for Answer
where
    Value: PartialEq<T>,
{
    fn eq(&self, other: &T) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Answer> for Value {
    fn eq(&self, other: &Answer) -> bool {
        *self == other.0
    }
}

impl From<Answer> for Value {
    fn from(answer: Answer) -> Value {
        answer.0
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
