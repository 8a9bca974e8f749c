//! The consequences a confirmation dialog states, as sentences written once, here, from the
//! rules' previews: a People page (ours or anyone's) shows them as they come, so what a dialog
//! promises is what the API does.

use entities::Role;
use rules::offboarding::preview::MemberPreview;
use rules::offboarding::status_preview::{StatusChange, StatusChangePreview};

/// "1 campaign", "3 campaigns", "10,000 people".
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// A number with its thousands grouped: 10000 is "10,000".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "Owner",
        Role::Admin => "Admin",
        Role::Member => "Member",
        Role::Guest => "Guest",
    }
}

/// What removing this member from `workspace_name` does to them, one sentence per consequence.
pub fn of_removal(workspace_name: &str, preview: &MemberPreview) -> Vec<String> {
    let mut said = Vec::new();
    if let Some(person) = &preview.person {
        said.push(if person.groups.is_empty() {
            format!("Loses access to {workspace_name}.")
        } else {
            format!(
                "Loses access to {workspace_name} and its groups: {}.",
                person.groups.join(", ")
            )
        });
        if person.other_workspaces > 0 || person.other_organizations > 0 {
            said.push(format!(
                "Keeps {} and {}.",
                count(
                    person.other_workspaces,
                    "other workspace",
                    "other workspaces"
                ),
                count(
                    person.other_organizations,
                    "other organization",
                    "other organizations"
                ),
            ));
        }
    }
    said.push(if preview.seat_freed {
        "Their seat is freed.".to_owned()
    } else {
        "Their seat stays taken (they keep another membership in the organization).".to_owned()
    });
    let counted = [
        (
            preview.campaigns_to_reattribute,
            ("campaign", "campaigns"),
            "they own will be reattributed.",
        ),
        (
            preview.rules_keep_running,
            ("automation rule", "automation rules"),
            "they made keep running.",
        ),
        (
            preview.invitations_to_revoke,
            ("open invitation", "open invitations"),
            "they sent will be revoked.",
        ),
    ];
    for (n, (one, many), rest) in counted {
        if n > 0 {
            said.push(format!("{} {rest}", count(n, one, many)));
        }
    }
    if !preview.api_keys.is_empty() {
        let keys: Vec<String> = preview
            .api_keys
            .iter()
            .map(|key| {
                format!(
                    "{} ({}…, acts as {})",
                    key.name,
                    key.prefix,
                    role_name(key.role)
                )
            })
            .collect();
        said.push(format!(
            "{} they created: {}. They keep working unless revoked with the removal.",
            count(preview.api_keys.len() as u64, "API key", "API keys"),
            keys.join("; ")
        ));
    }
    said
}

/// What removing all these members does, said once for all of them: for a dialog about more
/// people than it can show one by one.
pub fn of_removals(workspace_name: &str, previews: &[MemberPreview]) -> Vec<String> {
    let members: Vec<&MemberPreview> = previews.iter().filter(|p| p.person.is_some()).collect();
    let people = members.len() as u64;
    let freed = members.iter().filter(|p| p.seat_freed).count() as u64;
    let total = |of: fn(&MemberPreview) -> u64| members.iter().map(|p| of(p)).sum::<u64>();
    let mut said = vec![
        format!(
            "{} lose access to {workspace_name}.",
            count(people, "person", "people")
        ),
        format!(
            "{} freed; {} taken (they keep another membership in the organization).",
            count(freed, "seat is", "seats are"),
            count(people - freed, "stays", "stay")
        ),
    ];
    let counted = [
        (
            total(|p| p.campaigns_to_reattribute),
            ("campaign", "campaigns"),
            "they own will be reattributed.",
        ),
        (
            total(|p| p.rules_keep_running),
            ("automation rule", "automation rules"),
            "they made keep running.",
        ),
        (
            total(|p| p.invitations_to_revoke),
            ("open invitation", "open invitations"),
            "they sent will be revoked.",
        ),
        (
            total(|p| p.api_keys.len() as u64),
            ("API key", "API keys"),
            "they created keep working unless revoked with the removal.",
        ),
    ];
    for (n, (one, many), rest) in counted {
        if n > 0 {
            said.push(format!("{} {rest}", count(n, one, many)));
        }
    }
    let blocked = previews.iter().filter(|p| !p.blockers.is_empty()).count() as u64;
    if blocked > 0 {
        said.push(format!(
            "{} can't be removed as things stand.",
            count(blocked, "person", "people")
        ));
    }
    said
}

/// What deactivating or reactivating the member does; nothing when the id is no member's.
pub fn of_status_change(change: StatusChange, preview: &StatusChangePreview) -> Vec<String> {
    let Some(candidate) = &preview.candidate else {
        return Vec::new();
    };
    let (name, workspace) = (&candidate.user.name, &preview.workspace.name);
    let role = role_name(candidate.membership.role);
    match change {
        StatusChange::Deactivate => {
            let mut said = vec![
                format!(
                    "{name} is signed out at once and can't sign in to {workspace} until reactivated."
                ),
                "Their seat stays taken: a deactivated member keeps it.".to_owned(),
                format!("Their role ({role}), groups, contact duties and work stay as they are."),
            ];
            if preview.api_keys > 0 {
                said.push(format!(
                    "{} they created keep working unless revoked with the deactivation.",
                    count(preview.api_keys, "API key", "API keys")
                ));
            }
            said
        }
        StatusChange::Reactivate => vec![
            format!(
                "{name} can sign in to {workspace} again, as {role}, with the groups they had."
            ),
            "Sessions and API keys ended by the deactivation stay ended: they sign in afresh."
                .to_owned(),
            "Their seat is unchanged: they kept it while deactivated.".to_owned(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(7), "7");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(10_000), "10,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
