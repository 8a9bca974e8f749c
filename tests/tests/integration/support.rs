//! Direct database changes for setting up states the API has no mutation for yet.

use chrono::Utc;
use entities::{membership, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tests::TestApp;
use uuid::Uuid;

pub async fn user_id(app: &TestApp, email: &str) -> Uuid {
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
