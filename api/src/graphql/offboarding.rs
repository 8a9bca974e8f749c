use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{OutboxStatus, offboarding, outbox};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::graphql::budget::{id_list_cost, spend_ids};
use crate::graphql::contacts::ContactReassignmentInput;
use crate::graphql::ids::{UserId, WorkspaceId};
use crate::graphql::text::{CursorText, IdempotencyKeyText, Reason, Text};
use crate::graphql::types::{Member, UserError, payloads};
use crate::graphql::{ContextExt, Done, mutation_inputs, run_mutation};
use rules::error::RuleError;
use rules::offboarding::deactivate::{self, DeactivateRequest};
use rules::offboarding::guards::Candidate;
use rules::offboarding::progress::{self, OffboardingFilter, Standing, Summary};
use rules::offboarding::remove::{self, RemoveRequest};
use rules::offboarding::restore;
use rules::people::members::{MemberRow, groups_of};
use rules::people::{encode_cursor, page_size};

/// One call's side effects, to follow until they are all carried out.
pub struct Offboarding {
    model: offboarding::Model,
    summary: OnceCell<Summary>,
}

impl From<offboarding::Model> for Offboarding {
    fn from(model: offboarding::Model) -> Self {
        Offboarding {
            model,
            summary: OnceCell::new(),
        }
    }
}

/// An idempotent replay answers with the same offboarding: its row is stored, its progress is
/// read afresh.
#[derive(Serialize, Deserialize)]
struct StoredOffboarding {
    id: Uuid,
    workspace_id: WorkspaceId,
    actor_user_id: Option<UserId>,
    actor_api_key_id: Option<Uuid>,
    kind: String,
    created_at: DateTime<Utc>,
    /// Absent from answers stored before offboardings kept it.
    #[serde(default)]
    request_id: Option<String>,
}

impl Serialize for Offboarding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let model = &self.model;
        StoredOffboarding {
            id: model.id,
            workspace_id: model.workspace_id.into(),
            actor_user_id: model.actor_user_id.map(Into::into),
            actor_api_key_id: model.actor_api_key_id,
            kind: model.kind.clone(),
            created_at: model.created_at,
            request_id: model.request_id.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Offboarding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredOffboarding::deserialize(deserializer)?;
        Ok(offboarding::Model {
            id: stored.id,
            workspace_id: stored.workspace_id.into(),
            actor_user_id: stored.actor_user_id.map(Into::into),
            actor_api_key_id: stored.actor_api_key_id,
            kind: stored.kind,
            created_at: stored.created_at,
            request_id: stored.request_id,
            // Not part of an answer: only a job reads it, from the row.
            trace_parent: None,
        }
        .into())
    }
}

impl Offboarding {
    /// An offboarding of a list, its summary read with the others of the page.
    fn with_summary(model: offboarding::Model, summary: Summary) -> Self {
        Offboarding {
            model,
            summary: OnceCell::new_with(Some(summary)),
        }
    }

    async fn load_summary(&self, ctx: &Context<'_>) -> Result<Summary> {
        Ok(*self
            .summary
            .get_or_try_init(|| progress::summary(ctx.reader(), self.model.id))
            .await?)
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffboardingStatus {
    /// Some side effects are still to run (or to retry).
    InProgress,
    /// Every side effect was carried out.
    Succeeded,
    /// Every side effect ran, but some are DEAD: they failed all their attempts.
    Failed,
}

impl From<Standing> for OffboardingStatus {
    fn from(standing: Standing) -> Self {
        match standing {
            Standing::InProgress => OffboardingStatus::InProgress,
            Standing::Succeeded => OffboardingStatus::Succeeded,
            Standing::Failed => OffboardingStatus::Failed,
        }
    }
}

impl From<OffboardingStatus> for Standing {
    fn from(status: OffboardingStatus) -> Self {
        match status {
            OffboardingStatus::InProgress => Standing::InProgress,
            OffboardingStatus::Succeeded => Standing::Succeeded,
            OffboardingStatus::Failed => Standing::Failed,
        }
    }
}

/// What an offboarding did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffboardingKind {
    /// `removeMembers`: `kind` is `remove_members`.
    RemoveMembers,
    /// `deactivateUser`: `kind` is `deactivate_user`.
    DeactivateUser,
    /// `inviteMember`'s email: `kind` is `invite_member`.
    InviteMember,
    /// `resendInvitation`'s email: `kind` is `resend_invitation`.
    ResendInvitation,
}

impl OffboardingKind {
    fn as_str(self) -> &'static str {
        match self {
            OffboardingKind::RemoveMembers => "remove_members",
            OffboardingKind::DeactivateUser => "deactivate_user",
            OffboardingKind::InviteMember => "invite_member",
            OffboardingKind::ResendInvitation => "resend_invitation",
        }
    }
}

