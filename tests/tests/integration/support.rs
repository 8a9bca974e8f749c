//! Direct database changes for setting up states the API has no mutation for yet.

use chrono::Utc;
use entities::{UserId, membership, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tests::TestApp;

pub async fn user_id(app: &TestApp, email: &str) -> UserId {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{email} exists"))
        .id
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

/// Hands every contact duty of the demo workspace to the owner, so that the demo admin and
/// members can be removed without reassigning contacts first.
pub async fn give_all_contacts_to_the_owner(app: &TestApp) {
    use entities::{application, workspace};
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

/// Creates an API key as the person behind `token` and returns its secret.
pub async fn create_api_key(app: &TestApp, token: &str, name: &str, role: &str) -> String {
    let answer = app
        .graphql(
            Some(token),
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token userErrors { code } } }",
            serde_json::json!({ "input": { "workspaceId": app.demo.workspace_id, "name": name, "role": role } }),
        )
        .await;
    tests::data(&answer)["createApiKey"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("the key is created: {answer}"))
        .to_owned()
}
