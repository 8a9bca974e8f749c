//! What each job does to the database. Each handler runs inside the transaction that also marks
//! its outbox row SUCCEEDED, and is idempotent: a second run finds nothing left to do. An
//! invitation email's link is made here too, before the email is sent.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{
    MembershipStatus, Role, UserId, WorkspaceId, api_key, campaign, invitation,
    invitation_email_link, membership, offboarding, session, user, workspace,
};
use platform::Actor;
use platform::audit::{self, AuditEvent};
use platform::locks::lock_workspace;
use platform::tokens::{TokenKind, new_token};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

/// Who the audit trail names for a job's effects: whoever made the mutation.
pub struct JobContext<'a> {
    pub offboarding: &'a offboarding::Model,
    pub now: DateTime<Utc>,
}

impl JobContext<'_> {
    /// An entry naming the mutation's actor, as the API's own entries do.
    fn audit(
        &self,
        action: &'static str,
        target_user_id: Option<UserId>,
        metadata: serde_json::Value,
    ) -> AuditEvent<'_> {
        AuditEvent {
            workspace_id: self.offboarding.workspace_id,
            actor: Actor::from_columns(
                self.offboarding.actor_user_id,
                self.offboarding.actor_api_key_id,
            ),
            action,
            target_user_id,
            metadata,
            request_id: self.offboarding.request_id.as_deref(),
            offboarding_id: Some(self.offboarding.id),
        }
    }
}

/// The people a job acts for, and up to when. A late job must not undo what came after its
/// mutation: someone who has regained access since (restored, reactivated, or a member again)
/// is acted on only for what they had before that moment — the membership's
/// `sessions_valid_after` (set by restore and reactivation) or the new membership's creation.
/// Everyone else is acted on for everything, so nothing made while the mutation was committing
/// escapes it.
struct Scope {
    still_out: Vec<UserId>,
    returned: Vec<(UserId, DateTime<Utc>)>,
}

impl Scope {
    async fn of<C: ConnectionTrait>(
        db: &C,
        context: &JobContext<'_>,
        workspace_id: WorkspaceId,
        user_ids: &[UserId],
    ) -> Result<Scope, DbErr> {
        let back: Vec<(UserId, DateTime<Utc>, Option<DateTime<Utc>>)> =
            membership::Entity::find_live(workspace_id, user_ids.iter().copied())
                .select_only()
                .column(membership::Column::UserId)
                .column(membership::Column::CreatedAt)
                .column(membership::Column::SessionsValidAfter)
                .filter(membership::Column::Status.ne(MembershipStatus::Deactivated))
                .into_tuple()
                .all(db)
                .await?;
        let returned: HashMap<UserId, DateTime<Utc>> = back
            .into_iter()
            .map(|(user_id, created_at, valid_after)| {
                (
                    user_id,
                    valid_after.map_or(created_at, |at| Ord::max(at, created_at)),
                )
            })
            .filter(|(_, regained)| *regained > context.offboarding.created_at)
            .collect();
        Ok(Scope {
            still_out: user_ids
                .iter()
                .copied()
                .filter(|id| !returned.contains_key(id))
                .collect(),
            returned: returned.into_iter().collect(),
        })
    }

    /// The rows this job may act on: `person` names whose row it is, `created` when it was made.
    fn rows<Column: ColumnTrait>(&self, person: Column, created: Column) -> Condition {
        let mut rows = Condition::any();
        if !self.still_out.is_empty() {
            rows = rows.add(person.is_in(self.still_out.iter().copied()));
        }
        for (user_id, regained) in &self.returned {
            rows = rows.add(
                Condition::all()
                    .add(person.eq(*user_id))
                    .add(created.lt(*regained)),
            );
        }
        rows
    }
}

/// Ends the sessions; one `sessions_end` audit entry per person who had any, with the count.
pub async fn end_sessions<C: ConnectionTrait>(
    db: &C,
    context: &JobContext<'_>,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
) -> Result<(), DbErr> {
    // The lock order: the workspace before its sessions, as the API's changes take it.
    lock_workspace(db, workspace_id).await?;
    let scope = Scope::of(db, context, workspace_id, user_ids).await?;
    let sessions = || scope.rows(session::Column::UserId, session::Column::CreatedAt);
    let open = || {
        session::Entity::find()
            .filter(session::Column::WorkspaceId.eq(workspace_id))
            .filter(sessions())
            .filter(session::Column::RevokedAt.is_null())
    };
    let counts: Vec<(UserId, i64)> = open()
        .select_only()
        .column(session::Column::UserId)
        .column_as(session::Column::Id.count(), "sessions")
        .group_by(session::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    if counts.is_empty() {
        return Ok(());
    }
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(context.now)))
        .filter(session::Column::WorkspaceId.eq(workspace_id))
        .filter(sessions())
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    let entries = counts
        .into_iter()
        .map(|(user_id, count)| {
            context.audit(
                "sessions_end",
                Some(user_id),
                json!({ "sessions": count, "offboarding_id": context.offboarding.id }),
            )
        })
        .collect();
    audit::record_many(db, entries, context.now).await
}

