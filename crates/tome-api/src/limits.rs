//! Brute-force protection: per-IP and per-account attempt limits on login and password
//! reset, answering 429 with `Retry-After`. State is in memory, per process: behind a load
//! balancer each node limits on its own (the limits are per node).

use std::num::NonZeroU32;
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
    /// Per account (login name or email), per action.
    pub per_account_burst: u32,
    pub per_account_refill: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            per_ip_burst: 60,
            per_ip_refill: Duration::from_secs(1),
            per_account_burst: 10,
            per_account_refill: Duration::from_secs(90),
        }
    }
}

pub struct Limits {
    per_ip: DefaultKeyedRateLimiter<String>,
    per_account: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    checks: AtomicU64,
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(refill.max(Duration::from_millis(1)))
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            per_ip: RateLimiter::keyed(quota(settings.per_ip_burst, settings.per_ip_refill)),
            per_account: RateLimiter::keyed(quota(settings.per_account_burst, settings.per_account_refill)),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one attempt at `action` from `ip` on `account`; 429 once either limit is spent.
    pub fn attempt(&self, action: &str, ip: Option<&str>, account: &str) -> Result<(), ApiError> {
        // Forget idle keys now and then, so that many distinct names cannot grow memory.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.per_ip.retain_recent();
            self.per_account.retain_recent();
        }
        let ip_key = ip.unwrap_or("unknown").to_owned();
        let account_key = format!("{action}:{}", account.trim().to_lowercase());
        let outcome = self.per_ip.check_key(&ip_key).and_then(|()| self.per_account.check_key(&account_key));
        outcome.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::RateLimited { retry_after_secs: wait.as_secs() + 1 }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits::new(LimitSettings {
            per_ip_burst: 3,
            per_ip_refill: Duration::from_secs(60),
            per_account_burst: 2,
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
    fn an_account_is_limited_whatever_the_address() {
        let limits = small();
        assert!(limits.attempt("login", Some("10.0.0.1"), "Ada").is_ok());
        assert!(limits.attempt("login", Some("10.0.0.2"), "ada").is_ok());
        let wait = retry_after(limits.attempt("login", Some("10.0.0.3"), "ADA"));
        assert!(wait.is_some_and(|s| (1..=31).contains(&s)), "{wait:?}");
        assert!(limits.attempt("forgot", Some("10.0.0.4"), "ada").is_ok(), "limits are per action");
    }

    #[test]
    fn an_address_is_limited_whatever_the_account() {
        let limits = small();
        for account in ["a", "b", "c"] {
            assert!(limits.attempt("login", Some("10.0.0.9"), account).is_ok());
        }
        let wait = retry_after(limits.attempt("login", Some("10.0.0.9"), "d"));
        assert!(wait.is_some_and(|s| (1..=61).contains(&s)), "{wait:?}");
        assert!(limits.attempt("login", Some("10.0.0.10"), "d").is_ok(), "other addresses are unaffected");
    }
}
