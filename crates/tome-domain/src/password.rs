//! Password hashing: argon2id with the OWASP-recommended default parameters, run off the
//! async threads because one hash takes tens of milliseconds.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use crate::{DomainError, DomainResult};

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

/// Which work a hashing job is: checking a password someone typed (login, password
/// change), or hashing a new one (registration, reset, change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    Check,
    New,
}

/// Hashing runs under a cap per lane: one argon2 hash holds 19 MiB and a core for tens of
/// milliseconds, so unbounded it would exhaust memory and the blocking pool; and a flood of
/// registrations waits in its own lane (half the cores) while logins keep theirs.
fn lane(lane: Lane) -> &'static Semaphore {
    static CHECK: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores()));
    static NEW: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new((cores() / 2).max(1)));
    match lane {
        Lane::Check => &CHECK,
        Lane::New => &NEW,
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Runs `work` on the blocking pool once its lane has room.
pub async fn in_lane<T: Send + 'static>(which: Lane, work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    let _permit = lane(which).acquire().await.map_err(DomainError::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(DomainError::internal)
}

/// `hash_blocking` in the lane of new passwords.
pub async fn hash(password: String) -> Result<String, DomainError> {
    in_lane(Lane::New, move || hash_blocking(&password)).await?
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn new_passwords_wait_in_their_own_lane_and_checks_get_through() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (running, most, done) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut flood = Vec::new();
        for _ in 0..8 {
            let (running, most, done) = (running.clone(), most.clone(), done.clone());
            flood.push(tokio::spawn(in_lane(Lane::New, move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(40));
                running.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
            })));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let waiting_behind = in_lane(Lane::Check, {
            let done = done.clone();
            move || done.load(Ordering::SeqCst)
        })
        .await;
        assert!(waiting_behind.is_ok_and(|finished| finished < 8), "a check does not queue behind the flood");
        for task in flood {
            assert!(task.await.is_ok_and(|r| r.is_ok()));
        }
        assert_eq!(done.load(Ordering::SeqCst), 8);
        assert!(most.load(Ordering::SeqCst) <= (cores() / 2).max(1), "at most half the cores hash new passwords");
    }

    #[test]
    fn short_password_is_rejected() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
    }
}
