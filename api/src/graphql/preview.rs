//! `removalPreview` and `statusChangePreview`: every consequence of a removal, a deactivation
//! or a reactivation, before confirming it.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use crate::graphql::ContextExt;
use crate::graphql::budget::{id_list_cost, spend_ids};
use crate::graphql::consequences;
use crate::graphql::contacts::ContactDutyHeld;
use crate::graphql::ids::{UserId, WorkspaceId};
use crate::graphql::people::MemberFilterInput;
use crate::graphql::types::{ApiKey, RoleValue, StatusValue, UserError};
use rules::offboarding::MAX_MEMBERS_PER_CALL;
use rules::offboarding::preview::{self, MemberPreview};
use rules::offboarding::status_preview::{self, StatusChange};
use rules::people::selection;

/// What removing these members would do, and whether anything blocks it.
#[derive(SimpleObject)]
pub struct RemovalPreview {
    /// `removeMembers` with these ids (and no contact reassignments) would succeed.
    can_remove: bool,
    /// One entry per distinct id, in the order given.
    members: Vec<MemberRemovalPreview>,
    /// What the removal does to all of them, said once: for a dialog about more people than
    /// it shows one by one.
    summary: Vec<String>,
}

/// The members a filter keeps, as ids: "select all that match" for one call on all of them.
#[derive(SimpleObject)]
pub struct MatchingMembers {
    /// At most 10,000 (what one `removeMembers` takes), by email.
    user_ids: Vec<UserId>,
    /// More members match than `userIds` holds.
    more: bool,
}

/// What the person loses in this workspace.
#[derive(SimpleObject)]
pub struct RemovalLosses {
    /// Access to this workspace's data and settings.
    workspace_name: String,
    /// The workspace's groups they leave.
    groups: Vec<String>,
}

/// What the person keeps: memberships outside this workspace are untouched.
#[derive(SimpleObject)]
pub struct PreservedMemberships {
    other_workspaces: u64,
    /// Organizations other than this workspace's.
    other_organizations: u64,
}

#[derive(SimpleObject)]
pub struct MemberRemovalPreview {
    user_id: UserId,
    /// Null when the id is not a live member of the workspace (see `blockers`).
    name: Option<String>,
    email: Option<String>,
    status: Option<StatusValue>,
    role: Option<RoleValue>,
    loses: Option<RemovalLosses>,
    preserved: Option<PreservedMemberships>,
    /// Their organization seat would be freed (no other membership in it remains).
    seat_freed: bool,
    /// Duties to reassign first (or in the same call, with `contactReassignments`).
    contact_duties: Vec<ContactDutyHeld>,
    /// Campaigns they own, to be reattributed; their authorship is kept.
    campaigns_to_reattribute: u64,
    /// Their active API keys in this workspace: what `revokeApiKeys` would revoke.
    api_keys_to_revoke: u64,
    /// Open invitations they sent to people who aren't being removed with them: revoked by
    /// the removal, freeing the seats they hold.
    invitations_to_revoke: u64,
    /// Those keys, each with the role it acts with. Without `revokeApiKeys` every one keeps
    /// acting after the removal (`apiKeys` then marks it `creatorIsActiveMember: false`);
    /// `revokeApiKey` revokes one later.
    api_keys: Vec<ApiKey>,
    /// Enabled rules they created: these keep running under their stored creator.
    rules_keep_running: u64,
    /// Why `removeMembers` would refuse this member, with the same codes.
    blockers: Vec<UserError>,
    /// What the removal does to them, as sentences for a confirmation dialog to show as they
    /// are (the fields above, said once, by the API).
    consequences: Vec<String>,
}

