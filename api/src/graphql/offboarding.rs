use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{OutboxStatus, offboarding, outbox};
use rules::error::RuleError;
use sea_orm::ActiveEnum;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::graphql::ContextExt;
use crate::graphql::ids::{UserId, WorkspaceId};
use crate::graphql::text::CursorText;
use rules::lists::{encode_cursor, page_size};
use rules::offboarding::progress::{self, OffboardingFilter, Standing, Summary};

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
    /// Absent from answers stored before identity providers acted.
    #[serde(default)]
    actor_scim_token_id: Option<Uuid>,
    /// The stored name (`remove_members`).
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
            actor_scim_token_id: model.actor_scim_token_id,
            kind: model.kind.to_value(),
            created_at: model.created_at,
            request_id: model.request_id.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Offboarding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredOffboarding::deserialize(deserializer)?;
        let kind = match stored.kind.as_str() {
            // An invitation's email was stored under its mutation's name before it had one.
            "invite_member" | "resend_invitation" => entities::OffboardingKind::InvitationEmail,
            name => entities::OffboardingKind::try_from_value(&name.to_owned())
                .map_err(serde::de::Error::custom)?,
        };
        Ok(offboarding::Model {
            id: stored.id,
            workspace_id: stored.workspace_id.into(),
            actor_user_id: stored.actor_user_id.map(Into::into),
            actor_api_key_id: stored.actor_api_key_id,
            actor_scim_token_id: stored.actor_scim_token_id,
            kind,
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

/// What made an offboarding.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::OffboardingKind")]
pub enum OffboardingKind {
    /// `removeMembers`.
    RemoveMembers,
    /// `deactivateUser`.
    DeactivateUser,
    /// The email of an invitation (`inviteMember`, `resendInvitation`): no one leaves, but the
    /// email is carried out, retried and followed like a removal's side effects.
    InvitationEmail,
}

/// The GraphQL twin of the jobs' registry: one value per kind, in the registry's order.
macro_rules! graphql_job_kind {
    ($($kind:ident($module:ident) = $doc:literal),* $(,)?) => {
        /// What a job does: end sessions, revoke API keys, reattribute campaigns, send an email.
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[graphql(remote = "rules::jobs::JobKind")]
        #[serde(rename_all = "snake_case")]
        pub enum JobKind {
            $(#[doc = $doc] $kind,)*
        }
    };
}

rules::with_job_kinds!(graphql_job_kind);

#[derive(InputObject, Default)]
pub struct OffboardingsFilter {
    status: Option<OffboardingStatus>,
    kind: Option<OffboardingKind>,
}

impl From<OffboardingsFilter> for OffboardingFilter {
    fn from(filter: OffboardingsFilter) -> Self {
        OffboardingFilter {
            standing: filter.status.map(Standing::from),
            kind: filter.kind.map(Into::into),
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
    kind: JobKind,
    status: JobStatus,
    attempts: i32,
    last_error: Option<String>,
    /// When the next attempt may run (after a failure's backoff).
    available_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

impl TryFrom<outbox::Model> for OffboardingJob {
    type Error = RuleError;

    fn try_from(job: outbox::Model) -> Result<Self, RuleError> {
        Ok(OffboardingJob {
            id: job.id,
            kind: rules::jobs::JobKind::stored(&job.kind)?.into(),
            status: job.status.into(),
            attempts: job.attempts,
            last_error: job.last_error,
            available_at: job.available_at,
            updated_at: job.updated_at,
            completed_at: job.completed_at,
        })
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

    async fn kind(&self) -> OffboardingKind {
        self.model.kind.into()
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
        Ok(jobs
            .into_iter()
            .map(OffboardingJob::try_from)
            .collect::<Result<_, _>>()?)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer stored under an idempotency key before the invitation email had its own kind
    /// replays with it.
    #[test]
    fn a_stored_answer_with_a_mutation_s_name_replays_as_an_invitation_email() {
        for stored in ["invite_member", "resend_invitation", "invitation_email"] {
            let answer = serde_json::json!({
                "id": Uuid::nil(),
                "workspace_id": Uuid::nil(),
                "actor_user_id": null,
                "actor_api_key_id": null,
                "kind": stored,
                "created_at": "2026-12-01T09:00:00Z",
            });
            let replayed: Offboarding = serde_json::from_value(answer).unwrap();
            assert_eq!(
                replayed.model.kind,
                entities::OffboardingKind::InvitationEmail,
                "{stored}"
            );
        }
        let unknown = serde_json::json!({
            "id": Uuid::nil(),
            "workspace_id": Uuid::nil(),
            "actor_user_id": null,
            "actor_api_key_id": null,
            "kind": "send_fax",
            "created_at": "2026-12-01T09:00:00Z",
        });
        assert!(serde_json::from_value::<Offboarding>(unknown).is_err());
    }
}
