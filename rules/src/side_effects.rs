//! A change's side effects, recorded in its transaction: the record that groups them (an
//! `offboarding` row, named for the removals that first had them, and also what an
//! invitation's email is recorded under) and one outbox row per job, which the worker carries
//! out after commit.

use entities::{WorkspaceId, offboarding};
use platform::Job;
use platform::db::Writes;
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::access::Acting;

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
    kind: &str,
    jobs: Vec<Job>,
) -> Recorded {
    let (actor_user_id, actor_api_key_id) = acting.principal.actor.columns();
    let offboarding = offboarding::Model {
        id: Uuid::now_v7(),
        workspace_id,
        actor_user_id,
        actor_api_key_id,
        kind: kind.to_owned(),
        created_at: acting.now,
        request_id: acting.request_id.map(str::to_owned),
        trace_parent: platform::trace::current_trace_parent(),
    };
    writes.push(&offboarding::Entity::insert(
        offboarding::ActiveModel::from(offboarding.clone()),
    ));
    let outbox_ids = platform::outbox::add_jobs(writes, offboarding.id, jobs, acting.now);
    Recorded {
        offboarding,
        outbox_ids,
    }
}
