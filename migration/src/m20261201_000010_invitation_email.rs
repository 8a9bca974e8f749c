//! The invitation email: its link carries a token of its own, made by the worker when
//! it sends the email, so no token is ever stored but as a hash — not even in the outbox while
//! the email waits. `email_token_hash` is that link's hash, beside `token_hash` (the link
//! `inviteMember` answers to its caller); either accepts the invitation, and a resend or a
//! revocation stops both.

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
                    .table("invitation")
                    .add_column(string_null("email_token_hash"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_invitation_email_token_hash")
                    .table("invitation")
                    .col("email_token_hash")
                    .unique()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_invitation_email_token_hash")
                    .table("invitation")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("invitation")
                    .drop_column("email_token_hash")
                    .take(),
            )
            .await
    }
}
