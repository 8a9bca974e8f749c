//! Tell a removed person they were removed from the workspace and all its groups.

use entities::{UserId, WorkspaceId};
use lettre::Message;
use lettre::message::Mailbox;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::email::{escape, message, recipient};
use super::{JobError, Options, Perform, Run, Runs, SendMail};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRemovalEmail {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub workspace_name: String,
    pub groups: Vec<String>,
    pub reason: Option<String>,
}

impl Perform for SendRemovalEmail {
    const OPTIONS: Options = Options { runs: Runs::Alone };

    async fn perform<C: ConnectionTrait, M: SendMail>(
        &self,
        run: &Run<'_, C, M>,
    ) -> Result<(), JobError> {
        let message = self.message(run.mail.sender(), run.job_id)?;
        run.mail.send(run.job_id, message).await
    }
}

impl SendRemovalEmail {
    /// The message, with the job's Message-ID. One that can't be built is
    /// [`JobError::Undeliverable`].
    pub fn message(&self, from: &Mailbox, job_id: Uuid) -> Result<Message, JobError> {
        let to = recipient(
            &self.email,
            Some(&self.name),
            &[("workspace name", &self.workspace_name)],
        )?;
        let groups = if self.groups.is_empty() {
            "You were not in any of its groups.".to_owned()
        } else {
            format!(
                "You were also removed from all its groups: {}.",
                self.groups.join(", ")
            )
        };
        let reason = self
            .reason
            .as_ref()
            .map(|reason| format!("\nReason given: {reason}\n"))
            .unwrap_or_default();
        let text = format!(
            "Hello {name},\n\nYou have been removed from the workspace \"{workspace}\". {groups}\n{reason}\n\
             Your account and your memberships of other workspaces are unchanged.\n\
             If you think this is a mistake, contact the workspace's administrators.\n",
            name = self.name,
            workspace = self.workspace_name,
        );
        let html = format!(
            "<p>Hello {name},</p><p>You have been removed from the workspace <strong>{workspace}</strong>. {groups}</p>{reason}\
             <p>Your account and your memberships of other workspaces are unchanged.</p>\
             <p>If you think this is a mistake, contact the workspace's administrators.</p>",
            name = escape(&self.name),
            workspace = escape(&self.workspace_name),
            groups = escape(&groups),
            reason = self
                .reason
                .as_ref()
                .map(|reason| format!("<p>Reason given: {}</p>", escape(reason)))
                .unwrap_or_default(),
        );
        message(
            (from, to),
            job_id,
            format!("You were removed from {}", self.workspace_name),
            (text, html),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removal(name: &str, email: &str) -> SendRemovalEmail {
        SendRemovalEmail {
            workspace_id: WorkspaceId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            email: email.into(),
            name: name.into(),
            workspace_name: "Marketing".into(),
            groups: vec![],
            reason: None,
        }
    }

    fn from() -> Mailbox {
        "Offboarding <no-reply@offboarding.invalid>"
            .parse()
            .unwrap()
    }

    #[test]
    fn the_removal_message_names_the_workspace_and_groups_in_text_and_html() {
        let job_id = Uuid::now_v7();
        let email = SendRemovalEmail {
            groups: vec!["Designers".into()],
            reason: Some("left the company".into()),
            ..removal("Mia <Member>", "mia@acme.test")
        };
        let raw = String::from_utf8(email.message(&from(), job_id).unwrap().formatted()).unwrap();
        assert!(raw.contains(&format!("Message-ID: <{job_id}@offboarding>")));
        assert!(raw.contains("mia@acme.test"));
        assert!(raw.contains("You were removed from Marketing"));
        assert!(raw.contains("Designers"));
        assert!(raw.contains("left the company"));
        assert!(raw.contains("Mia &lt;Member&gt;"), "HTML is escaped");
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
    }

    #[test]
    fn a_message_that_cannot_be_built_is_undeliverable_not_a_panic() {
        for (name, address) in [
            ("Eve\r\nBcc: x@x.test", "eve@acme.test"),
            ("A\u{0}B", "a@acme.test"),
            ("Eve", "a@b@c.com"),
            ("Eve", "a..b@c.com"),
        ] {
            let error = removal(name, address)
                .message(&from(), Uuid::now_v7())
                .unwrap_err();
            assert!(error.can_never_succeed(), "{name:?} <{address}>: {error}");
        }
    }
}
