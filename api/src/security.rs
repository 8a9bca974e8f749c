//! Secrets: random tokens stored only as hashes, and argon2 password hashes.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// What kind of secret a token is, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    ApiKey,
    Invitation,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "ofs_",
            TokenKind::ApiKey => "ofk_",
            TokenKind::Invitation => "ofi_",
        }
    }

    pub fn of(token: &str) -> Option<TokenKind> {
        [TokenKind::Session, TokenKind::ApiKey, TokenKind::Invitation]
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

pub const MIN_PASSWORD_LENGTH: usize = 8;

pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt)
            .map_err(|e| ApiError::internal("encoding a salt", e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::internal("hashing a password", e.to_string()))
    })
    .await
    .map_err(|e| ApiError::internal("hashing a password", e))?
}

/// Checks a password against a stored hash. With no stored hash (unknown email, or an account
/// that never set a password) it still spends the time of a real check, so response times
/// don't tell whether an email exists.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| decoy_hash().to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ApiError::internal("reading a stored password hash", e.to_string()))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|e| ApiError::internal("checking a password", e))?
}

fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"offboarding-decoy").expect("a valid fixed salt");
        Argon2::default()
            .hash_password(b"no account has this password", &salt)
            .expect("hashing a fixed password")
            .to_string()
    })
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

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("no account has this password".into(), None)
                .await
                .unwrap()
        );
    }
}
