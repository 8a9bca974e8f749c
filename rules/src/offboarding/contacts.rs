//! Handing a member's contact duties (`people::duties`) to someone else, before or with their
//! removal.

use std::collections::{HashMap, HashSet};

use entities::{
    AuditAction, MembershipStatus, UserId, WorkspaceId, application, membership, workspace,
};
use platform::audit;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::access::Acting;
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::people::duties::{ContactDuties, Duty, HeldDuty, contact_duties};
use crate::people::guards::authorize_and_lock;

/// Hand `duty` (for `applications`, or all of the person's applications when `None`) to someone.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub duty: Duty,
    pub application_ids: Option<Vec<Uuid>>,
    pub to_user_id: UserId,
}

/// Everything one person hands over in a call.
#[derive(Debug, Clone)]
pub struct Reassignment {
    pub from_user_id: UserId,
    pub assignments: Vec<Assignment>,
}

/// One duty passing from one person to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub held: HeldDuty,
    pub from_user_id: UserId,
    pub to_user_id: UserId,
}

/// Refuses reassignments that can't mean anything: an empty `applicationIds` list.
pub fn validate(reassignments: &[Reassignment]) -> Result<(), RuleError> {
    let empty_list = reassignments
        .iter()
        .flat_map(|r| &r.assignments)
        .any(|a| a.application_ids.as_ref().is_some_and(Vec::is_empty));
    if empty_list {
        return Err(RuleError::bad_input(
            "application_ids",
            "must name at least one application (or be left out for all of them)",
        ));
    }
    Ok(())
}

/// The moves the reassignments ask for, or why some can't be made: the person giving duties up
/// must be a member of the workspace and hold each duty, and each assignee must be an active
/// member who stays (not one of `leaving`) and is not that person. Two statements, however many
/// assignments.
pub async fn plan_moves<C: ConnectionTrait>(
    db: &C,
    workspace: &workspace::Model,
    reassignments: &[Reassignment],
    leaving: &[UserId],
) -> Result<(Vec<Move>, Vec<UserError>), DbErr> {
    let mut moves: Vec<Move> = Vec::new();
    let mut errors = Vec::new();
    if reassignments.is_empty() {
        return Ok((moves, errors));
    }
    let from_ids: Vec<UserId> = reassignments.iter().map(|r| r.from_user_id).collect();
    let duties = contact_duties(db, workspace, &from_ids).await?;
    let assignees: HashSet<UserId> = reassignments
        .iter()
        .flat_map(|r| r.assignments.iter().map(|a| a.to_user_id))
        .chain(from_ids.iter().copied())
        .collect();
    let (members, active) = live_members(db, workspace.id, &assignees).await?;
    let leaving: HashSet<UserId> = leaving.iter().copied().collect();
    for reassignment in reassignments {
        let from = reassignment.from_user_id;
        if !members.contains(&from) {
            // Someone of another workspace (or no one) is answered as everywhere else, never
            // with a hint about their duties.
            errors.push(
                UserError::new(
                    UserErrorCode::MemberNotFound,
                    "No such member in this workspace.",
                )
                .on_field("from_user_id")
                .for_user(from),
            );
            continue;
        }
        let held = duties.get(&from).cloned().unwrap_or_default();
        for assignment in &reassignment.assignments {
            let to = assignment.to_user_id;
            if to == from || !active.contains(&to) || leaving.contains(&to) {
                errors.push(
                    UserError::new(
                        UserErrorCode::InvalidAssignee,
                        "Contact duties can only go to another active member who stays in the workspace.",
                    )
                    .on_field("assignments")
                    .for_user(to),
                );
                continue;
            }
            let (duties, refused) = duties_asked(&held, assignment);
            errors.extend(refused.into_iter().map(|error| error.for_user(from)));
            for held in duties {
                // A later assignment of the same duty in the call wins.
                moves.retain(|m| !(m.from_user_id == from && m.held == held));
                moves.push(Move {
                    held,
                    from_user_id: from,
                    to_user_id: to,
                });
            }
        }
    }
    Ok((moves, errors))
}

