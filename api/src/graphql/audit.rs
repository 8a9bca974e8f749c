//! `auditLog`: the workspace's append-only trail, newest first.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::audit_entry;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::graphql::ContextExt;
use crate::graphql::ids::{UserId, WorkspaceId};
use crate::graphql::text::CursorText;
use crate::graphql::types::{Json, User};
use rules::audit::{self, AuditFilter};
use rules::error::RuleError;
use rules::lists::encode_cursor;
use rules::lists::users_by_id;
use rules::organizations::scim_tokens;

use crate::graphql::audit_sentence::{self, Actor};

#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    action: Option<AuditAction>,
    target_user_id: Option<UserId>,
    /// A user, an API key or a SCIM token.
    actor_id: Option<Uuid>,
    /// The entries of one offboarding: its mutation's and those its jobs wrote.
    offboarding_id: Option<Uuid>,
    /// Entries written at or after this instant.
    since: Option<DateTime<Utc>>,
    /// Entries written before this instant.
    until: Option<DateTime<Utc>>,
}

impl From<AuditLogFilter> for AuditFilter {
    fn from(filter: AuditLogFilter) -> Self {
        AuditFilter {
            action: filter.action.map(Into::into),
            target_user_id: filter.target_user_id.map(Into::into),
            actor_id: filter.actor_id,
            offboarding_id: filter.offboarding_id,
            since: filter.since,
            until: filter.until,
        }
    }
}

/// What an audit entry records; its `metadata` holds the details (counts, roles, ids, the reason).
/// Stored as the value's lower-case name (`team_membership_remove`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::AuditAction")]
pub enum AuditAction {
    /// Someone was invited.
    TeamMembershipInvite,
    /// An invitation was accepted.
    TeamMembershipJoin,
    /// A member's role changed.
    TeamMembershipRoleChange,
    /// A member was deactivated.
    TeamMembershipDeactivate,
    /// A deactivated member was reactivated.
    TeamMembershipReactivate,
    /// A member was removed.
    TeamMembershipRemove,
    /// A removed member was restored.
    TeamMembershipRestore,
    /// An invitation got a new link.
    InvitationResend,
    /// An invitation was revoked.
    InvitationRevoke,
    /// An API key was created.
    ApiKeyCreate,
    /// An API key was revoked.
    ApiKeyRevoke,
    /// A person's sessions were ended.
    SessionsEnd,
    /// A person's campaigns were given to someone else.
    CampaignsReattribute,
    /// A person's contact duties were handed over.
    ContactsReassign,
    /// Ownership of the workspace was transferred.
    OwnershipTransfer,
    /// The organization's seat limit changed.
    SeatLimitChange,
    /// A DEAD job was retried.
    JobRetry,
    /// The workspace was made: by an owner of the organization (`createWorkspace`), or by the
    /// system on first start (no actor; `metadata.source` is `bootstrap`).
    WorkspaceCreate,
    /// The workspace was renamed (`metadata.from`, `metadata.to`).
    WorkspaceRename,
    /// A SCIM token provisioning into this workspace was made (`metadata.scim_token_id`, `name`).
    ScimTokenCreate,
    /// A SCIM token provisioning into this workspace was revoked.
    ScimTokenRevoke,
    /// The identity provider added a person to the workspace as an ACTIVE member.
    TeamMembershipProvision,
    /// The identity provider changed a person's name, email or external id (`metadata.changed`).
    PersonUpdate,
    /// The identity provider removed a person whom a rule keeps (`metadata.blocked_by`): they
    /// are deactivated instead, and the removal waits for an admin.
    IdpRemovalWait,
    /// A user group was made (`metadata.name`).
    GroupCreate,
    /// A user group was renamed (`metadata.from`, `metadata.to`).
    GroupRename,
    /// A user group was deleted.
    GroupDelete,
    /// People joined or left a user group (`metadata.added`, `metadata.removed`).
    GroupMembersChange,
}

