//! An invitation's email is an offboarding of its own kind, `invitation_email`, rather than one
//! named after the mutation that sent it (`invite_member`, `resend_invitation`): the record is
//! of the email, and the audit trail already says which mutation it followed.

use sea_orm_migration::prelude::*;

use crate::execute_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(
            manager,
            &["UPDATE offboarding SET kind = 'invitation_email' \
               WHERE kind IN ('invite_member', 'resend_invitation')"],
        )
        .await
    }

    /// Back to the mutation's name. Which of the two sent an email is in the audit trail, not
    /// in the row: every email comes back as `invite_member`'s.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(
            manager,
            &["UPDATE offboarding SET kind = 'invite_member' WHERE kind = 'invitation_email'"],
        )
        .await
    }
}
