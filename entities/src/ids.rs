//! Ids that say what they identify. A `WorkspaceId` can't be passed where a `UserId` is due,
//! so two adjacent ids can't be swapped. The entities' columns have these types, so an id read
//! from the database keeps its kind. With the `graphql` feature (the api's) each is the schema's
//! `UUID` scalar too, so an input's ids are typed where GraphQL parses them (every UUID is a
//! well-formed id: whether it names anything is the domain's question) and the schema is the
//! same as with plain UUIDs. In the database they are plain UUIDs.

use std::fmt;

use uuid::Uuid;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            sea_orm::DeriveValueType,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id (UUID v7, ordered by time), for a row about to be inserted.
            pub fn fresh() -> Self {
                $name(Uuid::now_v7())
            }
        }

        /// Never called for these keys (they are not auto-incremented), but SeaORM asks
        /// every primary key type for it.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(n: u64) -> Result<Self, sea_orm::DbErr> {
                <Uuid as sea_orm::TryFromU64>::try_from_u64(n).map($name)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl PartialEq<Uuid> for $name {
            fn eq(&self, other: &Uuid) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for Uuid {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        #[cfg(feature = "graphql")]
        impl async_graphql::InputType for $name {
            type RawValueType = Self;

            fn type_name() -> std::borrow::Cow<'static, str> {
                <Uuid as async_graphql::InputType>::type_name()
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                <Uuid as async_graphql::InputType>::create_type_info(registry)
            }

            fn parse(value: Option<async_graphql::Value>) -> async_graphql::InputValueResult<Self> {
                <Uuid as async_graphql::InputType>::parse(value)
                    .map($name)
                    .map_err(async_graphql::InputValueError::propagate)
            }

            fn to_value(&self) -> async_graphql::Value {
                async_graphql::InputType::to_value(&self.0)
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }
        }

        #[cfg(feature = "graphql")]
        impl async_graphql::OutputType for $name {
            fn type_name() -> std::borrow::Cow<'static, str> {
                <Uuid as async_graphql::OutputType>::type_name()
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                <Uuid as async_graphql::OutputType>::create_type_info(registry)
            }

            fn resolve(
                &self,
                ctx: &async_graphql::ContextSelectionSet<'_>,
                field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
            ) -> impl Future<Output = async_graphql::ServerResult<async_graphql::Value>> + Send {
                async_graphql::OutputType::resolve(&self.0, ctx, field)
            }
        }
    };
}

id!(
    /// A person (`user.id`), in any workspace.
    UserId
);
id!(
    /// A workspace (`workspace.id`).
    WorkspaceId
);
id!(
    /// An organization (`organization.id`), whose seats its workspaces share.
    OrganizationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_uuid_in_json_and_in_text() {
        let id = UserId::fresh();
        assert_eq!(
            serde_json::to_value(id).unwrap(),
            serde_json::json!(id.0.to_string())
        );
        assert_eq!(id.to_string(), id.0.to_string());
        assert_eq!(
            serde_json::from_value::<UserId>(serde_json::to_value(id.0).unwrap()).unwrap(),
            id
        );
    }

    #[cfg(feature = "graphql")]
    #[test]
    fn in_graphql_an_id_is_the_uuid_scalar_and_parses_as_one() {
        use async_graphql::{InputType, Pos, Value};

        assert_eq!(<UserId as InputType>::type_name(), "UUID");
        let id = UserId::fresh();
        assert_eq!(
            UserId::parse(Some(Value::String(id.to_string()))).unwrap(),
            id
        );
        assert_eq!(InputType::to_value(&id), Value::String(id.to_string()));
        let refused = UserId::parse(Some(Value::String("not-a-uuid".into())))
            .unwrap_err()
            .into_server_error(Pos::default());
        let as_uuid = <Uuid as InputType>::parse(Some(Value::String("not-a-uuid".into())))
            .unwrap_err()
            .into_server_error(Pos::default());
        assert_eq!(
            refused.message, as_uuid.message,
            "the same message as a UUID's"
        );
    }
}
