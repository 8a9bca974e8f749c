//! Taking people out of a workspace safely: preview, removal, deactivation and reactivation,
//! restore, and handing over contacts and ownership first. Each mutation is one transaction that
//! writes the change, its audit entries and its outbox rows together.

pub mod contacts;
pub mod deactivate;
pub mod guards;
pub mod preview;
pub mod progress;
pub mod remove;
pub mod restore;
pub mod transfer;

use chrono::{DateTime, Utc};
use domain::Job;
use entities::{WorkspaceId, offboarding};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use crate::access::Principal;
use crate::error::ApiError;
use crate::text::Reason;

/// The most members one `removeMembers` call takes.
pub const MAX_MEMBERS_PER_CALL: usize = 10_000;

/// An offboarding and the outbox rows of its side effects, to hand to the queue after commit.
pub struct Recorded {
    pub offboarding: offboarding::Model,
    pub outbox_ids: Vec<Uuid>,
}

/// Writes the offboarding row and one outbox row per job, in the caller's transaction.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    principal: &Principal,
    workspace_id: WorkspaceId,
    kind: &str,
    jobs: Vec<Job>,
    now: DateTime<Utc>,
) -> Result<Recorded, ApiError> {
    let (actor_user_id, actor_api_key_id) = principal.actor.columns();
    let offboarding = offboarding::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(workspace_id),
        actor_user_id: Set(actor_user_id),
        actor_api_key_id: Set(actor_api_key_id),
        kind: Set(kind.to_owned()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    let outbox_ids = domain::outbox::enqueue(db, offboarding.id, jobs, now).await?;
    Ok(Recorded {
        offboarding,
        outbox_ids,
    })
}

/// The reason kept with a removal or deactivation; a blank one is none.
pub fn kept_reason(reason: Option<Reason>) -> Option<String> {
    reason
        .map(Reason::into_string)
        .filter(|reason| !reason.is_empty())
}
