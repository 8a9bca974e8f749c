//! People an identity provider adds (SCIM `POST /Users`) and changes (`PUT`, `PATCH`): an
//! account and an ACTIVE MEMBER membership in the token's workspace, its seat counted as an
//! invitation's is; their name, email and external id kept as the provider says.

use entities::{
    AuditAction, MembershipStatus, Role, UserId, UserKind, membership, organization, scim_account,
    user,
};
use platform::locks::{lock_organization, lock_person, lock_workspace, lock_workspaces_of};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::deprovision::{self, Changed};
use super::welcome::{self, welcome};
use super::{Provisioner, memberships_in_organization};
use crate::error::{RuleError, UserError, UserErrorCode};
pub use crate::organizations::people::NameParts;
use crate::organizations::people::{OrganizationPerson, person_of};
use crate::people::invitations::new_person;
use crate::people::seats::{is_person_of, take_a_seat};
use crate::text::{Email, ExternalId, PersonName};

/// A person as the identity provider describes them.
pub struct NewPerson {
    /// The provider's login name for them (SCIM's `userName`), kept as written.
    pub user_name: String,
    pub email: Email,
    pub name: Option<PersonName>,
    pub name_parts: NameParts,
    pub external_id: Option<ExternalId>,
    pub active: bool,
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
        .ok_or(RuleError::WorkspaceNotFound(caller.workspace_id))?;
    let email = new.email.as_str();
    let existing = existing_account(db, &organization, email).await?;
    let names = Names {
        user_name: Some(new.user_name.clone()),
        external_id: new.external_id.as_ref().map(|id| id.as_str().to_owned()),
        parts: new.name_parts.clone(),
    };
    refuse_taken_names(db, provisioner, &names, None).await?;
    if let Err(full) = take_a_seat(
        db,
        &organization,
        existing.as_ref().map(|e| e.id),
        provisioner.now,
    )
    .await?
    {
        return Err(RuleError::Rejected(vec![full]));
    }
    let name = new.name.as_ref().map(PersonName::as_str);
    let is_new = existing.is_none();
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
    save_names(db, provisioner, user.id, &names).await?;
    let principal = provisioner.principal_in(&workspace);
    let acting = provisioner.acting(&principal);
    // Someone new has no password yet: the welcome's link is how they choose one. A new
    // account has no links yet to withdraw.
    let outbox_ids = match (is_new, new.active) {
        (true, true) => welcome::send(db, provisioner, &workspace, &membership, &user).await?,
        (true, false) => Vec::new(),
        (false, _) => welcome::welcome(db, provisioner, &user).await?,
    };
    acting
        .record(
            db,
            workspace.id,
            AuditAction::TeamMembershipProvision,
            Some(user.id),
            json!({
                "role": "member",
                "status": if new.active { "active" } else { "deactivated" },
                "user_name": names.user_name,
                "external_id": names.external_id,
            }),
        )
        .await?;
    // Its one membership in the organization is the one just made: the person is as written.
    let person = OrganizationPerson {
        user,
        active: new.active,
        external_id: names.external_id,
        user_name: names.user_name,
        name_parts: names.parts,
    };
    Ok(Provisioned { person, outbox_ids })
}

/// The account this address already has, if any: one of a system principal can't be
/// provisioned, and one that already is a person of the organization is ALREADY_MEMBER.
async fn existing_account<C: ConnectionTrait>(
    db: &C,
    organization: &organization::Model,
    email: &str,
) -> Result<Option<user::Model>, RuleError> {
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
        if is_person_of(db, organization.id, existing.id).await? {
            return Err(refusal(
                UserErrorCode::AlreadyMember,
                "userName",
                format!("{email} is already a person of the organization"),
            ));
        }
    }
    Ok(existing)
}

/// What the identity provider changes of a person: each `None` is left as it is.
#[derive(Default, Clone)]
pub struct PersonChanges {
    pub user_name: Option<String>,
    pub email: Option<Email>,
    pub name: Option<PersonName>,
    pub name_parts: Option<NameParts>,
    /// `Some(None)` forgets the provider's id of them.
    pub external_id: Option<Option<ExternalId>>,
    pub active: Option<bool>,
}

