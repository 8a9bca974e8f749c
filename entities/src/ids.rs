//! Ids that say what they identify. A `WorkspaceId` can't be passed where a `UserId` is due,
//! so two adjacent ids can't be swapped. The entities' columns have these types, so an id read
//! from the database keeps its kind. In the database and in JSON they are plain UUIDs; the API's
//! GraphQL layer makes each the schema's `UUID` scalar.

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
}
