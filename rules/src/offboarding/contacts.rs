//! Contact duties: who answers for the workspace (its administrative and technical contact) and
//! for each application (its technical contact), and handing those duties to someone else.

use std::collections::{HashMap, HashSet};

use entities::{MembershipStatus, UserId, WorkspaceId, application, membership, workspace};
use platform::audit;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::access::Acting;
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::offboarding::guards::authorize_and_lock;

// Each is a kind of contact; the API's words (ADMINISTRATIVE_CONTACT, …) say so.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duty {
    AdministrativeContact,
    TechnicalContact,
    ApplicationTechnicalContact,
}

impl Duty {
    fn name(self) -> &'static str {
        match self {
            Duty::AdministrativeContact => "administrative_contact",
            Duty::TechnicalContact => "technical_contact",
            Duty::ApplicationTechnicalContact => "application_technical_contact",
        }
    }
}

/// One duty a person holds: the workspace's, or an application's (id, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldDuty {
    pub duty: Duty,
    pub application: Option<(Uuid, String)>,
}

impl HeldDuty {
    /// One of the workspace's own duties.
    fn of(duty: Duty) -> HeldDuty {
        HeldDuty {
            duty,
            application: None,
        }
    }

    /// An application's (id, name) technical contact.
    fn application(application: (Uuid, String)) -> HeldDuty {
        HeldDuty {
            duty: Duty::ApplicationTechnicalContact,
            application: Some(application),
        }
    }
}

/// The contact duties a person holds in the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactDuties {
    pub administrative_contact: bool,
    pub technical_contact: bool,
    /// Applications (id, name) whose technical contact they are.
    pub applications: Vec<(Uuid, String)>,
}

impl ContactDuties {
    pub fn is_empty(&self) -> bool {
        !self.administrative_contact && !self.technical_contact && self.applications.is_empty()
    }

    pub fn held(&self) -> Vec<HeldDuty> {
        let mut held = Vec::new();
        if self.administrative_contact {
            held.push(HeldDuty::of(Duty::AdministrativeContact));
        }
        if self.technical_contact {
            held.push(HeldDuty::of(Duty::TechnicalContact));
        }
        held.extend(self.applications.iter().cloned().map(HeldDuty::application));
        held
    }

    pub fn describe(&self) -> String {
        let mut duties = Vec::new();
        if self.administrative_contact {
            duties.push("the workspace's administrative contact".to_owned());
        }
        if self.technical_contact {
            duties.push("the workspace's technical contact".to_owned());
        }
        for (_, name) in &self.applications {
            duties.push(format!("the technical contact of {name}"));
        }
        duties.join(", ")
    }

    /// What is left once these moves are made.
    pub fn without(&self, from_user_id: UserId, moves: &[Move]) -> ContactDuties {
        let moved = |duty: Duty, application: Option<Uuid>| {
            moves.iter().any(|m| {
                m.from_user_id == from_user_id
                    && m.held.duty == duty
                    && m.held.application.as_ref().map(|(id, _)| *id) == application
            })
        };
        ContactDuties {
            administrative_contact: self.administrative_contact
                && !moved(Duty::AdministrativeContact, None),
            technical_contact: self.technical_contact && !moved(Duty::TechnicalContact, None),
            applications: self
                .applications
                .iter()
                .filter(|(id, _)| !moved(Duty::ApplicationTechnicalContact, Some(*id)))
                .cloned()
                .collect(),
        }
    }
}

/// The contact duties of each of these people (one statement for the applications).
pub async fn contact_duties<C: ConnectionTrait>(
    db: &C,
    workspace: &workspace::Model,
    user_ids: &[UserId],
) -> Result<HashMap<UserId, ContactDuties>, DbErr> {
    let applications = if user_ids.is_empty() {
        Vec::new()
    } else {
        application::Entity::find()
            .filter(application::Column::WorkspaceId.eq(workspace.id))
            .filter(application::Column::TechnicalContactId.is_in(user_ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|application| {
                let contact = application.technical_contact_id?;
                Some((contact, application.id, application.name))
            })
            .collect()
    };
    Ok(duties_of(workspace, user_ids, applications))
}

/// The contact duties of each of these people, given the workspace and the applications they
/// are the technical contact of, as (contact, application id, name).
pub fn duties_of(
    workspace: &workspace::Model,
    user_ids: &[UserId],
    applications: Vec<(UserId, Uuid, String)>,
) -> HashMap<UserId, ContactDuties> {
    let mut duties: HashMap<UserId, ContactDuties> = HashMap::new();
    let wanted: HashSet<UserId> = user_ids.iter().copied().collect();
    if let Some(id) = workspace
        .administrative_contact_id
        .filter(|id| wanted.contains(id))
    {
        duties.entry(id).or_default().administrative_contact = true;
    }
    if let Some(id) = workspace
        .technical_contact_id
        .filter(|id| wanted.contains(id))
    {
        duties.entry(id).or_default().technical_contact = true;
    }
    for (contact, id, name) in applications {
        if wanted.contains(&contact) {
            duties
                .entry(contact)
                .or_default()
                .applications
                .push((id, name));
        }
    }
    for held in duties.values_mut() {
        held.applications.sort_by(|a, b| a.1.cmp(&b.1));
    }
    duties
}

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
    let now = acting.now;
    if moves.is_empty() {
        return Ok(());
    }
    let mut workspace_update = workspace::Entity::update_many();
    let mut workspace_changed = false;
    for m in moves {
        match m.held.duty {
            Duty::AdministrativeContact => {
                workspace_update = workspace_update.col_expr(
                    workspace::Column::AdministrativeContactId,
                    Expr::value(Some(m.to_user_id)),
                );
                workspace_changed = true;
            }
            Duty::TechnicalContact => {
                workspace_update = workspace_update.col_expr(
                    workspace::Column::TechnicalContactId,
                    Expr::value(Some(m.to_user_id)),
                );
                workspace_changed = true;
            }
            Duty::ApplicationTechnicalContact => {}
        }
    }
    if workspace_changed {
        workspace_update
            .filter(workspace::Column::Id.eq(workspace_id))
            .exec(db)
            .await?;
    }
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
    let events = by_person
        .into_iter()
        .map(|(from, entries)| {
            acting.event(
                workspace_id,
                "contacts_reassign",
                Some(from),
                json!({ "moves": entries }),
            )
        })
        .collect();
    audit::record_many(db, events, now).await
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
        remaining: before.without(from, &moves),
        moves,
    })
}