/// The duties an assignment asks to move out of those `held`, and a refusal for each asked for
/// but not held.
fn duties_asked(held: &ContactDuties, assignment: &Assignment) -> (Vec<HeldDuty>, Vec<UserError>) {
    let not_held = |what: &str| {
        UserError::new(
            UserErrorCode::NotAContact,
            format!("This person is not {what}."),
        )
        .on_field("assignments")
    };
    match assignment.duty {
        Duty::AdministrativeContact if held.administrative_contact => {
            (vec![HeldDuty::of(Duty::AdministrativeContact)], Vec::new())
        }
        Duty::AdministrativeContact => (
            Vec::new(),
            vec![not_held("the workspace's administrative contact")],
        ),
        Duty::TechnicalContact if held.technical_contact => {
            (vec![HeldDuty::of(Duty::TechnicalContact)], Vec::new())
        }
        Duty::TechnicalContact => (
            Vec::new(),
            vec![not_held("the workspace's technical contact")],
        ),
        Duty::ApplicationTechnicalContact => {
            let mut refused = Vec::new();
            let wanted: Vec<(Uuid, String)> = match &assignment.application_ids {
                None => held.applications.clone(),
                Some(ids) => ids
                    .iter()
                    .filter_map(|id| {
                        let found = held.applications.iter().find(|(app, _)| app == id);
                        if found.is_none() {
                            refused.push(not_held(&format!(
                                "the technical contact of application {id}"
                            )));
                        }
                        found.cloned()
                    })
                    .collect(),
            };
            if wanted.is_empty() && assignment.application_ids.is_none() {
                refused.push(not_held("the technical contact of any application"));
            }
            let duties = wanted.into_iter().map(HeldDuty::application).collect();
            (duties, refused)
        }
    }
}

/// Which of these people are live members of the workspace, and which of those are active.
async fn live_members<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    user_ids: &HashSet<UserId>,
) -> Result<(HashSet<UserId>, HashSet<UserId>), DbErr> {
    if user_ids.is_empty() {
        return Ok((HashSet::new(), HashSet::new()));
    }
    let rows = membership::Entity::find_live(workspace_id, user_ids.iter().copied())
        .select_only()
        .column(membership::Column::UserId)
        .column(membership::Column::Status)
        .into_tuple::<(UserId, MembershipStatus)>()
        .all(db)
        .await?;
    let active = rows
        .iter()
        .filter(|(_, status)| *status == MembershipStatus::Active)
        .map(|(id, _)| *id)
        .collect();
    Ok((rows.into_iter().map(|(id, _)| id).collect(), active))
}

/// Makes the moves, with one `contacts_reassign` audit entry per person who gave duties up: one
/// statement for the workspace's own contacts, one per assignee for applications, and one for
/// the audit entries.
pub async fn apply_moves<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    moves: &[Move],
) -> Result<(), DbErr> {
    if moves.is_empty() {
        return Ok(());
    }
    move_workspace_contacts(db, workspace_id, moves).await?;
    move_application_contacts(db, workspace_id, moves).await?;
    audit::record_many(
        db,
        reassignment_events(acting, workspace_id, moves),
        acting.now,
    )
    .await
}

