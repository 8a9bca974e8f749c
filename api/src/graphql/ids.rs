//! The schema's ids: each is the `UUID` scalar, typed as the entity id it names, so an input's
//! ids keep their kind from the moment GraphQL parses them (every UUID is a well-formed id:
//! whether it names anything is the rules' question). The entities' typed ids know nothing of
//! GraphQL, so the scalar is implemented on this wrapper ([`UserId`] is
//! `Id<entities::UserId>`), which hands the entity's id on with `into()`.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    ContextSelectionSet, InputType, InputValueError, InputValueResult, OutputType, Positioned,
    ServerResult, Value,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An entity's typed id as the schema's `UUID` scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id<T>(T);

pub type UserId = Id<entities::UserId>;
pub type WorkspaceId = Id<entities::WorkspaceId>;
pub type OrganizationId = Id<entities::OrganizationId>;

impl<T> From<T> for Id<T> {
    fn from(id: T) -> Self {
        Id(id)
    }
}

/// An entity id that is a UUID underneath.
pub trait EntityId: Copy + Send + Sync + 'static + From<Uuid> + Into<Uuid> {}

macro_rules! entity_ids {
    ($($id:ident),*) => {
        $(
            impl EntityId for entities::$id {}

            impl From<Id<entities::$id>> for entities::$id {
                fn from(id: Id<entities::$id>) -> Self {
                    id.0
                }
            }
        )*
    };
}

entity_ids!(UserId, WorkspaceId, OrganizationId);

impl<T: EntityId> InputType for Id<T> {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        <Uuid as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Uuid as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        <Uuid as InputType>::parse(value)
            .map(|uuid| Id(T::from(uuid)))
            .map_err(InputValueError::propagate)
    }

    fn to_value(&self) -> Value {
        InputType::to_value(&self.0.into())
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }
}

impl<T: EntityId> OutputType for Id<T> {
    fn type_name() -> Cow<'static, str> {
        <Uuid as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Uuid as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let uuid: Uuid = self.0.into();
        OutputType::resolve(&uuid, ctx, field).await
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{InputType, Pos};

    use super::*;

    #[test]
    fn an_id_is_the_uuid_scalar_and_parses_as_one() {
        assert_eq!(<UserId as InputType>::type_name(), "UUID");
        let uuid = Uuid::now_v7();
        let parsed = <WorkspaceId as InputType>::parse(Some(Value::String(uuid.to_string())))
            .expect("a UUID parses");
        assert_eq!(
            entities::WorkspaceId::from(parsed),
            entities::WorkspaceId(uuid)
        );
        assert_eq!(
            InputType::to_value(&parsed),
            Value::String(uuid.to_string())
        );
        let refused = <UserId as InputType>::parse(Some(Value::String("not-a-uuid".into())))
            .expect_err("not a UUID");
        assert!(!refused.into_server_error(Pos::default()).message.is_empty());
        assert_eq!(
            serde_json::to_value(parsed).unwrap(),
            serde_json::json!(uuid.to_string())
        );
    }
}
