//! An audit entry said as a sentence ("Ada Admin removed Mia Member: left the company"), for a
//! log people read; the action, the ids and the metadata stay beside it for machines.

use entities::AuditAction;
use serde_json::Value;

/// Who acted, as the sentence names them.
pub enum Actor<'a> {
    Person(&'a str),
    ApiKey,
    Provider(&'a str),
    System,
}

impl Actor<'_> {
    fn name(&self) -> String {
        match self {
            Actor::Person(name) => (*name).to_owned(),
            Actor::ApiKey => "An API key".to_owned(),
            Actor::Provider(token) => format!("The identity provider ({token})"),
            Actor::System => "The system".to_owned(),
        }
    }
}

fn text<'a>(metadata: &'a Value, key: &str) -> Option<&'a str> {
    metadata.get(key).and_then(Value::as_str)
}

/// A stored role (`admin`) as people read it (`Admin`).
fn role(metadata: &Value, key: &str) -> String {
    let stored = text(metadata, key).unwrap_or("another role");
    let mut letters = stored.chars();
    letters.next().map_or_else(String::new, |first| {
        first
            .to_uppercase()
            .chain(letters.flat_map(char::to_lowercase))
            .collect()
    })
}

/// A stored seat limit as people read it: a number, or unlimited.
fn limit(metadata: &Value, key: &str) -> String {
    metadata
        .get(key)
        .and_then(Value::as_i64)
        .map_or_else(|| "unlimited".to_owned(), |limit| limit.to_string())
}

/// The sentence for this entry: `actor`, what they did to `target` (a person's name, or
/// "someone" when it names nobody), and the reason when one was given.
pub fn sentence(
    action: AuditAction,
    actor: &Actor<'_>,
    target: Option<&str>,
    metadata: &Value,
) -> String {
    let who = actor.name();
    let whom = target.unwrap_or("someone");
    let said = match action {
        AuditAction::TeamMembershipInvite => {
            format!("{who} invited {whom} as {}", role(metadata, "role"))
        }
        AuditAction::TeamMembershipJoin => format!("{whom} joined the workspace"),
        AuditAction::TeamMembershipRoleChange => format!(
            "{who} changed the role of {whom} from {} to {}",
            role(metadata, "from"),
            role(metadata, "to")
        ),
        AuditAction::TeamMembershipDeactivate => format!("{who} deactivated {whom}"),
        AuditAction::TeamMembershipReactivate => format!("{who} reactivated {whom}"),
        AuditAction::TeamMembershipRemove => format!("{who} removed {whom}"),
        AuditAction::TeamMembershipRestore => format!("{who} restored {whom}"),
        AuditAction::InvitationResend => format!("{who} resent the invitation of {whom}"),
        AuditAction::InvitationRevoke => format!("{who} revoked the invitation of {whom}"),
        AuditAction::ApiKeyCreate => format!(
            "{who} created the API key {}",
            text(metadata, "name").unwrap_or("without a name")
        ),
        AuditAction::ApiKeyRevoke => format!("{who} revoked an API key of {whom}"),
        AuditAction::SessionsEnd if metadata.get("session_id").is_some_and(|id| !id.is_null()) => {
            format!("{who} ended a session of {whom}")
        }
        AuditAction::SessionsEnd => format!("{who} ended the sessions of {whom}"),
        AuditAction::CampaignsReattribute => {
            format!("{who} gave the campaigns of {whom} to someone else")
        }
        AuditAction::ContactsReassign => format!("{who} handed over the contact duties of {whom}"),
        AuditAction::OwnershipTransfer => format!("{who} made {whom} an owner"),
        AuditAction::SeatLimitChange => format!(
            "{who} changed the seat limit from {} to {}",
            limit(metadata, "from"),
            limit(metadata, "to")
        ),
        AuditAction::JobRetry => format!("{who} retried a failed side effect"),
        AuditAction::WorkspaceCreate => format!("{who} made the workspace"),
        AuditAction::WorkspaceRename => format!(
            "{who} renamed the workspace to {}",
            text(metadata, "to").unwrap_or("a new name")
        ),
        AuditAction::ScimTokenCreate => format!("{who} made a SCIM token"),
        AuditAction::ScimTokenRevoke => format!("{who} revoked a SCIM token"),
        AuditAction::TeamMembershipProvision => format!("{who} added {whom}"),
        AuditAction::PersonUpdate => format!("{who} updated {whom}"),
        AuditAction::IdpRemovalWait => {
            format!("{who} removed {whom}, who was deactivated instead until an administrator acts")
        }
        AuditAction::GroupCreate => format!("{who} made a group"),
        AuditAction::GroupRename => format!("{who} renamed a group"),
        AuditAction::GroupDelete => format!("{who} deleted a group"),
        AuditAction::GroupMembersChange => format!("{who} changed who is in a group"),
    };
    match text(metadata, "reason").filter(|reason| !reason.is_empty()) {
        Some(reason) => format!("{said}: {reason}"),
        None => format!("{said}."),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_read_as_sentences_with_their_reason() {
        let olivia = Actor::Person("Olivia Owner");
        let removed = json!({ "reason": "left the company", "role": "MEMBER" });
        assert_eq!(
            sentence(
                AuditAction::TeamMembershipRemove,
                &olivia,
                Some("Mia Member"),
                &removed
            ),
            "Olivia Owner removed Mia Member: left the company"
        );
        let promoted = json!({ "from": "MEMBER", "to": "ADMIN" });
        assert_eq!(
            sentence(
                AuditAction::TeamMembershipRoleChange,
                &olivia,
                Some("Max Member"),
                &promoted
            ),
            "Olivia Owner changed the role of Max Member from Member to Admin."
        );
        let unlimited = json!({ "from": 25, "to": null });
        assert_eq!(
            sentence(AuditAction::SeatLimitChange, &olivia, None, &unlimited),
            "Olivia Owner changed the seat limit from 25 to unlimited."
        );
        let provider = Actor::Provider("Okta");
        assert_eq!(
            sentence(
                AuditAction::TeamMembershipProvision,
                &provider,
                Some("Nora New"),
                &json!({})
            ),
            "The identity provider (Okta) added Nora New."
        );
        assert_eq!(
            sentence(
                AuditAction::SessionsEnd,
                &Actor::ApiKey,
                None,
                &json!({ "reason": "" })
            ),
            "An API key ended the sessions of someone."
        );
        let one = json!({ "sessions": 1, "session_id": "0190f3a2-7c1e-7b4e-9a51-2c6f0e1d4b7a" });
        assert_eq!(
            sentence(AuditAction::SessionsEnd, &olivia, Some("Mia Member"), &one),
            "Olivia Owner ended a session of Mia Member."
        );
    }
}
