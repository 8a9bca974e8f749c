use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::graphql::audit::{AuditEntry, audit_entries};
use crate::graphql::contacts::ContactDutyHeld;
use crate::graphql::ids::{OrganizationId, UserId, WorkspaceId};
use crate::graphql::text::{CursorText, IdempotencyKeyText, SearchText, Text};
use crate::graphql::types::{
    ApiKey, Member, RoleValue, StatusValue, User, UserError, member, payloads,
};
use crate::graphql::{ContextExt, Done, mutation_inputs, run_mutation};
use rules::error::RuleError;
use rules::lists::{Page, encode_cursor};
use rules::people::members::{self, MemberFilter, MemberRow};
use rules::people::removed::RemovedFilter;
use rules::people::{detail, groups, removed, roles, seats};

#[derive(SimpleObject)]
pub struct ListTotals {
    /// How many items match, across all pages. A members search counts up to 1,000 matches:
    /// when it finds more, this is 1,000 and `totalCountIsExact` is false.
    total_count: u64,
    /// False when `totalCount` is a floor ("1,000+"), true when it is the exact number.
    total_count_is_exact: bool,
}

pub type MemberConnection = Connection<String, Member, ListTotals, EmptyFields>;
pub type UserConnection = Connection<String, User, ListTotals, EmptyFields>;
pub type FormerMemberConnection = Connection<String, FormerMember, ListTotals, EmptyFields>;

pub(crate) fn connection<T, N>(
    page: Page<T>,
    cursor: impl Fn(&T) -> String,
    node: impl Fn(T) -> N,
) -> Connection<String, N, ListTotals, EmptyFields>
where
    N: async_graphql::OutputType,
{
    let mut connection = Connection::with_additional_fields(
        false,
        page.has_next_page,
        ListTotals {
            total_count: page.total_count,
            total_count_is_exact: page.total_count_is_exact,
        },
    );
    connection.edges = page
        .items
        .into_iter()
        .map(|item| Edge::new(cursor(&item), node(item)))
        .collect();
    connection
}

/// Someone removed from the workspace and not back: what the People page's "Undo" shows.
#[derive(SimpleObject)]
pub struct FormerMember {
    user: User,
    /// The role they had, and get back when restored (with their status).
    role: RoleValue,
    status: StatusValue,
    removed_at: DateTime<Utc>,
    /// Who removed them: the person behind the session or API key.
    removed_by: Option<User>,
    /// The removal's reason, when one was given.
    reason: Option<String>,
    /// Until when `restoreMember` can undo the removal.
    restorable_until: DateTime<Utc>,
    /// Whether the caller can restore them now: within the window, a role the caller manages,
    /// not the caller. `restoreMember` still needs a free seat if they hold none.
    can_restore: bool,
}

impl From<removed::FormerMember> for FormerMember {
    fn from(removed: removed::FormerMember) -> Self {
        FormerMember {
            user: removed.user.into(),
            role: removed.membership.role.into(),
            status: removed.membership.status.into(),
            removed_at: removed.removed_at,
            removed_by: removed.removed_by.map(User::from),
            reason: removed.membership.removal_reason,
            restorable_until: removed.restorable_until,
            can_restore: removed.can_restore,
        }
    }
}

/// Something attributed to a member: a campaign, a rule or a creative.
#[derive(SimpleObject)]
pub struct WorkItem {
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
}

/// The newest 100 items of a kind, and how many there are in all.
#[derive(SimpleObject)]
pub struct WorkItems {
    total_count: u64,
    items: Vec<WorkItem>,
}

impl From<detail::WorkItems> for WorkItems {
    fn from(work: detail::WorkItems) -> Self {
        WorkItems {
            total_count: work.total_count,
            items: work
                .items
                .into_iter()
                .map(|item| WorkItem {
                    id: item.id,
                    name: item.name,
                    created_at: item.created_at,
                })
                .collect(),
        }
    }
}

/// A group of the workspace with its members.
#[derive(SimpleObject)]
pub struct UserGroup {
    id: Uuid,
    name: String,
    /// Everyone in it (a removal takes the person out of every group of the workspace).
    member_count: u64,
    /// The first 100 members by email; `memberCount` says whether there are more.
    members: Vec<User>,
}

impl From<groups::GroupRow> for UserGroup {
    fn from(row: groups::GroupRow) -> Self {
        UserGroup {
            id: row.group.id,
            name: row.group.name,
            member_count: row.member_count,
            members: row.members.into_iter().map(User::from).collect(),
        }
    }
}