/// Changes a person of the organization as the provider says: their name and email, their
/// userName, external id and name parts, and whether they are active
/// ([`deprovision::set_active`]). What already is as asked is left alone, so a replay changes
/// nothing and records nothing.
///
/// The account's name and address are the person's, not one organization's: the name of an
/// account that is in another organization too is left as it is (the name parts are kept per
/// organization all the same), and the address changes only while the account is the
/// organization's alone and its person has not chosen a password yet (ACCOUNT_NOT_MANAGED
/// otherwise): an address is how a person proves who they are, and a provider that could move
/// a used account to another address could hand it to whoever reads that mailbox. A new
/// address withdraws the links sent to the old one and gets a welcome of its own.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
    changes: PersonChanges,
) -> Result<Provisioned, RuleError> {
    let organization_id = provisioner.caller.organization_id;
    // The lock order: the organization first (the provider's names are unique in it).
    lock_organization(db, organization_id).await?;
    let person = person_of(db, organization_id, user_id).await?;
    let mut changed = serde_json::Map::new();
    let shared = is_shared(db, provisioner, user_id).await?;
    let email = changes
        .email
        .filter(|email| email.as_str() != person.user.email);
    let name = changes
        .name
        .filter(|name| name.as_str() != person.user.name && !shared);
    if email.is_some() && (shared || person.user.password_hash.is_some()) {
        return Err(refusal(
            UserErrorCode::AccountNotManaged,
            "emails",
            "this account's address is its person's: they have signed in with it, or it belongs to other organizations too",
        ));
    }
    let readdressed = email.is_some();
    change_account(db, &person.user, email, name, &mut changed).await?;
    let before = Names {
        user_name: Some(person.user_name().to_owned()),
        external_id: person.external_id.clone(),
        parts: person.name_parts.clone(),
    };
    let after = Names {
        user_name: changes.user_name.or_else(|| before.user_name.clone()),
        external_id: match changes.external_id {
            Some(external_id) => external_id.map(ExternalId::into_string),
            None => before.external_id.clone(),
        },
        parts: changes.name_parts.unwrap_or_else(|| before.parts.clone()),
    };
    if after != before {
        refuse_taken_names(db, provisioner, &after, Some(user_id)).await?;
        save_names(db, provisioner, user_id, &after).await?;
        for (name, from, to) in [
            ("user_name", &before.user_name, &after.user_name),
            ("external_id", &before.external_id, &after.external_id),
            ("given_name", &before.parts.given, &after.parts.given),
            ("family_name", &before.parts.family, &after.parts.family),
        ] {
            if from != to {
                changed.insert(name.into(), json!({ "from": from, "to": to }));
            }
        }
    }
    let mut outbox_ids = Vec::new();
    if let Some(active) = changes.active {
        let Changed { outbox_ids: jobs } =
            deprovision::set_active(db, provisioner, user_id, active).await?;
        outbox_ids = jobs;
    }
    if readdressed {
        let account = person_of(db, organization_id, user_id).await?.user;
        outbox_ids.extend(welcome(db, provisioner, &account).await?);
    }
    if !changed.is_empty() {
        record_update(db, provisioner, user_id, Value::Object(changed)).await?;
    }
    Ok(Provisioned {
        person: person_of(db, organization_id, user_id).await?,
        outbox_ids,
    })
}

/// Writes the account's new address and name, if any, noting each in `changed`.
async fn change_account<C: ConnectionTrait>(
    db: &C,
    person: &user::Model,
    email: Option<Email>,
    name: Option<PersonName>,
    changed: &mut serde_json::Map<String, Value>,
) -> Result<(), RuleError> {
    if email.is_none() && name.is_none() {
        return Ok(());
    }
    // The lock order: the person's row, then each of their workspaces, before the row is
    // written.
    lock_person(db, person.id).await?;
    lock_workspaces_of(db, person.id).await?;
    let mut account: user::ActiveModel = person.clone().into();
    if let Some(email) = email {
        refuse_taken_email(db, &email).await?;
        changed.insert(
            "email".into(),
            json!({ "from": person.email, "to": email.as_str() }),
        );
        account.email = Set(email.as_str().to_owned());
    }
    if let Some(name) = name {
        changed.insert(
            "name".into(),
            json!({ "from": person.name, "to": name.as_str() }),
        );
        account.name = Set(name.into_string());
    }
    account.update(db).await?;
    Ok(())
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

/// Whether the account has memberships in another organization too.
async fn is_shared<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
) -> Result<bool, RuleError> {
    let everywhere = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::DeletedAt.is_null())
        .count(db)
        .await?;
    let here = memberships_in_organization(db, provisioner, user_id)
        .await?
        .len() as u64;
    Ok(everywhere > here)
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

