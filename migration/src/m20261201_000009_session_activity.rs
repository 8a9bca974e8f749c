//! Sessions an administrator can see (issue 15): the browser or client that signed in
//! (`session.user_agent`, written with the session) and when the session was last used
//! (`session_activity`, at most once a minute per session and api process). Last use lives in its
//! own table because any UPDATE of `session` raises the workspace's access version (migration
//! 000004), which would make every api process re-authenticate the workspace's tokens once a
//! minute per active session.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("session")
                    .add_column(string_null("user_agent"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("session_activity")
                    .col(pk_uuid("session_id"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_session_activity_session_id")
                            .from("session_activity", "session_id")
                            .to("session", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("session_activity").take())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("session")
                    .drop_column("user_agent")
                    .take(),
            )
            .await
    }
}
