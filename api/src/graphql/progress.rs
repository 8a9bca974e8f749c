//! `offboardingProgress`: an offboarding's side effects, streamed as they change.

use async_graphql::futures_util::{Stream, StreamExt};
use async_graphql::{Context, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::graphql::offboarding::{JobKind, JobStatus, OffboardingStatus};
use crate::graphql::{ContextExt, SocketToken};
use rules::access::authenticate;
use rules::error::RuleError;
use rules::offboarding::progress::{self, Overall, ProgressEvent};

/// One state a job went through.
#[derive(SimpleObject)]
pub struct OffboardingProgressEvent {
    offboarding_id: Uuid,
    job_id: Uuid,
    kind: JobKind,
    status: JobStatus,
    attempts: i32,
    last_error: Option<String>,
    at: DateTime<Utc>,
    /// The whole offboarding right after this change; the stream ends once it is not IN_PROGRESS.
    offboarding_status: OffboardingStatus,
}

impl From<ProgressEvent> for OffboardingProgressEvent {
    fn from(progress: ProgressEvent) -> Self {
        OffboardingProgressEvent {
            offboarding_id: progress.event.offboarding_id,
            job_id: progress.event.outbox_id,
            kind: progress.kind.into(),
            status: progress.event.status.into(),
            attempts: progress.event.attempts,
            last_error: progress.event.last_error,
            at: progress.event.created_at,
            offboarding_status: match progress.overall {
                Overall::InProgress => OffboardingStatus::InProgress,
                Overall::Succeeded => OffboardingStatus::Succeeded,
                Overall::Failed => OffboardingStatus::Failed,
            },
        }
    }
}

#[derive(Default)]
pub struct ProgressSubscription;

#[Subscription]
impl ProgressSubscription {
    /// Every state change of the offboarding's jobs, from the first, until all are finished —
    /// whichever worker process runs them. Over WebSocket at `/graphql/ws`
    /// (graphql-transport-ws); authenticate in `connection_init` with
    /// `{"Authorization": "Bearer <token>"}`.
    async fn offboarding_progress(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<impl Stream<Item = Result<OffboardingProgressEvent>> + use<>> {
        // The socket's token, authenticated now and again before every read of the stream.
        let token = ctx
            .data_opt::<SocketToken>()
            .and_then(|token| token.0.clone())
            .ok_or(RuleError::Unauthenticated)?;
        let principal = authenticate(ctx.reader(), &token, Utc::now())
            .await
            .map_err(RuleError::from)?
            .ok_or(RuleError::Unauthenticated)?;
        let offboarding = progress::find(ctx.reader(), &principal, id).await?;
        Ok(progress::follow(
            ctx.reader().clone(),
            offboarding.id,
            token,
            progress::POLL_INTERVAL,
        )
        .map(|event| {
            event
                .map(OffboardingProgressEvent::from)
                .map_err(async_graphql::Error::from)
        }))
    }
}
