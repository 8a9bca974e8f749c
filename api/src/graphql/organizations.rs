//! Organizations and their workspaces, for the people who own them: `viewer.organizations` (a
//! workspace switcher's data), `createWorkspace` and `updateWorkspace`, and the SCIM tokens
//! their identity providers use (`scimTokens`, `createScimToken`, `revokeScimToken`).

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::graphql::ids::{OrganizationId, WorkspaceId};
use crate::graphql::people::{ListTotals, SeatUsage, connection};
use crate::graphql::text::{
    CursorText, IdempotencyKeyText, NewWorkspaceSlug, ScimTokenName, WorkspaceName,
};
use crate::graphql::types::{User, UserError, Workspace, payloads};
use crate::graphql::{ContextExt, Done, mutation_inputs, run_mutation};
use rules::access::Principal;
use rules::error::RuleError;
use rules::lists::encode_cursor;
use rules::organizations::{owners, scim_tokens, workspaces};
use rules::people::seats;

/// An organization the signed-in person owns: its workspaces and its seats.
#[derive(SimpleObject)]
pub struct Organization {
    id: OrganizationId,
    name: String,
    /// Every workspace of the organization, by name, whether or not the owner is a member of
    /// it (`viewer.memberships` says where they can sign in).
    workspaces: Vec<Workspace>,
    seats: SeatUsage,
}

/// The organizations the caller owns, by name: none for an API key or for someone who owns
/// none (a workspace's OWNER is not an owner of its organization).
pub async fn owned_organizations(
    ctx: &Context<'_>,
    principal: &Principal,
) -> Result<Vec<Organization>> {
    let owned = owners::owned_by(ctx.reader(), principal, Utc::now())
        .await
        .map_err(RuleError::from)?;
    Ok(owned
        .into_iter()
        .map(|owned| Organization {
            id: owned.organization.id.into(),
            name: owned.organization.name.clone(),
            workspaces: owned.workspaces.into_iter().map(Workspace::from).collect(),
            seats: SeatUsage::from(seats::SeatUsage {
                organization: owned.organization,
                used: owned.seats_used,
            }),
        })
        .collect())
}

