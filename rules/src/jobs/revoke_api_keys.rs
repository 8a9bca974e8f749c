//! Complete the revocation of the API keys removed or deactivated people created in the
//! workspace: the change refused them at commit; this records the reason and one audit entry
//! per key.

use entities::{AuditAction, UserId, WorkspaceId, api_key};
use platform::audit;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::scope::Scope;
use super::{JobError, Options, Perform, Run, Runs, SendMail};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeApiKeys {
    pub workspace_id: WorkspaceId,
    pub user_ids: Vec<UserId>,
    pub reason: String,
}

impl Perform for RevokeApiKeys {
    const OPTIONS: Options = Options {
        runs: Runs::InTransaction,
    };

    /// Revokes the keys (unless the change had already refused them), with the reason, and
    /// writes one `api_key_revoke` entry per key.
    async fn perform<C: ConnectionTrait, M: SendMail>(
        &self,
        run: &Run<'_, C, M>,
    ) -> Result<(), JobError> {
        let (db, workspace_id) = (run.db, self.workspace_id);
        let scope =
            Scope::in_locked_workspace(db, run.offboarding, workspace_id, &self.user_ids).await?;
        let keys = api_key::Entity::find()
            .filter(api_key::Column::WorkspaceId.eq(workspace_id))
            .filter(scope.rows(api_key::Column::CreatedBy, api_key::Column::CreatedAt))
            .filter(api_key::Column::RevokedReason.is_null())
            .all(db)
            .await?;
        if keys.is_empty() {
            return Ok(());
        }
        api_key::Entity::update_many()
            .col_expr(
                api_key::Column::RevokedAt,
                Expr::col(api_key::Column::RevokedAt).if_null(run.now),
            )
            .col_expr(
                api_key::Column::RevokedReason,
                Expr::value(Some(self.reason.clone())),
            )
            .filter(api_key::Column::Id.is_in(keys.iter().map(|key| key.id)))
            .exec(db)
            .await?;
        let entries = keys
            .iter()
            .map(|key| {
                let mut metadata = audit::api_key_revoked(key, Some(&self.reason));
                metadata["offboarding_id"] = json!(run.offboarding.id);
                run.audit(AuditAction::ApiKeyRevoke, Some(key.created_by), metadata)
            })
            .collect();
        Ok(audit::record_many(db, entries, run.now).await?)
    }
}
