//! Tokens (sessions, API keys, invitation links, SCIM tokens): random, shown once, stored only as hashes.
//! The api makes them; the worker makes the link an invitation email carries.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What kind of secret a token is, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    ApiKey,
    Invitation,
    /// An identity provider's, for `/scim/v2`.
    Scim,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "ofs_",
            TokenKind::ApiKey => "ofk_",
            TokenKind::Invitation => "ofi_",
            TokenKind::Scim => "ofscim_",
        }
    }

    pub fn of(token: &str) -> Option<TokenKind> {
        [
            TokenKind::Session,
            TokenKind::ApiKey,
            TokenKind::Invitation,
            TokenKind::Scim,
        ]
        .into_iter()
        .find(|kind| token.starts_with(kind.prefix()))
    }
}

/// A freshly made token: shown to its owner once; only `hash` is stored.
pub struct NewToken {
    pub token: String,
    pub hash: String,
}

pub fn new_token(kind: TokenKind) -> NewToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    NewToken { token, hash }
}

/// Tokens carry 256 random bits, so a fast hash is enough to make a leaked table useless.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_only_as_their_hash() {
        let a = new_token(TokenKind::Session);
        let b = new_token(TokenKind::Session);
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with("ofs_"));
        assert_eq!(TokenKind::of(&a.token), Some(TokenKind::Session));
        assert_eq!(a.hash, hash_token(&a.token));
        assert!(!a.hash.contains(&a.token[4..]));
        assert_ne!(a.hash, b.hash);
        assert_eq!(TokenKind::of("Bearer-nonsense"), None);
    }
}
