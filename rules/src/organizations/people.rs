//! The people of an organization, as an identity provider sees them (SCIM's Users): everyone
//! who holds a seat in it (a membership not removed, in any of its workspaces), active while
//! one of those memberships is ACTIVE, with the provider's userName and own id of them if it
//! gave them.

use std::collections::{HashMap, HashSet};

use entities::{
    MembershipStatus, OrganizationId, UserId, UserKind, membership, scim_account, user, workspace,
};
use sea_orm::sea_query::{Condition, Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Select,
};

use crate::error::RuleError;
use crate::people::seats::member_ids;
use crate::text::Email;

/// SCIM's `name.givenName` and `name.familyName`, kept as the provider sent them beside the
/// display name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameParts {
    pub given: Option<String>,
    pub family: Option<String>,
}

/// A person of the organization.
#[derive(Debug, Clone)]
pub struct OrganizationPerson {
    pub user: user::Model,
    /// Holds an ACTIVE membership in one of the organization's workspaces.
    pub active: bool,
    /// The identity provider's id of them (SCIM's `externalId`), if it gave one.
    pub external_id: Option<String>,
    /// The identity provider's login name for them (SCIM's `userName`), if it gave one other
    /// than their email.
    pub user_name: Option<String>,
    /// The given and family names the provider sent, if it did.
    pub name_parts: NameParts,
}

impl OrganizationPerson {
    /// A person, with what the provider calls them if it named them.
    fn new(user: user::Model, active: bool, account: Option<scim_account::Model>) -> Self {
        let (user_name, external_id, given, family) = match account {
            Some(account) => (
                account.user_name,
                account.external_id,
                account.given_name,
                account.family_name,
            ),
            None => (None, None, None, None),
        };
        OrganizationPerson {
            active,
            external_id,
            name_parts: NameParts { given, family },
            user_name,
            user,
        }
    }

    /// Their SCIM `userName`: the provider's, else their email.
    pub fn user_name(&self) -> &str {
        self.user_name.as_deref().unwrap_or(&self.user.email)
    }
}

/// Which of the organization's people to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleFilter {
    Everyone,
    /// No one: what a filter on a value no one can have finds.
    Nobody,
    Id(UserId),
    Email(Email),
    /// The provider's userName for them, regardless of case; their email where it gave none.
    UserName(String),
    ExternalId(String),
    Active(bool),
}

/// One page of the organization's people, `offset` people in.
pub struct PeoplePage {
    /// How many match, across all pages.
    pub total: u64,
    pub people: Vec<OrganizationPerson>,
}

/// The organization's people matching `filter`, by id (their order of creation), `limit` of
/// them from `offset` on, and how many match in all. Four statements: the count, the page,
/// which of them are active, their external ids.
pub async fn people_of<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    filter: &PeopleFilter,
    offset: u64,
    limit: u64,
) -> Result<PeoplePage, RuleError> {
    let query = matching(organization_id, filter);
    let active = || member_ids(organization_id, &[MembershipStatus::Active]);
    let total = query.clone().count(db).await?;
    if limit == 0 || offset >= total {
        return Ok(PeoplePage {
            total,
            people: Vec::new(),
        });
    }
    let users = query
        .order_by_asc(user::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<UserId> = users.iter().map(|user| user.id).collect();
    let active: HashSet<UserId> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Id.is_in(ids.clone()))
        .filter(user::Column::Id.in_subquery(active()))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut accounts: HashMap<UserId, scim_account::Model> = scim_account::Entity::find()
        .filter(scim_account::Column::OrganizationId.eq(organization_id))
        .filter(scim_account::Column::UserId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|account| (account.user_id, account))
        .collect();
    let people = users
        .into_iter()
        .map(|user| {
            let (account, active) = (accounts.remove(&user.id), active.contains(&user.id));
            OrganizationPerson::new(user, active, account)
        })
        .collect();
    Ok(PeoplePage { total, people })
}

/// The organization's people that `filter` matches.
fn matching(organization_id: OrganizationId, filter: &PeopleFilter) -> Select<user::Entity> {
    let person = user::Entity::find().filter(user::Column::Kind.eq(UserKind::Person));
    let active = || member_ids(organization_id, &[MembershipStatus::Active]);
    // An active person holds a seat: one subquery says both.
    if *filter == PeopleFilter::Active(true) {
        return person.filter(user::Column::Id.in_subquery(active()));
    }
    let query = person.filter(user::Column::Id.in_subquery(member_ids(organization_id, &[])));
    match filter {
        PeopleFilter::Everyone => query,
        PeopleFilter::Nobody => query.filter(Expr::value(false)),
        PeopleFilter::Id(id) => query.filter(user::Column::Id.eq(*id)),
        PeopleFilter::Email(email) => query.filter(user::Column::Email.eq(email.as_str())),
        PeopleFilter::ExternalId(external_id) => query.filter(
            user::Column::Id.in_subquery(
                accounts(organization_id)
                    .and_where(scim_account::Column::ExternalId.eq(external_id.as_str()))
                    .take(),
            ),
        ),
        PeopleFilter::UserName(user_name) => {
            let key = user_name.to_lowercase();
            let named = accounts(organization_id)
                .and_where(scim_account::Column::UserNameKey.eq(key.as_str()))
                .take();
            let renamed = accounts(organization_id)
                .and_where(scim_account::Column::UserNameKey.is_not_null())
                .take();
            query.filter(
                Condition::any()
                    .add(user::Column::Id.in_subquery(named))
                    .add(
                        Condition::all()
                            .add(user::Column::Email.eq(key.as_str()))
                            .add(user::Column::Id.not_in_subquery(renamed)),
                    ),
            )
        }
        PeopleFilter::Active(true) => query,
        PeopleFilter::Active(false) => query.filter(user::Column::Id.not_in_subquery(active())),
    }
}

/// The people of the organization the provider named, as a subquery of their ids.
fn accounts(organization_id: OrganizationId) -> SelectStatement {
    Query::select()
        .column(scim_account::Column::UserId)
        .from(scim_account::Entity)
        .and_where(scim_account::Column::OrganizationId.eq(organization_id))
        .take()
}

/// One person of the organization, or NOT_FOUND (someone of another organization, a removed
/// person and a system user alike).
pub async fn person_of<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<OrganizationPerson, RuleError> {
    // By the person's own rows, each found by an index: what a provider's every write reads
    // back costs the same in an organization of ten people or of a hundred thousand.
    let not_found = || RuleError::NotFound("user");
    let user = user::Entity::find_by_id(user_id)
        .filter(user::Column::Kind.eq(UserKind::Person))
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    let statuses: Vec<MembershipStatus> = membership::Entity::find()
        .select_only()
        .column(membership::Column::Status)
        .join(JoinType::InnerJoin, membership::Relation::Workspace.def())
        .filter(workspace::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    if statuses.is_empty() {
        return Err(not_found());
    }
    let account = scim_account::Entity::find_by_id((organization_id, user_id))
        .one(db)
        .await?;
    Ok(OrganizationPerson::new(
        user,
        statuses.contains(&MembershipStatus::Active),
        account,
    ))
}
