//! Who performs an action.

use entities::UserId;
use uuid::Uuid;

/// Who performs an action: a person through a session, or an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    ApiKey(Uuid),
}

impl Actor {
    /// As stored: (`actor_user_id`, `actor_api_key_id`), exactly one of them set.
    pub fn columns(self) -> (Option<UserId>, Option<Uuid>) {
        match self {
            Actor::User(id) => (Some(id), None),
            Actor::ApiKey(id) => (None, Some(id)),
        }
    }

    /// From the columns it is stored in; `None` when neither is set (an action of the system).
    pub fn from_columns(user_id: Option<UserId>, api_key_id: Option<Uuid>) -> Option<Actor> {
        match (user_id, api_key_id) {
            (Some(user_id), _) => Some(Actor::User(user_id)),
            (None, Some(api_key_id)) => Some(Actor::ApiKey(api_key_id)),
            (None, None) => None,
        }
    }
}