#[derive(InputObject, Default)]
pub struct OffboardingsFilter {
    status: Option<OffboardingStatus>,
    kind: Option<OffboardingKind>,
}

impl From<OffboardingsFilter> for OffboardingFilter {
    fn from(filter: OffboardingsFilter) -> Self {
        OffboardingFilter {
            standing: filter.status.map(Standing::from),
            kind: filter.kind.map(OffboardingKind::as_str),
        }
    }
}

#[derive(SimpleObject)]
pub struct OffboardingTotals {
    /// How many offboardings match, across all pages.
    total_count: u64,
}

pub type OffboardingConnection = Connection<String, Offboarding, OffboardingTotals, EmptyFields>;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    Pending,
    Queued,
    Succeeded,
    Failed,
    Dead,
}

impl From<OutboxStatus> for JobStatus {
    fn from(status: OutboxStatus) -> Self {
        match status {
            OutboxStatus::Pending => JobStatus::Pending,
            OutboxStatus::Queued => JobStatus::Queued,
            OutboxStatus::Succeeded => JobStatus::Succeeded,
            OutboxStatus::Failed => JobStatus::Failed,
            OutboxStatus::Dead => JobStatus::Dead,
        }
    }
}

/// How many side effects are in each state.
#[derive(SimpleObject)]
pub struct JobSummary {
    total: u64,
    pending: u64,
    queued: u64,
    succeeded: u64,
    /// Failed at least once and waiting for their next attempt.
    failed: u64,
    /// Failed every attempt; `lastError` on the job says why.
    dead: u64,
}

/// One side effect: end sessions, revoke API keys, reattribute campaigns, send an email.
#[derive(SimpleObject, Serialize, Deserialize)]
pub struct OffboardingJob {
    id: Uuid,
    kind: String,
    status: JobStatus,
    attempts: i32,
    last_error: Option<String>,
    /// When the next attempt may run (after a failure's backoff).
    available_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl From<outbox::Model> for OffboardingJob {
    fn from(job: outbox::Model) -> Self {
        OffboardingJob {
            id: job.id,
            kind: job.kind,
            status: job.status.into(),
            attempts: job.attempts,
            last_error: job.last_error,
            available_at: job.available_at,
            updated_at: job.updated_at,
            completed_at: job.completed_at,
        }
    }
}

#[Object]
impl Offboarding {
    async fn id(&self) -> Uuid {
        self.model.id
    }

    async fn workspace_id(&self) -> WorkspaceId {
        self.model.workspace_id.into()
    }

    /// What was done: `remove_members`, `deactivate_user`, or an invitation's email
    /// (`invite_member`, `resend_invitation`).
    async fn kind(&self) -> &str {
        &self.model.kind
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// The `x-request-id` of the mutation that made it; its jobs' audit entries carry it too.
    async fn request_id(&self) -> Option<&str> {
        self.model.request_id.as_deref()
    }

    async fn status(&self, ctx: &Context<'_>) -> Result<OffboardingStatus> {
        Ok(self.load_summary(ctx).await?.standing().into())
    }

    async fn summary(&self, ctx: &Context<'_>) -> Result<JobSummary> {
        let summary = self.load_summary(ctx).await?;
        Ok(JobSummary {
            total: summary.total(),
            pending: summary.pending,
            queued: summary.queued,
            succeeded: summary.succeeded,
            failed: summary.failed,
            dead: summary.dead,
        })
    }

    /// The side effects in the order they were written, `first` (default 20) after the job
    /// with id `after`.
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Uuid>,
    ) -> Result<Vec<OffboardingJob>> {
        let first = page_size(first, ctx.config().limits.page_size)?;
        let jobs = progress::jobs(ctx.reader(), self.model.id, first, after).await?;
        Ok(jobs.into_iter().map(OffboardingJob::from).collect())
    }
}

#[derive(Default)]
pub struct OffboardingQuery;

#[Object]
impl OffboardingQuery {
    /// An offboarding of the caller's workspace, to follow its side effects.
    async fn offboarding(&self, ctx: &Context<'_>, id: Uuid) -> Result<Offboarding> {
        let principal = ctx.principal()?;
        Ok(progress::find(ctx.reader(), principal, id).await?.into())
    }

