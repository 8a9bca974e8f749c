//! Demo data for the embedded default: one organization with two workspaces and every kind of
//! member and resource the offboarding rules care about, so GraphiQL has something to show.

use chrono::{DateTime, Duration, Utc};
use entities::{
    MembershipStatus, OrganizationId, Role, UserId, UserKind, WorkspaceId, api_key, application,
    campaign, creative, group_membership, invitation, membership, organization, rule, user,
    user_group, workspace,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use crate::access::sessions::start_session;
use crate::error::RuleError;
use crate::organizations::owners::add_owner;
use crate::organizations::workspaces::insert_workspace;
use crate::security::hash_password;
use platform::tokens::{TokenKind, new_token};

/// Every demo person signs in with this password.
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_OWNER_EMAIL: &str = "olivia.owner@acme.test";
pub const MARKETING_SLUG: &str = "acme-marketing";

/// How to get in: a fresh session for the demo owner, made at every start.
#[derive(Debug, Clone)]
pub struct DemoAccess {
    pub organization_id: OrganizationId,
    pub workspace_id: WorkspaceId,
    pub owner_email: String,
    pub token: String,
}

/// Seeds the demo data unless the database already has an organization, then signs the demo
/// owner in. Returns `None` when the database holds other data than the demo.
pub async fn seed_and_sign_in<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    session_ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Option<DemoAccess>, RuleError> {
    if organization::Entity::find().count(db).await? == 0 {
        let password_hash = hash_password(DEMO_PASSWORD.to_owned()).await?;
        let txn = db.begin().await?;
        seed(&txn, &password_hash, now).await?;
        txn.commit().await?;
    }
    let Some(marketing) = workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(MARKETING_SLUG))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(owner) = user::Entity::find()
        .filter(user::Column::Email.eq(DEMO_OWNER_EMAIL))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let signed_in = start_session(db, owner.id, marketing.id, session_ttl, None, now).await?;
    Ok(Some(DemoAccess {
        organization_id: marketing.organization_id,
        workspace_id: marketing.id,
        owner_email: owner.email,
        token: signed_in.token,
    }))
}

struct Seeder<'a, C> {
    db: &'a C,
    now: DateTime<Utc>,
    password_hash: &'a str,
}

impl<C: ConnectionTrait> Seeder<'_, C> {
    async fn person(&self, email: &str, name: &str) -> Result<UserId, RuleError> {
        self.user(email, name, UserKind::Person, Some(self.password_hash))
            .await
    }

    async fn user(
        &self,
        email: &str,
        name: &str,
        kind: UserKind,
        password_hash: Option<&str>,
    ) -> Result<UserId, RuleError> {
        let id = UserId::fresh();
        user::ActiveModel {
            id: Set(id),
            email: Set(email.to_owned()),
            name: Set(name.to_owned()),
            password_hash: Set(password_hash.map(str::to_owned)),
            kind: Set(kind),
            erased_at: Set(None),
            created_at: Set(self.now),
        }
        .insert(self.db)
        .await?;
        Ok(id)
    }

    async fn workspace(
        &self,
        organization_id: OrganizationId,
        name: &str,
        slug: &str,
    ) -> Result<WorkspaceId, RuleError> {
        Ok(
            insert_workspace(self.db, organization_id, name, slug, self.now)
                .await?
                .id,
        )
    }

    async fn member(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: Role,
        status: MembershipStatus,
    ) -> Result<Uuid, RuleError> {
        let membership =
            membership::ActiveModel::new(workspace_id, user_id, role, status, self.now)
                .insert(self.db)
                .await?;
        Ok(membership.id)
    }

    async fn group(
        &self,
        workspace_id: WorkspaceId,
        name: &str,
        members: &[UserId],
    ) -> Result<(), RuleError> {
        let group_id = Uuid::now_v7();
        user_group::ActiveModel {
            id: Set(group_id),
            workspace_id: Set(workspace_id),
            name: Set(name.to_owned()),
            created_at: Set(self.now),
            external_id: Set(None),
        }
        .insert(self.db)
        .await?;
        for user_id in members {
            group_membership::ActiveModel {
                id: Set(Uuid::now_v7()),
                group_id: Set(group_id),
                user_id: Set(*user_id),
                created_at: Set(self.now),
                deleted_at: Set(None),
            }
            .insert(self.db)
            .await?;
        }
        Ok(())
    }
}