/// The workspace's administrative and technical contact, in one statement when either moves.
async fn move_workspace_contacts<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    moves: &[Move],
) -> Result<(), DbErr> {
    let mut workspace_update = workspace::Entity::update_many();
    let mut workspace_changed = false;
    for m in moves {
        let column = match m.held.duty {
            Duty::AdministrativeContact => workspace::Column::AdministrativeContactId,
            Duty::TechnicalContact => workspace::Column::TechnicalContactId,
            Duty::ApplicationTechnicalContact => continue,
        };
        workspace_update = workspace_update.col_expr(column, Expr::value(Some(m.to_user_id)));
        workspace_changed = true;
    }
    if workspace_changed {
        workspace_update
            .filter(workspace::Column::Id.eq(workspace_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Applications' technical contacts: one statement per assignee.
async fn move_application_contacts<C: ConnectionTrait>(
    db: &C,
    workspace_id: WorkspaceId,
    moves: &[Move],
) -> Result<(), DbErr> {
    let mut applications_by_assignee: HashMap<UserId, Vec<Uuid>> = HashMap::new();
    for m in moves {
        if let Some((application_id, _)) = &m.held.application {
            applications_by_assignee
                .entry(m.to_user_id)
                .or_default()
                .push(*application_id);
        }
    }
    for (assignee, applications) in applications_by_assignee {
        application::Entity::update_many()
            .col_expr(
                application::Column::TechnicalContactId,
                Expr::value(Some(assignee)),
            )
            .filter(application::Column::WorkspaceId.eq(workspace_id))
            .filter(application::Column::Id.is_in(applications))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// One `contacts_reassign` entry per person who gave duties up, listing what went to whom.
fn reassignment_events<'a>(
    acting: Acting<'a>,
    workspace_id: WorkspaceId,
    moves: &[Move],
) -> Vec<audit::AuditEvent<'a>> {
    let mut by_person: Vec<(UserId, Vec<serde_json::Value>)> = Vec::new();
    for m in moves {
        let entry = json!({
            "duty": m.held.duty.name(),
            "application_id": m.held.application.as_ref().map(|(id, _)| id),
            "application_name": m.held.application.as_ref().map(|(_, name)| name),
            "to_user_id": m.to_user_id,
        });
        match by_person
            .iter_mut()
            .find(|(from, _)| *from == m.from_user_id)
        {
            Some((_, entries)) => entries.push(entry),
            None => by_person.push((m.from_user_id, vec![entry])),
        }
    }
    by_person
        .into_iter()
        .map(|(from, entries)| {
            acting.event(
                workspace_id,
                AuditAction::ContactsReassign,
                Some(from),
                json!({ "moves": entries }),
            )
        })
        .collect()
}

/// What `held` leaves once these moves are made.
pub fn remaining(held: &ContactDuties, from_user_id: UserId, moves: &[Move]) -> ContactDuties {
    let moved = |duty: Duty, application: Option<Uuid>| {
        moves.iter().any(|m| {
            m.from_user_id == from_user_id
                && m.held.duty == duty
                && m.held.application.as_ref().map(|(id, _)| *id) == application
        })
    };
    ContactDuties {
        administrative_contact: held.administrative_contact
            && !moved(Duty::AdministrativeContact, None),
        technical_contact: held.technical_contact && !moved(Duty::TechnicalContact, None),
        applications: held
            .applications
            .iter()
            .filter(|(id, _)| !moved(Duty::ApplicationTechnicalContact, Some(*id)))
            .cloned()
            .collect(),
    }
}

pub struct Reassigned {
    pub moves: Vec<Move>,
    /// What the person still holds afterwards.
    pub remaining: ContactDuties,
}

/// `reassignContacts`: moves some or all of one person's contact duties to active members.
pub async fn reassign_contacts<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    workspace_id: WorkspaceId,
    reassignment: Reassignment,
) -> Result<Reassigned, RuleError> {
    let principal = acting.principal;
    if reassignment.assignments.is_empty() {
        return Err(RuleError::bad_input(
            "assignments",
            "must name at least one duty to move",
        ));
    }
    validate(std::slice::from_ref(&reassignment))?;
    let workspace = authorize_and_lock(db, principal, workspace_id).await?;
    let from = reassignment.from_user_id;
    let (moves, errors) =
        plan_moves(db, &workspace, std::slice::from_ref(&reassignment), &[]).await?;
    if !errors.is_empty() {
        return Err(RuleError::Rejected(errors));
    }
    let before = contact_duties(db, &workspace, &[from])
        .await?
        .remove(&from)
        .unwrap_or_default();
    apply_moves(db, acting, workspace.id, &moves).await?;
    Ok(Reassigned {
        remaining: remaining(&before, from, &moves),
        moves,
    })
}
