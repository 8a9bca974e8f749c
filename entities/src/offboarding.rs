use crate::{OffboardingKind, UserId, WorkspaceId};
use sea_orm::entity::prelude::*;

/// One per mutation call that has side effects; groups its outbox rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offboarding")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    pub actor_user_id: Option<UserId>,
    pub actor_api_key_id: Option<Uuid>,
    /// The SCIM token that acted, when an identity provider did.
    pub actor_scim_token_id: Option<Uuid>,
    pub kind: OffboardingKind,
    pub created_at: DateTimeUtc,
    /// The `x-request-id` of the mutation, which its jobs' audit entries carry too.
    pub request_id: Option<String>,
    /// The W3C `traceparent` of the mutation, when it was traced: its jobs' spans continue it.
    pub trace_parent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