/// Completes the revocation of these people's API keys in the workspace: revoked (if the
/// mutation had not already refused them), with the reason, and one audit entry per key.
pub async fn revoke_api_keys<C: ConnectionTrait>(
    db: &C,
    context: &JobContext<'_>,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
    reason: &str,
) -> Result<(), DbErr> {
    // The lock order: the workspace before its keys, as the API's changes take it.
    lock_workspace(db, workspace_id).await?;
    let scope = Scope::of(db, context, workspace_id, user_ids).await?;
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
            Expr::col(api_key::Column::RevokedAt).if_null(context.now),
        )
        .col_expr(
            api_key::Column::RevokedReason,
            Expr::value(Some(reason.to_owned())),
        )
        .filter(api_key::Column::Id.is_in(keys.iter().map(|key| key.id)))
        .exec(db)
        .await?;
    let entries = keys
        .iter()
        .map(|key| {
            let mut metadata = audit::api_key_revoked(key, Some(reason));
            metadata["offboarding_id"] = json!(context.offboarding.id);
            context.audit("api_key_revoke", Some(key.created_by), metadata)
        })
        .collect();
    audit::record_many(db, entries, context.now).await
}

/// Gives the campaigns these people own to `to_user_id`; one `campaigns_reattribute` audit entry
/// per previous owner. `created_by` is never touched; rules and creatives are not either.
pub async fn reattribute_campaigns<C: ConnectionTrait>(
    db: &C,
    context: &JobContext<'_>,
    workspace_id: WorkspaceId,
    user_ids: &[UserId],
    to_user_id: UserId,
) -> Result<(), DbErr> {
    let scope = Scope::of(db, context, workspace_id, user_ids).await?;
    let owned: Vec<(Uuid, UserId)> = campaign::Entity::find()
        .select_only()
        .column(campaign::Column::Id)
        .column(campaign::Column::OwnerId)
        .filter(campaign::Column::WorkspaceId.eq(workspace_id))
        .filter(scope.rows(campaign::Column::OwnerId, campaign::Column::CreatedAt))
        .into_tuple()
        .all(db)
        .await?;
    if owned.is_empty() {
        return Ok(());
    }
    campaign::Entity::update_many()
        .col_expr(campaign::Column::OwnerId, Expr::value(to_user_id))
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
            context.audit(
                "campaigns_reattribute",
                Some(owner_id),
                json!({
                    "campaign_ids": campaigns,
                    "to_user_id": to_user_id,
                    "offboarding_id": context.offboarding.id,
                }),
            )
        })
        .collect();
    audit::record_many(db, entries, context.now).await
}

/// What an invitation email says, with the link it carries.
pub struct InvitationLink {
    /// The link's secret: sent in the email, kept only as its hash (`invitation_email_link`).
    pub token: String,
    pub email: String,
    pub role: Role,
    pub workspace_name: String,
    /// Who invited them, when still known.
    pub inviter_name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Makes the link of an invitation's email, unless the invitation no longer waits on the link
/// the job was written for (`token_hash`: resent since, revoked, accepted or expired), in which
/// case there is nothing to send. A send retried after a failure makes a link of its own beside
/// the earlier attempts': the failure may have come after the mail server took the message, and
/// that first copy's link must keep working.
///
/// Not a handler of the job's transaction: it is written before the email is sent, with no
/// transaction held open across the send.
pub async fn make_invitation_link<C: ConnectionTrait>(
    db: &C,
    invitation_id: Uuid,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<InvitationLink>, DbErr> {
    let waiting = || {
        Condition::all()
            .add(invitation::Column::Id.eq(invitation_id))
            .add(invitation::Column::TokenHash.eq(token_hash))
            .add(invitation::Column::RevokedAt.is_null())
            .add(invitation::Column::AcceptedAt.is_null())
            .add(invitation::Column::ExpiresAt.gt(now))
    };
    let Some(invitation) = invitation::Entity::find().filter(waiting()).one(db).await? else {
        return Ok(None);
    };
    let link = new_token(TokenKind::Invitation);
    // Written only if the invitation still waits, in the same statement: one resent, revoked
    // or accepted since it was read gets no email.
    let mut made = Query::insert();
    made.into_table(invitation_email_link::Entity)
        .columns([
            invitation_email_link::Column::TokenHash,
            invitation_email_link::Column::InvitationId,
            invitation_email_link::Column::InvitationTokenHash,
            invitation_email_link::Column::CreatedAt,
        ])
        .select_from(
            Query::select()
                .expr(Expr::val(link.hash))
                .column(invitation::Column::Id)
                .column(invitation::Column::TokenHash)
                .expr(Expr::val(now))
                .from(invitation::Entity)
                .cond_where(waiting())
                .take(),
        )
        .map_err(|error| DbErr::Custom(error.to_string()))?;
    if db.execute(&made).await?.rows_affected() == 0 {
        return Ok(None);
    }
    let workspace_name: Option<String> = workspace::Entity::find_by_id(invitation.workspace_id)
        .select_only()
        .column(workspace::Column::Name)
        .into_tuple()
        .one(db)
        .await?;
    let inviter_name: Option<String> = match invitation.invited_by {
        Some(inviter) => {
            user::Entity::find_by_id(inviter)
                .select_only()
                .column(user::Column::Name)
                .into_tuple()
                .one(db)
                .await?
        }
        None => None,
    };
    Ok(Some(InvitationLink {
        token: link.token,
        email: invitation.email,
        role: invitation.role,
        workspace_name: workspace_name.unwrap_or_default(),
        inviter_name,
        expires_at: invitation.expires_at,
    }))
}
