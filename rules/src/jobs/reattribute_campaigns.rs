//! Make someone else the owner of the campaigns removed people own. `created_by` stays, and
//! rules and creatives are not touched.

use std::collections::HashMap;

use entities::{AuditAction, UserId, WorkspaceId, campaign};
use platform::audit;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::scope::Scope;
use super::{JobError, Options, Perform, Run, Runs, SendMail};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReattributeCampaigns {
    pub workspace_id: WorkspaceId,
    pub user_ids: Vec<UserId>,
    pub to_user_id: UserId,
}

impl Perform for ReattributeCampaigns {
    const OPTIONS: Options = Options {
        runs: Runs::InTransaction,
    };

    /// Gives the campaigns to `to_user_id`; one `campaigns_reattribute` entry per previous owner.
    async fn perform<C: ConnectionTrait, M: SendMail>(
        &self,
        run: &Run<'_, C, M>,
    ) -> Result<(), JobError> {
        let db = run.db;
        let scope = Scope::of(db, run.offboarding, self.workspace_id, &self.user_ids).await?;
        let owned: Vec<(Uuid, UserId)> = campaign::Entity::find()
            .select_only()
            .column(campaign::Column::Id)
            .column(campaign::Column::OwnerId)
            .filter(campaign::Column::WorkspaceId.eq(self.workspace_id))
            .filter(scope.rows(campaign::Column::OwnerId, campaign::Column::CreatedAt))
            .into_tuple()
            .all(db)
            .await?;
        if owned.is_empty() {
            return Ok(());
        }
        campaign::Entity::update_many()
            .col_expr(campaign::Column::OwnerId, Expr::value(self.to_user_id))
            .filter(campaign::Column::Id.is_in(owned.iter().map(|(id, _)| *id)))
            .exec(db)
            .await?;
        let mut by_owner: HashMap<UserId, Vec<Uuid>> = HashMap::new();
        for (campaign_id, owner_id) in owned {
            by_owner.entry(owner_id).or_default().push(campaign_id);
        }
        let entries = by_owner
            .into_iter()
            .map(|(owner_id, campaigns)| {
                run.audit(
                    AuditAction::CampaignsReattribute,
                    Some(owner_id),
                    json!({
                        "campaign_ids": campaigns,
                        "to_user_id": self.to_user_id,
                        "offboarding_id": run.offboarding.id,
                    }),
                )
            })
            .collect();
        Ok(audit::record_many(db, entries, run.now).await?)
    }
}
