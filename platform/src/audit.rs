//! The audit trail's entries: one append-only row per thing done to a person, written in the
//! transaction of what it records, by the API and by the worker alike.

use chrono::{DateTime, Utc};
use entities::{AuditAction, UserId, WorkspaceId, api_key, audit_entry};
use sea_orm::{ActiveEnum, ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

use crate::Actor;
use crate::db::Writes;

/// An audit entry to write, made by [`AuditEvent::new`] alone.
pub struct AuditEvent<'a> {
    workspace_id: WorkspaceId,
    actor: Option<Actor>,
    action: AuditAction,
    target_user_id: Option<UserId>,
    metadata: serde_json::Value,
    request_id: Option<&'a str>,
    /// The offboarding it belongs to, for the mutation's entries and its jobs'.
    offboarding_id: Option<Uuid>,
}

impl<'a> AuditEvent<'a> {
    /// An entry of `actor`'s (`None`: the system), outside any request or offboarding until
    /// said otherwise. Every entry is made here, by the API's rules and the jobs alike.
    pub fn new(
        workspace_id: WorkspaceId,
        actor: Option<Actor>,
        action: AuditAction,
        target_user_id: Option<UserId>,
        metadata: serde_json::Value,
    ) -> AuditEvent<'a> {
        AuditEvent {
            workspace_id,
            actor,
            action,
            target_user_id,
            metadata,
            request_id: None,
            offboarding_id: None,
        }
    }

    /// Made by the request whose `x-request-id` this is.
    pub fn in_request(self, request_id: Option<&'a str>) -> AuditEvent<'a> {
        AuditEvent { request_id, ..self }
    }

    /// Part of this offboarding: its mutation's entries and its jobs'.
    pub fn of_offboarding(self, offboarding_id: Uuid) -> AuditEvent<'a> {
        AuditEvent {
            offboarding_id: Some(offboarding_id),
            ..self
        }
    }

    fn into_model(self, now: DateTime<Utc>) -> audit_entry::ActiveModel {
        let actor = self.actor.map(Actor::columns).unwrap_or_default();
        audit_entry::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(self.workspace_id),
            actor_user_id: Set(actor.user_id),
            actor_api_key_id: Set(actor.api_key_id),
            actor_scim_token_id: Set(actor.scim_token_id),
            action: Set(self.action),
            target_user_id: Set(self.target_user_id),
            metadata: Set(self.metadata),
            request_id: Set(self.request_id.map(str::to_owned)),
            created_at: Set(now),
            offboarding_id: Set(self.offboarding_id),
        }
    }
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    event: AuditEvent<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    event.into_model(now).insert(db).await?;
    Ok(())
}

/// Rows per INSERT: well under PostgreSQL's 65,535 bind parameters (9 columns a row).
const INSERT_CHUNK: usize = 1_000;

/// Many entries in one statement per 1,000, for calls that act on many people.
pub async fn record_many<C: ConnectionTrait>(
    db: &C,
    events: Vec<AuditEvent<'_>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut writes = Writes::new(db.get_database_backend());
    add_many(&mut writes, events, now);
    writes.execute(db).await
}

/// [`record_many`]'s inserts, sent with the other writes of the caller's batch.
pub fn add_many(writes: &mut Writes, events: Vec<AuditEvent<'_>>, now: DateTime<Utc>) {
    let models: Vec<audit_entry::ActiveModel> = events
        .into_iter()
        .map(|event| event.into_model(now))
        .collect();
    for chunk in models.chunks(INSERT_CHUNK) {
        writes.push(&audit_entry::Entity::insert_many(chunk.to_vec()));
    }
}

/// What an `api_key_revoke` entry says of the key, whether an administrator revoked it or a
/// removal's job did.
pub fn api_key_revoked(key: &api_key::Model, reason: Option<&str>) -> serde_json::Value {
    json!({
        "api_key_id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "role": key.role.to_value(),
        "reason": reason,
    })
}
