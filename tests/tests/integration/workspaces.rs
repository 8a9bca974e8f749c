//! Workspaces from GraphQL: an owner of the organization sees its workspaces and seats
//! (`viewer.organizations`), makes workspaces (becoming their OWNER) and renames them; a
//! workspace's OWNER or ADMIN who doesn't own the organization, and any API key, can't.

use entities::{AuditAction, Role, audit_entry, membership, organization, workspace};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use tests::{Answer, TestApp, backend_tests, data, error_code, user_error_codes};

use crate::support::{ADA, OMAR, create_api_key, snapshot};

const CREATE: &str = "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) {
    workspace { id organizationId name slug } userErrors { code field message } } }";
const UPDATE: &str = "mutation($input: UpdateWorkspaceInput!) { updateWorkspace(input: $input) {
    workspace { id name slug } userErrors { code field message } } }";
const ORGANIZATIONS: &str = "{ viewer { organizations { id name workspaces { name slug }
    seats { used limit available } } } }";

async fn create(app: &TestApp, token: &str, input: Value) -> Answer {
    app.graphql(Some(token), CREATE, json!({ "input": input }))
        .await
}

async fn update(app: &TestApp, token: &str, input: Value) -> Answer {
    app.graphql(Some(token), UPDATE, json!({ "input": input }))
        .await
}

async fn organizations(app: &TestApp, token: &str) -> Answer {
    let answer = app.graphql(Some(token), ORGANIZATIONS, json!({})).await;
    data(&answer)["viewer"]["organizations"].clone()
}

async fn workspace_by_slug(app: &TestApp, slug: &str) -> Option<workspace::Model> {
    workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(slug))
        .one(app.db())
        .await
        .unwrap()
}

async fn entries(app: &TestApp, action: AuditAction) -> Vec<audit_entry::Model> {
    audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq(action))
        .all(app.db())
        .await
        .unwrap()
}

backend_tests! {
    upgrading_makes_the_active_workspace_owners_the_organizations_owners,
    an_organization_owner_sees_creates_and_renames_workspaces,
    creating_is_idempotent_and_refuses_a_slug_taken_reserved_or_malformed,
    only_a_signed_in_organization_owner_creates_or_renames,
    an_owner_offboarded_from_the_organization_owns_nothing_there,
}

