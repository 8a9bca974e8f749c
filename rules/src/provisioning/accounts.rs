//! People an identity provider adds (SCIM `POST /Users`) and changes (`PUT`, `PATCH`): an
//! account and an ACTIVE MEMBER membership in the token's workspace, its seat counted as an
//! invitation's is; their name, email and external id kept as the provider says.

use chrono::Duration;
use entities::{
    AuditAction, MembershipStatus, Role, UserId, UserKind, membership, scim_identity, user,
};
use platform::locks::{lock_organization, lock_person, lock_workspace};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use super::deprovision::{self, Changed};
use super::{Provisioner, memberships_in_organization};
use crate::error::{RuleError, UserError, UserErrorCode};
use crate::organizations::people::{OrganizationPerson, person_of};
use crate::people::invitations::{insert_invitation, new_person, write_invitation_email};
use crate::people::seats::{holds_seat, take_a_seat};
use crate::text::{Email, ExternalId, PersonName};

/// A person as the identity provider describes them.
pub struct NewPerson {
    pub email: Email,
    pub name: Option<PersonName>,
    pub external_id: Option<ExternalId>,
    pub active: bool,
    /// How long the welcome's link (to choose a password) stays valid: an invitation's.
    pub welcome_ttl: Duration,
}

/// What a provisioning call did.
pub struct Provisioned {
    pub person: OrganizationPerson,
    /// The jobs to hand to the queue: a welcome email, a deactivation's.
    pub outbox_ids: Vec<Uuid>,
}

fn refusal(code: UserErrorCode, field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError::Rejected(vec![UserError::new(code, message).on_field(field)])
}

/// Adds a person to the organization: their account (made if their address has none), an
/// ACTIVE (or, if the provider says so, DEACTIVATED) MEMBER membership in the token's
/// workspace, which takes a seat, and the provider's id of them. Someone new gets a welcome
/// email whose link lets them choose a password. Someone who already is a person of the
/// organization is refused (ALREADY_MEMBER), as is an external id another person has.
pub async fn provision<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    new: NewPerson,
) -> Result<Provisioned, RuleError> {
    let caller = provisioner.caller;
    // The lock order: the organization (its seats), then the workspace (its memberships).
    let organization = lock_organization(db, caller.organization_id)
        .await?
        .ok_or(RuleError::NotFound("organization"))?;
    let workspace = lock_workspace(db, caller.workspace_id)
        .await?
        .ok_or(RuleError::NotFound("workspace"))?;
    let email = new.email.as_str();
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?;
    if let Some(existing) = &existing {
        if existing.kind == UserKind::System {
            return Err(RuleError::bad_input(
                "userName",
                "belongs to a system principal, who can't be provisioned",
            ));
        }
        if holds_seat(db, organization.id, existing.id).await? {
            return Err(refusal(
                UserErrorCode::AlreadyMember,
                "userName",
                format!("{email} is already a person of the organization"),
            ));
        }
    }
    if let Some(external_id) = &new.external_id {
        refuse_taken_external_id(db, provisioner, external_id, None).await?;
    }
    if let Err(full) = take_a_seat(db, &organization, existing.as_ref().map(|e| e.id)).await? {
        return Err(RuleError::Rejected(vec![full]));
    }
    let name = new.name.as_ref().map(PersonName::as_str);
    let user = match existing {
        Some(existing) => existing,
        None => new_person(db, email, name, provisioner.now).await?,
    };
    let status = if new.active {
        MembershipStatus::Active
    } else {
        MembershipStatus::Deactivated
    };
    let membership =
        membership::ActiveModel::new(workspace.id, user.id, Role::Member, status, provisioner.now)
            .insert(db)
            .await?;
    if let Some(external_id) = &new.external_id {
        set_external_id(db, provisioner, user.id, Some(external_id)).await?;
    }
    let principal = provisioner.principal_in(&workspace);
    let acting = provisioner.acting(&principal);
    let mut outbox_ids = Vec::new();
    // Someone new has no password yet: the welcome's link is how they choose one.
    if user.password_hash.is_none() && new.active {
        let (invitation, _token) =
            insert_invitation(db, acting, &membership, email, new.welcome_ttl).await?;
        outbox_ids.extend(
            write_invitation_email(db, acting, &invitation)
                .await?
                .outbox_ids,
        );
    }
    acting
        .record(
            db,
            workspace.id,
            AuditAction::TeamMembershipProvision,
            Some(user.id),
            json!({
                "role": "member",
                "status": if new.active { "active" } else { "deactivated" },
                "external_id": new.external_id.as_ref().map(ExternalId::as_str),
            }),
        )
        .await?;
    Ok(Provisioned {
        person: person_of(db, organization.id, user.id).await?,
        outbox_ids,
    })
}

/// What the identity provider changes of a person: each `None` is left as it is.
#[derive(Default)]
pub struct PersonChanges {
    pub email: Option<Email>,
    pub name: Option<PersonName>,
    /// `Some(None)` forgets the provider's id of them.
    pub external_id: Option<Option<ExternalId>>,
    pub active: Option<bool>,
}

