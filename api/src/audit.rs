//! The audit trail: one append-only entry per thing done to a person.

use chrono::{DateTime, Utc};
use entities::audit_entry;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use uuid::Uuid;

use crate::access::Actor;

pub struct AuditEvent<'a> {
    pub workspace_id: Uuid,
    pub actor: Option<Actor>,
    pub action: &'a str,
    pub target_user_id: Option<Uuid>,
    pub metadata: serde_json::Value,
    pub request_id: Option<&'a str>,
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    event: AuditEvent<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let (actor_user_id, actor_api_key_id) = match event.actor {
        Some(Actor::User(id)) => (Some(id), None),
        Some(Actor::ApiKey(id)) => (None, Some(id)),
        None => (None, None),
    };
    audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(event.workspace_id),
        actor_user_id: Set(actor_user_id),
        actor_api_key_id: Set(actor_api_key_id),
        action: Set(event.action.to_owned()),
        target_user_id: Set(event.target_user_id),
        metadata: Set(event.metadata),
        request_id: Set(event.request_id.map(str::to_owned)),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}
