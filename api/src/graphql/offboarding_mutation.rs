//! The offboarding mutations: remove members, deactivate and reactivate them, restore a removed
//! one, and retry a DEAD job.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::graphql::budget::{id_list_cost, spend_ids};
use crate::graphql::contacts::ContactReassignmentInput;
use crate::graphql::ids::{UserId, WorkspaceId};
use crate::graphql::offboarding::{Offboarding, OffboardingJob};
use crate::graphql::text::{IdempotencyKeyText, Reason, Text};
use crate::graphql::types::member;
use crate::graphql::types::{Member, UserError, payloads};
use crate::graphql::{Done, mutation_inputs, run_mutation};
use rules::offboarding::deactivate::{self, DeactivateRequest};
use rules::offboarding::progress::{self};
use rules::offboarding::remove::{self, RemoveRequest};
use rules::offboarding::restore;
use rules::people::members::MemberRow;

#[derive(InputObject, Serialize, Clone)]
pub struct RemoveMembersInput {
    workspace_id: WorkspaceId,
    /// The members to remove, 1 to 10,000. All are removed, or none.
    user_ids: Vec<UserId>,
    /// Kept with the removal, shown in the audit log and the email.
    reason: Option<Reason>,
    /// Also refuse, from this call on, the API keys they created in this workspace.
    #[graphql(default)]
    revoke_api_keys: bool,
    /// An active member to take over their campaigns; the workspace itself by default.
    reattribute_to: Option<UserId>,
    /// Contact duties to hand over in the same transaction ("Reassign and Remove").
    contact_reassignments: Option<Vec<ContactReassignmentInput>>,
    /// Send the same key again to retry safely: the first answer comes back, nothing is applied twice.
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Serialize, Deserialize)]
pub struct RemovedMember {
    user_id: UserId,
    /// The membership removed, with its `removedAt`: a client cache evicts `Member:<id>`.
    member: Member,
    email: String,
    name: String,
    /// Whether their organization seat is free now (they hold no other membership in it).
    seat_freed: bool,
    /// API keys refused by `revokeApiKeys`.
    api_keys_revoked: u64,
}

