use sea_orm::entity::prelude::*;

/// A member's role in a workspace, highest first. Stored as text so both backends agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    #[sea_orm(string_value = "OWNER")]
    Owner,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "MEMBER")]
    Member,
    #[sea_orm(string_value = "GUEST")]
    Guest,
}

impl Role {
    /// Higher ranks manage lower ones: OWNER 3 > ADMIN 2 > MEMBER 1 > GUEST 0.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Member => 1,
            Role::Guest => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MembershipStatus {
    #[sea_orm(string_value = "INVITED")]
    Invited,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "DEACTIVATED")]
    Deactivated,
}

/// A person signs in; a system principal only owns what is reattributed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum UserKind {
    #[sea_orm(string_value = "PERSON")]
    Person,
    #[sea_orm(string_value = "SYSTEM")]
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OutboxStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "QUEUED")]
    Queued,
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    #[sea_orm(string_value = "FAILED")]
    Failed,
    #[sea_orm(string_value = "DEAD")]
    Dead,
}

/// What an audit entry records. Stored as its snake_case name, which is also what the entries'
/// readers (the API's `auditLog`, an operator's SQL) see and filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(64))")]
pub enum AuditAction {
    #[sea_orm(string_value = "team_membership_invite")]
    TeamMembershipInvite,
    #[sea_orm(string_value = "team_membership_join")]
    TeamMembershipJoin,
    #[sea_orm(string_value = "team_membership_role_change")]
    TeamMembershipRoleChange,
    #[sea_orm(string_value = "team_membership_deactivate")]
    TeamMembershipDeactivate,
    #[sea_orm(string_value = "team_membership_reactivate")]
    TeamMembershipReactivate,
    #[sea_orm(string_value = "team_membership_remove")]
    TeamMembershipRemove,
    #[sea_orm(string_value = "team_membership_restore")]
    TeamMembershipRestore,
    #[sea_orm(string_value = "invitation_resend")]
    InvitationResend,
    #[sea_orm(string_value = "invitation_revoke")]
    InvitationRevoke,
    #[sea_orm(string_value = "api_key_create")]
    ApiKeyCreate,
    #[sea_orm(string_value = "api_key_revoke")]
    ApiKeyRevoke,
    #[sea_orm(string_value = "sessions_end")]
    SessionsEnd,
    #[sea_orm(string_value = "campaigns_reattribute")]
    CampaignsReattribute,
    #[sea_orm(string_value = "contacts_reassign")]
    ContactsReassign,
    #[sea_orm(string_value = "ownership_transfer")]
    OwnershipTransfer,
    #[sea_orm(string_value = "seat_limit_change")]
    SeatLimitChange,
    #[sea_orm(string_value = "job_retry")]
    JobRetry,
    #[sea_orm(string_value = "workspace_create")]
    WorkspaceCreate,
    #[sea_orm(string_value = "workspace_rename")]
    WorkspaceRename,
    #[sea_orm(string_value = "scim_token_create")]
    ScimTokenCreate,
    #[sea_orm(string_value = "scim_token_revoke")]
    ScimTokenRevoke,
    #[sea_orm(string_value = "team_membership_provision")]
    TeamMembershipProvision,
    #[sea_orm(string_value = "person_update")]
    PersonUpdate,
    #[sea_orm(string_value = "idp_removal_wait")]
    IdpRemovalWait,
    #[sea_orm(string_value = "group_create")]
    GroupCreate,
    #[sea_orm(string_value = "group_rename")]
    GroupRename,
    #[sea_orm(string_value = "group_delete")]
    GroupDelete,
    #[sea_orm(string_value = "group_members_change")]
    GroupMembersChange,
}

/// What made an `offboarding` row, the record that groups one call's side effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum OffboardingKind {
    /// `removeMembers`.
    #[sea_orm(string_value = "remove_members")]
    RemoveMembers,
    /// `deactivateUser`.
    #[sea_orm(string_value = "deactivate_user")]
    DeactivateUser,
    /// An invitation's email, which `inviteMember` and `resendInvitation` send: no one leaves,
    /// but the email is a side effect carried out, retried and followed like a removal's.
    #[sea_orm(string_value = "invitation_email")]
    InvitationEmail,
}
