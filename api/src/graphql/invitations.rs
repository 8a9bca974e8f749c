//! Invitations: inviting by email, the link's acceptance, listing, resending and revoking.

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::graphql::ids::WorkspaceId;
use crate::graphql::offboarding::Offboarding;
use crate::graphql::people::{ListTotals, connection};
use crate::graphql::text::Text;
use crate::graphql::text::{
    CursorText, IdempotencyKeyText, InvitationToken, InviteeEmail, Password, PersonName,
};
use crate::graphql::types::{Member, RoleValue, User, UserError, payloads, respond};
use crate::graphql::{
    ContextExt, Done, commit_if_ok, in_transaction, mutation_inputs, run_mutation,
};
use rules::lists::encode_cursor;
use rules::people::invitations::{self, AcceptRequest, InvitationStatus, InviteRequest};
use rules::people::members::MemberRow;
use rules::side_effects::Recorded;

pub type InvitationConnection = Connection<String, InvitationListing, ListTotals, EmptyFields>;

#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "InvitationStatus")]
pub enum InvitationStatusValue {
    /// Can be accepted.
    Pending,
    /// Not accepted in time; it still holds a seat until revoked or sent again.
    Expired,
    Revoked,
    Accepted,
}

impl From<InvitationStatus> for InvitationStatusValue {
    fn from(status: InvitationStatus) -> Self {
        match status {
            InvitationStatus::Pending => InvitationStatusValue::Pending,
            InvitationStatus::Expired => InvitationStatusValue::Expired,
            InvitationStatus::Revoked => InvitationStatusValue::Revoked,
            InvitationStatus::Accepted => InvitationStatusValue::Accepted,
        }
    }
}

impl From<InvitationStatusValue> for InvitationStatus {
    fn from(status: InvitationStatusValue) -> Self {
        match status {
            InvitationStatusValue::Pending => InvitationStatus::Pending,
            InvitationStatusValue::Expired => InvitationStatus::Expired,
            InvitationStatusValue::Revoked => InvitationStatus::Revoked,
            InvitationStatusValue::Accepted => InvitationStatus::Accepted,
        }
    }
}

/// An invitation to the workspace — never its link's secret.
#[derive(SimpleObject, Serialize, Deserialize)]
pub struct Invitation {
    id: Uuid,
    email: String,
    role: RoleValue,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    accepted_at: Option<DateTime<Utc>>,
}

impl From<entities::invitation::Model> for Invitation {
    fn from(invitation: entities::invitation::Model) -> Self {
        Invitation {
            id: invitation.id,
            email: invitation.email,
            role: invitation.role.into(),
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
            revoked_at: invitation.revoked_at,
            accepted_at: invitation.accepted_at,
        }
    }
}

/// An invitation as the workspace's list shows it.
#[derive(SimpleObject)]
pub struct InvitationListing {
    invitation: Invitation,
    status: InvitationStatusValue,
    /// Who sent it.
    invited_by: Option<User>,
}