impl From<remove::RemovedMember> for RemovedMember {
    fn from(removed: remove::RemovedMember) -> RemovedMember {
        RemovedMember {
            user_id: removed.user.id.into(),
            email: removed.user.email.clone(),
            name: removed.user.name.clone(),
            member: Member::from(MemberRow {
                membership: removed.membership,
                user: removed.user,
                groups: Vec::new(),
            }),
            seat_freed: removed.seat_freed,
            api_keys_revoked: removed.api_keys_revoked as u64,
        }
    }
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RemoveMembersPayload {
    removed_members: Vec<RemovedMember>,
    /// The side effects still to carry out: sessions, keys, campaigns, emails.
    offboarding: Option<Offboarding>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct DeactivateUserInput {
    workspace_id: WorkspaceId,
    user_id: UserId,
    reason: Option<Reason>,
    #[graphql(default)]
    revoke_api_keys: bool,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct DeactivateUserPayload {
    member: Option<Member>,
    offboarding: Option<Offboarding>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct ReactivateUserInput {
    workspace_id: WorkspaceId,
    user_id: UserId,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct ReactivateUserPayload {
    member: Option<Member>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct RestoreMemberInput {
    workspace_id: WorkspaceId,
    user_id: UserId,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RestoreMemberPayload {
    /// The membership as it was before the removal: role, status and groups.
    member: Option<Member>,
    /// Restoring took an organization seat the person no longer held.
    seat_taken: Option<bool>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct RetryJobInput {
    /// A DEAD job (`Offboarding.jobs`), of the caller's workspace.
    job_id: Uuid,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct RetryJobPayload {
    /// The job as retried: PENDING, no attempt counted yet, its last error kept until it runs.
    job: Option<OffboardingJob>,
    offboarding: Option<Offboarding>,
    user_errors: Vec<UserError>,
}

mutation_inputs!(
    RemoveMembersInput,
    DeactivateUserInput,
    ReactivateUserInput,
    RestoreMemberInput,
    RetryJobInput
);
payloads!(
    RemoveMembersPayload,
    DeactivateUserPayload,
    ReactivateUserPayload,
    RestoreMemberPayload,
    RetryJobPayload
);

#[derive(Default)]
pub struct OffboardingMutation;

#[Object]
impl OffboardingMutation {
    /// Removes members from the workspace, all or none. Their access ends when this returns.
    #[graphql(complexity = "child_complexity + id_list_cost(input.user_ids.len())")]
    async fn remove_members(
        &self,
        ctx: &Context<'_>,
        input: RemoveMembersInput,
    ) -> Result<RemoveMembersPayload> {
        spend_ids(ctx, input.user_ids.len())?;
        run_mutation(ctx, input, async |txn, acting, input| {
            let request = RemoveRequest {
                workspace_id: input.workspace_id.into(),
                user_ids: input.user_ids.into_iter().map(Into::into).collect(),
                reason: input.reason.map(Text::into_inner),
                revoke_api_keys: input.revoke_api_keys,
                reattribute_to: input.reattribute_to.map(Into::into),
                contact_reassignments: input
                    .contact_reassignments
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            };
            let removed = remove::remove_members(txn, acting, request).await?;
            // Counted when written, in the transaction (a replay of its idempotency key
            // isn't counted; a commit that then fails, rare, is).
            let kind = removed.recorded.offboarding.kind.to_value();
            metrics::counter!("offboardings_total", "kind" => kind).increment(1);
            metrics::histogram!("members_removed_per_call").record(removed.members.len() as f64);
            Ok(Done {
                payload: RemoveMembersPayload {
                    removed_members: removed.members.into_iter().map(Into::into).collect(),
                    offboarding: Some(removed.recorded.offboarding.into()),
                    user_errors: Vec::new(),
                },
                outbox_ids: removed.recorded.outbox_ids,
            })
        })
        .await
    }

    /// Suspends a member's access; membership, role, groups and seat are kept.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: DeactivateUserInput,
    ) -> Result<DeactivateUserPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let request = DeactivateRequest {
                workspace_id: input.workspace_id.into(),
                user_id: input.user_id.into(),
                reason: input.reason.map(Text::into_inner),
                revoke_api_keys: input.revoke_api_keys,
            };
            let deactivated = deactivate::deactivate_user(txn, acting, request).await?;
            let kind = deactivated.recorded.offboarding.kind.to_value();
            metrics::counter!("offboardings_total", "kind" => kind).increment(1);
            Ok(Done {
                payload: DeactivateUserPayload {
                    member: Some(member(txn, deactivated.candidate).await?),
                    offboarding: Some(deactivated.recorded.offboarding.into()),
                    user_errors: Vec::new(),
                },
                outbox_ids: deactivated.recorded.outbox_ids,
            })
        })
        .await
    }

    /// Gives a DEAD job a fresh set of attempts, once what made it fail is fixed (SMTP down, a
    /// relay refusing): it is queued at once. Refused (JOB_NOT_DEAD) for a job that isn't DEAD.
    async fn retry_job(&self, ctx: &Context<'_>, input: RetryJobInput) -> Result<RetryJobPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let (job, offboarding) = progress::retry_job(txn, acting, input.job_id).await?;
            let outbox_ids = vec![job.id];
            Ok(Done {
                payload: RetryJobPayload {
                    job: Some(job.try_into()?),
                    offboarding: Some(offboarding.into()),
                    user_errors: Vec::new(),
                },
                outbox_ids,
            })
        })
        .await
    }

    /// Gives a deactivated member their access back, with the same role and groups.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        input: ReactivateUserInput,
    ) -> Result<ReactivateUserPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let candidate = deactivate::reactivate_user(
                txn,
                acting,
                input.workspace_id.into(),
                input.user_id.into(),
            )
            .await?;
            Ok(Done::answer(ReactivateUserPayload {
                member: Some(member(txn, candidate).await?),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Undoes a removal made in the last 30 days: the membership comes back with its role,
    /// status and groups. Revoked API keys and ended sessions stay revoked.
    async fn restore_member(
        &self,
        ctx: &Context<'_>,
        input: RestoreMemberInput,
    ) -> Result<RestoreMemberPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let restored = restore::restore_member(
                txn,
                acting,
                input.workspace_id.into(),
                input.user_id.into(),
            )
            .await?;
            metrics::counter!("members_restored_total").increment(1);
            Ok(Done::answer(RestoreMemberPayload {
                member: Some(member(txn, restored.candidate).await?),
                seat_taken: Some(restored.seat_taken),
                user_errors: Vec::new(),
            }))
        })
        .await
    }
}
