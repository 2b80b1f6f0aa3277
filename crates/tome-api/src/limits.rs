//! Brute-force protection: attempt limits per client address, per account and address, and
//! per account over every address, answering 429 with `Retry-After`. Nobody can lock an
//! account out by guessing from their own address. State is in memory, per process: behind a load
//! balancer each node limits on its own (the limits are per node).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Attempts allowed before limiting starts, and how fast they come back.
#[derive(Clone, Copy, Debug)]
pub struct LimitSettings {
    /// Per client address, for all limited actions together.
    pub per_ip_burst: u32,
    pub per_ip_refill: Duration,
    /// Per account (login name or email) and client address, per action: what someone who
    /// guesses from one address earns, for that address alone.
    pub per_account_ip_burst: u32,
    pub per_account_ip_refill: Duration,
    /// Per account over every address, per action: the ceiling of a guessing attack spread
    /// over many addresses. Addresses the account logged in from before are exempt.
    pub per_account_burst: u32,
    pub per_account_refill: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            per_ip_burst: 60,
            per_ip_refill: Duration::from_secs(1),
            per_account_ip_burst: 10,
            per_account_ip_refill: Duration::from_secs(90),
            per_account_burst: 100,
            per_account_refill: Duration::from_secs(30),
        }
    }
}

/// Most addresses remembered per account as ones it logged in from.
const KNOWN_ADDRESSES: usize = 16;
/// Most accounts whose known addresses are remembered (the oldest are forgotten first).
const KNOWN_ACCOUNTS: usize = 100_000;

pub struct Limits {
    per_ip: DefaultKeyedRateLimiter<String>,
    per_account_ip: DefaultKeyedRateLimiter<String>,
    per_account: DefaultKeyedRateLimiter<String>,
    /// Account → addresses it logged in from, most recent last.
    known: Mutex<HashMap<String, Vec<String>>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(refill.max(Duration::from_millis(1)))
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

fn account_key(account: &str) -> String {
    account.trim().to_lowercase()
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            per_ip: RateLimiter::keyed(quota(settings.per_ip_burst, settings.per_ip_refill)),
            per_account_ip: RateLimiter::keyed(quota(settings.per_account_ip_burst, settings.per_account_ip_refill)),
            per_account: RateLimiter::keyed(quota(settings.per_account_burst, settings.per_account_refill)),
            known: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one attempt at `action` from `ip` on `account`; 429 once a limit is spent:
    /// the address's own, the account's from this address, or the account's ceiling over
    /// every address (which an address the account logged in from before does not meet).
    pub fn attempt(&self, action: &str, ip: Option<&str>, account: &str) -> Result<(), ApiError> {
        // Forget idle keys now and then, so that many distinct names cannot grow memory.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.per_ip.retain_recent();
            self.per_account_ip.retain_recent();
            self.per_account.retain_recent();
        }
        let ip = ip.unwrap_or("unknown");
        let account = account_key(account);
        let mut outcome = self
            .per_ip
            .check_key(&ip.to_owned())
            .and_then(|()| self.per_account_ip.check_key(&format!("{action}:{account}:{ip}")));
        if outcome.is_ok() && !self.is_known(&account, ip) {
            outcome = self.per_account.check_key(&format!("{action}:{account}"));
        }
        outcome.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::RateLimited { retry_after_secs: wait.as_secs() + 1 }
        })
    }

    /// Remembers that `account` logged in from `ip`: that address is not held back by the
    /// account's ceiling later.
    pub fn succeeded(&self, ip: Option<&str>, account: &str) {
        let Some(ip) = ip else { return };
        let Ok(mut known) = self.known.lock() else { return };
        if known.len() >= KNOWN_ACCOUNTS {
            known.clear();
        }
        let addresses = known.entry(account_key(account)).or_default();
        addresses.retain(|address| address != ip);
        addresses.push(ip.to_owned());
        if addresses.len() > KNOWN_ADDRESSES {
            addresses.remove(0);
        }
    }

    fn is_known(&self, account: &str, ip: &str) -> bool {
        self.known
            .lock()
            .is_ok_and(|known| known.get(account).is_some_and(|addresses| addresses.iter().any(|a| a == ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits::new(LimitSettings {
            per_ip_burst: 5,
            per_ip_refill: Duration::from_secs(60),
            per_account_ip_burst: 2,
            per_account_ip_refill: Duration::from_secs(30),
            per_account_burst: 3,
            per_account_refill: Duration::from_secs(30),
        })
    }

    fn retry_after(result: Result<(), ApiError>) -> Option<u64> {
        match result {
            Err(ApiError::RateLimited { retry_after_secs }) => Some(retry_after_secs),
            _ => None,
        }
    }

    #[test]
    fn guessing_from_one_address_limits_that_address_only() {
        let limits = small();
        assert!(limits.attempt("login", Some("10.0.0.1"), "Ada").is_ok());
        assert!(limits.attempt("login", Some("10.0.0.1"), "ada").is_ok());
        let wait = retry_after(limits.attempt("login", Some("10.0.0.1"), "ADA"));
        assert!(wait.is_some_and(|s| (1..=31).contains(&s)), "{wait:?}");
        assert!(limits.attempt("login", Some("10.0.0.2"), "ada").is_ok(), "another address still gets in");
        assert!(limits.attempt("forgot", Some("10.0.0.1"), "ada").is_ok(), "limits are per action");
    }

    #[test]
    fn the_account_ceiling_holds_back_new_addresses_but_not_known_ones() {
        let limits = small();
        limits.succeeded(Some("192.168.1.5"), "ada");
        for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            assert!(limits.attempt("login", Some(ip), "ada").is_ok());
        }
        assert!(retry_after(limits.attempt("login", Some("10.0.0.4"), "ada")).is_some(), "the ceiling is spent");
        assert!(limits.attempt("login", Some("192.168.1.5"), "ada").is_ok(), "her own address gets through");
    }

    #[test]
    fn an_address_is_limited_whatever_the_account() {
        let limits = small();
        for account in ["a", "b", "c", "d", "e"] {
            assert!(limits.attempt("login", Some("10.0.0.9"), account).is_ok());
        }
        let wait = retry_after(limits.attempt("login", Some("10.0.0.9"), "f"));
        assert!(wait.is_some_and(|s| (1..=61).contains(&s)), "{wait:?}");
        assert!(limits.attempt("login", Some("10.0.0.10"), "f").is_ok(), "other addresses are unaffected");
    }
}
