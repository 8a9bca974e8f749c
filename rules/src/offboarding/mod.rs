//! Taking people out of a workspace safely: preview, removal, deactivation and reactivation,
//! restore, and handing over contacts and ownership first. Each mutation is one transaction that
//! writes the change, its audit entries and its outbox rows together.

pub mod contacts;
pub mod deactivate;
pub mod facts;
pub mod guards;
pub mod preview;
pub mod progress;
pub mod remove;
pub mod restore;
pub mod transfer;

use chrono::{DateTime, Utc};
use entities::{WorkspaceId, membership, offboarding};
use platform::Job;
use platform::db::Writes;
use sea_orm::sea_query::Expr;
use sea_orm::{EntityTrait, UpdateMany};
use uuid::Uuid;

use crate::access::{Acting, Principal};
use crate::text::Reason;

/// The most members one `removeMembers` call takes.
pub const MAX_MEMBERS_PER_CALL: usize = 10_000;

/// The update that takes memberships out of their workspace, by whom and when (a removal's, or
/// the withdrawal of an invitation): the caller says which memberships.
pub fn mark_removed(principal: &Principal, now: DateTime<Utc>) -> UpdateMany<membership::Entity> {
    membership::Entity::update_many()
        .col_expr(membership::Column::DeletedAt, Expr::value(Some(now)))
        .col_expr(
            membership::Column::RemovedBy,
            Expr::value(Some(principal.user_id)),
        )
}

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

/// The reason kept with a removal or deactivation; a blank one is none.
pub fn kept_reason(reason: Option<Reason>) -> Option<String> {
    reason
        .map(Reason::into_string)
        .filter(|reason| !reason.is_empty())
}
