//! Contact duties: who answers for the workspace (its administrative and technical contact) and
//! for each application (its technical contact), as a member's detail shows them and a
//! removal must hand them over.

use std::collections::{HashMap, HashSet};

use entities::{UserId, application, workspace};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

// Each is a kind of contact; the API's words (ADMINISTRATIVE_CONTACT, …) say so.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duty {
    AdministrativeContact,
    TechnicalContact,
    ApplicationTechnicalContact,
}

impl Duty {
    pub(crate) fn name(self) -> &'static str {
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
    pub(crate) fn of(duty: Duty) -> HeldDuty {
        HeldDuty {
            duty,
            application: None,
        }
    }

    /// An application's (id, name) technical contact.
    pub(crate) fn application(application: (Uuid, String)) -> HeldDuty {
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