#[allow(
    clippy::too_many_lines,
    reason = "the demo data written out, one row after another"
)]
async fn seed<C: ConnectionTrait>(
    db: &C,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), RuleError> {
    let s = Seeder {
        db,
        now,
        password_hash,
    };
    let organization_id = OrganizationId::fresh();
    organization::ActiveModel {
        id: Set(organization_id),
        name: Set("Acme Inc.".into()),
        seat_limit: Set(Some(25)),
        created_at: Set(now),
        deprovision_revokes_api_keys: Set(true),
    }
    .insert(db)
    .await?;
    let marketing = s
        .workspace(organization_id, "Marketing", MARKETING_SLUG)
        .await?;
    let research = s
        .workspace(organization_id, "Research", "acme-research")
        .await?;

    let olivia = s.person(DEMO_OWNER_EMAIL, "Olivia Owner").await?;
    add_owner(db, organization_id, olivia, now).await?;
    let omar = s.person("omar.owner@acme.test", "Omar Owner").await?;
    let ada = s.person("ada.admin@acme.test", "Ada Admin").await?;
    let mia = s.person("mia.member@acme.test", "Mia Member").await?;
    let max = s.person("max.member@acme.test", "Max Member").await?;
    let gus = s.person("gus.guest@acme.test", "Gus Guest").await?;
    let dana = s
        .person("dana.deactivated@acme.test", "Dana Deactivated")
        .await?;
    let ivy = s
        .user(
            "ivy.invited@acme.test",
            "ivy.invited",
            UserKind::Person,
            None,
        )
        .await?;

    use MembershipStatus::{Active, Deactivated, Invited};
    s.member(marketing, olivia, Role::Owner, Active).await?;
    s.member(marketing, omar, Role::Owner, Active).await?;
    s.member(marketing, ada, Role::Admin, Active).await?;
    s.member(marketing, mia, Role::Member, Active).await?;
    s.member(marketing, max, Role::Member, Active).await?;
    s.member(marketing, gus, Role::Guest, Active).await?;
    s.member(marketing, dana, Role::Member, Deactivated).await?;
    let ivy_membership = s.member(marketing, ivy, Role::Member, Invited).await?;
    // Research keeps Olivia, Ada and Max: removing them from Marketing does not free their seat.
    s.member(research, olivia, Role::Owner, Active).await?;
    s.member(research, ada, Role::Admin, Active).await?;
    s.member(research, max, Role::Member, Active).await?;

    invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(marketing),
        membership_id: Set(ivy_membership),
        email: Set("ivy.invited@acme.test".into()),
        role: Set(Role::Member),
        // Nobody knows this token: the demo invitation exists to be revoked or listed.
        token_hash: Set(new_token(TokenKind::Invitation).hash),
        invited_by: Set(Some(olivia)),
        expires_at: Set(now + Duration::days(7)),
        revoked_at: Set(None),
        accepted_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;

    s.group(marketing, "Designers", &[mia, max, dana]).await?;
    s.group(marketing, "Analysts", &[ada, max]).await?;
    s.group(research, "Lab", &[ada, max]).await?;

    workspace::Entity::update_many()
        .col_expr(workspace::Column::AdministrativeContactId, olivia.into())
        .col_expr(workspace::Column::TechnicalContactId, ada.into())
        .filter(workspace::Column::Id.eq(marketing))
        .exec(db)
        .await?;
    for (name, contact) in [("CRM sync", ada), ("Ad server", mia)] {
        application::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(marketing),
            name: Set(name.into()),
            technical_contact_id: Set(Some(contact)),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    for (name, author) in [
        ("Spring launch", mia),
        ("Newsletter", mia),
        ("Black Friday", max),
    ] {
        campaign::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(marketing),
            name: Set(name.into()),
            created_by: Set(author),
            owner_id: Set(author),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    for (name, creator) in [("Pause low CTR ads", mia), ("Budget alert", ada)] {
        rule::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(marketing),
            name: Set(name.into()),
            creator_id: Set(creator),
            enabled: Set(true),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    for (name, uploader) in [("Hero banner", max), ("Logo pack", mia)] {
        creative::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(marketing),
            name: Set(name.into()),
            uploaded_by: Set(uploader),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    for (name, creator, role) in [
        ("CI deploy", ada, Role::Admin),
        ("Reporting", mia, Role::Member),
    ] {
        let token = new_token(TokenKind::ApiKey);
        api_key::ActiveModel::new(
            marketing,
            creator,
            name.into(),
            role,
            token.token[..12].to_owned(),
            token.hash,
            now,
        )
        .insert(db)
        .await?;
    }
    Ok(())
}
