//! Day one by environment (`BOOTSTRAP_*`): the first start on an empty database makes the
//! organization, its workspace and the owner, who signs in; a second start makes nothing more;
//! replicas starting at once make one organization. (The command line, `api bootstrap`, is
//! tested on the binary: `api/tests/bootstrap.rs`.)

use api::{Application, Settings};
use entities::{
    AuditAction, MembershipStatus, Role, UserKind, audit_entry, membership, organization,
    organization_owner, user, workspace,
};
use futures_util::future::join_all;
use rules::organizations::bootstrap::{Bootstrap, BootstrapRequest};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use tests::{Backend, Fresh, TestApp, backend_tests, data};

pub const PASSWORD: &str = "correct horse battery staple";
pub const OWNER_EMAIL: &str = "peter@initech.test";

fn request<'a>(organization: &'a str, workspace: &'a str) -> Bootstrap {
    Bootstrap::check(BootstrapRequest {
        organization,
        workspace,
        workspace_slug: None,
        owner_email: "Peter@Initech.test",
        owner_name: Some("Peter Gibbons"),
        owner_password: PASSWORD,
    })
    .expect("a valid bootstrap")
}

pub fn first_day(config: &mut Settings) {
    config.bootstrap = Some(request("Initech", "People Ops"));
}

backend_tests! {
    the_first_start_makes_the_organization_its_owner_signs_in_and_a_second_makes_nothing => first_day,
}

async fn counts(db: &DatabaseConnection) -> (u64, u64, u64) {
    (
        organization::Entity::find().count(db).await.unwrap(),
        workspace::Entity::find().count(db).await.unwrap(),
        organization_owner::Entity::find().count(db).await.unwrap(),
    )
}

async fn the_first_start_makes_the_organization_its_owner_signs_in_and_a_second_makes_nothing(
    app: TestApp,
) {
    let db = app.db();
    assert_eq!(counts(db).await, (1, 1, 1));
    let organization = organization::Entity::find().one(db).await.unwrap().unwrap();
    assert_eq!(organization.name, "Initech");
    assert_eq!(
        organization.seat_limit, None,
        "unlimited until an owner sets a limit"
    );
    let workspace = workspace::Entity::find().one(db).await.unwrap().unwrap();
    assert_eq!(
        (workspace.name.as_str(), workspace.slug.as_str()),
        ("People Ops", "people-ops")
    );
    let owner = user::Entity::find()
        .filter(user::Column::Kind.eq(UserKind::Person))
        .all(db)
        .await
        .unwrap();
    assert_eq!(owner.len(), 1, "one person: the owner");
    assert_eq!(
        owner[0].email, "peter@initech.test",
        "emails are kept in lower case"
    );
    assert_eq!(owner[0].name, "Peter Gibbons");
    assert!(
        !owner[0]
            .password_hash
            .as_deref()
            .unwrap_or_default()
            .contains(PASSWORD),
        "the password is stored hashed"
    );
    let memberships = membership::Entity::find().all(db).await.unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(
        (memberships[0].role, memberships[0].status),
        (Role::Owner, MembershipStatus::Active)
    );
    let audit = audit_entry::Entity::find().all(db).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, AuditAction::WorkspaceCreate);
    assert_eq!(
        (audit[0].actor_user_id, audit[0].actor_api_key_id),
        (None, None),
        "done by the system"
    );
    assert_eq!(audit[0].target_user_id, Some(owner[0].id));
    assert_eq!(audit[0].metadata["source"], "bootstrap");

    // The owner signs in by the workspace's slug, as the People page does.
    let signed_in = app
        .mutate_signed_out(
            "mutation($input: SignInInput!) { signIn(input: $input) { token userErrors { code } } }",
            json!({ "workspaceSlug": "people-ops", "email": "peter@initech.test", "password": PASSWORD }),
        )
        .await;
    let token = signed_in["token"].as_str().expect("signed in").to_owned();
    let viewer = app
        .graphql(
            Some(&token),
            "{ viewer { role workspace { slug } organizations { name workspaces { slug } seats { used limit } } } }",
            json!({}),
        )
        .await;
    let viewer = &data(&viewer)["viewer"];
    assert_eq!(viewer["role"], "OWNER");
    assert_eq!(viewer["organizations"][0]["name"], "Initech");
    assert_eq!(
        viewer["organizations"][0]["workspaces"][0]["slug"],
        "people-ops"
    );
    assert_eq!(viewer["organizations"][0]["seats"]["used"], 1);
    assert!(viewer["organizations"][0]["seats"]["limit"].is_null());

    // Started again, with other names: the database holds an organization, nothing is made.
    let mut again = app.config.clone();
    again.bootstrap = Some(request("Initrode", "Sales"));
    let second = Application::build(again).await.expect("a second start");
    assert!(second.demo().is_none());
    assert_eq!(counts(db).await, (1, 1, 1));
    assert_eq!(audit_entry::Entity::find().count(db).await.unwrap(), 1);
}

/// Three api replicas start at once on an empty database, each told to bootstrap another
/// organization (so the slugs don't collide and only the bootstrap's lock can keep them
/// apart): one organization is made.
async fn replicas_starting_at_once_make_one_organization(backend: Backend) {
    let fresh = Fresh::new(backend).await;
    let replicas = ["Initech", "Initrode", "Intertrode"].map(|name| {
        let mut config = fresh.config.clone();
        config.demo_data = false;
        config.bootstrap = Some(request(name, &format!("{name} HQ")));
        Application::build(config)
    });
    let started: Vec<Application> = join_all(replicas)
        .await
        .into_iter()
        .map(|started| started.expect("every replica starts"))
        .collect();
    let db = started[0].db();
    assert_eq!(counts(db).await, (1, 1, 1));
    assert_eq!(
        user::Entity::find()
            .filter(user::Column::Kind.eq(UserKind::Person))
            .count(db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn replicas_starting_at_once_make_one_organization_on_postgres() {
    replicas_starting_at_once_make_one_organization(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_make_one_organization_on_sqlite() {
    replicas_starting_at_once_make_one_organization(Backend::Sqlite).await;
}
