//! What an administrator sees of sessions and API keys: the browser or client that
//! signed in (`session.user_agent`, written with the session) and when a session or key was last
//! used (`token_activity`, by token hash, at most once a minute per token and api process).
//! Last use lives in its own table because any UPDATE of `session` or `api_key` raises the
//! workspace's access version (migration 000004), which would send every token of the workspace
//! back through the authentication statement once a minute per active token. It replaces
//! `api_key.last_used_at`, which nothing wrote.

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
            .alter_table(
                Table::alter()
                    .table("api_key")
                    .drop_column("last_used_at")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("token_activity")
                    .col(string("token_hash").primary_key())
                    .col(timestamp_with_time_zone("last_used_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("token_activity").take())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("api_key")
                    .add_column(timestamp_with_time_zone_null("last_used_at"))
                    .take(),
            )
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
