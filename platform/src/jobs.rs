//! The side effects a mutation asks for, as written to the outbox.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entities::{UserId, WorkspaceId};

/// One side effect. Stored as the outbox row's payload; `kind` names it in the row too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// End for good the sessions these people hold in the workspace (access was already cut
    /// at commit by their membership).
    EndSessions {
        workspace_id: WorkspaceId,
        user_ids: Vec<UserId>,
    },
    /// Complete the revocation of the API keys these people created in the workspace: the
    /// mutation refused them at commit; this records the reason and one audit entry per key.
    RevokeApiKeys {
        workspace_id: WorkspaceId,
        user_ids: Vec<UserId>,
        reason: String,
    },
    /// Make `to_user_id` the owner of the campaigns these people own. `created_by` stays.
    ReattributeCampaigns {
        workspace_id: WorkspaceId,
        user_ids: Vec<UserId>,
        to_user_id: UserId,
    },
    /// Tell a removed person they were removed from the workspace and all its groups.
    SendRemovalEmail {
        workspace_id: WorkspaceId,
        user_id: UserId,
        email: String,
        name: String,
        workspace_name: String,
        groups: Vec<String>,
        reason: Option<String>,
    },
    /// Email an invitation's link to the person invited. The link is made as the email goes out
    /// (only its hash is kept); `token_hash` is the invitation's link when the job was written,
    /// so no email goes out for an invitation resent since, revoked, accepted or expired.
    SendInvitationEmail {
        workspace_id: WorkspaceId,
        invitation_id: Uuid,
        token_hash: String,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::EndSessions { .. } => "end_sessions",
            Job::RevokeApiKeys { .. } => "revoke_api_keys",
            Job::ReattributeCampaigns { .. } => "reattribute_campaigns",
            Job::SendRemovalEmail { .. } => "send_removal_email",
            Job::SendInvitationEmail { .. } => "send_invitation_email",
        }
    }
}

/// The queue message: which outbox row to run. Everything else is read from the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxJob {
    pub outbox_id: Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_round_trips_through_its_payload_with_its_kind() {
        let job = Job::EndSessions {
            workspace_id: WorkspaceId(Uuid::nil()),
            user_ids: vec![UserId(Uuid::max())],
        };
        let payload = serde_json::to_value(&job).unwrap();
        assert_eq!(payload["kind"], job.kind());
        assert_eq!(serde_json::from_value::<Job>(payload).unwrap(), job);
    }
}