/// What the provider calls a person: its login name and its own id of them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Names {
    user_name: Option<String>,
    external_id: Option<String>,
    parts: NameParts,
}

/// A userName or externalId another person of the organization has refuses it (409
/// `uniqueness`); one a removed person kept is theirs no longer, and is forgotten.
async fn refuse_taken_names<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    names: &Names,
    except: Option<UserId>,
) -> Result<(), RuleError> {
    let organization_id = provisioner.caller.organization_id;
    // A person the provider never named goes by their email: one lookup by the unique address.
    if let Some(user_name) = &names.user_name {
        let by_address = user::Entity::find()
            .filter(user::Column::Email.eq(user_name.to_lowercase()))
            .one(db)
            .await?
            .filter(|person| Some(person.id) != except);
        if let Some(person) = by_address {
            let named = scim_account::Entity::find_by_id((organization_id, person.id))
                .one(db)
                .await?
                .is_some_and(|account| account.user_name.is_some());
            if !named && is_person_of(db, organization_id, person.id).await? {
                return Err(refusal(
                    UserErrorCode::AlreadyMember,
                    "userName",
                    "another person of the organization has this userName",
                ));
            }
        }
    }
    let checks = [
        (
            scim_account::Column::UserNameKey,
            names.user_name.as_ref().map(|name| name.to_lowercase()),
            UserErrorCode::AlreadyMember,
            "userName",
        ),
        (
            scim_account::Column::ExternalId,
            names.external_id.clone(),
            UserErrorCode::ExternalIdTaken,
            "externalId",
        ),
    ];
    for (column, value, code, field) in checks {
        let Some(value) = value else { continue };
        let holders = scim_account::Entity::find()
            .filter(scim_account::Column::OrganizationId.eq(organization_id))
            .filter(column.eq(value))
            .all(db)
            .await?;
        for holder in holders.into_iter().filter(|h| Some(h.user_id) != except) {
            if is_person_of(db, organization_id, holder.user_id).await? {
                return Err(refusal(
                    code,
                    field,
                    format!("another person of the organization has this {field}"),
                ));
            }
            scim_account::Entity::delete_many()
                .filter(scim_account::Column::OrganizationId.eq(organization_id))
                .filter(scim_account::Column::UserId.eq(holder.user_id))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// Keeps what the provider calls the person.
async fn save_names<C: ConnectionTrait>(
    db: &C,
    provisioner: &Provisioner<'_>,
    user_id: UserId,
    names: &Names,
) -> Result<(), RuleError> {
    let organization_id = provisioner.caller.organization_id;
    let key = names.user_name.as_ref().map(|name| name.to_lowercase());
    let updated = scim_account::Entity::update_many()
        .col_expr(
            scim_account::Column::UserName,
            Expr::value(names.user_name.clone()),
        )
        .col_expr(scim_account::Column::UserNameKey, Expr::value(key.clone()))
        .col_expr(
            scim_account::Column::ExternalId,
            Expr::value(names.external_id.clone()),
        )
        .col_expr(
            scim_account::Column::GivenName,
            Expr::value(names.parts.given.clone()),
        )
        .col_expr(
            scim_account::Column::FamilyName,
            Expr::value(names.parts.family.clone()),
        )
        .filter(scim_account::Column::OrganizationId.eq(organization_id))
        .filter(scim_account::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        scim_account::ActiveModel {
            organization_id: Set(organization_id),
            user_id: Set(user_id),
            user_name: Set(names.user_name.clone()),
            user_name_key: Set(key),
            external_id: Set(names.external_id.clone()),
            given_name: Set(names.parts.given.clone()),
            family_name: Set(names.parts.family.clone()),
            created_at: Set(provisioner.now),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}
