use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{ComplexObject, Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::graphql::ids::{UserId, WorkspaceId};
use crate::graphql::organizations::{Organization, owned_organizations};
use crate::graphql::people::{ListTotals, connection};
use crate::graphql::text::{
    ApiKeyName, CursorText, Email, IdempotencyKeyText, Password, Reason, WorkspaceSlug,
};
use crate::graphql::types::{
    ApiKey, PermissionValue, RoleValue, StatusValue, User, UserError, Workspace, payloads, respond,
};
use crate::graphql::{
    ContextExt, Done, commit_if_ok, in_transaction, mutation_inputs, run_mutation,
};
use rules::access::principal::memberships_of;
use rules::access::{api_keys, sessions};
use rules::error::RuleError;
use rules::lists::encode_cursor;

#[derive(Default)]
pub struct AccessQuery;

/// Who the caller is, in which workspace, and what they may do there.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Viewer {
    /// The person: the session's user, or the creator of the API key in use.
    user: User,
    workspace: Workspace,
    role: RoleValue,
    permissions: Vec<PermissionValue>,
    /// Set when the caller authenticated with an API key.
    api_key: Option<ApiKey>,
}

/// One of the caller's workspaces, for a workspace switcher.
#[derive(SimpleObject)]
pub struct WorkspaceMembership {
    workspace: Workspace,
    role: RoleValue,
    /// INVITED until the invitation is accepted; a DEACTIVATED membership can't sign in.
    status: StatusValue,
    /// The workspace of this request.
    current: bool,
}

#[ComplexObject]
impl Viewer {
    /// The organizations the signed-in person owns, by name, with their workspaces and seats:
    /// what a workspace switcher and `createWorkspace` need. Empty for an API key, and for
    /// anyone who owns none (a workspace's OWNER or ADMIN is not an organization owner).
    async fn organizations(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        owned_organizations(ctx, ctx.principal()?).await
    }

    /// The workspaces the signed-in person belongs to (invited, active or deactivated), by
    /// name: sign in to another with `signIn(workspaceSlug)`. An API key sees only its own.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<WorkspaceMembership>> {
        let principal = ctx.principal()?;
        let memberships = memberships_of(ctx.reader(), principal)
            .await
            .map_err(RuleError::from)?;
        Ok(memberships
            .into_iter()
            .map(|(membership, workspace)| WorkspaceMembership {
                current: workspace.id == principal.workspace_id,
                workspace: workspace.into(),
                role: membership.role.into(),
                status: membership.status.into(),
            })
            .collect())
    }
}

#[Object]
impl AccessQuery {
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let principal = ctx.principal()?;
        Ok(Viewer {
            user: User {
                id: principal.user_id.into(),
                email: principal.identity.email.clone(),
                name: principal.identity.name.clone(),
            },
            workspace: Workspace {
                id: principal.workspace_id.into(),
                organization_id: principal.organization_id.into(),
                name: principal.identity.workspace_name.clone(),
                slug: principal.identity.workspace_slug.clone(),
            },
            role: principal.role.into(),
            permissions: principal
                .permissions()
                .into_iter()
                .map(PermissionValue::from)
                .collect(),
            api_key: principal.api_key.clone().map(ApiKey::from),
        })
    }

    /// The workspace's API keys, newest first: your own, and with API_KEY_MANAGEMENT every key
    /// of a role you manage. `creatorIsActiveMember: false` marks keys that outlived their
    /// creator's membership and still act unless revoked.
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        filter: Option<ApiKeyFilterInput>,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<ApiKeyConnection> {
        let principal = ctx.principal()?;
        let paging = ctx.paging(first, after.as_ref())?;
        let filter = filter.unwrap_or_default().into();
        let page =
            api_keys::list_api_keys(ctx.reader(), principal, workspace_id.into(), filter, paging)
                .await?;
        Ok(connection(
            page,
            |row| encode_cursor(&row.key.id.to_string()),
            ApiKeyListing::from,
        ))
    }

    /// A person's open sessions in the workspace, newest first: the ones authentication would
    /// accept now. Your own, or anyone's with USER_MANAGEMENT.
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        user_id: UserId,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<SessionConnection> {
        let principal = ctx.principal()?;
        let paging = ctx.paging(first, after.as_ref())?;
        let page = sessions::list_sessions(
            ctx.reader(),
            principal,
            workspace_id.into(),
            user_id.into(),
            paging,
            Utc::now(),
        )
        .await?;
        Ok(connection(
            page,
            |row| encode_cursor(&row.session.id.to_string()),
            Session::from,
        ))
    }
}