/// One member as a detail drawer shows them.
#[derive(SimpleObject)]
pub struct MemberDetail {
    /// Role, status and groups; `removedAt` is set when they are out (then no groups).
    member: Member,
    /// Contact duties they hold: what blocks their removal until reassigned.
    contact_duties: Vec<ContactDutyHeld>,
    /// The API keys they created here, revoked ones too, newest first.
    api_keys: Vec<ApiKey>,
    /// Campaigns they are responsible for now: none once a removal's reattribution ran.
    campaigns_owned: WorkItems,
    /// Campaigns they wrote; authorship never changes.
    campaigns_created: WorkItems,
    /// Rules they made, which keep running after they leave.
    rules_created: WorkItems,
    creatives_uploaded: WorkItems,
    /// Invited, joined, role changes, deactivations, removals and restores, oldest first (100
    /// at most; `auditLog(filter: {targetUserId})` has all).
    status_history: Vec<AuditEntry>,
}

#[derive(InputObject, Default)]
pub struct MemberFilterInput {
    /// Matches anywhere in a member's name or email, ignoring case ("smith" finds
    /// "Anna Goldsmith" and "j.smith@…"); a text of one or two characters matches the start
    /// of the name or the email ("an" finds "Anna Goldsmith", not "Joanna").
    search: Option<SearchText>,
    /// Only these statuses; all of them when absent. Removed members are never listed.
    statuses: Option<Vec<StatusValue>>,
}

impl From<MemberFilterInput> for MemberFilter {
    fn from(filter: MemberFilterInput) -> Self {
        MemberFilter {
            search: filter.search.map(Text::into_inner),
            statuses: filter
                .statuses
                .map(|statuses| statuses.into_iter().map(Into::into).collect()),
        }
    }
}

#[derive(InputObject, Default)]
pub struct RemovedMemberFilterInput {
    /// Matches in a removed person's name or email, as `members`' search does.
    search: Option<SearchText>,
}

impl From<RemovedMemberFilterInput> for RemovedFilter {
    fn from(filter: RemovedMemberFilterInput) -> Self {
        RemovedFilter {
            search: filter.search.map(Text::into_inner),
        }
    }
}

/// Seats of an organization: a person takes one while they hold a membership (active,
/// deactivated, or invited with an open invitation) in any of its workspaces.
pub struct SeatUsage(seats::SeatUsage);

impl From<seats::SeatUsage> for SeatUsage {
    fn from(usage: seats::SeatUsage) -> Self {
        SeatUsage(usage)
    }
}

#[Object]
impl SeatUsage {
    async fn organization_id(&self) -> OrganizationId {
        self.0.organization.id.into()
    }

    async fn used(&self) -> u64 {
        self.0.used
    }

    /// `null` means unlimited.
    async fn limit(&self) -> Option<i32> {
        self.0.organization.seat_limit
    }

    /// `null` means unlimited.
    async fn available(&self) -> Option<u64> {
        self.0.available()
    }

    /// The people holding a seat, by email.
    async fn holders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<UserConnection> {
        let paging = ctx.paging(first, after.as_ref())?;
        let page =
            seats::seat_holders(ctx.reader(), self.0.organization.id, Utc::now(), paging).await?;
        Ok(connection(
            page,
            |user| encode_cursor(&user.email),
            User::from,
        ))
    }
}

