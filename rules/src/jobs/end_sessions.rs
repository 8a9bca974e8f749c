//! End for good the sessions removed or deactivated people hold in the workspace. Their access
//! was already cut at commit by their membership; this revokes the sessions themselves.

use entities::{AuditAction, UserId, WorkspaceId, session};
use platform::audit;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::scope::Scope;
use super::{JobError, Options, Perform, Run, Runs, SendMail};
use crate::access::sessions::end_open_sessions;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndSessions {
    pub workspace_id: WorkspaceId,
    pub user_ids: Vec<UserId>,
}

impl Perform for EndSessions {
    const OPTIONS: Options = Options {
        runs: Runs::InTransaction,
    };

    /// Ends their open sessions; one `sessions_end` audit entry per person who had any, with
    /// the count.
    async fn perform<C: ConnectionTrait, M: SendMail>(
        &self,
        run: &Run<'_, C, M>,
    ) -> Result<(), JobError> {
        let (db, workspace_id) = (run.db, self.workspace_id);
        let scope =
            Scope::in_locked_workspace(db, run.offboarding, workspace_id, &self.user_ids).await?;
        let whose = scope.rows(session::Column::UserId, session::Column::CreatedAt);
        let counts = end_open_sessions(db, workspace_id, whose, run.now).await?;
        let entries = counts
            .into_iter()
            .map(|(user_id, count)| {
                run.audit(
                    AuditAction::SessionsEnd,
                    Some(user_id),
                    json!({ "sessions": count, "offboarding_id": run.offboarding.id }),
                )
            })
            .collect();
        Ok(audit::record_many(db, entries, run.now).await?)
    }
}