#[derive(SimpleObject)]
pub struct AuditEntry {
    id: Uuid,
    action: AuditAction,
    /// The entry as a sentence people read ("Olivia Owner removed Mia Member: left the
    /// company."), made from the fields below.
    summary: String,
    actor_user_id: Option<UserId>,
    actor_api_key_id: Option<Uuid>,
    actor_scim_token_id: Option<Uuid>,
    /// The person who acted (null when an API key, an identity provider or the system did).
    actor: Option<User>,
    /// The SCIM token an identity provider acted with, by the name it was given.
    actor_scim_token: Option<AuditScimToken>,
    target_user_id: Option<UserId>,
    target: Option<User>,
    reason: Option<String>,
    /// The `x-request-id` of the request that did it; a job's entry carries its mutation's.
    request_id: Option<String>,
    /// The offboarding it belongs to, when it belongs to one.
    offboarding_id: Option<Uuid>,
    /// Everything else recorded: counts, roles, ids.
    metadata: Json,
    created_at: DateTime<Utc>,
}

/// A SCIM token as an audit entry names it.
#[derive(SimpleObject, Clone)]
pub struct AuditScimToken {
    id: Uuid,
    name: String,
}

#[derive(SimpleObject)]
pub struct AuditTotals {
    /// How many entries match, across all pages.
    total_count: u64,
}

pub type AuditEntryConnection = Connection<String, AuditEntry, AuditTotals, EmptyFields>;

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The workspace's audit trail, newest first. Entries can never be changed or deleted.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        filter: Option<AuditLogFilter>,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<AuditEntryConnection> {
        let principal = ctx.principal()?;
        let paging = ctx.paging(first, after.as_ref())?;
        let filter = filter.unwrap_or_default().into();
        let page = audit::list(
            ctx.reader(),
            principal,
            workspace_id.into(),
            &filter,
            paging,
        )
        .await?;
        let mut connection = Connection::with_additional_fields(
            false,
            page.has_next_page,
            AuditTotals {
                total_count: page.total_count,
            },
        );
        connection.edges = audit_entries(ctx.reader(), page.items)
            .await?
            .into_iter()
            .map(|entry| Edge::new(encode_cursor(&entry.id.to_string()), entry))
            .collect();
        Ok(connection)
    }
}

/// These entries as the API shows them, with everyone they name read in one statement.
pub(crate) async fn audit_entries<C: ConnectionTrait>(
    db: &C,
    entries: Vec<audit_entry::Model>,
) -> Result<Vec<AuditEntry>, RuleError> {
    let people: Vec<entities::UserId> = entries
        .iter()
        .flat_map(|entry| [entry.actor_user_id, entry.target_user_id])
        .flatten()
        .collect();
    let people = users_by_id(db, people).await?;
    let person =
        |id: Option<entities::UserId>| id.and_then(|id| people.get(&id).cloned().map(User::from));
    let tokens = scim_tokens::names_by_id(
        db,
        entries.iter().filter_map(|entry| entry.actor_scim_token_id),
    )
    .await?;
    let token = |id: Option<Uuid>| {
        id.and_then(|id| {
            tokens.get(&id).map(|name| AuditScimToken {
                id,
                name: name.clone(),
            })
        })
    };
    let actor = |entry: &audit_entry::Model| -> Actor<'_> {
        if let Some(name) = entry
            .actor_user_id
            .and_then(|id| people.get(&id))
            .map(|user| user.name.as_str())
        {
            Actor::Person(name)
        } else if entry.actor_api_key_id.is_some() {
            Actor::ApiKey
        } else if let Some(name) = entry.actor_scim_token_id.and_then(|id| tokens.get(&id)) {
            Actor::Provider(name)
        } else {
            Actor::System
        }
    };
    let summary = |entry: &audit_entry::Model| {
        let target = entry
            .target_user_id
            .and_then(|id| people.get(&id))
            .map(|user| user.name.as_str());
        audit_sentence::sentence(entry.action, &actor(entry), target, &entry.metadata)
    };
    Ok(entries
        .into_iter()
        .map(|entry| AuditEntry {
            summary: summary(&entry),
            id: entry.id,
            actor: person(entry.actor_user_id),
            actor_scim_token: token(entry.actor_scim_token_id),
            target: person(entry.target_user_id),
            reason: entry
                .metadata
                .get("reason")
                .and_then(|reason| reason.as_str())
                .map(str::to_owned),
            action: entry.action.into(),
            actor_user_id: entry.actor_user_id.map(Into::into),
            actor_api_key_id: entry.actor_api_key_id,
            actor_scim_token_id: entry.actor_scim_token_id,
            target_user_id: entry.target_user_id.map(Into::into),
            request_id: entry.request_id,
            offboarding_id: entry.offboarding_id,
            metadata: Json(entry.metadata),
            created_at: entry.created_at,
        })
        .collect())
}
