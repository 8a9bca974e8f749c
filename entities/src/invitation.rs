use sea_orm::entity::prelude::*;

use crate::{Role, UserId, WorkspaceId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    /// The INVITED membership this invitation activates.
    pub membership_id: Uuid,
    pub email: String,
    pub role: Role,
    /// The hash of the link `inviteMember` (or `resendInvitation`) answered to its caller. The
    /// emails' links are in `invitation_email_link`.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub invited_by: Option<UserId>,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
