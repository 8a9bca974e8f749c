use entities::{AuditAction, audit_entry};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde_json::json;
use tests::{Backend, TestApp, backend_tests, data};

backend_tests! {
    the_audit_trail_cannot_be_changed_even_with_direct_sql,
}

async fn the_audit_trail_cannot_be_changed_even_with_direct_sql(app: TestApp) {
    let answer = app
        .as_owner("mutation($input: InviteMemberInput!) { inviteMember(input: $input) { userErrors { code } } }", json!({ "input": { "workspaceId": app.demo.workspace_id, "email": "audited@example.com", "role": "GUEST" } }))
        .await;
    data(&answer);
    let before = audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Id)
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].action, AuditAction::TeamMembershipInvite);

    let db = app.db();
    assert!(
        db.execute_unprepared("UPDATE audit_entry SET action = 'nothing_happened'")
            .await
            .is_err()
    );
    assert!(
        db.execute_unprepared("DELETE FROM audit_entry")
            .await
            .is_err()
    );
    if app.backend == Backend::Postgres {
        assert!(db.execute_unprepared("TRUNCATE audit_entry").await.is_err());
    }
    let after = audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(after, before);
}