#[derive(InputObject, Serialize, Clone)]
pub struct CreateWorkspaceInput {
    organization_id: OrganizationId,
    name: WorkspaceName,
    /// What people sign in by: 2 to 63 lower-case letters and digits, words joined by single
    /// hyphens, unique across the service, never changed. Left out: made from the name.
    slug: Option<NewWorkspaceSlug>,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct CreateWorkspacePayload {
    workspace: Option<Workspace>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct UpdateWorkspaceInput {
    workspace_id: WorkspaceId,
    /// The new name; the slug stays.
    name: WorkspaceName,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct UpdateWorkspacePayload {
    workspace: Option<Workspace>,
    user_errors: Vec<UserError>,
}

/// An identity provider's token for `/scim/v2`: the people of one organization, provisioned
/// into one of its workspaces. Never its secret.
#[derive(SimpleObject, Serialize, Deserialize)]
pub struct ScimToken {
    id: Uuid,
    organization_id: OrganizationId,
    /// Where the people it provisions become members, and whose groups it manages.
    workspace: Workspace,
    name: String,
    /// The secret's first characters, to tell tokens apart.
    prefix: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl ScimToken {
    fn of(token: entities::scim_token::Model, workspace: entities::workspace::Model) -> ScimToken {
        ScimToken {
            id: token.id,
            organization_id: token.organization_id.into(),
            workspace: workspace.into(),
            name: token.name,
            prefix: token.prefix,
            created_at: token.created_at,
            revoked_at: token.revoked_at,
        }
    }
}

/// A SCIM token as its organization's list shows it.
#[derive(SimpleObject)]
pub struct ScimTokenListing {
    scim_token: ScimToken,
    /// The owner who made it; the token keeps working after they leave, until revoked.
    creator: User,
    /// When an identity provider last called with it (to the minute); null if never.
    last_used_at: Option<DateTime<Utc>>,
}

pub type ScimTokenConnection = Connection<String, ScimTokenListing, ListTotals, EmptyFields>;

#[derive(InputObject, Serialize, Clone)]
pub struct CreateScimTokenInput {
    organization_id: OrganizationId,
    /// One of the organization's workspaces: the people the token creates become its members.
    workspace_id: WorkspaceId,
    /// What it is for, e.g. "Okta".
    name: ScimTokenName,
    /// Send the same key again to retry safely: the first answer comes back (without the
    /// secret, which is never stored), no second token is made.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct CreateScimTokenPayload {
    scim_token: Option<ScimToken>,
    /// The token, for the identity provider's `Authorization: Bearer <secret>`. Shown only
    /// here: null when an idempotent retry answers.
    #[serde(skip)]
    secret: Option<String>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct RevokeScimTokenInput {
    scim_token_id: Uuid,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RevokeScimTokenPayload {
    scim_token: Option<ScimToken>,
    user_errors: Vec<UserError>,
}

mutation_inputs!(
    CreateWorkspaceInput,
    UpdateWorkspaceInput,
    CreateScimTokenInput,
    RevokeScimTokenInput
);
payloads!(
    CreateWorkspacePayload,
    UpdateWorkspacePayload,
    CreateScimTokenPayload,
    RevokeScimTokenPayload
);

#[derive(Default)]
pub struct OrganizationsQuery;

#[Object]
impl OrganizationsQuery {
    /// The organization's SCIM tokens, newest first, revoked ones too; for a signed-in owner
    /// of it.
    async fn scim_tokens(
        &self,
        ctx: &Context<'_>,
        organization_id: OrganizationId,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<ScimTokenConnection> {
        let principal = ctx.principal()?;
        let paging = ctx.paging(first, after.as_ref())?;
        let page =
            scim_tokens::list_scim_tokens(ctx.reader(), principal, organization_id.into(), paging)
                .await?;
        Ok(connection(
            page,
            |row| encode_cursor(&row.token.id.to_string()),
            |row| ScimTokenListing {
                scim_token: ScimToken::of(row.token, row.workspace),
                creator: row.creator.into(),
                last_used_at: row.last_used_at,
            },
        ))
    }
}

#[derive(Default)]
pub struct OrganizationsMutation;

#[Object]
impl OrganizationsMutation {
    /// Makes a workspace in an organization you own (signed in, not with an API key); you
    /// become its OWNER and can sign in to it at once. Refused with SLUG_TAKEN or
    /// SLUG_RESERVED; takes no seat (you hold one). Audit entry `workspace_create` in the new
    /// workspace.
    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        input: CreateWorkspaceInput,
    ) -> Result<CreateWorkspacePayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let workspace = workspaces::create_workspace(
                txn,
                acting,
                input.organization_id.into(),
                &input.name,
                input.slug.map(|slug| slug.into_inner()),
            )
            .await?;
            Ok(Done::answer(CreateWorkspacePayload {
                workspace: Some(workspace.into()),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Makes a SCIM token for an identity provider (Okta, Entra ID): the people of the
    /// organization, provisioned into one of its workspaces. For a signed-in owner of the
    /// organization; the secret is shown once, only its hash is kept. Audit entry
    /// `scim_token_create` in that workspace.
    async fn create_scim_token(
        &self,
        ctx: &Context<'_>,
        input: CreateScimTokenInput,
    ) -> Result<CreateScimTokenPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let created = scim_tokens::create_scim_token(
                txn,
                acting,
                input.organization_id.into(),
                input.workspace_id.into(),
                &input.name,
            )
            .await?;
            Ok(Done::answer(CreateScimTokenPayload {
                scim_token: Some(ScimToken::of(created.token, created.workspace)),
                secret: Some(created.secret),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Revokes a SCIM token: refused from this commit on. For an owner of its organization;
    /// one already revoked is ALREADY_REVOKED. Audit entry `scim_token_revoke`.
    async fn revoke_scim_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeScimTokenInput,
    ) -> Result<RevokeScimTokenPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let (token, workspace) =
                scim_tokens::revoke_scim_token(txn, acting, input.scim_token_id).await?;
            Ok(Done::answer(RevokeScimTokenPayload {
                scim_token: Some(ScimToken::of(token, workspace)),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Renames a workspace of an organization you own; its slug stays. Audit entry
    /// `workspace_rename` with `from` and `to`; the same name again changes nothing.
    async fn update_workspace(
        &self,
        ctx: &Context<'_>,
        input: UpdateWorkspaceInput,
    ) -> Result<UpdateWorkspacePayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let workspace =
                workspaces::rename_workspace(txn, acting, input.workspace_id.into(), &input.name)
                    .await?;
            Ok(Done::answer(UpdateWorkspacePayload {
                workspace: Some(workspace.into()),
                user_errors: Vec::new(),
            }))
        })
        .await
    }
}
