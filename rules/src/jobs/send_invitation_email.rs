//! Email an invitation's link to the person invited. The link is made as the email goes out
//! (only its hash is kept); the payload's `token_hash` is the invitation's link when the job was
//! written, so no email goes out for an invitation resent since, revoked, accepted or expired.

use chrono::{DateTime, Utc};
use entities::{Role, WorkspaceId, invitation, invitation_email_link, user, workspace};
use lettre::Message;
use lettre::message::Mailbox;
use platform::tokens::{TokenKind, new_token};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;

use super::email::{accept_link, escape, message, recipient};
use super::{JobError, Options, Perform, Run, Runs, SendMail};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendInvitationEmail {
    pub workspace_id: WorkspaceId,
    pub invitation_id: Uuid,
    pub token_hash: String,
}

impl Perform for SendInvitationEmail {
    const OPTIONS: Options = Options { runs: Runs::Alone };

    /// Makes the email's link and sends it; sends nothing for an invitation that no longer
    /// waits on the job's link.
    async fn perform<C: ConnectionTrait, M: SendMail>(
        &self,
        run: &Run<'_, C, M>,
    ) -> Result<(), JobError> {
        let link = make_invitation_link(run.db, self.invitation_id, &self.token_hash, run.now);
        let Some(invitation) = link.await? else {
            tracing::info!(invitation_id = %self.invitation_id, "invitation resent, revoked, accepted or expired since: no email");
            return Ok(());
        };
        let message = invitation.message(run.mail.sender(), run.job_id, run.public_url)?;
        run.mail.send(run.job_id, message).await
    }
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
/// Written before the email is sent, with no transaction held open across the send.
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

impl InvitationLink {
    /// The message that invites the person, with the link that accepts the invitation and until
    /// when it works. Its Message-ID is derived from the job, as a removal email's: a send
    /// retried after a failure carries a link of its own, but the first copy's still works, so
    /// a mailbox that keeps only one of them keeps a working link. A message that can't be
    /// built is [`JobError::Undeliverable`].
    pub fn message(
        &self,
        from: &Mailbox,
        job_id: Uuid,
        public_url: &Url,
    ) -> Result<Message, JobError> {
        let inviter = self.inviter_name.as_deref().unwrap_or("An administrator");
        let to = recipient(
            &self.email,
            None,
            &[
                ("workspace name", &self.workspace_name),
                ("inviter name", inviter),
            ],
        )?;
        let link = accept_link(public_url, &self.token);
        let role = self.role.to_value().to_lowercase();
        let until = self.expires_at.format("%Y-%m-%d %H:%M UTC");
        let text = format!(
            "Hello,\n\n{inviter} invited you to join the workspace \"{workspace}\" as {role}.\n\n\
             Accept the invitation: {link}\n\n\
             The link works until {until}. If you weren't expecting this, ignore this email.\n",
            workspace = self.workspace_name,
        );
        let html = format!(
            "<p>Hello,</p><p>{inviter} invited you to join the workspace <strong>{workspace}</strong> as {role}.</p>\
             <p><a href=\"{link}\">Accept the invitation</a></p>\
             <p>The link works until {until}. If you weren't expecting this, ignore this email.</p>",
            inviter = escape(inviter),
            workspace = escape(&self.workspace_name),
            link = escape(link.as_str()),
        );
        message(
            (from, to),
            job_id,
            format!("{inviter} invited you to {}", self.workspace_name),
            (text, html),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(inviter_name: &str, workspace_name: &str) -> InvitationLink {
        InvitationLink {
            token: "ofi_secret-token".into(),
            email: "new@acme.test".into(),
            role: Role::Admin,
            workspace_name: workspace_name.into(),
            inviter_name: Some(inviter_name.into()),
            expires_at: DateTime::parse_from_rfc3339("2026-12-08T09:30:00Z")
                .unwrap()
                .into(),
        }
    }

    #[test]
    fn the_invitation_message_carries_its_link_and_refuses_header_smuggling() {
        let from: Mailbox = "Offboarding <no-reply@offboarding.invalid>"
            .parse()
            .unwrap();
        let public_url = Url::parse("https://people.acme.test/app/").unwrap();
        let job_id = Uuid::now_v7();
        let sent = invitation("Olivia <Owner>", "Marketing");
        let message = sent.message(&from, job_id, &public_url).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(
            raw.contains(&format!("Message-ID: <{job_id}@offboarding>")),
            "the job's: {raw}"
        );
        assert!(raw.contains("To: new@acme.test"), "{raw}");
        assert!(
            raw.contains("Olivia <Owner> invited you to Marketing"),
            "{raw}"
        );
        assert!(
            raw.contains("Olivia &lt;Owner&gt;"),
            "HTML is escaped: {raw}"
        );
        assert!(raw.contains("as admin") && raw.contains("2026-12-08 09:30 UTC"));
        assert_eq!(
            accept_link(&public_url, &sent.token).as_str(),
            "https://people.acme.test/app/accept-invitation#token=ofi_secret-token"
        );
        for (inviter, workspace) in [("Eve\r\nBcc: x@x.test", "Marketing"), ("Eve", "M\u{0}")] {
            let error = invitation(inviter, workspace)
                .message(&from, job_id, &public_url)
                .unwrap_err();
            assert!(
                error.can_never_succeed(),
                "{inviter:?} {workspace:?}: {error}"
            );
        }
    }
}