fn member_preview(workspace_name: &str, preview: MemberPreview) -> MemberRemovalPreview {
    let consequences = consequences::of_removal(workspace_name, &preview);
    let person = preview.person;
    MemberRemovalPreview {
        user_id: preview.user_id.into(),
        name: person.as_ref().map(|p| p.name.clone()),
        email: person.as_ref().map(|p| p.email.clone()),
        status: person.as_ref().map(|p| p.status.into()),
        role: person.as_ref().map(|p| p.role.into()),
        loses: person.as_ref().map(|p| RemovalLosses {
            workspace_name: workspace_name.to_owned(),
            groups: p.groups.clone(),
        }),
        preserved: person.as_ref().map(|p| PreservedMemberships {
            other_workspaces: p.other_workspaces,
            other_organizations: p.other_organizations,
        }),
        seat_freed: preview.seat_freed,
        contact_duties: preview
            .contact_duties
            .held()
            .into_iter()
            .map(Into::into)
            .collect(),
        campaigns_to_reattribute: preview.campaigns_to_reattribute,
        api_keys_to_revoke: preview.api_keys.len() as u64,
        invitations_to_revoke: preview.invitations_to_revoke,
        api_keys: preview.api_keys.into_iter().map(ApiKey::from).collect(),
        rules_keep_running: preview.rules_keep_running,
        blockers: preview.blockers.into_iter().map(Into::into).collect(),
        consequences,
    }
}

/// A change of a member's status that `statusChangePreview` can preview.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "StatusChange")]
pub enum StatusChangeValue {
    /// `deactivateUser`.
    Deactivate,
    /// `reactivateUser`.
    Reactivate,
}

impl From<StatusChangeValue> for StatusChange {
    fn from(change: StatusChangeValue) -> Self {
        match change {
            StatusChangeValue::Deactivate => StatusChange::Deactivate,
            StatusChangeValue::Reactivate => StatusChange::Reactivate,
        }
    }
}

/// What deactivating or reactivating a member would do, and whether anything blocks it.
#[derive(SimpleObject)]
pub struct StatusChangePreview {
    /// The mutation would succeed (`blockers` is empty).
    can_change: bool,
    /// What it does to them, as sentences for a confirmation dialog to show as they are.
    consequences: Vec<String>,
    /// Why the mutation would refuse, with its codes.
    blockers: Vec<UserError>,
}

#[derive(Default)]
pub struct PreviewQuery;

#[Object]
impl PreviewQuery {
    /// What removing these members would do, for the confirmation dialog. Changes nothing.
    #[graphql(complexity = "child_complexity + id_list_cost(user_ids.len())")]
    async fn removal_preview(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        user_ids: Vec<UserId>,
    ) -> Result<RemovalPreview> {
        let principal = ctx.principal()?;
        spend_ids(ctx, user_ids.len())?;
        let preview = preview::removal_preview(
            ctx.reader(),
            principal,
            workspace_id.into(),
            user_ids.into_iter().map(Into::into).collect(),
        )
        .await?;
        let can_remove = preview.can_remove();
        let workspace_name = preview.workspace_name;
        let summary = consequences::of_removals(&workspace_name, &preview.members);
        Ok(RemovalPreview {
            can_remove,
            summary,
            members: preview
                .members
                .into_iter()
                .map(|member| member_preview(&workspace_name, member))
                .collect(),
        })
    }

    /// The ids of the live members `filter` keeps (all of them without one), by email, up to
    /// the 10,000 one `removeMembers` takes: what a People page's "select all that match"
    /// selects. Needs USER_MANAGEMENT.
    async fn matching_members(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        filter: Option<MemberFilterInput>,
    ) -> Result<MatchingMembers> {
        let principal = ctx.principal()?;
        let filter = filter.map(Into::into).unwrap_or_default();
        let (ids, more) = selection::matching_member_ids(
            ctx.reader(),
            principal,
            workspace_id.into(),
            &filter,
            MAX_MEMBERS_PER_CALL,
        )
        .await?;
        Ok(MatchingMembers {
            user_ids: ids.into_iter().map(Into::into).collect(),
            more,
        })
    }

    /// What `deactivateUser` or `reactivateUser` would do to this member, for the confirmation
    /// dialog, judged by the same guards. Changes nothing.
    async fn status_change_preview(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        user_id: UserId,
        change: StatusChangeValue,
    ) -> Result<StatusChangePreview> {
        let principal = ctx.principal()?;
        let change = change.into();
        let preview = status_preview::status_change_preview(
            ctx.reader(),
            principal,
            workspace_id.into(),
            user_id.into(),
            change,
        )
        .await?;
        Ok(StatusChangePreview {
            can_change: preview.blockers.is_empty(),
            consequences: consequences::of_status_change(change, &preview),
            blockers: preview.blockers.into_iter().map(Into::into).collect(),
        })
    }
}
