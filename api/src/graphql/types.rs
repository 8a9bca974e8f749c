//! GraphQL types, kept apart from the entity models they are built from.

use crate::graphql::ids::{OrganizationId, UserId, WorkspaceId};
use async_graphql::{
    Enum, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::{DateTime, Utc};
use entities::{api_key, user, user_group, workspace};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use rules::error::RuleError;
use rules::error::UserError as RuleUserError;
use rules::people::guards::Candidate;
use rules::people::members::{MemberRow, groups_of};
use sea_orm::ConnectionTrait;

/// A JSON value of the API's own, so its scalar can say what it is and where it is specified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json(pub serde_json::Value);

/// Any JSON value, sent as is (used for an audit entry's `metadata`, whose keys depend on its
/// `action`). Map it to `unknown` or a JSON type in generated clients.
#[Scalar(
    name = "JSON",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc8259"
)]
impl ScalarType for Json {
    fn parse(value: Value) -> InputValueResult<Self> {
        value
            .into_json()
            .map(Json)
            .map_err(|error| InputValueError::custom(error.to_string()))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "Role")]
pub enum RoleValue {
    Owner,
    Admin,
    Member,
    Guest,
}

impl From<entities::Role> for RoleValue {
    fn from(role: entities::Role) -> Self {
        match role {
            entities::Role::Owner => RoleValue::Owner,
            entities::Role::Admin => RoleValue::Admin,
            entities::Role::Member => RoleValue::Member,
            entities::Role::Guest => RoleValue::Guest,
        }
    }
}

impl From<RoleValue> for entities::Role {
    fn from(role: RoleValue) -> Self {
        match role {
            RoleValue::Owner => entities::Role::Owner,
            RoleValue::Admin => entities::Role::Admin,
            RoleValue::Member => entities::Role::Member,
            RoleValue::Guest => entities::Role::Guest,
        }
    }
}

/// What a role lets its holder do.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Permission", remote = "rules::access::Permission")]
pub enum PermissionValue {
    /// Invite, remove, deactivate and reactivate members; reassign their duties.
    UserManagement,
    /// Create API keys.
    ApiKeyManagement,
    /// List the workspace's members.
    ViewMembers,
}

/// Why a mutation was refused. Documented in README.md ("Error codes").
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "UserErrorCode", remote = "rules::UserErrorCode")]
pub enum UserErrorCode {
    /// Wrong email or password; the same answer whether or not the email exists.
    InvalidCredentials,
    /// The person's membership in this workspace is deactivated.
    MembershipDeactivated,
    /// The person was invited but has not accepted yet.
    InvitationPending,
    /// The person is not (or no longer) a member of this workspace.
    NotAMember,
    /// Inviting would take a seat the organization doesn't have.
    SeatLimitReached,
    /// The email already belongs to a member of this workspace.
    AlreadyMember,
    /// The role is above what the caller may grant or manage.
    RoleNotManageable,
    /// The invitation token is unknown, revoked, already used or expired.
    InvitationInvalid,
    /// The chosen password is too short.
    PasswordTooShort,
    /// The person already has an account and the password given is not theirs.
    PasswordMismatch,
    /// You can't remove, deactivate, reactivate or restore yourself; an API key can't do these
    /// to the person who created it, nor end their sessions or revoke their other keys.
    CannotRemoveSelf,
    /// The call would leave the workspace without an active OWNER: transfer ownership first.
    LastOwner,
    /// The member is still a workspace or application contact: reassign those duties first.
    ContactReassignmentRequired,
    /// No such member in this workspace (or not one the caller may see).
    MemberNotFound,
    /// The member was already removed from this workspace.
    AlreadyRemoved,
    /// Reactivation needs a DEACTIVATED member.
    NotDeactivated,
    /// The member is already deactivated.
    AlreadyDeactivated,
    /// The API key (or invitation, or SCIM token) is already revoked.
    AlreadyRevoked,
    /// A seat limit below the seats already in use.
    SeatLimitBelowUsage,
    /// The person named to take something over is not an active member staying in the workspace.
    InvalidAssignee,
    /// The person does not hold the contact duty named.
    NotAContact,
    /// The removal is older than the restore window (30 days): invite the person again.
    RestoreWindowExpired,
    /// The idempotency key was already used by this caller with a different input.
    IdempotencyKeyReused,
    /// Only a DEAD job can be retried: this one is still running, waiting, or done.
    JobNotDead,
    /// Another workspace already has this slug: slugs are unique across the service.
    SlugTaken,
    /// The slug is a word the service keeps for itself (`api`, `admin`, `graphql`, …).
    SlugReserved,
    /// Another account already has this email address.
    EmailTaken,
    /// Another person of the organization already has this identity provider id.
    ExternalIdTaken,
    /// The account's address is its person's, not an identity provider's to change: they have
    /// signed in with it, or it belongs to other organizations too.
    AccountNotManaged,
    /// The workspace already has a user group of this name.
    GroupNameTaken,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "MembershipStatus")]
