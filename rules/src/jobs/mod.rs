//! The side effects a change leaves behind, one module per kind: its payload (written to the
//! outbox in the change's transaction, [`crate::side_effects`]), how it runs ([`Options`]) and
//! what running it does ([`Perform`]). The worker claims an outbox row, reads its [`Job`] and
//! calls [`Job::perform`]; it names no kind itself.
//!
//! Adding a job kind is a module here (a payload struct implementing [`Perform`]) and its line in
//! [`with_job_kinds!`]. Everything that goes through the kinds one by one is built from that
//! list: [`Job`], [`JobKind`], the dispatch of [`Job::perform`], and the API's GraphQL `JobKind`.

use std::future::Future;

use chrono::{DateTime, Utc};
use entities::{AuditAction, UserId, offboarding};
use lettre::Message;
use lettre::message::Mailbox;
use platform::audit::AuditEvent;
use platform::{Actor, ActorColumns};
use sea_orm::{ConnectionTrait, DbErr};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;

use crate::error::RuleError;

mod email;
pub mod end_sessions;
pub mod reattribute_campaigns;
pub mod revoke_api_keys;
mod scope;
pub mod send_invitation_email;
pub mod send_removal_email;

pub use email::accept_link;

/// Every job kind, once, as `Variant(module) = "what it does"`: calls `$then!` with the list, so
/// each reader of it (this module, the API's schema) builds what it needs from the same one. A
/// kind's stored name is its module's.
#[macro_export]
macro_rules! with_job_kinds {
    ($then:ident) => {
        $then! {
            EndSessions(end_sessions) = "End the people's sessions in the workspace for good.",
            RevokeApiKeys(revoke_api_keys) = "Revoke the API keys they created in the workspace.",
            ReattributeCampaigns(reattribute_campaigns) = "Give the campaigns they own to someone else.",
            SendRemovalEmail(send_removal_email) = "Tell a removed person by email.",
            SendInvitationEmail(send_invitation_email) = "Email an invitation's link.",
        }
    };
}

macro_rules! registry {
    ($($kind:ident($module:ident) = $doc:literal),* $(,)?) => {
        /// One job: its kind and its payload. Stored as the outbox row's payload, with `kind`
        /// naming it in the payload and in the row.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum Job {
            $($kind($module::$kind),)*
        }

        /// What a job does, by name. Stored as text (its module's name: `end_sessions`, …) in
        /// the outbox row's `kind`, which the metrics and the API's job lists read.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum JobKind {
            $(#[doc = $doc] $kind,)*
        }

        impl JobKind {
            pub const ALL: &'static [JobKind] = &[$(JobKind::$kind,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(JobKind::$kind => stringify!($module),)*
                }
            }

            pub fn options(self) -> Options {
                match self {
                    $(JobKind::$kind => <$module::$kind as Perform>::OPTIONS,)*
                }
            }
        }

        impl Job {
            pub fn kind(&self) -> JobKind {
                match self {
                    $(Job::$kind(_) => JobKind::$kind,)*
                }
            }

            /// Carries the job out: in the transaction `run.db` when its kind runs
            /// [`Runs::InTransaction`], with no transaction open otherwise.
            pub async fn perform<C: ConnectionTrait, M: SendMail>(
                &self,
                run: &Run<'_, C, M>,
            ) -> Result<(), JobError> {
                match self {
                    $(Job::$kind(job) => job.perform(run).await,)*
                }
            }
        }

        $(
            impl From<$module::$kind> for Job {
                fn from(job: $module::$kind) -> Job {
                    Job::$kind(job)
                }
            }
        )*
    };
}

with_job_kinds!(registry);

impl std::str::FromStr for JobKind {
    type Err = JobError;

    /// A kind by its stored name; a name no kind has is a payload no worker can run.
    fn from_str(name: &str) -> Result<JobKind, JobError> {
        JobKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| JobError::Payload(format!("no job kind is named {name:?}")))
    }
}

impl JobKind {
    /// The kind of an outbox row as this release reads it: a name it doesn't know is a fault of
    /// ours (a row written by another release), not the reader's.
    pub fn stored(name: &str) -> Result<JobKind, RuleError> {
        name.parse()
            .map_err(|error| RuleError::internal("a job's kind", error))
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a kind of job is run. Its attempts, their backoff and their time limit are the worker's
/// settings, the same for every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub runs: Runs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// In the transaction that marks its outbox row SUCCEEDED, with the row locked: a database
    /// job takes effect exactly once, and a deadlock aborting it is retried at once.
    InTransaction,
    /// With no transaction open, then the row is marked: what waits on the network (an email)
    /// never holds a transaction, and is made safe to repeat by its own means.
    Alone,
}

/// One kind of job: its payload is the implementing struct.
pub trait Perform: Serialize + DeserializeOwned {
    const OPTIONS: Options;

