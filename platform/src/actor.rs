//! Who performs an action.

use entities::UserId;
use uuid::Uuid;

/// Who performs an action: a person through a session, an API key, or an identity provider
/// through its SCIM token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    ApiKey(Uuid),
    ScimToken(Uuid),
}

/// An actor as stored: `actor_user_id`, `actor_api_key_id`, `actor_scim_token_id`, at most one
/// of them set (none: the system).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActorColumns {
    pub user_id: Option<UserId>,
    pub api_key_id: Option<Uuid>,
    pub scim_token_id: Option<Uuid>,
}

impl Actor {
    /// As stored, exactly one column set.
    pub fn columns(self) -> ActorColumns {
        match self {
            Actor::User(id) => ActorColumns {
                user_id: Some(id),
                ..ActorColumns::default()
            },
            Actor::ApiKey(id) => ActorColumns {
                api_key_id: Some(id),
                ..ActorColumns::default()
            },
            Actor::ScimToken(id) => ActorColumns {
                scim_token_id: Some(id),
                ..ActorColumns::default()
            },
        }
    }

    /// From the columns it is stored in; `None` when none is set (an action of the system).
    pub fn from_columns(columns: ActorColumns) -> Option<Actor> {
        match columns {
            ActorColumns {
                user_id: Some(user_id),
                ..
            } => Some(Actor::User(user_id)),
            ActorColumns {
                api_key_id: Some(api_key_id),
                ..
            } => Some(Actor::ApiKey(api_key_id)),
            ActorColumns {
                scim_token_id: Some(scim_token_id),
                ..
            } => Some(Actor::ScimToken(scim_token_id)),
            ActorColumns { .. } => None,
        }
    }
}