async fn an_organization_owner_sees_creates_and_renames_workspaces(app: TestApp) {
    let owner = app.owner_token().to_owned();
    let organization = app.demo.organization_id;
    let seen = organizations(&app, &owner).await;
    assert_eq!(seen.items().len(), 1, "{seen}");
    assert_eq!(seen[0]["id"], json!(organization));
    assert_eq!(seen[0]["name"], "Acme Inc.");
    let slugs: Vec<&str> = seen[0]["workspaces"]
        .items()
        .iter()
        .map(|w| w["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme-marketing", "acme-research"], "by name");
    let used = seen[0]["seats"]["used"].as_u64().unwrap();
    assert_eq!(seen[0]["seats"]["limit"], 25);
    assert_eq!(seen[0]["seats"]["available"], json!(25 - used));

    // Made from its name; the owner is its OWNER, can sign in to it at once, and takes no
    // second seat.
    let made = create(
        &app,
        &owner,
        json!({ "organizationId": organization, "name": "  Équipe Müller & Sales " }),
    )
    .await;
    let payload = &data(&made)["createWorkspace"];
    assert_eq!(user_error_codes(payload), Vec::<&str>::new(), "{made}");
    assert_eq!(payload["workspace"]["name"], "Équipe Müller & Sales");
    assert_eq!(payload["workspace"]["slug"], "equipe-muller-sales");
    assert_eq!(payload["workspace"]["organizationId"], json!(organization));
    let new = workspace_by_slug(&app, "equipe-muller-sales")
        .await
        .unwrap();
    let owner_id = app.owner_principal().await.user_id;
    let membership = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(new.id))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(membership.len(), 1, "only its creator is in it");
    assert_eq!(membership[0].user_id, owner_id);
    assert_eq!(membership[0].role, Role::Owner);
    let there = app.sign_in_to(new.id, &app.demo.owner_email).await;
    let viewer = app
        .graphql(
            Some(&there),
            "{ viewer { role workspace { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&viewer)["viewer"]["role"], "OWNER");
    let after = organizations(&app, &owner).await;
    assert_eq!(after[0]["workspaces"].items().len(), 3);
    assert_eq!(
        after[0]["seats"]["used"].as_u64(),
        Some(used),
        "no new seat"
    );
    let created = entries(&app, AuditAction::WorkspaceCreate).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].workspace_id, new.id);
    assert_eq!(created[0].actor_user_id, Some(owner_id));
    assert_eq!(created[0].metadata["slug"], "equipe-muller-sales");

    // Renamed from a session in another workspace: the slug stays, the session in it sees the
    // new name at once, the same name again records nothing.
    let renamed = update(
        &app,
        &owner,
        json!({ "workspaceId": new.id, "name": "Sales Europe" }),
    )
    .await;
    let payload = &data(&renamed)["updateWorkspace"];
    assert_eq!(user_error_codes(payload), Vec::<&str>::new(), "{renamed}");
    assert_eq!(payload["workspace"]["name"], "Sales Europe");
    assert_eq!(payload["workspace"]["slug"], "equipe-muller-sales");
    let viewer = app
        .graphql(Some(&there), "{ viewer { workspace { name } } }", json!({}))
        .await;
    assert_eq!(data(&viewer)["viewer"]["workspace"]["name"], "Sales Europe");
    let again = update(
        &app,
        &owner,
        json!({ "workspaceId": new.id, "name": "Sales Europe" }),
    )
    .await;
    assert_eq!(
        data(&again)["updateWorkspace"]["workspace"]["name"],
        "Sales Europe"
    );
    let renames = entries(&app, AuditAction::WorkspaceRename).await;
    assert_eq!(renames.len(), 1, "the same name again records nothing");
    assert_eq!(renames[0].metadata["from"], "Équipe Müller & Sales");
    assert_eq!(renames[0].metadata["to"], "Sales Europe");
    let log = app
        .graphql(
            Some(&there),
            "query($ws: UUID!) { auditLog(workspaceId: $ws) { edges { node { action } } } }",
            json!({ "ws": new.id }),
        )
        .await;
    let actions: Vec<&str> = data(&log)["auditLog"]["edges"]
        .items()
        .iter()
        .map(|edge| edge["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["WORKSPACE_RENAME", "WORKSPACE_CREATE"],
        "newest first"
    );
}

async fn creating_is_idempotent_and_refuses_a_slug_taken_reserved_or_malformed(app: TestApp) {
    let owner = app.owner_token().to_owned();
    let organization = app.demo.organization_id;
    let input = json!({ "organizationId": organization, "name": "Support", "slug": "acme-support",
                        "idempotencyKey": "support-1" });
    let first = create(&app, &owner, input.clone()).await;
    let second = create(&app, &owner, input).await;
    assert_eq!(
        data(&second)["createWorkspace"],
        data(&first)["createWorkspace"],
        "the retry answers the first call"
    );
    assert_eq!(entries(&app, AuditAction::WorkspaceCreate).await.len(), 1);

    let before = snapshot(&app).await;
    for (slug, code) in [("acme-research", "SLUG_TAKEN"), ("admin", "SLUG_RESERVED")] {
        let refused = create(
            &app,
            &owner,
            json!({ "organizationId": organization, "name": "Another", "slug": slug }),
        )
        .await;
        let payload = &data(&refused)["createWorkspace"];
        assert_eq!(user_error_codes(payload), [code], "{refused}");
        assert_eq!(payload["userErrors"][0]["field"], "slug");
        assert!(payload["workspace"].is_null());
    }
    // A name that suggests a reserved slug is refused the same way.
    let refused = create(
        &app,
        &owner,
        json!({ "organizationId": organization, "name": "API" }),
    )
    .await;
    assert_eq!(
        user_error_codes(&data(&refused)["createWorkspace"]),
        ["SLUG_RESERVED"]
    );
    for (name, slug) in [
        ("Bad", json!("Bad Slug")),
        ("Bad", json!("a")),
        ("Bad", json!("acme--x")),
        ("", Value::Null),
        ("営業", Value::Null),
        ("nul\u{0}", Value::Null),
    ] {
        let refused = create(
            &app,
            &owner,
            json!({ "organizationId": organization, "name": name, "slug": slug }),
        )
        .await;
        assert_eq!(
            error_code(&refused),
            "BAD_USER_INPUT",
            "{name:?} {slug}: {refused}"
        );
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "no refused call changed anything"
    );
}

