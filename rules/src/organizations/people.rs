//! The people of an organization, as an identity provider sees them (SCIM's Users): everyone
//! who holds a seat in it (a membership not removed, in any of its workspaces), active while
//! one of those memberships is ACTIVE, with the provider's own id of them if it gave one.

use std::collections::{HashMap, HashSet};

use entities::{MembershipStatus, OrganizationId, UserId, UserKind, scim_identity, user};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::error::RuleError;
use crate::people::seats::seat_holder_ids;
use crate::text::Email;

/// A person of the organization.
#[derive(Debug, Clone)]
pub struct OrganizationPerson {
    pub user: user::Model,
    /// Holds an ACTIVE membership in one of the organization's workspaces.
    pub active: bool,
    /// The identity provider's id of them (SCIM's `externalId`), if it gave one.
    pub external_id: Option<String>,
}

/// Which of the organization's people to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleFilter {
    Everyone,
    /// No one: what a filter on a value no one can have finds.
    Nobody,
    Id(UserId),
    Email(Email),
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
    let mut query = user::Entity::find()
        .filter(user::Column::Kind.eq(UserKind::Person))
        .filter(user::Column::Id.in_subquery(seat_holder_ids(organization_id, &[])));
    let active = || seat_holder_ids(organization_id, &[MembershipStatus::Active]);
    query = match filter {
        PeopleFilter::Everyone => query,
        PeopleFilter::Nobody => query.filter(Expr::value(false)),
        PeopleFilter::Id(id) => query.filter(user::Column::Id.eq(*id)),
        PeopleFilter::Email(email) => query.filter(user::Column::Email.eq(email.as_str())),
        PeopleFilter::ExternalId(external_id) => query.filter(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(scim_identity::Column::UserId)
                    .from(scim_identity::Entity)
                    .and_where(scim_identity::Column::OrganizationId.eq(organization_id))
                    .and_where(scim_identity::Column::ExternalId.eq(external_id.as_str()))
                    .take(),
            ),
        ),
        PeopleFilter::Active(true) => query.filter(user::Column::Id.in_subquery(active())),
        PeopleFilter::Active(false) => query.filter(user::Column::Id.not_in_subquery(active())),
    };
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
    let mut external_ids: HashMap<UserId, String> = scim_identity::Entity::find()
        .filter(scim_identity::Column::OrganizationId.eq(organization_id))
        .filter(scim_identity::Column::UserId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|identity| (identity.user_id, identity.external_id))
        .collect();
    let people = users
        .into_iter()
        .map(|user| OrganizationPerson {
            active: active.contains(&user.id),
            external_id: external_ids.remove(&user.id),
            user,
        })
        .collect();
    Ok(PeoplePage { total, people })
}

/// One person of the organization, or NOT_FOUND (someone of another organization, a removed
/// person and a system user alike).
pub async fn person_of<C: ConnectionTrait>(
    db: &C,
    organization_id: OrganizationId,
    user_id: UserId,
) -> Result<OrganizationPerson, RuleError> {
    people_of(db, organization_id, &PeopleFilter::Id(user_id), 0, 1)
        .await?
        .people
        .pop()
        .ok_or(RuleError::NotFound("user"))
}