    fn perform<C: ConnectionTrait, M: SendMail>(
        &self,
        run: &Run<'_, C, M>,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// What a running job has at hand.
pub struct Run<'a, C, M> {
    /// The job's transaction ([`Runs::InTransaction`]) or the connection pool ([`Runs::Alone`]).
    pub db: &'a C,
    /// The outbox row's id: an email's Message-ID is derived from it.
    pub job_id: Uuid,
    /// The change whose side effect this is: who made it, when, under which request.
    pub offboarding: &'a offboarding::Model,
    pub mail: &'a M,
    /// `PUBLIC_URL`: links in emails go under it.
    pub public_url: &'a Url,
    pub now: DateTime<Utc>,
}

impl<C, M> Run<'_, C, M> {
    /// An audit entry of the job's, naming the change's actor as the change's own entries do.
    fn audit(
        &self,
        action: AuditAction,
        target_user_id: Option<UserId>,
        metadata: serde_json::Value,
    ) -> AuditEvent<'_> {
        let change = self.offboarding;
        let actor = Actor::from_columns(ActorColumns {
            user_id: change.actor_user_id,
            api_key_id: change.actor_api_key_id,
            scim_token_id: change.actor_scim_token_id,
        });
        AuditEvent::new(change.workspace_id, actor, action, target_user_id, metadata)
            .in_request(change.request_id.as_deref())
            .of_offboarding(change.id)
    }
}

/// Sends an email: SMTP, or a folder of `.eml` files in the embedded default (the worker's).
pub trait SendMail: Sync {
    /// `MAIL_FROM`.
    fn sender(&self) -> &Mailbox;

    /// Sends `message`, the job `job_id`'s email.
    fn send(
        &self,
        job_id: Uuid,
        message: Message,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// Sending failed for now (server down, busy, or a temporary refusal): try again later.
    #[error("mail: {0}")]
    Mail(String),
    /// The message can't be built, or the server refused it for good: no retry can help.
    #[error("undeliverable: {0}")]
    Undeliverable(String),
    /// The outbox row holds nothing a job can be read from.
    #[error("job payload: {0}")]
    Payload(String),
}

impl JobError {
    /// Whether running the same job again could ever succeed; if not, it is DEAD at once.
    pub fn can_never_succeed(&self) -> bool {
        matches!(self, JobError::Undeliverable(_) | JobError::Payload(_))
    }

    /// The database aborted the job's transaction for a conflict with another one
    /// ([`platform::db::is_transient_conflict`]): running it again will likely pass.
    pub fn is_transient_conflict(&self) -> bool {
        matches!(self, JobError::Database(error) if platform::db::is_transient_conflict(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entities::WorkspaceId;

    #[test]
    fn a_job_round_trips_through_its_payload_with_its_kind() {
        let job: Job = end_sessions::EndSessions {
            workspace_id: WorkspaceId(Uuid::nil()),
            user_ids: vec![UserId(Uuid::max())],
        }
        .into();
        let payload = serde_json::to_value(&job).unwrap();
        assert_eq!(payload["kind"], job.kind().as_str());
        assert_eq!(payload["user_ids"][0], Uuid::max().to_string());
        assert_eq!(serde_json::from_value::<Job>(payload).unwrap(), job);
    }

    /// The payload's `kind` (serde's name for the variant) and the row's (the module's) agree
    /// for every kind: serde knows each stored name (a payload of that kind alone lacks only its
    /// fields), and each parses back.
    #[test]
    fn every_kind_is_stored_under_one_name() {
        for kind in JobKind::ALL {
            let bare = serde_json::json!({ "kind": kind.as_str() });
            let error = serde_json::from_value::<Job>(bare).unwrap_err().to_string();
            assert!(error.starts_with("missing field"), "{kind:?}: {error}");
            assert_eq!(kind.as_str().parse::<JobKind>().unwrap(), *kind);
        }
        let unknown = serde_json::json!({ "kind": "send_fax" });
        let error = serde_json::from_value::<Job>(unknown)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("unknown variant"), "{error}");
        assert!(
            "send_fax"
                .parse::<JobKind>()
                .unwrap_err()
                .can_never_succeed()
        );
    }
}
