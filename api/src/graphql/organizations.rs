//! Organizations and their workspaces, for the people who own them: `viewer.organizations` (a
//! workspace switcher's data), `createWorkspace` and `updateWorkspace`.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use serde::{Deserialize, Serialize};

use crate::graphql::ids::{OrganizationId, WorkspaceId};
use crate::graphql::people::SeatUsage;
use crate::graphql::text::{IdempotencyKeyText, NewWorkspaceSlug, WorkspaceName};
use crate::graphql::types::{UserError, Workspace, payloads};
use crate::graphql::{ContextExt, Done, mutation_inputs, run_mutation};
use rules::access::Principal;
use rules::error::RuleError;
use rules::organizations::{owners, workspaces};
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
    let owned = owners::owned_by(ctx.reader(), principal)
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

mutation_inputs!(CreateWorkspaceInput, UpdateWorkspaceInput);
payloads!(CreateWorkspacePayload, UpdateWorkspacePayload);

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
