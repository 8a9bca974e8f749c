//! Free-text arguments are GraphQL `String`s parsed into the checked types of [`crate::text`]:
//! a string that breaks its kind's rule never reaches a resolver. The refusal is
//! BAD_USER_INPUT, its message and `extensions.field` naming the field.

use std::borrow::Cow;

use async_graphql::registry::Registry;
use async_graphql::{InputType, InputValueError, InputValueResult, OutputType, Value};

use crate::text::{
    ApiKeyName, AuditAction, CheckedText, CursorText, Email, IdempotencyKeyText, InvitationToken,
    InviteeEmail, Password, PersonName, Reason, SearchText, TextError, WorkspaceSlug,
};

fn refuse<T: InputType>(error: TextError) -> InputValueError<T> {
    InputValueError::custom(&error).with_extension("field", error.field)
}

fn string(value: Option<Value>) -> InputValueResult<String> {
    match value.unwrap_or_default() {
        Value::String(text) => Ok(text),
        other => Err(InputValueError::expected_type(other)),
    }
}

macro_rules! string_input {
    ($($ty:ty => $parse:expr;)*) => {
        $(
            impl InputType for $ty {
                type RawValueType = Self;

                fn type_name() -> Cow<'static, str> {
                    Cow::Borrowed("String")
                }

                fn create_type_info(registry: &mut Registry) -> String {
                    <String as OutputType>::create_type_info(registry)
                }

                fn parse(value: Option<Value>) -> InputValueResult<Self> {
                    let text = string(value).map_err(InputValueError::propagate)?;
                    ($parse)(text.as_str()).map_err(refuse)
                }

                fn to_value(&self) -> Value {
                    Value::String(self.as_str().to_owned())
                }

                fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                    Some(self)
                }
            }
        )*
    };
    // The kinds of `crate::text` that follow a `TextRule`.
    (checked: $($ty:ident),* $(,)?) => {
        string_input! { $($ty => <$ty as CheckedText>::parse;)* }
    };
}

string_input! {
    checked: PersonName, ApiKeyName, Reason, SearchText, IdempotencyKeyText, AuditAction, Password,
    InvitationToken, CursorText, WorkspaceSlug,
}

string_input! {
    Email => str::parse::<Email>;
    InviteeEmail => str::parse::<InviteeEmail>;
}