/// Changes a person of the organization as the provider says: their email and name (only when
/// the account is the organization's alone: ACCOUNT_SHARED otherwise, since a person's address
/// is theirs, not one organization's), their external id, and whether they are active
/// ([`deprovision::set_active`]). What already is as asked is left alone, so a replay changes
/// nothing and records nothing.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
    changes: PersonChanges,
) -> Result<Provisioned, RuleError> {
    let organization_id = provisioner.caller.organization_id;
    let person = person_of(db, organization_id, user_id).await?;
    let mut changed = serde_json::Map::new();
    let email = changes
        .email
        .filter(|email| email.as_str() != person.user.email);
    let name = changes
        .name
        .filter(|name| name.as_str() != person.user.name);
    if email.is_some() || name.is_some() {
        lock_person(db, user_id).await?;
        refuse_shared_account(db, provisioner, user_id).await?;
        let mut account: user::ActiveModel = person.user.clone().into();
        if let Some(email) = email {
            refuse_taken_email(db, &email).await?;
            changed.insert(
                "email".into(),
                json!({ "from": person.user.email, "to": email.as_str() }),
            );
            account.email = Set(email.as_str().to_owned());
        }
        if let Some(name) = name {
            changed.insert(
                "name".into(),
                json!({ "from": person.user.name, "to": name.as_str() }),
            );
            account.name = Set(name.into_string());
        }
        account.update(db).await?;
    }
    if let Some(external_id) = changes.external_id {
        let wanted = external_id.as_ref().map(ExternalId::as_str);
        if wanted != person.external_id.as_deref() {
            if let Some(external_id) = &external_id {
                refuse_taken_external_id(db, provisioner, external_id, Some(user_id)).await?;
            }
            set_external_id(db, provisioner, user_id, external_id.as_ref()).await?;
            changed.insert(
                "external_id".into(),
                json!({ "from": person.external_id, "to": wanted }),
            );
        }
    }
    let mut outbox_ids = Vec::new();
    if let Some(active) = changes.active {
        let Changed { outbox_ids: jobs } =
            deprovision::set_active(db, provisioner, user_id, active).await?;
        outbox_ids = jobs;
    }
    if !changed.is_empty() {
        record_update(db, provisioner, user_id, Value::Object(changed)).await?;
    }
    Ok(Provisioned {
        person: person_of(db, organization_id, user_id).await?,
        outbox_ids,
    })
}

/// One `person_update` entry, in each workspace of the organization the person is in.
async fn record_update<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
    changed: Value,
) -> Result<(), RuleError> {
    for (_, workspace) in memberships_in_organization(db, provisioner, user_id).await? {
        let principal = provisioner.principal_in(&workspace);
        provisioner
            .acting(&principal)
            .record(
                db,
                workspace.id,
                AuditAction::PersonUpdate,
                Some(user_id),
                json!({ "changed": changed }),
            )
            .await?;
    }
    Ok(())
}

/// An account in another organization too is not this one's to rename or readdress.
async fn refuse_shared_account<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
) -> Result<(), RuleError> {
    let everywhere = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .len();
    let here = memberships_in_organization(db, provisioner, user_id)
        .await?
        .len();
    if everywhere > here {
        return Err(refusal(
            UserErrorCode::AccountShared,
            "userName",
            "this account belongs to other organizations too: its email and name are the person's to change",
        ));
    }
    Ok(())
}

async fn refuse_taken_email<C: ConnectionTrait>(db: &C, email: &Email) -> Result<(), RuleError> {
    let taken = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .is_some();
    if taken {
        return Err(refusal(
            UserErrorCode::EmailTaken,
            "userName",
            format!("{} already belongs to another account", email.as_str()),
        ));
    }
    Ok(())
}

/// Another person of the organization with this external id refuses it (EXTERNAL_ID_TAKEN).
async fn refuse_taken_external_id<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    external_id: &ExternalId,
    except: Option<UserId>,
) -> Result<(), RuleError> {
    let holder = scim_identity::Entity::find()
        .filter(scim_identity::Column::OrganizationId.eq(provisioner.caller.organization_id))
        .filter(scim_identity::Column::ExternalId.eq(external_id.as_str()))
        .one(db)
        .await?;
    match holder {
        Some(holder) if Some(holder.user_id) != except => {
            // A removed person's id is free again: the provider may hand it out anew.
            let removed =
                !holds_seat(db, provisioner.caller.organization_id, holder.user_id).await?;
            if removed {
                scim_identity::Entity::delete_many()
                    .filter(scim_identity::Column::OrganizationId.eq(holder.organization_id))
                    .filter(scim_identity::Column::UserId.eq(holder.user_id))
                    .exec(db)
                    .await?;
                return Ok(());
            }
            Err(refusal(
                UserErrorCode::ExternalIdTaken,
                "externalId",
                "another person of the organization has this externalId",
            ))
        }
        _ => Ok(()),
    }
}

/// Keeps (or, with `None`, forgets) the provider's id of the person.
async fn set_external_id<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
    external_id: Option<&ExternalId>,
) -> Result<(), RuleError> {
    let organization_id = provisioner.caller.organization_id;
    match external_id {
        None => {
            scim_identity::Entity::delete_many()
                .filter(scim_identity::Column::OrganizationId.eq(organization_id))
                .filter(scim_identity::Column::UserId.eq(user_id))
                .exec(db)
                .await?;
        }
        Some(external_id) => {
            let updated = scim_identity::Entity::update_many()
                .col_expr(
                    scim_identity::Column::ExternalId,
                    Expr::value(external_id.as_str()),
                )
                .filter(scim_identity::Column::OrganizationId.eq(organization_id))
                .filter(scim_identity::Column::UserId.eq(user_id))
                .exec(db)
                .await?;
            if updated.rows_affected == 0 {
                scim_identity::ActiveModel {
                    organization_id: Set(organization_id),
                    user_id: Set(user_id),
                    external_id: Set(external_id.as_str().to_owned()),
                    created_at: Set(provisioner.now),
                }
                .insert(db)
                .await?;
            }
        }
    }
    Ok(())
}
