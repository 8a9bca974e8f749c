//! Who is calling: sessions, API keys, and the permission rules that follow from a role.

pub mod activity;
pub mod api_keys;
pub mod cache;
pub mod principal;
pub mod sessions;
pub mod throttle;

use entities::{AuditAction, UserId, WorkspaceId};
use platform::audit::{self, AuditEvent};
use sea_orm::{ConnectionTrait, DbErr};

pub use cache::PrincipalCache;
pub use principal::{Actor, Permission, Principal, authenticate};

/// Who acts, for which request, at what instant: what every change checks and records.
#[derive(Debug, Clone, Copy)]
pub struct Acting<'a> {
    pub principal: &'a Principal,
    /// The request's `x-request-id`, kept in the audit entries.
    pub request_id: Option<&'a str>,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl<'a> Acting<'a> {
    /// An audit entry of this actor's, for this request, outside any offboarding.
    pub fn event(
        self,
        workspace_id: WorkspaceId,
        action: AuditAction,
        target_user_id: Option<UserId>,
        metadata: serde_json::Value,
    ) -> AuditEvent<'a> {
        AuditEvent::new(
            workspace_id,
            Some(self.principal.actor),
            action,
            target_user_id,
            metadata,
        )
        .in_request(self.request_id)
    }

    /// Records [`Acting::event`] at this instant.
    pub async fn record<C: ConnectionTrait>(
        self,
        db: &C,
        workspace_id: WorkspaceId,
        action: AuditAction,
        target_user_id: Option<UserId>,
        metadata: serde_json::Value,
    ) -> Result<(), DbErr> {
        let event = self.event(workspace_id, action, target_user_id, metadata);
        audit::record(db, event, self.now).await
    }
}