#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    /// The workspace's members by email: invited, active and deactivated (unless filtered out);
    /// removed members are never listed.
    async fn members(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        filter: Option<MemberFilterInput>,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<MemberConnection> {
        let principal = ctx.principal()?;
        let paging = ctx.paging(first, after.as_ref())?;
        let filter = filter.unwrap_or_default().into();
        let page = members::list_members(
            ctx.reader(),
            principal,
            workspace_id.into(),
            &filter,
            paging,
        )
        .await?;
        Ok(connection(
            page,
            |row| encode_cursor(&row.user.email),
            Member::from,
        ))
    }

    /// The people removed from the workspace and not back (neither member nor invited again),
    /// newest removal first, each once: who can still be restored, and until when. Needs
    /// USER_MANAGEMENT. A revoked invitation is not a removal and is not listed.
    async fn removed_members(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        filter: Option<RemovedMemberFilterInput>,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<FormerMemberConnection> {
        let principal = ctx.principal()?;
        let paging = ctx.paging(first, after.as_ref())?;
        let filter = filter.unwrap_or_default().into();
        let page = removed::list_removed(
            ctx.reader(),
            principal,
            workspace_id.into(),
            &filter,
            paging,
            Utc::now(),
        )
        .await?;
        Ok(connection(
            page,
            removed::RemovalCursor::of,
            FormerMember::from,
        ))
    }

    /// One member in detail: yourself, or anyone who is or was a member (removed people too,
    /// to check what happened to their work) with USER_MANAGEMENT.
    async fn member(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        user_id: UserId,
    ) -> Result<MemberDetail> {
        let principal = ctx.principal()?;
        let db = ctx.reader();
        let found =
            detail::member_detail(db, principal, workspace_id.into(), user_id.into()).await?;
        Ok(MemberDetail {
            contact_duties: found
                .contact_duties
                .held()
                .into_iter()
                .map(ContactDutyHeld::from)
                .collect(),
            api_keys: found.api_keys.into_iter().map(ApiKey::from).collect(),
            campaigns_owned: found.campaigns_owned.into(),
            campaigns_created: found.campaigns_created.into(),
            rules_created: found.rules_created.into(),
            creatives_uploaded: found.creatives_uploaded.into(),
            status_history: audit_entries(db, found.status_history).await?,
            member: Member::from(MemberRow {
                membership: found.membership,
                user: found.user,
                groups: found.groups,
            }),
        })
    }

    /// The workspace's groups by name, with their members.
    async fn groups(&self, ctx: &Context<'_>, workspace_id: WorkspaceId) -> Result<Vec<UserGroup>> {
        let principal = ctx.principal()?;
        let groups = groups::list_groups(ctx.reader(), principal, workspace_id.into()).await?;
        Ok(groups.into_iter().map(UserGroup::from).collect())
    }

    async fn seat_usage(
        &self,
        ctx: &Context<'_>,
        organization_id: OrganizationId,
    ) -> Result<SeatUsage> {
        let principal = ctx.principal()?;
        Ok(SeatUsage(
            seats::seat_usage(ctx.reader(), principal, organization_id.into(), Utc::now()).await?,
        ))
    }
}

#[derive(InputObject, Serialize, Clone)]
pub struct UpdateMemberRoleInput {
    workspace_id: WorkspaceId,
    user_id: UserId,
    /// The new role: one you could grant by invitation.
    role: RoleValue,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct UpdateMemberRolePayload {
    member: Option<Member>,
    /// Their API keys that acted above the new role, lowered to it.
    api_keys_lowered: Option<u64>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct UpdateSeatLimitInput {
    organization_id: OrganizationId,
    /// The new limit; `null` for unlimited. Must be given: leaving it out is not "unlimited".
    seat_limit: MaybeUndefined<i32>,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct UpdateSeatLimitPayload {
    /// The limit now in force (null: unlimited), when the change was made.
    seat_limit: Option<i32>,
    /// The seats in use when it was made.
    seats_used: Option<u64>,
    user_errors: Vec<UserError>,
}

mutation_inputs!(UpdateMemberRoleInput, UpdateSeatLimitInput);
payloads!(UpdateSeatLimitPayload, UpdateMemberRolePayload);

#[derive(Default)]
pub struct PeopleMutation;

#[Object]
impl PeopleMutation {
    /// Changes a member's role (invited, active or deactivated), with the removal's guards: not
    /// yourself, a member whose role you manage, a role you could grant, never the last active
    /// owner's. Their API keys acting above the new role are lowered to it. Audit entry
    /// `team_membership_role_change` with `from` and `to`; the same role again changes nothing.
    async fn update_member_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateMemberRoleInput,
    ) -> Result<UpdateMemberRolePayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let changed = roles::update_member_role(
                txn,
                acting,
                input.workspace_id.into(),
                input.user_id.into(),
                input.role.into(),
            )
            .await?;
            Ok(Done::answer(UpdateMemberRolePayload {
                member: Some(member(txn, changed.member).await?),
                api_keys_lowered: Some(changed.api_keys_lowered),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Changes the organization's seat limit; an OWNER only. A limit below the seats in use is
    /// refused (SEAT_LIMIT_BELOW_USAGE). Audit entry `seat_limit_change` with `from` and `to`.
    async fn update_seat_limit(
        &self,
        ctx: &Context<'_>,
        input: UpdateSeatLimitInput,
    ) -> Result<UpdateSeatLimitPayload> {
        let seat_limit = match &input.seat_limit {
            MaybeUndefined::Value(limit) => Some(*limit),
            MaybeUndefined::Null => None,
            MaybeUndefined::Undefined => {
                return Err(RuleError::bad_input(
                    "seat_limit",
                    "must be given: a number, or null for unlimited",
                )
                .into());
            }
        };
        run_mutation(ctx, input, async |txn, acting, input| {
            let usage =
                seats::update_seat_limit(txn, acting, input.organization_id.into(), seat_limit)
                    .await?;
            Ok(Done::answer(UpdateSeatLimitPayload {
                seat_limit: usage.organization.seat_limit,
                seats_used: Some(usage.used),
                user_errors: Vec::new(),
            }))
        })
        .await
    }
}
