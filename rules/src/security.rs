//! Passwords: argon2 hashes, and a check that takes as long whether or not an account exists.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use crate::error::RuleError;

pub const MIN_PASSWORD_LENGTH: usize = 8;

pub async fn hash_password(password: String) -> Result<String, RuleError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt)
            .map_err(|e| RuleError::internal("encoding a salt", e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| RuleError::internal("hashing a password", e.to_string()))
    })
    .await
    .map_err(|e| RuleError::internal("hashing a password", e))?
}

/// Checks a password against a stored hash. With no stored hash (unknown email, or an account
/// that never set a password) it still spends the time of a real check, so response times
/// don't tell whether an email exists.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, RuleError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| decoy_hash().to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| RuleError::internal("reading a stored password hash", e.to_string()))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|e| RuleError::internal("checking a password", e))?
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
