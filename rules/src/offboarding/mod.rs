//! Taking people out of a workspace safely: preview, removal, deactivation and reactivation,
//! restore, and handing over contacts and ownership first. Each mutation is one transaction that
//! writes the change, its audit entries and its outbox rows together.

pub mod contacts;
pub mod deactivate;
pub mod facts;
pub mod preview;
pub mod progress;
pub mod remove;
pub mod restore;
pub mod status_preview;
pub mod transfer;

use crate::text::Reason;

/// The most members one `removeMembers` call takes.
pub const MAX_MEMBERS_PER_CALL: usize = 10_000;

/// The reason kept with a removal or deactivation; a blank one is none.
pub fn kept_reason(reason: Option<Reason>) -> Option<String> {
    reason
        .map(Reason::into_string)
        .filter(|reason| !reason.is_empty())
}
