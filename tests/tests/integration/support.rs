//! The integration suite's one support module: the demo people, the GraphQL documents and
//! typed calls the tests share, reads of what was written, database snapshots and undo, and
//! direct database changes for setting up states the API has no mutation for yet.

use chrono::{DateTime, Utc};
use entities::{
    UserId, WorkspaceId, api_key, application, audit_entry, group_membership, idempotency_key,
    invitation, membership, offboarding, organization, organization_owner, outbox, scim_account,
    scim_token, user, user_group, workspace,
};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select};
use serde_json::{Value, json};
use tests::{Answer, TestApp, data, error_code};
use uuid::Uuid;

pub const OLIVIA: &str = "olivia.owner@acme.test";
pub const OMAR: &str = "omar.owner@acme.test";
pub const ADA: &str = "ada.admin@acme.test";
pub const MIA: &str = "mia.member@acme.test";
pub const MAX: &str = "max.member@acme.test";
pub const GUS: &str = "gus.guest@acme.test";
pub const DANA: &str = "dana.deactivated@acme.test";
pub const IVY: &str = "ivy.invited@acme.test";

pub const PREVIEW: &str =
    "query($ws: UUID!, $ids: [UUID!]!) { removalPreview(workspaceId: $ws, userIds: $ids) {
  canRemove
  members {
    userId name email status role
    loses { workspaceName groups }
    preserved { otherWorkspaces otherOrganizations }
    seatFreed
    contactDuties { duty applicationId applicationName }
    campaignsToReattribute apiKeysToRevoke rulesKeepRunning
    blockers { code message field userId }
  } } }";
pub const REMOVE: &str = "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) {
  removedMembers { userId email seatFreed apiKeysRevoked }
  offboarding { id kind status summary { total } }
  userErrors { code message field userId } } }";
pub const REASSIGN: &str =
    "mutation($input: ReassignContactsInput!) { reassignContacts(input: $input) {
  moved { duty applicationId applicationName fromUserId toUserId }
  remaining { duty applicationId applicationName }
  userErrors { code message field userId } } }";
pub const TRANSFER: &str =
    "mutation($input: TransferOwnershipInput!) { transferOwnership(input: $input) {
  newOwner { role status user { id email } }
  previousOwner { role status user { id email } }
  userErrors { code message field userId } } }";
pub const RESTORE: &str = "mutation($input: RestoreMemberInput!) { restoreMember(input: $input) {
  member { role status user { id email } groups { name } }
  seatTaken
  userErrors { code message field userId } } }";
pub const DEACTIVATE: &str =
    "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
  member { status role user { email } groups { name } } offboarding { id kind }
  userErrors { code message field userId } } }";
pub const REACTIVATE: &str =
    "mutation($input: ReactivateUserInput!) { reactivateUser(input: $input) {
  member { status role user { email } groups { name } } userErrors { code message field userId } } }";
pub const INVITE: &str = "mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  member { id status role user { id email } } invitationToken userErrors { code message field userId } } }";
pub const AUDIT_LOG: &str =
    "query($ws: UUID!, $filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id action summary actorUserId actorApiKeyId actor { email } targetUserId target { email }
      reason requestId offboardingId metadata createdAt } } } }";
pub const SEATS: &str =
    "query($org: UUID!) { seatUsage(organizationId: $org) { used limit available } }";
pub const MEMBERS: &str = "query($ws: UUID!) { members(workspaceId: $ws, first: 100) {
  totalCount nodes { role status user { email } groups { name } } } }";
pub const VIEWER: &str = "{ viewer { role user { email } } }";

pub use tests::{no_worker, user_id};

/// The ids of these demo people, in the order given.
pub async fn people<const N: usize>(app: &TestApp, emails: [&str; N]) -> [UserId; N] {
    let mut ids = [UserId(Uuid::nil()); N];
    for (id, email) in ids.iter_mut().zip(emails) {
        *id = user_id(app, email).await;
    }
    ids
}

/// A search text as the GraphQL edge would have parsed it, for the lists' domain functions.
pub fn search_text(text: &str) -> rules::text::SearchText {
    <rules::text::SearchText as rules::text::CheckedText>::parse(text).unwrap()
}

