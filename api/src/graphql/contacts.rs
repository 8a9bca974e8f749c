//! Clearing what blocks a removal: handing over contact duties and ownership.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::graphql::ids::{UserId, WorkspaceId};
use crate::graphql::text::IdempotencyKeyText;
use crate::graphql::types::member;
use crate::graphql::types::{Member, RoleValue, UserError, payloads};
use crate::graphql::{Done, mutation_inputs, run_mutation};
use rules::offboarding::contacts::{self, Assignment, Move, Reassignment};
use rules::offboarding::transfer;
use rules::people::duties::{Duty, HeldDuty};

// Each is a kind of contact; the API's words (ADMINISTRATIVE_CONTACT, …) say so.
#[allow(clippy::enum_variant_names)]
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactDuty {
    /// The workspace's administrative contact.
    AdministrativeContact,
    /// The workspace's technical contact.
    TechnicalContact,
    /// The technical contact of an application of the workspace.
    ApplicationTechnicalContact,
}

impl From<ContactDuty> for Duty {
    fn from(duty: ContactDuty) -> Self {
        match duty {
            ContactDuty::AdministrativeContact => Duty::AdministrativeContact,
            ContactDuty::TechnicalContact => Duty::TechnicalContact,
            ContactDuty::ApplicationTechnicalContact => Duty::ApplicationTechnicalContact,
        }
    }
}

impl From<Duty> for ContactDuty {
    fn from(duty: Duty) -> Self {
        match duty {
            Duty::AdministrativeContact => ContactDuty::AdministrativeContact,
            Duty::TechnicalContact => ContactDuty::TechnicalContact,
            Duty::ApplicationTechnicalContact => ContactDuty::ApplicationTechnicalContact,
        }
    }
}

#[derive(InputObject, Serialize, Clone)]
pub struct ContactAssignmentInput {
    duty: ContactDuty,
    /// For APPLICATION_TECHNICAL_CONTACT: which of the person's applications; all of them when
    /// left out.
    application_ids: Option<Vec<Uuid>>,
    /// An active member of the workspace who takes the duty over.
    to_user_id: UserId,
}

impl From<ContactAssignmentInput> for Assignment {
    fn from(input: ContactAssignmentInput) -> Self {
        Assignment {
            duty: input.duty.into(),
            application_ids: input.application_ids,
            to_user_id: input.to_user_id.into(),
        }
    }
}

/// One person's duties to hand over, as part of `removeMembers`.
#[derive(InputObject, Serialize, Clone)]
pub struct ContactReassignmentInput {
    from_user_id: UserId,
    assignments: Vec<ContactAssignmentInput>,
}

impl From<ContactReassignmentInput> for Reassignment {
    fn from(input: ContactReassignmentInput) -> Self {
        Reassignment {
            from_user_id: input.from_user_id.into(),
            assignments: input.assignments.into_iter().map(Into::into).collect(),
        }
    }
}

/// A contact duty someone holds.
#[derive(SimpleObject, Debug, Clone, Serialize, Deserialize)]
pub struct ContactDutyHeld {
    duty: ContactDuty,
    application_id: Option<Uuid>,
    application_name: Option<String>,
}

impl From<HeldDuty> for ContactDutyHeld {
    fn from(held: HeldDuty) -> Self {
        let (application_id, application_name) = held.application.unzip();
        ContactDutyHeld {
            duty: held.duty.into(),
            application_id,
            application_name,
        }
    }
}

/// A duty that changed hands.
#[derive(SimpleObject, Debug, Clone, Serialize, Deserialize)]
pub struct ContactMove {
    #[graphql(flatten)]
    #[serde(flatten)]
    held: ContactDutyHeld,
    from_user_id: UserId,
    to_user_id: UserId,
}

impl From<Move> for ContactMove {
    fn from(m: Move) -> Self {
        ContactMove {
            held: m.held.into(),
            from_user_id: m.from_user_id.into(),
            to_user_id: m.to_user_id.into(),
        }
    }
}

#[derive(InputObject, Serialize, Clone)]
pub struct ReassignContactsInput {
    workspace_id: WorkspaceId,
    /// Whose duties move.
    from_user_id: UserId,
    /// What moves to whom; one call can move all of them.
    assignments: Vec<ContactAssignmentInput>,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct ReassignContactsPayload {
    moved: Vec<ContactMove>,
    /// The duties the person still holds.
    remaining: Vec<ContactDutyHeld>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject, Serialize, Clone)]
pub struct TransferOwnershipInput {
    workspace_id: WorkspaceId,
    /// An active member who becomes an OWNER.
    to_user_id: UserId,
    /// The caller's own new role; the caller stays an OWNER when left out.
    demote_self_to: Option<RoleValue>,
    #[serde(skip)]
    idempotency_key: Option<IdempotencyKeyText>,
}

#[derive(SimpleObject, Default, Serialize, Deserialize)]
pub struct TransferOwnershipPayload {
    new_owner: Option<Member>,
    /// The caller's membership afterwards (null when an API key called).
    previous_owner: Option<Member>,
    user_errors: Vec<UserError>,
}

mutation_inputs!(ReassignContactsInput, TransferOwnershipInput);
payloads!(ReassignContactsPayload, TransferOwnershipPayload);

#[derive(Default)]
pub struct ContactsMutation;

#[Object]
impl ContactsMutation {
    /// Moves some or all of a person's contact duties to active members of the workspace.
    async fn reassign_contacts(
        &self,
        ctx: &Context<'_>,
        input: ReassignContactsInput,
    ) -> Result<ReassignContactsPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let reassignment = Reassignment {
                from_user_id: input.from_user_id.into(),
                assignments: input.assignments.into_iter().map(Into::into).collect(),
            };
            let reassigned =
                contacts::reassign_contacts(txn, acting, input.workspace_id.into(), reassignment)
                    .await?;
            let remaining = reassigned.remaining.held();
            Ok(Done::answer(ReassignContactsPayload {
                moved: reassigned.moves.into_iter().map(Into::into).collect(),
                remaining: remaining.into_iter().map(Into::into).collect(),
                user_errors: Vec::new(),
            }))
        })
        .await
    }

    /// Makes another active member an OWNER (only an owner can), optionally stepping down.
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        input: TransferOwnershipInput,
    ) -> Result<TransferOwnershipPayload> {
        run_mutation(ctx, input, async |txn, acting, input| {
            let transferred = transfer::transfer_ownership(
                txn,
                acting,
                input.workspace_id.into(),
                input.to_user_id.into(),
                input.demote_self_to.map(Into::into),
            )
            .await?;
            let previous_owner = match transferred.previous_owner {
                Some(previous) => Some(member(txn, previous).await?),
                None => None,
            };
            Ok(Done::answer(TransferOwnershipPayload {
                new_owner: Some(member(txn, transferred.new_owner).await?),
                previous_owner,
                user_errors: Vec::new(),
            }))
        })
        .await
    }
}
