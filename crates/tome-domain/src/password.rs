//! Password hashing: argon2id with the OWASP-recommended default parameters, run off the
//! async threads because one hash takes tens of milliseconds.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::DomainError;

/// Password length bounds.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), DomainError> {
    let length = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&length) {
        return Err(DomainError::invalid(
            "password",
            format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Hashes a password to an argon2id PHC string.
pub fn hash_blocking(password: &str) -> Result<String, DomainError> {
    Argon2::default().hash_password(password.as_bytes()).map(|hash| hash.to_string()).map_err(DomainError::internal)
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// `hash_blocking` on the blocking pool.
pub async fn hash(password: String) -> Result<String, DomainError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await.map_err(DomainError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_the_same_password_only() {
        let hash = hash_blocking("correct horse battery").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_blocking("correct horse battery", &hash));
        assert!(!verify_blocking("wrong horse battery", &hash));
    }

    #[test]
    fn short_password_is_rejected() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
    }
}