    /// The workspace's offboardings, newest first: how a People page or an operator finds the
    /// ones IN_PROGRESS or FAILED without knowing their ids. Each one's `status` and `summary`
    /// are read with the page's others.
    async fn offboardings(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        filter: Option<OffboardingsFilter>,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<OffboardingConnection> {
        let principal = ctx.principal()?;
        let paging = ctx.paging(first, after.as_ref())?;
        let filter = filter.unwrap_or_default().into();
        let page = progress::list(
            ctx.reader(),
            principal,
            workspace_id.into(),
            &filter,
            paging,
        )
        .await?;
        let ids: Vec<Uuid> = page
            .items
            .iter()
            .map(|offboarding| offboarding.id)
            .collect();
        let mut summaries = progress::summaries(ctx.reader(), &ids).await?;
        let mut connection = Connection::with_additional_fields(
            false,
            page.has_next_page,
            OffboardingTotals {
                total_count: page.total_count,
            },
        );
        connection.edges = page
            .items
            .into_iter()
            .map(|model| {
                let summary = summaries.remove(&model.id).unwrap_or_default();
                Edge::new(
                    encode_cursor(&model.id.to_string()),
                    Offboarding::with_summary(model, summary),
                )
            })
            .collect();
        Ok(connection)
    }
}

#[derive(InputObject, Serialize, Clone)]
pub struct RemoveMembersInput {
    workspace_id: WorkspaceId,
    /// The members to remove, 1 to 10,000. All are removed, or none.
    user_ids: Vec<UserId>,
    /// Kept with the removal, shown in the audit log and the email.
    reason: Option<Reason>,
    /// Also refuse, from this call on, the API keys they created in this workspace.
    #[graphql(default)]
    revoke_api_keys: bool,
    /// An active member to take over their campaigns; the workspace itself by default.
    reattribute_to: Option<UserId>,
    /// Contact duties to hand over in the same transaction ("Reassign and Remove").
    contact_reassignments: Option<Vec<ContactReassignmentInput>>,
    /// Send the same key again to retry safely: the first answer comes back, nothing is applied twice.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Serialize, Deserialize)]
pub struct RemovedMember {
    user_id: UserId,
    /// The membership removed, with its `removedAt`: a client cache evicts `Member:<id>`.
    member: Member,
    email: String,
    name: String,
    /// Whether their organization seat is free now (they hold no other membership in it).
    seat_freed: bool,
    /// API keys refused by `revokeApiKeys`.
    api_keys_revoked: u64,
}

impl From<remove::RemovedMember> for RemovedMember {
    fn from(removed: remove::RemovedMember) -> RemovedMember {
        RemovedMember {
            user_id: removed.user.id.into(),
            email: removed.user.email.clone(),
            name: removed.user.name.clone(),
            member: Member::from(MemberRow {
                membership: removed.membership,
                user: removed.user,
                groups: Vec::new(),
            }),
            seat_freed: removed.seat_freed,
            api_keys_revoked: removed.api_keys_revoked as u64,
        }
    }
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RemoveMembersPayload {
    removed_members: Vec<RemovedMember>,
    /// The side effects still to carry out: sessions, keys, campaigns, emails.
    offboarding: Option<Offboarding>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct DeactivateUserInput {
    workspace_id: WorkspaceId,
    user_id: UserId,
    reason: Option<Reason>,
    #[graphql(default)]
    revoke_api_keys: bool,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct DeactivateUserPayload {
    member: Option<Member>,
    offboarding: Option<Offboarding>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct ReactivateUserInput {
    workspace_id: WorkspaceId,
    user_id: UserId,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct ReactivateUserPayload {
    member: Option<Member>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct RestoreMemberInput {
    workspace_id: WorkspaceId,
    user_id: UserId,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RestoreMemberPayload {
    /// The membership as it was before the removal: role, status and groups.
    member: Option<Member>,
    /// Restoring took an organization seat the person no longer held.
    seat_taken: Option<bool>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct RetryJobInput {
    /// A DEAD job (`Offboarding.jobs`), of the caller's workspace.
    job_id: Uuid,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RetryJobPayload {
    /// The job as retried: PENDING, no attempt counted yet, its last error kept until it runs.
    job: Option<OffboardingJob>,
    offboarding: Option<Offboarding>,
    user_errors: Vec<UserError>,
}

mutation_inputs!(
    RemoveMembersInput,
    DeactivateUserInput,
    ReactivateUserInput,
    RestoreMemberInput,
    RetryJobInput
);
payloads!(
    RemoveMembersPayload,
    DeactivateUserPayload,
    ReactivateUserPayload,
    RestoreMemberPayload,
    RetryJobPayload
);

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

#[derive(Default)]
pub struct OffboardingMutation;

#[Object]
impl OffboardingMutation {
    /// Removes members from the workspace, all or none. Their access ends when this returns.
    #[graphql(complexity = "child_complexity + id_list_cost(input.user_ids.len())")]
    async fn remove_members(
        &self,
        ctx: &Context<'_>,
        input: RemoveMembersInput,
    ) -> Result<RemoveMembersPayload> {
        spend_ids(ctx, input.user_ids.len())?;
        run_mutation(ctx, input, async |txn, acting, input| {
            let request = RemoveRequest {
                workspace_id: input.workspace_id.into(),
                user_ids: input.user_ids.into_iter().map(Into::into).collect(),
                reason: input.reason.map(Text::into_inner),
                revoke_api_keys: input.revoke_api_keys,
                reattribute_to: input.reattribute_to.map(Into::into),
                contact_reassignments: input
                    .contact_reassignments
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            };
            let removed = remove::remove_members(txn, acting, request).await?;
            // Counted when written, in the transaction (a replay of its idempotency key
            // isn't counted; a commit that then fails, rare, is).
            metrics::counter!("offboardings_total", "kind" => "remove_members").increment(1);
            metrics::histogram!("members_removed_per_call").record(removed.members.len() as f64);
            Ok(Done {
                payload: RemoveMembersPayload {
                    removed_members: removed.members.into_iter().map(Into::into).collect(),
                    offboarding: Some(removed.recorded.offboarding.into()),
                    user_errors: Vec::new(),
                },
                outbox_ids: removed.recorded.outbox_ids,
            })
        })
        .await
    }

    /// Suspends a member's access; membership, role, groups and seat are kept.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: DeactivateUserInput,
    ) -> Result<DeactivateUserPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let request = DeactivateRequest {
                workspace_id: input.workspace_id.into(),
                user_id: input.user_id.into(),
                reason: input.reason.map(Text::into_inner),
                revoke_api_keys: input.revoke_api_keys,
            };
            let deactivated = deactivate::deactivate_user(txn, acting, request).await?;
            metrics::counter!("offboardings_total", "kind" => "deactivate_user").increment(1);
            Ok(Done {
                payload: DeactivateUserPayload {
                    member: Some(member(txn, deactivated.candidate).await?),
                    offboarding: Some(deactivated.recorded.offboarding.into()),
                    user_errors: Vec::new(),
                },
                outbox_ids: deactivated.recorded.outbox_ids,
            })
        })
        .await
    }

    /// Gives a DEAD job a fresh set of attempts, once what made it fail is fixed (SMTP down, a
    /// relay refusing): it is queued at once. Refused (JOB_NOT_DEAD) for a job that isn't DEAD.
    async fn retry_job(&self, ctx: &Context<'_>, input: RetryJobInput) -> Result<RetryJobPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let (job, offboarding) = progress::retry_job(txn, acting, input.job_id).await?;
            let outbox_ids = vec![job.id];
            Ok(Done {
                payload: RetryJobPayload {
                    job: Some(job.into()),
                    offboarding: Some(offboarding.into()),
                    user_errors: Vec::new(),
                },
                outbox_ids,
            })
        })
        .await
    }

    /// Gives a deactivated member their access back, with the same role and groups.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        input: ReactivateUserInput,
    ) -> Result<ReactivateUserPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let candidate = deactivate::reactivate_user(
                txn,
                acting,
                input.workspace_id.into(),
                input.user_id.into(),
            )
            .await?;
            Ok(Done::answer(ReactivateUserPayload {
                member: Some(member(txn, candidate).await?),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Undoes a removal made in the last 30 days: the membership comes back with its role,
    /// status and groups. Revoked API keys and ended sessions stay revoked.
    async fn restore_member(
        &self,
        ctx: &Context<'_>,
        input: RestoreMemberInput,
    ) -> Result<RestoreMemberPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let restored = restore::restore_member(
                txn,
                acting,
                input.workspace_id.into(),
                input.user_id.into(),
            )
            .await?;
            metrics::counter!("members_restored_total").increment(1);
            Ok(Done::answer(RestoreMemberPayload {
                member: Some(member(txn, restored.candidate).await?),
                seat_taken: Some(restored.seat_taken),
                user_errors: Vec::new(),
            }))
        })
        .await
    }
}
