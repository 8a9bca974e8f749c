use sea_orm::entity::prelude::*;

/// The link one invitation email carries, made by the worker as it sends the email: one a send
/// attempt, so a copy that reached the person before a retry keeps working. It opens its
/// invitation while the invitation's `token_hash` is still the one it was made for: a resend
/// retires every earlier email's link.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation_email_link")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub invitation_id: Uuid,
    /// The invitation's `token_hash` when this link was made.
    pub invitation_token_hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