async fn only_a_signed_in_organization_owner_creates_or_renames(app: TestApp) {
    let organization = app.demo.organization_id;
    let marketing = app.demo.workspace_id;
    // Another organization, with a workspace, that nobody here has anything to do with.
    let mut globex = globex(&app).await;
    let omar = app.sign_in(OMAR).await;
    let ada = app.sign_in(ADA).await;
    let key = create_api_key(&app, app.owner_token(), "Automation", "OWNER").await;
    let before = snapshot(&app).await;
    let rename_marketing = json!({ "workspaceId": marketing, "name": "Renamed" });
    let make_one = json!({ "organizationId": organization, "name": "Mine", "slug": "mine" });
    for (who, token) in [
        ("a workspace OWNER", &omar),
        ("a workspace ADMIN", &ada),
        ("the owner's API key", &key),
    ] {
        let made = create(&app, token, make_one.clone()).await;
        assert_eq!(error_code(&made), "FORBIDDEN", "{who}: {made}");
        let renamed = update(&app, token, rename_marketing.clone()).await;
        assert_eq!(error_code(&renamed), "FORBIDDEN", "{who}: {renamed}");
        assert_eq!(
            organizations(&app, token).await.items().len(),
            0,
            "{who} owns none"
        );
    }
    // The organization's owner, with another organization's ids: nothing is there.
    let owner = app.owner_token().to_owned();
    let made = create(
        &app,
        &owner,
        json!({ "organizationId": globex.organization_id, "name": "Theirs", "slug": "theirs" }),
    )
    .await;
    assert_eq!(error_code(&made), "NOT_FOUND", "{made}");
    let renamed = update(
        &app,
        &owner,
        json!({ "workspaceId": globex.id, "name": "Ours" }),
    )
    .await;
    assert_eq!(error_code(&renamed), "NOT_FOUND", "{renamed}");
    let renamed = update(
        &app,
        &owner,
        json!({ "workspaceId": uuid::Uuid::now_v7(), "name": "Ours" }),
    )
    .await;
    assert_eq!(error_code(&renamed), "NOT_FOUND", "{renamed}");
    let signed_out = app
        .graphql(None, CREATE, json!({ "input": make_one }))
        .await;
    assert_eq!(error_code(&signed_out), "UNAUTHENTICATED");
    assert_eq!(
        snapshot(&app).await,
        before,
        "no refused call changed anything"
    );
    globex = workspace::Entity::find_by_id(globex.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(globex.name, "Globex HQ");
    assert_eq!(
        workspace::Entity::find()
            .filter(workspace::Column::Name.eq("Renamed"))
            .count(app.db())
            .await
            .unwrap(),
        0
    );
}

/// Another organization, Globex, with its one workspace, that nobody of Acme belongs to.
pub(crate) async fn globex(app: &TestApp) -> workspace::Model {
    let other = organization::ActiveModel {
        id: Set(entities::OrganizationId::fresh()),
        name: Set("Globex".into()),
        seat_limit: Set(None),
        created_at: Set(chrono::Utc::now()),
        deprovision_revokes_api_keys: Set(true),
    }
    .insert(app.db())
    .await
    .unwrap();
    create_globex_workspace(app, other.id).await
}

/// Globex's one workspace, made as a bootstrap would, so the test needs no owner there.
async fn create_globex_workspace(
    app: &TestApp,
    organization_id: entities::OrganizationId,
) -> workspace::Model {
    let system = entities::user::ActiveModel {
        id: Set(entities::UserId::fresh()),
        email: Set("system+globex-hq@offboarding.invalid".into()),
        name: Set("Globex HQ (workspace)".into()),
        password_hash: Set(None),
        kind: Set(entities::UserKind::System),
        erased_at: Set(None),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(app.db())
    .await
    .unwrap();
    workspace::ActiveModel {
        id: Set(entities::WorkspaceId::fresh()),
        organization_id: Set(organization_id),
        name: Set("Globex HQ".into()),
        slug: Set("globex-hq".into()),
        administrative_contact_id: Set(None),
        technical_contact_id: Set(None),
        system_user_id: Set(system.id),
        created_at: Set(chrono::Utc::now()),
        access_version: sea_orm::NotSet,
    }
    .insert(app.db())
    .await
    .unwrap()
}

/// Migration 000014 on a database made before organizations had owners: the active OWNERs of
/// its workspaces become its owners (they could change its seat limit before), no one else.
async fn upgrading_makes_the_active_workspace_owners_the_organizations_owners(app: TestApp) {
    use migration::{Migrator, MigratorTrait};

    crate::support::undo_migrations_from(&app, "m20261207_000014_organization_owner").await;
    Migrator::up(app.db(), None).await.unwrap();
    let mut owners: Vec<(entities::OrganizationId, entities::UserId)> =
        entities::organization_owner::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .into_iter()
            .map(|owner| (owner.organization_id, owner.user_id))
            .collect();
    owners.sort();
    let mut active_owners: Vec<_> = membership::Entity::find()
        .filter(membership::Column::Role.eq(Role::Owner))
        .filter(membership::Column::Status.eq(entities::MembershipStatus::Active))
        .filter(membership::Column::DeletedAt.is_null())
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|membership| (app.demo.organization_id, membership.user_id))
        .collect();
    active_owners.sort();
    active_owners.dedup();
    assert_eq!(owners, active_owners);
    let [olivia, omar, ada] =
        crate::support::people(&app, [crate::support::OLIVIA, OMAR, ADA]).await;
    assert!(owners.contains(&(app.demo.organization_id, olivia)));
    assert!(
        owners.contains(&(app.demo.organization_id, omar)),
        "an OWNER of a workspace before"
    );
    assert!(
        !owners.iter().any(|(_, user)| *user == ada),
        "an ADMIN is not"
    );
}

/// Owning an organization lasts while its owner is an active member of one of its workspaces:
/// Gus, made an owner of Acme and also a member of Globex, sees Acme among what he owns from
/// his Globex session until he is removed from Acme; then it is gone, and making a workspace
/// there is NOT_FOUND.
async fn an_owner_offboarded_from_the_organization_owns_nothing_there(app: TestApp) {
    let acme = app.demo.organization_id;
    let [gus] = crate::support::people(&app, [crate::support::GUS]).await;
    rules::organizations::owners::add_owner(app.db(), acme, gus, chrono::Utc::now())
        .await
        .unwrap();
    let globex_hq = globex(&app).await;
    membership::ActiveModel::new(
        globex_hq.id,
        gus,
        Role::Member,
        entities::MembershipStatus::Active,
        chrono::Utc::now(),
    )
    .insert(app.db())
    .await
    .unwrap();
    let in_globex = app.sign_in_to(globex_hq.id, crate::support::GUS).await;
    let owned = organizations(&app, &in_globex).await;
    assert_eq!(owned.items().len(), 1, "{owned}");
    assert_eq!(owned[0]["id"], json!(acme));

    app.remove_members(&[gus]).await;
    assert_eq!(organizations(&app, &in_globex).await.items().len(), 0);
    let made = create(
        &app,
        &in_globex,
        json!({ "organizationId": acme, "name": "Comeback", "slug": "comeback" }),
    )
    .await;
    assert_eq!(error_code(&made), "NOT_FOUND", "{made}");
    assert!(workspace_by_slug(&app, "comeback").await.is_none());
}