pub enum StatusValue {
    Invited,
    Active,
    Deactivated,
}

impl From<entities::MembershipStatus> for StatusValue {
    fn from(status: entities::MembershipStatus) -> Self {
        match status {
            entities::MembershipStatus::Invited => StatusValue::Invited,
            entities::MembershipStatus::Active => StatusValue::Active,
            entities::MembershipStatus::Deactivated => StatusValue::Deactivated,
        }
    }
}

impl From<StatusValue> for entities::MembershipStatus {
    fn from(status: StatusValue) -> Self {
        match status {
            StatusValue::Invited => entities::MembershipStatus::Invited,
            StatusValue::Active => entities::MembershipStatus::Active,
            StatusValue::Deactivated => entities::MembershipStatus::Deactivated,
        }
    }
}

#[derive(SimpleObject, Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
}

impl From<user::Model> for User {
    fn from(user: user::Model) -> Self {
        User {
            id: user.id.into(),
            email: user.email,
            name: user.name,
        }
    }
}

#[derive(SimpleObject, Debug, Clone, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub slug: String,
}

impl From<workspace::Model> for Workspace {
    fn from(workspace: workspace::Model) -> Self {
        Workspace {
            id: workspace.id.into(),
            organization_id: workspace.organization_id.into(),
            name: workspace.name,
            slug: workspace.slug,
        }
    }
}

#[derive(SimpleObject, Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
}

impl From<user_group::Model> for Group {
    fn from(group: user_group::Model) -> Self {
        Group {
            id: group.id,
            name: group.name,
        }
    }
}

/// A person's membership of a workspace, as the People page lists it.
#[derive(SimpleObject, Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// The membership's id; mutations address members by `workspaceId` + `userId`.
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    pub user: User,
    pub role: RoleValue,
    pub status: StatusValue,
    pub joined_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// When they were removed: null while they are a member. `status` stays what it was.
    pub removed_at: Option<DateTime<Utc>>,
    /// The workspace's user groups this member is in.
    pub groups: Vec<Group>,
    /// The identity provider removed this person, a rule kept the membership (open contact
    /// duties), so they are deactivated instead: the removal waits for an admin to finish it
    /// (`removeMembers` with the duties reassigned). Null otherwise.
    // Absent from answers stored before identity providers removed anyone.
    #[serde(default)]
    pub idp_removal_waiting: Option<IdpRemovalWaiting>,
}

/// A removal by the identity provider that waits for an admin.
#[derive(SimpleObject, Clone, Debug, Serialize, Deserialize)]
pub struct IdpRemovalWaiting {
    pub requested_at: DateTime<Utc>,
    /// Why it waits, in words for the admin.
    pub blocked_by: String,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Self {
        Member {
            id: row.membership.id,
            workspace_id: row.membership.workspace_id.into(),
            role: row.membership.role.into(),
            status: row.membership.status.into(),
            joined_at: row.membership.joined_at,
            deactivated_at: row.membership.deactivated_at,
            removed_at: row.membership.deleted_at,
            idp_removal_waiting: row.membership.idp_removal_requested_at.map(|requested_at| {
                IdpRemovalWaiting {
                    requested_at,
                    blocked_by: row
                        .membership
                        .idp_removal_blocked_by
                        .clone()
                        .unwrap_or_default(),
                }
            }),
            user: row.user.into(),
            groups: row.groups.into_iter().map(Group::from).collect(),
        }
    }
}

