//! Day one: an empty database becomes an organization, its first workspace and the person who
//! owns both, so someone can sign in without demo data. Run at the api's start
//! (`BOOTSTRAP_*`) or once from a shell (`api bootstrap`); either way it does its work only
//! while the database holds no organization, and replicas starting at once make one.

use std::fmt;

use chrono::{DateTime, Utc};
use entities::{
    AuditAction, MembershipStatus, OrganizationId, Role, UserId, UserKind, membership,
    organization, user, workspace,
};
use platform::audit::{self, AuditEvent};
use platform::locks::lock_bootstrap;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::json;

use super::owners::add_owner;
use super::slugs::Slug;
use super::workspaces::{insert_workspace, refusal_if_taken};
use crate::error::RuleError;
use crate::security::{MIN_PASSWORD_LENGTH, hash_password};
use crate::text::{
    CheckedText, InviteeEmail, OrganizationName, Password, PersonName, TextError, WorkspaceName,
};

/// What the bootstrap is given, as text, before any of it is checked.
#[derive(Clone, Copy)]
pub struct BootstrapRequest<'a> {
    pub organization: &'a str,
    pub workspace: &'a str,
    /// `None`: the one the workspace's name suggests.
    pub workspace_slug: Option<&'a str>,
    pub owner_email: &'a str,
    /// `None`: the part of the email before the `@`.
    pub owner_name: Option<&'a str>,
    pub owner_password: &'a str,
}

/// The names the bootstrap's inputs go by in a [`RuleError::BadUserInput`]; each door names
/// them its own way (an environment variable, a command-line option).
pub mod field {
    pub const ORGANIZATION: &str = "organization";
    pub const WORKSPACE: &str = "workspace";
    pub const WORKSPACE_SLUG: &str = "workspace_slug";
    pub const OWNER_EMAIL: &str = "owner_email";
    pub const OWNER_NAME: &str = "owner_name";
    pub const OWNER_PASSWORD: &str = "owner_password";
}

/// A bootstrap whose inputs are checked: what [`bootstrap`] makes, if the database is empty.
#[derive(Clone)]
pub struct Bootstrap {
    pub organization: OrganizationName,
    pub workspace: WorkspaceName,
    pub workspace_slug: Slug,
    pub owner_email: InviteeEmail,
    pub owner_name: PersonName,
    owner_password: Password,
}

impl fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bootstrap")
            .field("organization", &self.organization)
            .field("workspace", &self.workspace)
            .field("workspace_slug", &self.workspace_slug)
            .field("owner_email", &self.owner_email)
            .field("owner_name", &self.owner_name)
            .field("owner_password", &self.owner_password)
            .finish()
    }
}

impl Bootstrap {
    /// Checks every input as the API checks the same kind of text, and the password against
    /// the product's minimum; the first problem found is a `BadUserInput` on its [`field`].
    pub fn check(request: BootstrapRequest<'_>) -> Result<Bootstrap, RuleError> {
        let text = |name| move |error: TextError| RuleError::bad_input(name, error.problem);
        let organization =
            OrganizationName::parse(request.organization).map_err(text(field::ORGANIZATION))?;
        let workspace = WorkspaceName::parse(request.workspace).map_err(text(field::WORKSPACE))?;
        let workspace_slug = match request.workspace_slug {
            Some(slug) => {
                let slug = Slug::parse(slug)
                    .map_err(|problem| RuleError::bad_input(field::WORKSPACE_SLUG, problem))?;
                if slug.is_reserved() {
                    return Err(RuleError::bad_input(
                        field::WORKSPACE_SLUG,
                        format!("\"{slug}\" is kept for the service itself: choose another"),
                    ));
                }
                slug
            }
            None => match Slug::from_name(workspace.as_str()) {
                Some(slug) if slug.is_reserved() => {
                    return Err(RuleError::bad_input(
                        field::WORKSPACE,
                        format!(
                            "makes the slug \"{slug}\", which is kept for the service itself: give a slug too"
                        ),
                    ));
                }
                Some(slug) => slug,
                None => {
                    return Err(RuleError::bad_input(
                        field::WORKSPACE,
                        "has too little in a-z and 0-9 to make a slug of: give the slug too",
                    ));
                }
            },
        };
        let owner_email: InviteeEmail = request
            .owner_email
            .parse()
            .map_err(text(field::OWNER_EMAIL))?;
        let owner_name = request
            .owner_name
            .unwrap_or_else(|| owner_email.as_str().split('@').next().unwrap_or_default());
        let owner_name = PersonName::parse(owner_name).map_err(text(field::OWNER_NAME))?;
        let owner_password =
            Password::parse(request.owner_password).map_err(text(field::OWNER_PASSWORD))?;
        if owner_password.as_str().chars().count() < MIN_PASSWORD_LENGTH {
            return Err(RuleError::bad_input(
                field::OWNER_PASSWORD,
                format!("must be at least {MIN_PASSWORD_LENGTH} characters"),
            ));
        }
        Ok(Bootstrap {
            organization,
            workspace,
            workspace_slug,
            owner_email,
            owner_name,
            owner_password,
        })
    }
}

