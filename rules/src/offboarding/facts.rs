//! What a removal needs to know about the people leaving, read before anything changes.

use std::collections::{HashMap, HashSet};

use entities::{
    MembershipStatus, UserId, api_key, application, group_membership, invitation, membership,
    user_group, workspace,
};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, UnionType};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait};
use uuid::Uuid;

use crate::error::RuleError;

/// An invitation and the person it invites.
pub type InvitationOf = (Uuid, UserId);

/// What leaving would take from these people, read in one statement per 1,000 of them with the
/// applications they are the technical contact of (the rules need those).
#[derive(Default)]
pub struct Facts {
    /// The names of the workspace's groups each is in, for their email.
    pub groups: HashMap<UserId, Vec<String>>,
    /// Their invitations to this workspace still open, as (invitation, person).
    pub pending_invitations: Vec<InvitationOf>,
    /// Invitations they sent that are still open, to people not leaving with them, as
    /// (invitation, invited person): revoked with them, as GitLab and Zulip do.
    pub sent_invitations: Vec<InvitationOf>,
    /// The creator of each of their keys in this workspace still in use, one entry per key.
    pub api_keys_of: Vec<UserId>,
    /// Those with a live membership in another workspace of the organization: they keep their
    /// seat.
    pub seated_elsewhere: HashSet<UserId>,
}

/// People per statement of [`Facts::read`]: it binds their ids seven times, and SQLite binds at
/// most 32,766 values.
const PEOPLE_PER_READ: usize = 1_000;

impl Facts {
    /// The facts, and the applications as (technical contact, application id, name).
    pub(crate) async fn read<C: ConnectionTrait>(
        db: &C,
        workspace: &workspace::Model,
        user_ids: &[UserId],
    ) -> Result<(Facts, Vec<(UserId, Uuid, String)>), RuleError> {
        let mut facts = Facts::default();
        let mut applications = Vec::new();
        for people in user_ids.chunks(PEOPLE_PER_READ) {
            let query = Facts::query(workspace, people);
            for row in db
                .query_all_raw(db.get_database_backend().build(&query))
                .await?
            {
                let kind: String = row.try_get("", "kind")?;
                let user_id: UserId = row.try_get("", "user_id")?;
                match Fact::named(&kind)? {
                    Fact::Application => {
                        applications.push((
                            user_id,
                            row.try_get("", "id")?,
                            row.try_get("", "name")?,
                        ));
                    }
                    Fact::Group => facts
                        .groups
                        .entry(user_id)
                        .or_default()
                        .push(row.try_get("", "name")?),
                    Fact::Invitation => facts
                        .pending_invitations
                        .push((row.try_get("", "id")?, user_id)),
                    Fact::SentInvitation => facts
                        .sent_invitations
                        .push((row.try_get("", "id")?, user_id)),
                    Fact::ApiKey => facts.api_keys_of.push(user_id),
                    Fact::SeatElsewhere => {
                        facts.seated_elsewhere.insert(user_id);
                    }
                }
            }
        }
        Ok((facts, applications))
    }

    /// One row per fact about these people, (kind, person, id, name): a UNION ALL of one
    /// SELECT per kind.
    /// Invitations not yet accepted nor revoked, with the invitee's membership joined, as
    /// rows of [`Self::query`] of this kind.
    fn open_invitations(kind: Fact) -> SelectStatement {
        Query::select()
            .expr(row_kind(kind))
            .expr(Expr::col((membership::Entity, membership::Column::UserId)))
            .expr(Expr::col((invitation::Entity, invitation::Column::Id)))
            .expr(Expr::val(None::<String>))
            .from(invitation::Entity)
            .inner_join(
                membership::Entity,
                Expr::col((membership::Entity, membership::Column::Id))
                    .equals((invitation::Entity, invitation::Column::MembershipId)),
            )
            .and_where(invitation::Column::RevokedAt.is_null())
            .and_where(invitation::Column::AcceptedAt.is_null())
            .to_owned()
    }

    /// The groups of the workspace each is in.
    fn groups(workspace: &workspace::Model, user_ids: &[UserId]) -> SelectStatement {
        let people = || user_ids.iter().copied();
        Query::select()
            .expr(row_kind(Fact::Group))
            .expr(Expr::col((
                group_membership::Entity,
                group_membership::Column::UserId,
            )))
            .expr(Expr::val(None::<Uuid>))
            .expr(Expr::col((user_group::Entity, user_group::Column::Name)))
            .from(group_membership::Entity)
            .inner_join(
                user_group::Entity,
                Expr::col((user_group::Entity, user_group::Column::Id))
                    .equals((group_membership::Entity, group_membership::Column::GroupId)),
            )
            .and_where(group_membership::Column::UserId.is_in(people()))
            .and_where(group_membership::Column::DeletedAt.is_null())
            .and_where(user_group::Column::WorkspaceId.eq(workspace.id))
            .to_owned()
    }

