//! Free-text arguments are GraphQL `String`s parsed into the checked types of [`rules::text`]:
//! a string that breaks its kind's rule never reaches a resolver. The refusal is
//! BAD_USER_INPUT, its message and `extensions.field` naming the field as the schema spells it.
//!
//! Each kind is used here under its own name ([`PersonName`] is `Text<rules::text::PersonName>`):
//! the rules know no GraphQL, so the input trait is implemented on this wrapper, which hands a
//! resolver the rule's type by reference (`Deref`) or by value ([`Text::into_inner`]).

use std::borrow::Cow;
use std::ops::Deref;

use async_graphql::registry::Registry;
use async_graphql::{InputType, InputValueError, InputValueResult, OutputType, Value};

use crate::graphql::types::field_refusal;
use rules::organizations::slugs::Slug;
use rules::text::{self as checked, CheckedText, TextError};

/// A text of one of the rules' kinds, as a GraphQL `String` input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Text<T>(T);

impl<T> Text<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Text<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// A kind of text the rules check, and how it reads back.
pub trait TextKind: Sized + Send + Sync + 'static {
    fn parse_text(text: &str) -> Result<Self, TextError>;
    fn text(&self) -> &str;
}

fn refuse<T: InputType>(error: TextError) -> InputValueError<T> {
    let (field, message) = field_refusal(error.field, &error.problem);
    InputValueError::custom(message).with_extension("field", field)
}

fn string(value: Option<Value>) -> InputValueResult<String> {
    match value.unwrap_or_default() {
        Value::String(text) => Ok(text),
        other => Err(InputValueError::expected_type(other)),
    }
}

impl<T: TextKind> InputType for Text<T> {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed("String")
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <String as OutputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        let text = string(value).map_err(InputValueError::propagate)?;
        T::parse_text(text.as_str()).map(Text).map_err(refuse)
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.text().to_owned())
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

macro_rules! text_kinds {
    ($($ty:ident => $parse:expr;)*) => {
        $(
            impl TextKind for checked::$ty {
                fn parse_text(text: &str) -> Result<Self, TextError> {
                    ($parse)(text)
                }

                fn text(&self) -> &str {
                    self.as_str()
                }
            }

            pub type $ty = Text<checked::$ty>;
        )*
    };
    // The kinds that follow a `TextRule`.
    (checked: $($ty:ident),* $(,)?) => {
        text_kinds! { $($ty => <checked::$ty as CheckedText>::parse;)* }
    };
}

text_kinds! {
    checked: PersonName, ApiKeyName, Reason, SearchText, IdempotencyKeyText, Password,
    InvitationToken, CursorText, WorkspaceSlug, WorkspaceName, ScimTokenName,
}

impl TextKind for Slug {
    fn parse_text(text: &str) -> Result<Self, TextError> {
        Slug::parse(text).map_err(|problem| TextError {
            field: "slug",
            problem,
        })
    }

    fn text(&self) -> &str {
        self.as_str()
    }
}

/// A new workspace's slug, in the form [`Slug::parse`] checks.
pub type NewWorkspaceSlug = Text<Slug>;

text_kinds! {
    Email => str::parse::<checked::Email>;
    InviteeEmail => str::parse::<checked::InviteeEmail>;
}