/// A password as a file or standard input holds it: its text, less one line ending (`\n` or
/// `\r\n`), which an editor or `echo` adds and no one means as part of it.
pub fn without_line_ending(text: &str) -> &str {
    text.strip_suffix('\n')
        .map_or(text, |line| line.strip_suffix('\r').unwrap_or(line))
}

/// What a bootstrap made.
#[derive(Debug, Clone)]
pub struct Made {
    pub organization: organization::Model,
    pub workspace: workspace::Model,
}

/// What [`bootstrap`] did.
#[derive(Debug, Clone)]
pub enum Bootstrapped {
    Created(Box<Made>),
    /// The database already held an organization: nothing was written.
    AlreadyDone,
}

/// Creates the organization, its first workspace and the owner (OWNER of the workspace, owner
/// of the organization), with a `workspace_create` audit entry by the system, when the
/// database holds no organization; else writes nothing. One transaction, which on PostgreSQL
/// holds the bootstrap's lock ([`lock_bootstrap`]) and on SQLite the writer's, so replicas
/// starting at once make one organization: the others find it and do nothing.
pub async fn bootstrap<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    request: &Bootstrap,
    now: DateTime<Utc>,
) -> Result<Bootstrapped, RuleError> {
    if organization::Entity::find().count(db).await? > 0 {
        return Ok(Bootstrapped::AlreadyDone);
    }
    let password_hash = hash_password(request.owner_password.as_str().to_owned()).await?;
    platform::db::retrying("bootstrap", RuleError::is_transient_conflict, || async {
        let txn = db.begin().await?;
        lock_bootstrap(&txn).await?;
        if organization::Entity::find().count(&txn).await? > 0 {
            txn.rollback().await?;
            return Ok(Bootstrapped::AlreadyDone);
        }
        let created = create(&txn, request, &password_hash, now).await?;
        txn.commit().await?;
        Ok(created)
    })
    .await
}

async fn create<C: ConnectionTrait>(
    db: &C,
    request: &Bootstrap,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Bootstrapped, RuleError> {
    refusal_if_taken(db, &request.workspace_slug, field::WORKSPACE_SLUG).await?;
    let known = user::Entity::find()
        .filter(user::Column::Email.eq(request.owner_email.as_str()))
        .count(db)
        .await?;
    if known > 0 {
        return Err(RuleError::bad_input(
            field::OWNER_EMAIL,
            "already belongs to an account: choose another address for the owner",
        ));
    }
    let organization = organization::ActiveModel {
        id: Set(OrganizationId::fresh()),
        name: Set(request.organization.as_str().to_owned()),
        seat_limit: Set(None),
        created_at: Set(now),
        deprovision_revokes_api_keys: Set(true),
    }
    .insert(db)
    .await?;
    let workspace = insert_workspace(
        db,
        organization.id,
        request.workspace.as_str(),
        request.workspace_slug.as_str(),
        now,
    )
    .await?;
    let owner_id = UserId::fresh();
    user::ActiveModel {
        id: Set(owner_id),
        email: Set(request.owner_email.as_str().to_owned()),
        name: Set(request.owner_name.as_str().to_owned()),
        password_hash: Set(Some(password_hash.to_owned())),
        kind: Set(UserKind::Person),
        erased_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    membership::ActiveModel::new(
        workspace.id,
        owner_id,
        Role::Owner,
        MembershipStatus::Active,
        now,
    )
    .insert(db)
    .await?;
    add_owner(db, organization.id, owner_id, now).await?;
    let event = AuditEvent::new(
        workspace.id,
        None,
        AuditAction::WorkspaceCreate,
        Some(owner_id),
        json!({
            "source": "bootstrap",
            "organization_id": organization.id,
            "organization_name": organization.name,
            "name": workspace.name,
            "slug": workspace.slug,
        }),
    );
    audit::record(db, event, now).await?;
    Ok(Bootstrapped::Created(Box::new(Made {
        organization,
        workspace,
    })))
}