    /// Their keys in the workspace still in use.
    fn api_keys(workspace: &workspace::Model, user_ids: &[UserId]) -> SelectStatement {
        let people = || user_ids.iter().copied();
        Query::select()
            .expr(row_kind(Fact::ApiKey))
            .expr(Expr::col(api_key::Column::CreatedBy))
            .expr(Expr::col(api_key::Column::Id))
            .expr(Expr::val(None::<String>))
            .from(api_key::Entity)
            .and_where(api_key::Column::WorkspaceId.eq(workspace.id))
            .and_where(api_key::Column::CreatedBy.is_in(people()))
            .and_where(api_key::Column::RevokedAt.is_null())
            .to_owned()
    }

    /// Their live memberships in other workspaces of the organization.
    fn seats_elsewhere(workspace: &workspace::Model, user_ids: &[UserId]) -> SelectStatement {
        let people = || user_ids.iter().copied();
        Query::select()
            .expr(row_kind(Fact::SeatElsewhere))
            .expr(Expr::col((membership::Entity, membership::Column::UserId)))
            .expr(Expr::val(None::<Uuid>))
            .expr(Expr::val(None::<String>))
            .from(membership::Entity)
            .inner_join(
                workspace::Entity,
                Expr::col((workspace::Entity, workspace::Column::Id))
                    .equals((membership::Entity, membership::Column::WorkspaceId)),
            )
            .and_where(workspace::Column::OrganizationId.eq(workspace.organization_id))
            .and_where(membership::Column::WorkspaceId.ne(workspace.id))
            .and_where(membership::Column::UserId.is_in(people()))
            .and_where(membership::Column::DeletedAt.is_null())
            .to_owned()
    }

    fn query(workspace: &workspace::Model, user_ids: &[UserId]) -> SelectStatement {
        let people = || user_ids.iter().copied();
        let live_membership_here = || {
            Condition::all()
                .add(
                    Expr::col((membership::Entity, membership::Column::WorkspaceId))
                        .eq(workspace.id),
                )
                .add(Expr::col((membership::Entity, membership::Column::UserId)).is_in(people()))
                .add(Expr::col((membership::Entity, membership::Column::DeletedAt)).is_null())
        };
        let mut query = Query::select()
            .expr_as(row_kind(Fact::Application), "kind")
            .expr_as(
                Expr::col(application::Column::TechnicalContactId),
                "user_id",
            )
            .expr_as(Expr::col(application::Column::Id), "id")
            .expr_as(Expr::col(application::Column::Name), "name")
            .from(application::Entity)
            .and_where(application::Column::WorkspaceId.eq(workspace.id))
            .and_where(application::Column::TechnicalContactId.is_in(people()))
            .to_owned();
        let groups = Self::groups(workspace, user_ids);
        let api_keys = Self::api_keys(workspace, user_ids);
        let seats = Self::seats_elsewhere(workspace, user_ids);
        let invitations = Self::open_invitations(Fact::Invitation)
            .cond_where(live_membership_here())
            .to_owned();
        let sent_invitations = Self::open_invitations(Fact::SentInvitation)
            .and_where(invitation::Column::WorkspaceId.eq(workspace.id))
            .and_where(invitation::Column::InvitedBy.is_in(people()))
            .and_where(Expr::col((membership::Entity, membership::Column::DeletedAt)).is_null())
            .and_where(
                Expr::col((membership::Entity, membership::Column::Status))
                    .eq(MembershipStatus::Invited),
            )
            .and_where(
                Expr::col((membership::Entity, membership::Column::UserId)).is_not_in(people()),
            )
            .to_owned();
        query
            .union(UnionType::All, groups)
            .union(UnionType::All, invitations)
            .union(UnionType::All, sent_invitations)
            .union(UnionType::All, api_keys)
            .union(UnionType::All, seats)
            .order_by("kind", Order::Asc)
            .order_by("name", Order::Asc);
        query
    }
}

/// What a row of [`Facts::query`] is about, named in its first column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fact {
    Application,
    Group,
    Invitation,
    SentInvitation,
    ApiKey,
    SeatElsewhere,
}

impl Fact {
    const ALL: [Fact; 6] = [
        Fact::Application,
        Fact::Group,
        Fact::Invitation,
        Fact::SentInvitation,
        Fact::ApiKey,
        Fact::SeatElsewhere,
    ];

    fn name(self) -> &'static str {
        match self {
            Fact::Application => "application",
            Fact::Group => "group",
            Fact::Invitation => "invitation",
            Fact::SentInvitation => "sent_invitation",
            Fact::ApiKey => "api_key",
            Fact::SeatElsewhere => "seat",
        }
    }

    /// The fact a row names; a name the query never writes is a fault, not a seat.
    fn named(name: &str) -> Result<Fact, RuleError> {
        Fact::ALL
            .into_iter()
            .find(|fact| fact.name() == name)
            .ok_or_else(|| RuleError::internal("a removal fact's kind", format!("{name:?}")))
    }
}

/// The first column of each row of [`Facts::read`]: what the row is about.
fn row_kind(kind: Fact) -> Expr {
    Expr::val(kind.name())
}
