//! The crate's one error type: what a rule call ends with when it doesn't succeed.
//!
//! A rule that blocks a change is [`RuleError::Rejected`], with a [`UserError`] for each thing
//! at fault: a door hands these back to the caller as data (GraphQL's `userErrors`). Every other
//! variant is a failure of the call as a whole. Each door maps them to its own codes in one
//! place; fields are named as the rules name them (`snake_case`), and a door spells them its way.

use entities::{UserId, WorkspaceId};
use sea_orm::{DbErr, RuntimeErr};

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("authentication required: send `Authorization: Bearer <token>` with a valid token")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// Also what a caller sees for things of another workspace: never a hint that they exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A workspace id the caller can't reach, named: after a database is recreated, a client
    /// that kept an old id (a GraphiQL tab) learns which id is stale.
    #[error(
        "workspace {0} not found: it isn't one your token can reach (a recreated database has new ids)"
    )]
    WorkspaceNotFound(WorkspaceId),
    /// Input no rule can act on; `field` names it as the rule does (`snake_case`).
    #[error("{}", match field { Some(field) => format!("`{field}` {problem}"), None => problem.clone() })]
    BadUserInput {
        field: Option<&'static str>,
        problem: String,
    },
    #[error("the request was refused: {}", .0.first().map_or("", |r| r.message.as_str()))]
    Rejected(Vec<UserError>),
    #[error("too many sign-in attempts: try again in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// The database aborted the transaction for a conflict with another one, every time it was
    /// run: nothing was changed, and sending the request again is safe.
    #[error(
        "the request met concurrent changes and was not applied: send it again in {retry_after_seconds} s"
    )]
    ConflictRetry { retry_after_seconds: u64 },
    #[error("internal error")]
    Database(#[from] DbErr),
    /// A failure that isn't the caller's: logged with its source chain, answered as INTERNAL.
    #[error("internal error: {context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl RuleError {
    /// An internal failure while doing `context`, keeping what caused it.
    pub fn internal(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> RuleError {
        RuleError::Internal {
            context,
            source: source.into(),
        }
    }

    /// Whether the database aborted the transaction for a conflict that running it again would
    /// likely not meet ([`platform::db::is_transient_conflict`]).
    pub fn is_transient_conflict(&self) -> bool {
        match self {
            RuleError::Database(error) => platform::db::is_transient_conflict(error),
            RuleError::Internal { source, .. } => source
                .downcast_ref::<DbErr>()
                .is_some_and(platform::db::is_transient_conflict),
            _ => false,
        }
    }

    /// Input that `field` can't hold: `problem` says why, in words that follow the field's name.
    pub fn bad_input(field: &'static str, problem: impl Into<String>) -> RuleError {
        RuleError::BadUserInput {
            field: Some(field),
            problem: problem.into(),
        }
    }

    /// Input no rule can act on, not owed to any one field.
    pub fn bad_request(problem: impl Into<String>) -> RuleError {
        RuleError::BadUserInput {
            field: None,
            problem: problem.into(),
        }
    }

    /// The single rejection, as a convenience for rules that block on one thing.
    pub fn rejected(code: UserErrorCode, message: impl Into<String>) -> RuleError {
        RuleError::Rejected(vec![UserError::new(code, message)])
    }
}

/// Whether PostgreSQL cancelled the statement (SQLSTATE 57014, `query_canceled`): what the API's
/// `statement_timeout` raises.
pub fn is_statement_timeout(error: &DbErr) -> bool {
    let (DbErr::Query(runtime) | DbErr::Exec(runtime) | DbErr::Conn(runtime)) = error else {
        return false;
    };
    match runtime {
        RuntimeErr::SqlxError(error) => error
            .as_database_error()
            .and_then(|database| database.code())
            .is_some_and(|code| code == "57014"),
        _ => false,
    }
}

/// Why a change was refused. Each code is described where clients read it: the API's
/// `UserErrorCode` enum and README.md ("Error codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UserErrorCode {
    InvalidCredentials,
    MembershipDeactivated,
    InvitationPending,
    NotAMember,
    SeatLimitReached,
    AlreadyMember,
    RoleNotManageable,
    InvitationInvalid,
    PasswordTooShort,
    PasswordMismatch,
    CannotRemoveSelf,
    LastOwner,
    ContactReassignmentRequired,
    MemberNotFound,
    AlreadyRemoved,
    NotDeactivated,
    AlreadyDeactivated,
    AlreadyRevoked,
    SeatLimitBelowUsage,
    InvalidAssignee,
    NotAContact,
    RestoreWindowExpired,
    IdempotencyKeyReused,
    JobNotDead,
    SlugTaken,
    SlugReserved,
    EmailTaken,
    ExternalIdTaken,
    AccountNotManaged,
    GroupNameTaken,
}

#[derive(Debug, Clone)]
pub struct UserError {
    pub code: UserErrorCode,
    pub message: String,
    /// The input field at fault, when there is one, as the rule names it (`snake_case`).
    pub field: Option<&'static str>,
    /// The member at fault, in calls that act on several.
    pub user_id: Option<UserId>,
}

impl UserError {
    pub fn new(code: UserErrorCode, message: impl Into<String>) -> UserError {
        UserError {
            code,
            message: message.into(),
            field: None,
            user_id: None,
        }
    }

    pub fn on_field(mut self, field: &'static str) -> UserError {
        self.field = Some(field);
        self
    }

    pub fn for_user(mut self, user_id: UserId) -> UserError {
        self.user_id = Some(user_id);
        self
    }
}