#[derive(InputObject, Default)]
pub struct InvitationFilterInput {
    /// Only invitations in these statuses; all of them when absent.
    statuses: Option<Vec<InvitationStatusValue>>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct InvitationActionInput {
    invitation_id: Uuid,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct ResendInvitationInput {
    invitation_id: Uuid,
    /// Email the new link (default true); false when you deliver `invitationToken` yourself.
    #[graphql(default = true)]
    send_email: bool,
    /// Send the same key again to retry safely: the first answer comes back.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RevokeInvitationPayload {
    invitation: Option<Invitation>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct ResendInvitationPayload {
    invitation: Option<Invitation>,
    /// The new link's secret, for `acceptInvitation`; the old one no longer works. Shown only
    /// here: null when an idempotent retry answers.
    #[serde(skip)]
    invitation_token: Option<String>,
    /// The new invitation email's side effect (kind INVITATION_EMAIL); null when
    /// `sendEmail` was false.
    email_delivery: Option<Offboarding>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct InviteMemberInput {
    workspace_id: WorkspaceId,
    email: InviteeEmail,
    role: RoleValue,
    /// Email the invitation to the person (default true), with a link of its own under
    /// `PUBLIC_URL`; `emailDelivery` follows it. False when you deliver
    /// `invitationToken` yourself.
    #[graphql(default = true)]
    send_email: bool,
    /// Groups of the workspace (`groups`) the person joins with the invitation.
    #[graphql(default)]
    group_ids: Vec<Uuid>,
    /// Send the same key again to retry safely: the first answer comes back (without the
    /// invitation's secret, which is never stored), nothing is applied twice.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct InviteMemberPayload {
    /// The new member, in INVITED status.
    member: Option<Member>,
    /// The invitation's secret, for `acceptInvitation`. Shown only here: null when an
    /// idempotent retry answers.
    #[serde(skip)]
    invitation_token: Option<String>,
    invitation_expires_at: Option<DateTime<Utc>>,
    /// The invitation email's side effect (kind INVITATION_EMAIL), to follow as any offboarding;
    /// null when `sendEmail` was false. SUCCEEDED also when nothing was sent because the
    /// invitation was resent, revoked, accepted or expired before the email went out.
    email_delivery: Option<Offboarding>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct AcceptInvitationInput {
    #[graphql(secret)]
    token: InvitationToken,
    /// The name to show; for a new account (ignored when the person already has one).
    name: Option<PersonName>,
    /// A new account's password, or an existing account's own password.
    #[graphql(secret)]
    password: Password,
}

#[derive(SimpleObject, Default)]
pub struct AcceptInvitationPayload {
    /// A session in the workspace joined, for `Authorization: Bearer <token>`.
    token: Option<String>,
    workspace_id: Option<WorkspaceId>,
    user_errors: Vec<UserError>,
}

/// An invitation email's side effect as answered, and its outbox rows to hand over.
fn delivery(email: Option<Recorded>) -> (Option<Offboarding>, Vec<Uuid>) {
    match email {
        Some(email) => (Some(email.offboarding.into()), email.outbox_ids),
        None => (None, Vec::new()),
    }
}

mutation_inputs!(
    InvitationActionInput,
    ResendInvitationInput,
    InviteMemberInput
);
payloads!(
    RevokeInvitationPayload,
    ResendInvitationPayload,
    InviteMemberPayload,
    AcceptInvitationPayload
);

#[derive(Default)]
pub struct InvitationsQuery;

#[Object]
impl InvitationsQuery {
    /// The workspace's invitations, newest first, by status (all when no filter). Needs
    /// USER_MANAGEMENT.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        workspace_id: WorkspaceId,
        filter: Option<InvitationFilterInput>,
        first: Option<i32>,
        after: Option<CursorText>,
    ) -> Result<InvitationConnection> {
        let principal = ctx.principal()?;
        let paging = ctx.paging(first, after.as_ref())?;
        let statuses: Option<Vec<InvitationStatus>> = filter
            .unwrap_or_default()
            .statuses
            .map(|statuses| statuses.into_iter().map(Into::into).collect());
        let page = invitations::list_invitations(
            ctx.reader(),
            principal,
            workspace_id.into(),
            statuses.as_deref(),
            paging,
            Utc::now(),
        )
        .await?;
        Ok(connection(
            page,
            |row| encode_cursor(&row.invitation.id.to_string()),
            |row| InvitationListing {
                status: row.status.into(),
                invited_by: row.invited_by.map(User::from),
                invitation: row.invitation.into(),
            },
        ))
    }

    /// What this invitation link (an invitation's token, or an emailed link's) opens onto: the
    /// workspace, the role, who sent it. INVITATION_INVALID, saying why, when it is revoked,
    /// accepted, expired or unknown. The token is the proof: no sign-in needed. Rate-limited
    /// per address as `acceptInvitation` is.
    async fn invitation_opening(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] token: InvitationToken,
    ) -> Result<InvitationOpeningPayload> {
        ctx.sign_in_throttle().attempt_from(ctx.client_address())?;
        let token = token.into_inner().into_string();
        let opened = invitations::invitation_opening(ctx.reader(), &token, Utc::now()).await;
        respond(opened, |opened| InvitationOpeningPayload {
            opening: Some(InvitationOpening {
                workspace_name: opened.workspace_name,
                role: Some(opened.role.into()),
                invited_by: opened.invited_by,
                email: opened.invitation.email,
                expires_at: Some(opened.invitation.expires_at),
                has_account: opened.has_account,
            }),
            user_errors: Vec::new(),
        })
    }
}

/// What an invitation link opens onto, shown on the page where it is accepted.
#[derive(SimpleObject, Default)]
pub struct InvitationOpening {
    workspace_name: String,
    role: Option<RoleValue>,
    /// The name of who sent it, if known.
    invited_by: Option<String>,
    email: String,
    expires_at: Option<DateTime<Utc>>,
    /// The email has an account with a password: accepting takes that password, and the name
    /// asked for is ignored.
    has_account: bool,
}

#[derive(SimpleObject, Default)]
pub struct InvitationOpeningPayload {
    /// Null when the link opens nothing (`userErrors` says why).
    opening: Option<InvitationOpening>,
    user_errors: Vec<UserError>,
}

payloads!(InvitationOpeningPayload);

#[derive(Default)]
pub struct InvitationsMutation;

#[Object]
impl InvitationsMutation {
    /// Invites a person by email. The invited membership takes a seat at once, and the
    /// invitation is emailed with its link (unless `sendEmail` is false).
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> Result<InviteMemberPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let request = InviteRequest {
                workspace_id: input.workspace_id.into(),
                email: input.email.as_email(),
                role: input.role.into(),
                invitation_ttl: ctx.config().invitation_ttl,
                send_email: input.send_email,
                group_ids: &input.group_ids,
            };
            let invited = invitations::invite_member(txn, acting, request).await?;
            let (email_delivery, outbox_ids) = delivery(invited.email);
            let payload = InviteMemberPayload {
                invitation_token: Some(invited.token),
                invitation_expires_at: Some(invited.invitation.expires_at),
                email_delivery,
                member: Some(Member::from(MemberRow {
                    membership: invited.membership,
                    user: invited.user,
                    groups: Vec::new(),
                })),
                user_errors: Vec::new(),
            };
            Ok(Done {
                payload,
                outbox_ids,
            })
        })
        .await
    }