/// The id of the offboarding a payload names.
pub fn offboarding_id(payload: &Answer) -> String {
    payload["offboarding"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an offboarding: {payload}"))
        .to_owned()
}

/// `removalPreview` of these ids in the demo workspace: the whole answer.
pub async fn preview_answer(app: &TestApp, token: &str, ids: &[UserId]) -> Answer {
    app.graphql(
        Some(token),
        PREVIEW,
        json!({ "ws": app.demo.workspace_id, "ids": ids }),
    )
    .await
}

pub async fn preview(app: &TestApp, token: &str, ids: &[UserId]) -> Answer {
    let answer = preview_answer(app, token, ids).await;
    data(&answer)["removalPreview"].clone()
}

/// A member's role and status, as an answer shows them.
pub fn role_and_status(member: &Answer) -> (Option<&str>, Option<&str>) {
    (member["role"].as_str(), member["status"].as_str())
}

/// A payload's `userErrors` as sorted (code, userId) pairs.
pub fn error_pairs(payload: &Value) -> Vec<(String, Option<String>)> {
    sorted_rows(payload, "userErrors", pair)
}

/// The items of the list `field` of `object`, each read by `row`, sorted.
pub fn sorted_rows<T: Ord>(object: &Value, field: &str, row: impl FnMut(&Value) -> T) -> Vec<T> {
    let mut rows: Vec<T> = object[field]
        .as_array()
        .unwrap_or_else(|| panic!("expected {field}: {object}"))
        .iter()
        .map(row)
        .collect();
    rows.sort();
    rows
}

/// One `UserError` as (code, userId).
pub fn pair(error: &Value) -> (String, Option<String>) {
    (
        error["code"].as_str().unwrap_or_default().to_owned(),
        error["userId"].as_str().map(str::to_owned),
    )
}

pub fn expected_pairs(pairs: &[(&str, UserId)]) -> Vec<(String, Option<String>)> {
    let mut pairs: Vec<(String, Option<String>)> = pairs
        .iter()
        .map(|(code, id)| ((*code).to_owned(), Some(id.to_string())))
        .collect();
    pairs.sort();
    pairs
}

pub async fn seats_used(app: &TestApp) -> i64 {
    let answer = app
        .as_owner(SEATS, json!({ "org": app.demo.organization_id }))
        .await;
    data(&answer)["seatUsage"]["used"]
        .as_i64()
        .unwrap_or_else(|| panic!("seatUsage.used: {answer}"))
}

/// The emails of the demo workspace's listed members.
pub async fn member_emails(app: &TestApp) -> Vec<String> {
    let answer = app
        .as_owner(MEMBERS, json!({ "ws": app.demo.workspace_id }))
        .await;
    let mut emails: Vec<String> = data(&answer)["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["email"].as_str().unwrap().to_owned())
        .collect();
    emails.sort();
    emails
}

/// The owner invites `email` as `role`, which must succeed: the payload.
pub async fn owner_invites(app: &TestApp, email: &str, role: &str) -> Answer {
    let payload = app
        .owner_mutates(INVITE, json!({ "email": email, "role": role }))
        .await;
    tests::ok(&payload);
    payload
}

/// A person's membership of the demo workspace (the live one, or else the latest removed one).
pub async fn marketing_membership(app: &TestApp, user: UserId) -> membership::Model {
    let mut rows = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
        .filter(membership::Column::UserId.eq(user))
        .all(app.db())
        .await
        .unwrap();
    rows.sort_by_key(|m| (m.deleted_at.is_none(), m.deleted_at, m.created_at));
    rows.pop()
        .unwrap_or_else(|| panic!("{user} has a membership"))
}

async fn application(app: &TestApp, name: &str) -> application::Model {
    let named = application::Column::Name.eq(name);
    the_one::<application::Entity>(app, named, &format!("application {name}")).await
}

pub async fn application_id(app: &TestApp, name: &str) -> Uuid {
    application(app, name).await.id
}

pub async fn application_contact(app: &TestApp, name: &str) -> Option<UserId> {
    application(app, name).await.technical_contact_id
}

pub async fn marketing(app: &TestApp) -> workspace::Model {
    workspace::Entity::find_by_id(app.demo.workspace_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

/// The API key a person created (the demo people have one each at most).
pub async fn key_created_by(app: &TestApp, user: UserId) -> api_key::Model {
    let by = api_key::Column::CreatedBy.eq(user);
    the_one::<api_key::Entity>(app, by, &format!("key created by {user}")).await
}

pub const SIGN_OUT: &str = "mutation { signOut { signedOut } }";

/// The invitation of `email`, as stored.
pub async fn stored_invitation(app: &TestApp, email: &str) -> invitation::Model {
    let of_email = invitation::Column::Email.eq(email);
    the_one::<invitation::Entity>(app, of_email, &format!("invitation of {email}")).await
}

/// The audit entries of one action.
pub async fn audit_entries(app: &TestApp, action: &str) -> Vec<audit_entry::Model> {
    of_action(action).all(app.db()).await.unwrap()
}

/// Audit entries of one action, in the database.
pub async fn audit_count(app: &TestApp, action: &str) -> u64 {
    of_action(action).count(app.db()).await.unwrap()
}

fn of_action(action: &str) -> sea_orm::Select<audit_entry::Entity> {
    audit_entry::Entity::find().filter(audit_entry::Column::Action.eq(action))
}

/// Whether a token is still let in.
pub async fn can_act(app: &TestApp, token: &str) -> bool {
    let answer = app.graphql(Some(token), VIEWER, Value::Null).await;
    if !answer.has_errors() {
        return true;
    }
    match error_code(&answer) {
        "UNAUTHENTICATED" => false,
        other => panic!("unexpected {other}: {answer}"),
    }
}

/// Everything a refused call must leave exactly as it was.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    memberships: Vec<membership::Model>,
    group_memberships: Vec<group_membership::Model>,
    user_groups: Vec<user_group::Model>,
    workspaces: Vec<workspace::Model>,
    applications: Vec<application::Model>,
    invitations: Vec<invitation::Model>,
    organizations: Vec<organization::Model>,
    organization_owners: Vec<organization_owner::Model>,
    scim_tokens: Vec<scim_token::Model>,
    scim_accounts: Vec<scim_account::Model>,
    users: Vec<user::Model>,
    unrevoked_api_keys: u64,
    audit_entries: u64,
    outbox_rows: u64,
    offboardings: u64,
    idempotency_keys: u64,
}

pub async fn snapshot(app: &TestApp) -> Snapshot {
    let db = app.db();
    Snapshot {
        memberships: every(db, membership::Column::Id).await,
        group_memberships: every(db, group_membership::Column::Id).await,
        user_groups: every(db, user_group::Column::Id).await,
        workspaces: every(db, workspace::Column::Id).await,
        applications: every(db, application::Column::Id).await,
        invitations: every(db, invitation::Column::Id).await,
        organizations: every(db, organization::Column::Id).await,
        organization_owners: every(db, organization_owner::Column::UserId).await,
        scim_tokens: every(db, scim_token::Column::Id).await,
        scim_accounts: every(db, scim_account::Column::UserId).await,
        users: every(db, user::Column::Id).await,
        unrevoked_api_keys: api_key::Entity::find()
            .filter(api_key::Column::RevokedAt.is_null())
            .count(db)
            .await
            .unwrap(),
        audit_entries: audit_entry::Entity::find().count(db).await.unwrap(),
        outbox_rows: outbox::Entity::find().count(db).await.unwrap(),
        offboardings: offboarding::Entity::find().count(db).await.unwrap(),
        idempotency_keys: idempotency_key::Entity::find().count(db).await.unwrap(),
    }
}

/// Every row of a table, in the order of `column`.
async fn every<C: sea_orm::ColumnTrait>(
    db: &sea_orm::DatabaseConnection,
    column: C,
) -> Vec<<C::EntityName as EntityTrait>::Model>
where
    C::EntityName: EntityTrait<Column = C>,
{
    <C::EntityName as EntityTrait>::find()
        .order_by_asc(column)
        .all(db)
        .await
        .unwrap()
}

/// Live memberships and live group memberships: what [`undo_removal`] must bring back.
pub async fn live_counts(app: &TestApp) -> (u64, u64) {
    let live_groups = group_membership::Column::DeletedAt.is_null();
    (
        live_memberships(app).await,
        count_of(app, group_membership::Entity::find().filter(live_groups)).await,
    )
}

/// Memberships not removed (of any workspace).
pub async fn live_memberships(app: &TestApp) -> u64 {
    let live = membership::Column::DeletedAt.is_null();
    count_of(app, membership::Entity::find().filter(live)).await
}

/// Undoes a removal of these people from the demo workspace directly in the database (the
/// membership, its groups, a revoked invitation), so the next check starts from the same state.
/// Only for states where nobody among them was removed before.
pub async fn undo_removal(app: &TestApp, user_ids: &[UserId]) {
    if user_ids.is_empty() {
        return;
    }
    let db = app.db();
    let memberships = membership::Entity::find()
        .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
        .filter(membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(membership::Column::DeletedAt.is_not_null())
        .all(db)
        .await
        .unwrap();
    let removed = || memberships.iter().map(|m| m.id);
    let never = || Expr::value(Option::<DateTime<Utc>>::None);
    membership::Entity::update_many()
        .col_expr(membership::Column::DeletedAt, never())
        .col_expr(
            membership::Column::RemovedBy,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            membership::Column::RemovalReason,
            Expr::value(Option::<String>::None),
        )
        .col_expr(membership::Column::SessionsValidAfter, never())
        .filter(membership::Column::Id.is_in(removed()))
        .exec(db)
        .await
        .unwrap();
    let groups = entities::user_group::Entity::find()
        .filter(entities::user_group::Column::WorkspaceId.eq(app.demo.workspace_id))
        .all(db)
        .await
        .unwrap();
    group_membership::Entity::update_many()
        .col_expr(group_membership::Column::DeletedAt, never())
        .filter(group_membership::Column::UserId.is_in(user_ids.iter().copied()))
        .filter(group_membership::Column::GroupId.is_in(groups.iter().map(|g| g.id)))
        .filter(group_membership::Column::DeletedAt.is_not_null())
        .exec(db)
        .await
        .unwrap();
    invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, never())
        .filter(invitation::Column::MembershipId.is_in(removed()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(db)
        .await
        .unwrap();
}

/// The audit log's edges as (action, target email) pairs, newest first.
pub fn actions_and_targets(connection: &Answer) -> Vec<(String, Option<String>)> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("expected edges: {connection}"))
        .iter()
        .map(|edge| {
            (
                edge["node"]["action"].as_str().unwrap().to_owned(),
                edge["node"]["target"]["email"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// `auditLog` of the demo workspace: the whole answer.
pub async fn audit_log_answer(
    app: &TestApp,
    token: &str,
    filter: Value,
    first: Option<i64>,
    after: Option<&str>,
) -> Answer {
    app.graphql(
        Some(token),
        AUDIT_LOG,
        json!({ "ws": app.demo.workspace_id, "filter": filter, "first": first, "after": after }),
    )
    .await
}

pub async fn audit_log(
    app: &TestApp,
    filter: Value,
    first: Option<i64>,
    after: Option<&str>,
) -> Answer {
    let answer = audit_log_answer(app, app.owner_token(), filter, first, after).await;
    data(&answer)["auditLog"].clone()
}

/// The row of `E` that `filter` picks, which must be there (`what` says what it is).
async fn the_one<E: EntityTrait>(app: &TestApp, filter: SimpleExpr, what: &str) -> E::Model {
    E::find()
        .filter(filter)
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {what}"))
}

/// The rows of `column`'s table whose `column` is `value`.
pub fn where_eq<C>(column: C, value: impl Into<sea_orm::Value>) -> Select<C::EntityName>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
{
    <C::EntityName as EntityTrait>::find().filter(column.eq(value))
}

/// The row `select` picks, which must be there (the first, where it picks more).
pub async fn the_row<E: EntityTrait>(app: &TestApp, select: Select<E>) -> E::Model {
    select
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no such row in {}", E::default().table_name()))
}

/// Every row `select` picks.
pub async fn rows_of<E: EntityTrait>(app: &TestApp, select: Select<E>) -> Vec<E::Model> {
    select.all(app.db()).await.unwrap()
}

/// How many rows `select` picks.
pub async fn count_of<E>(app: &TestApp, select: Select<E>) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    select.count(app.db()).await.unwrap()
}

/// Soft-deletes a person's membership of the demo workspace, as a removal does.
pub async fn soft_delete_membership(app: &TestApp, email: &str) {
    let user_id = user_id(app, email).await;
    let updated = membership::Entity::update_many()
        .col_expr(membership::Column::DeletedAt, Some(Utc::now()).into())
        .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
        .filter(membership::Column::UserId.eq(user_id))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(updated.rows_affected, 1);
}

pub async fn set_status(app: &TestApp, email: &str, status: entities::MembershipStatus) {
    let user_id = user_id(app, email).await;
    membership::Entity::update_many()
        .col_expr(membership::Column::Status, status.into())
        .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
        .filter(membership::Column::UserId.eq(user_id))
        .exec(app.db())
        .await
        .unwrap();
}

/// Makes the rows `filter` picks expire a second ago, by their `expires_at` column.
pub async fn expire<C>(app: &TestApp, expires_at: C, filter: SimpleExpr)
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
{
    let a_second_ago = Utc::now() - chrono::Duration::seconds(1);
    <C::EntityName as EntityTrait>::update_many()
        .col_expr(expires_at, Expr::value(a_second_ago))
        .filter(filter)
        .exec(app.db())
        .await
        .unwrap();
}

/// Makes the invitation of `email` expire a second ago.
pub async fn expire_invitation(app: &TestApp, email: &str) {
    let of_email = invitation::Column::Email.eq(email);
    expire(app, invitation::Column::ExpiresAt, of_email).await;
}

/// A list of the demo workspace (`document`, taking `$ws`) that `member` may not read: FORBIDDEN
/// to them; and NOT_FOUND to the owner for another workspace's.
pub async fn assert_list_guarded(app: &TestApp, document: &str, member: &str) {
    let here = json!({ "ws": app.demo.workspace_id });
    let answer = app.graphql(Some(member), document, here).await;
    assert_eq!(error_code(&answer), "FORBIDDEN", "{answer}");
    let research = crate::access::research_workspace(app).await;
    let answer = app.as_owner(document, json!({ "ws": research })).await;
    assert_eq!(error_code(&answer), "NOT_FOUND", "{answer}");
}

/// Hands every contact duty of the demo workspace to the owner, so that the demo admin and
/// members can be removed without reassigning contacts first.
pub async fn give_all_contacts_to_the_owner(app: &TestApp) {
    let owner = user_id(app, "olivia.owner@acme.test").await;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::TechnicalContactId, Some(owner).into())
        .col_expr(
            workspace::Column::AdministrativeContactId,
            Some(owner).into(),
        )
        .filter(workspace::Column::Id.eq(app.demo.workspace_id))
        .exec(app.db())
        .await
        .unwrap();
    application::Entity::update_many()
        .col_expr(application::Column::TechnicalContactId, Some(owner).into())
        .filter(application::Column::WorkspaceId.eq(app.demo.workspace_id))
        .exec(app.db())
        .await
        .unwrap();
}

const CREATE_API_KEY: &str = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  token apiKey { id } userErrors { code } } }";

/// Creates an API key in `workspace` as the person behind `token` (asserting it was): the
/// payload, with its `token` and `apiKey { id }`.
pub async fn create_api_key_in(
    app: &TestApp,
    token: &str,
    workspace: WorkspaceId,
    name: &str,
    role: &str,
) -> Answer {
    let input = json!({ "workspaceId": workspace, "name": name, "role": role });
    let payload = app.mutate(token, CREATE_API_KEY, input).await;
    tests::ok(&payload);
    assert!(payload["apiKey"]["id"].is_string(), "{payload}");
    payload
}

/// Creates an API key in the demo workspace as the person behind `token` and returns its
/// secret.
pub async fn create_api_key(app: &TestApp, token: &str, name: &str, role: &str) -> String {
    let workspace = app.demo.workspace_id;
    let payload = create_api_key_in(app, token, workspace, name, role).await;
    payload["token"]
        .as_str()
        .unwrap_or_else(|| panic!("the key is created: {payload}"))
        .to_owned()
}

/// Starts a worker, as the worker process does, on the application's database and queue.
pub async fn start_worker(app: &TestApp) -> worker::service::WorkerHandle {
    let deps = worker::runner::Dependencies {
        db: app.db().clone(),
        mailer: worker::mail::Mailer::new(&app.config.worker.mail).unwrap(),
        config: app.config.worker.clone(),
    };
    let queue = worker::JobQueue::connect(&app.config.worker.queue)
        .await
        .unwrap();
    worker::service::spawn(deps, queue)
}

/// Reverts the migration `name` and every one after it, newest first, as an operator's
/// `migration down` would: what an upgrade test steps back over.
pub async fn undo_migrations_from(app: &TestApp, name: &str) {
    use migration::{Migrator, MigratorTrait};
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let at = names
        .iter()
        .position(|migration| migration == name)
        .unwrap_or_else(|| panic!("no migration {name}"));
    let steps = u32::try_from(names.len() - at).unwrap();
    Migrator::down(app.db(), Some(steps)).await.unwrap();
}
