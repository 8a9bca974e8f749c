//! Every invitation email's link keeps working until the invitation is resent, revoked, accepted
//! or expired. A send is retried when it failed, and it may have failed after the mail server
//! took the message: the first copy can reach the person too, so its link must not die when the
//! retry makes a new one. Until now `invitation.email_token_hash` held one link, and each retry
//! replaced it. Now each attempt's link is a row of `invitation_email_link`, beside the
//! invitation's `token_hash` of the moment it was made for: a resend changes that token, which
//! retires every earlier email's link at once, with nothing to delete.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("invitation_email_link")
                    .col(string("token_hash").primary_key())
                    .col(uuid("invitation_id"))
                    .col(string("invitation_token_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_email_link_invitation_id")
                            .from("invitation_email_link", "invitation_id")
                            .to("invitation", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitation_email_link_invitation")
                    .table("invitation_email_link")
                    .col("invitation_id")
                    .take(),
            )
            .await?;
        execute_all(
            manager,
            &["INSERT INTO invitation_email_link \
               (token_hash, invitation_id, invitation_token_hash, created_at) \
               SELECT email_token_hash, id, token_hash, created_at FROM invitation \
               WHERE email_token_hash IS NOT NULL"],
        )
        .await?;
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

    /// Back to one email link an invitation: the newest that still works.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("invitation")
                    .add_column(string_null("email_token_hash"))
                    .take(),
            )
            .await?;
        execute_all(
            manager,
            &["UPDATE invitation SET email_token_hash = (\
               SELECT link.token_hash FROM invitation_email_link link \
               WHERE link.invitation_id = invitation.id \
               AND link.invitation_token_hash = invitation.token_hash \
               ORDER BY link.created_at DESC LIMIT 1)"],
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
            .await?;
        manager
            .drop_table(Table::drop().table("invitation_email_link").take())
            .await
    }
}