/// An API key as listed; its secret is shown only once, in `createApiKey`'s answer.
#[derive(SimpleObject, Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// The token's first characters, to tell keys apart.
    pub prefix: String,
    pub role: RoleValue,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked, when a reason was given.
    pub revoked_reason: Option<String>,
}

impl From<api_key::Model> for ApiKey {
    fn from(key: api_key::Model) -> Self {
        ApiKey {
            id: key.id,
            workspace_id: key.workspace_id.into(),
            name: key.name,
            prefix: key.prefix,
            role: key.role.into(),
            created_by: key.created_by.into(),
            created_at: key.created_at,
            revoked_at: key.revoked_at,
            revoked_reason: key.revoked_reason,
        }
    }
}

/// A rule that blocked a mutation. When a payload's `userErrors` is not empty, nothing changed.
#[derive(SimpleObject, Debug, Clone, Serialize, Deserialize)]
pub struct UserError {
    pub code: UserErrorCode,
    pub message: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
    /// The member at fault, in calls that act on several.
    pub user_id: Option<UserId>,
}

impl From<RuleUserError> for UserError {
    fn from(error: RuleUserError) -> Self {
        UserError {
            code: error.code.into(),
            message: error.message,
            field: error.field.map(graphql_field),
            user_id: error.user_id.map(Into::into),
        }
    }
}

/// A refused input field as a client reads it: the field as the schema spells it, and the
/// message, which names it first (what `errors::refused_text` reads back from the engine).
pub fn field_refusal(rule_field: &str, problem: &str) -> (String, String) {
    let field = graphql_field(rule_field);
    let message = format!("`{field}` {problem}");
    (field, message)
}

/// A field as the schema spells it: the rules name fields in `snake_case`, inputs are
/// `camelCase`.
pub fn graphql_field(rule_field: &str) -> String {
    let mut words = rule_field.split('_');
    let mut spelled = words.next().unwrap_or_default().to_owned();
    for word in words {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            spelled.extend(first.to_uppercase());
            spelled.push_str(chars.as_str());
        }
    }
    spelled
}

/// A mutation payload: the answer, or the `userErrors` that blocked it.
pub trait Payload: Default {
    fn rejected(user_errors: Vec<UserError>) -> Self;
}

macro_rules! payloads {
    ($($payload:ty),* $(,)?) => {
        $(impl $crate::graphql::types::Payload for $payload {
            fn rejected(user_errors: Vec<$crate::graphql::types::UserError>) -> Self {
                Self { user_errors, ..Default::default() }
            }
        })*
    };
}
pub(crate) use payloads;

/// Turns a service's answer into a payload: rejections become `userErrors`, every other error
/// a GraphQL error.
pub fn respond<T, P: Payload>(
    result: Result<T, rules::RuleError>,
    ok: impl FnOnce(T) -> P,
) -> async_graphql::Result<P> {
    match result {
        Ok(value) => Ok(ok(value)),
        Err(rules::RuleError::Rejected(errors)) => Ok(P::rejected(
            errors.into_iter().map(UserError::from).collect(),
        )),
        Err(error) => Err(error.into()),
    }
}

/// A member as the People page shows it, read in the mutation's transaction.
pub(crate) async fn member<C: ConnectionTrait>(
    db: &C,
    candidate: Candidate,
) -> Result<Member, RuleError> {
    let mut groups = groups_of(db, candidate.membership.workspace_id, &[candidate.user.id]).await?;
    Ok(Member::from(MemberRow {
        groups: groups.remove(&candidate.user.id).unwrap_or_default(),
        membership: candidate.membership,
        user: candidate.user,
    }))
}