#[derive(InputObject)]
pub struct SignInInput {
    /// The workspace, by id; or give `workspaceSlug` instead (exactly one of the two).
    workspace_id: Option<WorkspaceId>,
    /// The workspace by its slug, as `viewer.memberships` and the workspace's address show it.
    workspace_slug: Option<WorkspaceSlug>,
    email: Email,
    #[graphql(secret)]
    password: Password,
}

#[derive(SimpleObject, Default)]
pub struct SignInPayload {
    /// The session token, for `Authorization: Bearer <token>`. Shown only here.
    token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject, Default)]
pub struct SignOutPayload {
    signed_out: bool,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct CreateApiKeyInput {
    workspace_id: WorkspaceId,
    name: ApiKeyName,
    /// The role the key acts with; at most the creator's own.
    role: RoleValue,
    /// Send the same key again to retry safely: the first answer comes back (without the
    /// secret, which is never stored), no second key is made.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct CreateApiKeyPayload {
    api_key: Option<ApiKey>,
    /// The key's secret, for `Authorization: Bearer <token>`. Shown only here: null when an
    /// idempotent retry answers.
    #[serde(skip)]
    token: Option<String>,
    user_errors: Vec<UserError>,
}

/// A signed-in session: which client, since when, last used when — never its token.
#[derive(SimpleObject)]
pub struct Session {
    id: Uuid,
    created_at: DateTime<Utc>,
    /// When a request last used it, to the minute; null if none has since it signed in.
    last_seen_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    /// The `User-Agent` that signed in (its first 300 characters).
    user_agent: Option<String>,
    /// The session of this very request.
    current: bool,
}

impl From<sessions::SessionRow> for Session {
    fn from(row: sessions::SessionRow) -> Self {
        Session {
            id: row.session.id,
            created_at: row.session.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.session.expires_at,
            user_agent: row.session.user_agent,
            current: row.current,
        }
    }
}

pub type SessionConnection = Connection<String, Session, ListTotals, EmptyFields>;

#[derive(InputObject, Serialize, Clone)]
pub struct EndSessionsInput {
    workspace_id: WorkspaceId,
    /// Whose sessions: yourself, or (with USER_MANAGEMENT) a member whose role you manage.
    user_id: UserId,
    /// Only this one of their sessions (`sessions` lists them); all of them when absent.
    session_id: Option<Uuid>,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct EndSessionsPayload {
    /// How many sessions were open and are now ended.
    sessions_ended: Option<u64>,
    user_errors: Vec<UserError>,
}

/// An API key as its workspace's list shows it — never its secret.
#[derive(SimpleObject)]
pub struct ApiKeyListing {
    api_key: ApiKey,
    /// The person who created it; the key acts for them, with its own role.
    creator: User,
    /// False when the creator is no longer an active member (removed without
    /// `revokeApiKeys`, or deactivated): the key, unless revoked, still acts with its role.
    /// Revoke it if nobody should.
    creator_is_active_member: bool,
    /// When a request last used it, to the minute; null if never.
    last_used_at: Option<DateTime<Utc>>,
}

impl From<api_keys::ApiKeyRow> for ApiKeyListing {
    fn from(row: api_keys::ApiKeyRow) -> Self {
        ApiKeyListing {
            api_key: row.key.into(),
            creator: row.creator.into(),
            creator_is_active_member: row.creator_is_active_member,
            last_used_at: row.last_used_at,
        }
    }
}

pub type ApiKeyConnection = Connection<String, ApiKeyListing, ListTotals, EmptyFields>;

#[derive(InputObject, Default)]
pub struct ApiKeyFilterInput {
    /// Only the keys this person created.
    created_by: Option<UserId>,
    /// True: only revoked keys; false: only keys in use; absent: both.
    revoked: Option<bool>,
}

impl From<ApiKeyFilterInput> for api_keys::ApiKeyFilter {
    fn from(filter: ApiKeyFilterInput) -> Self {
        api_keys::ApiKeyFilter {
            created_by: filter.created_by.map(Into::into),
            revoked: filter.revoked,
        }
    }
}

#[derive(InputObject, Serialize, Clone)]
pub struct RevokeApiKeyInput {
    api_key_id: Uuid,
    /// Why, kept with the key and in the audit entry.
    reason: Option<Reason>,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RevokeApiKeyPayload {
    /// The key, revoked.
    api_key: Option<ApiKey>,
    user_errors: Vec<UserError>,
}

mutation_inputs!(CreateApiKeyInput, EndSessionsInput, RevokeApiKeyInput);
payloads!(
    RevokeApiKeyPayload,
    SignInPayload,
    SignOutPayload,
    CreateApiKeyPayload,
    EndSessionsPayload
);

#[derive(Default)]
pub struct AccessMutation;

#[Object]
impl AccessMutation {
    /// Signs in to one workspace with email and password.
    async fn sign_in(&self, ctx: &Context<'_>, input: SignInInput) -> Result<SignInPayload> {
        ctx.sign_in_throttle()
            .attempt(&input.email, ctx.client_address())?;
        let workspace = match (input.workspace_id, input.workspace_slug) {
            (Some(id), None) => sessions::WorkspaceRef::Id(id.into()),
            (None, Some(slug)) => sessions::WorkspaceRef::Slug(slug.into_inner()),
            _ => {
                return Err(RuleError::bad_request(
                    "give the workspace by `workspaceId` or by `workspaceSlug`, one of the two",
                )
                .into());
            }
        };
        let result = sessions::sign_in(
            ctx.writer(),
            &workspace,
            &input.email,
            input.password.into_inner().into_string(),
            ctx.config().session_ttl,
            ctx.user_agent(),
            Utc::now(),
        )
        .await;
        respond(result, |signed_in| SignInPayload {
            token: Some(signed_in.token),
            expires_at: Some(signed_in.session.expires_at),
            user_errors: Vec::new(),
        })
    }

