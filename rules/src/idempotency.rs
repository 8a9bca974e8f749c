//! Idempotency keys: a mutation sent again with the same key and the same input answers what it
//! answered the first time and applies nothing again; the same key with another input is refused.
//!
//! The key is claimed inside the mutation's own transaction (an insert that does nothing on a
//! conflict), and its answer stored in that transaction before commit, so a key and its effects
//! commit together or not at all. A concurrent second call with the same key waits on the first
//! one's row, then reads its answer. A refused call (userErrors) rolls back, claim included, so
//! retrying it re-evaluates.

use chrono::{DateTime, Utc};
use entities::idempotency_key;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::access::{Actor, Principal};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::text::IdempotencyKeyText;

/// A key as one caller sent it for one operation and input.
pub struct IdempotencyKey {
    actor: String,
    key: String,
    operation: String,
    request_hash: String,
}

pub enum Claim {
    /// First use: run the mutation, then [`IdempotencyKey::store`] its answer.
    Fresh,
    /// Used before with the same input: this is the first answer.
    Replay(serde_json::Value),
}

impl IdempotencyKey {
    /// `None` when the call sent no key.
    pub fn new(
        principal: &Principal,
        operation: &str,
        key: Option<IdempotencyKeyText>,
        input: &impl Serialize,
    ) -> Result<Option<IdempotencyKey>, RuleError> {
        let Some(key) = key else {
            return Ok(None);
        };
        let input = serde_json::to_vec(input)
            .map_err(|error| RuleError::internal("hashing the input", error))?;
        // Scoped to the caller in this workspace: a person's session elsewhere can't replay it.
        let actor = match principal.actor {
            Actor::User(id) => format!("user:{id}@{}", principal.workspace_id),
            Actor::ApiKey(id) => format!("api_key:{id}"),
            Actor::ScimToken(id) => format!("scim_token:{id}"),
        };
        Ok(Some(IdempotencyKey {
            actor,
            key: key.into_string(),
            operation: operation.to_owned(),
            request_hash: hex::encode(Sha256::digest(&input)),
        }))
    }

    pub async fn claim<C: ConnectionTrait>(
        &self,
        db: &C,
        now: DateTime<Utc>,
    ) -> Result<Claim, RuleError> {
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            id: Set(Uuid::now_v7()),
            actor: Set(self.actor.clone()),
            key: Set(self.key.clone()),
            operation: Set(self.operation.clone()),
            request_hash: Set(self.request_hash.clone()),
            response: Set(serde_json::Value::Null),
            created_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([idempotency_key::Column::Actor, idempotency_key::Column::Key])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            return Ok(Claim::Fresh);
        }
        let stored = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Actor.eq(&self.actor))
            .filter(idempotency_key::Column::Key.eq(&self.key))
            .one(db)
            .await?
            .ok_or_else(|| {
                RuleError::internal("reading a claimed idempotency key", "it vanished")
            })?;
        if stored.operation != self.operation || stored.request_hash != self.request_hash {
            return Err(RuleError::Rejected(vec![
                UserError::new(
                    UserErrorCode::IdempotencyKeyReused,
                    "This idempotency key was already used with a different input: use a new key for a new request.",
                )
                .on_field("idempotency_key"),
            ]));
        }
        Ok(Claim::Replay(stored.response))
    }

    /// Stores the answer in the mutation's transaction, before it commits.
    pub async fn store<C: ConnectionTrait>(
        &self,
        db: &C,
        response: serde_json::Value,
    ) -> Result<(), RuleError> {
        idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::Response, Expr::value(response))
            .filter(idempotency_key::Column::Actor.eq(&self.actor))
            .filter(idempotency_key::Column::Key.eq(&self.key))
            .exec(db)
            .await?;
        Ok(())
    }
}