    /// Revokes a pending or expired invitation: its link stops working and the seat it held is
    /// freed. Needs USER_MANAGEMENT and a role you could grant. Audit entry
    /// `invitation_revoke`.
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        input: InvitationActionInput,
    ) -> Result<RevokeInvitationPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let revoked = invitations::revoke_invitation(txn, acting, input.invitation_id).await?;
            Ok(Done::answer(RevokeInvitationPayload {
                invitation: Some(revoked.into()),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Sends a pending or expired invitation again with a new link, valid for the invitation
    /// TTL from now, by email and in the answer; the old links stop working. Audit entry
    /// `invitation_resend`.
    async fn resend_invitation(
        &self,
        ctx: &Context<'_>,
        input: ResendInvitationInput,
    ) -> Result<ResendInvitationPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let resent = invitations::resend_invitation(
                txn,
                acting,
                input.invitation_id,
                ctx.config().invitation_ttl,
                input.send_email,
            )
            .await?;
            let (email_delivery, outbox_ids) = delivery(resent.email);
            Ok(Done {
                payload: ResendInvitationPayload {
                    invitation: Some(resent.invitation.into()),
                    invitation_token: Some(resent.token),
                    email_delivery,
                    user_errors: Vec::new(),
                },
                outbox_ids,
            })
        })
        .await
    }

    /// Accepts an invitation and signs in to its workspace. Needs no `Authorization`.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> Result<AcceptInvitationPayload> {
        ctx.sign_in_throttle().attempt_from(ctx.client_address())?;
        let request = AcceptRequest {
            token: input.token.into_inner().into_string(),
            name: input.name.map(Text::into_inner),
            password: input.password.into_inner().into_string(),
            session_ttl: ctx.config().session_ttl,
            user_agent: ctx.user_agent().map(str::to_owned),
            request_id: ctx.request_id().map(str::to_owned),
        };
        let request = &request;
        let result = in_transaction("acceptInvitation", || async move {
            let txn = ctx.writer().begin().await?;
            let result = invitations::accept_invitation(&txn, request, Utc::now()).await;
            commit_if_ok(txn, result).await
        })
        .await;
        respond(result, |accepted| AcceptInvitationPayload {
            token: Some(accepted.signed_in.token),
            workspace_id: Some(accepted.membership.workspace_id.into()),
            user_errors: Vec::new(),
        })
    }
}