    /// Ends the session used for this request.
    async fn sign_out(&self, ctx: &Context<'_>) -> Result<SignOutPayload> {
        let principal = ctx.principal()?;
        let result = in_transaction("signOut", || async move {
            let txn = ctx.writer().begin().await?;
            let result = sessions::sign_out(&txn, principal, Utc::now()).await;
            commit_if_ok(txn, result).await
        })
        .await;
        respond(result, |()| SignOutPayload {
            signed_out: true,
            user_errors: Vec::new(),
        })
    }

    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> Result<CreateApiKeyPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let created = api_keys::create_api_key(
                txn,
                acting,
                input.workspace_id.into(),
                &input.name,
                input.role.into(),
            )
            .await?;
            Ok(Done::answer(CreateApiKeyPayload {
                api_key: Some(created.key.into()),
                token: Some(created.token),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Revokes an API key: refused from this commit on. Your own keys, or with
    /// API_KEY_MANAGEMENT any key of a role you manage. Audit entry `api_key_revoke`.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiKeyInput,
    ) -> Result<RevokeApiKeyPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let revoked =
                api_keys::revoke_api_key(txn, acting, input.api_key_id, input.reason.as_deref())
                    .await?;
            Ok(Done::answer(RevokeApiKeyPayload {
                api_key: Some(revoked.into()),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// "Sign out everywhere": ends all of a person's sessions in the workspace at once (this
    /// request's too, when they are yours), before or instead of a deactivation; with
    /// `sessionId`, that one only. Their API keys are untouched. Audit entry `sessions_end`.
    async fn end_sessions(
        &self,
        ctx: &Context<'_>,
        input: EndSessionsInput,
    ) -> Result<EndSessionsPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let ended = sessions::end_sessions(
                txn,
                acting,
                input.workspace_id.into(),
                input.user_id.into(),
                input.session_id,
            )
            .await?;
            Ok(Done::answer(EndSessionsPayload {
                sessions_ended: Some(ended),
                user_errors: Vec::new(),
            }))
        })
        .await
    }
}
