//! A change's side effects, recorded in its transaction: the record that groups them (an
//! `offboarding` row, whose [`OffboardingKind`] says what made it: a removal, a deactivation, or
//! an invitation's email) and one outbox row per job, which the worker carries out after commit.

use entities::{OffboardingKind, WorkspaceId, offboarding};
use platform::db::Writes;
use platform::outbox::NewJob;
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::access::Acting;
use crate::jobs::Job;

/// An offboarding and the outbox rows of its side effects, to hand to the queue after commit.
pub struct Recorded {
    pub offboarding: offboarding::Model,
    pub outbox_ids: Vec<Uuid>,
}

/// The offboarding row (with the request's id and trace) and one outbox row per job, sent with the other
/// writes of the caller's batch.
pub fn record(
    writes: &mut Writes,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    kind: OffboardingKind,
    jobs: Vec<Job>,
) -> Recorded {
    let actor = acting.principal.actor.columns();
    let offboarding = offboarding::Model {
        id: Uuid::now_v7(),
        workspace_id,
        actor_user_id: actor.user_id,
        actor_api_key_id: actor.api_key_id,
        actor_scim_token_id: actor.scim_token_id,
        kind,
        created_at: acting.now,
        request_id: acting.request_id.map(str::to_owned),
        trace_parent: platform::trace::current_trace_parent(),
    };
    writes.push(&offboarding::Entity::insert(
        offboarding::ActiveModel::from(offboarding.clone()),
    ));
    let jobs = jobs
        .into_iter()
        .map(|job| NewJob {
            kind: job.kind().as_str(),
            payload: serde_json::to_value(&job).expect("a job serializes"),
        })
        .collect();
    let outbox_ids = platform::outbox::add_jobs(writes, offboarding.id, jobs, acting.now);
    Recorded {
        offboarding,
        outbox_ids,
    }
}
