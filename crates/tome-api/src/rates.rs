//! Request rates of the costly actions (registration, token refresh, chat, search, the
//! OpenAI-compatible API, uploads, transcriptions), limited per account and per client
//! address, answering 429 with `Retry-After`. An address may spend four times an account's
//! rate (several people can share one); registration and token refresh, which name no
//! account before they succeed, are counted per address alone. State
//! is in memory, per process, like the login limits (`limits.rs`).
//!
//! `TOME_RATE_LIMITS` changes rates by action: `search=300/min,register=20/h` (units `s`,
//! `min`, `h`, `d`); the actions it does not name keep their built-in rate.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// An action whose rate is limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Register,
    Refresh,
    Chat,
    Search,
    /// The OpenAI-compatible API (`/v1/chat/completions`, `/v1/embeddings`).
    OpenAi,
    Upload,
    Transcribe,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Register,
        Action::Refresh,
        Action::Chat,
        Action::Search,
        Action::OpenAi,
        Action::Upload,
        Action::Transcribe,
    ];

    /// The name in `TOME_RATE_LIMITS`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Refresh => "refresh",
            Action::Chat => "chat",
            Action::Search => "search",
            Action::OpenAi => "v1",
            Action::Upload => "upload",
            Action::Transcribe => "transcribe",
        }
    }

    /// The built-in rate: generous for a person, far below a script's.
    fn default_rate(self) -> Rate {
        match self {
            Action::Register => Rate::per(10, Duration::from_secs(3600)),
            Action::Refresh => Rate::per(60, Duration::from_secs(60)),
            Action::Chat => Rate::per(30, Duration::from_secs(60)),
            Action::Search => Rate::per(120, Duration::from_secs(60)),
            Action::OpenAi => Rate::per(120, Duration::from_secs(60)),
            Action::Upload => Rate::per(60, Duration::from_secs(60)),
            Action::Transcribe => Rate::per(20, Duration::from_secs(60)),
        }
    }

    /// How many times the account's rate one client address may spend.
    fn address_factor(self) -> u32 {
        match self {
            // Registration and refresh name no account (yet): their rate is the address's.
            Action::Register | Action::Refresh => 1,
            _ => 4,
        }
    }
}

/// `count` requests per `period` (a burst of `count`, refilled evenly over `period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn per(count: u32, period: Duration) -> Self {
        Self { count, period }
    }

    fn quota(self, factor: u32) -> Quota {
        let count = NonZeroU32::new(self.count.saturating_mul(factor).max(1)).unwrap_or(NonZeroU32::MIN);
        let refill = (self.period / count.get()).max(Duration::from_nanos(1));
        Quota::with_period(refill).unwrap_or_else(|| Quota::per_second(count)).allow_burst(count)
    }
}

/// Parses `TOME_RATE_LIMITS` over the built-in rates.
pub fn parse_rates(raw: Option<&str>) -> Result<HashMap<Action, Rate>, String> {
    let mut rates: HashMap<Action, Rate> = Action::ALL.iter().map(|a| (*a, a.default_rate())).collect();
    let invalid = |part: &str, why: &str| {
        format!(
            "invalid configuration: rate_limits (TOME_RATE_LIMITS): `{part}` {why}; write e.g. `search=120/min,register=10/h`"
        )
    };
    for part in raw.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, rate) = part.split_once('=').ok_or_else(|| invalid(part, "has no `=`"))?;
        let action = Action::ALL.into_iter().find(|a| a.name() == name.trim()).ok_or_else(|| {
            invalid(part, "names no action (register, refresh, chat, search, v1, upload, transcribe)")
        })?;
        let (count, unit) = rate.split_once('/').ok_or_else(|| invalid(part, "has no `/unit`"))?;
        let count: u32 =
            count.trim().parse().ok().filter(|c| *c > 0).ok_or_else(|| invalid(part, "needs a count of 1 or more"))?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86_400),
            _ => return Err(invalid(part, "has a unit other than s, min, h or d")),
        };
        rates.insert(action, Rate::per(count, period));
    }
    Ok(rates)
}

struct Limiters {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
}

pub struct Rates {
    limiters: HashMap<Action, Limiters>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl Rates {
    pub fn new(rates: &HashMap<Action, Rate>) -> Self {
        let limiters = rates
            .iter()
            .map(|(action, rate)| {
                let limiters = Limiters {
                    per_account: RateLimiter::keyed(rate.quota(1)),
                    per_address: RateLimiter::keyed(rate.quota(action.address_factor())),
                };
                (*action, limiters)
            })
            .collect();
        Self { limiters, clock: DefaultClock::default(), checks: AtomicU64::new(0) }
    }

    /// Counts one `action` by `account` (when known) from `ip`: 429 with the wait once the
    /// account's or the address's rate is spent.
    pub fn spend(&self, action: Action, ip: Option<&str>, account: Option<&str>) -> Result<(), ApiError> {
        let Some(limiters) = self.limiters.get(&action) else { return Ok(()) };
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            for limiter in self.limiters.values() {
                limiter.per_account.retain_recent();
                limiter.per_address.retain_recent();
            }
        }
        let mut outcome = limiters.per_address.check_key(&ip.unwrap_or("unknown").to_owned());
        if let (Ok(()), Some(account)) = (&outcome, account) {
            outcome = limiters.per_account.check_key(&account.to_owned());
        }
        outcome.map_err(|not_until| ApiError::RateLimited {
            retry_after_secs: not_until.wait_time_from(self.clock.now()).as_secs() + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(result: Result<(), ApiError>) -> Option<u64> {
        match result {
            Err(ApiError::RateLimited { retry_after_secs }) => Some(retry_after_secs),
            _ => None,
        }
    }

    #[test]
    fn an_account_is_held_to_its_rate_and_an_address_to_four_times_it() {
        let rates = Rates::new(&parse_rates(Some("search=2/min")).unwrap_or_default());
        let spend = |ip, account| rates.spend(Action::Search, Some(ip), Some(account));
        assert!(spend("10.0.0.1", "ada").is_ok() && spend("10.0.0.1", "ada").is_ok());
        let wait = retry(spend("10.0.0.2", "ada"));
        assert!(wait.is_some_and(|s| (1..=31).contains(&s)), "the account's rate holds on any address: {wait:?}");
        for account in ["bob", "bob", "cy", "cy", "di", "di"] {
            assert!(spend("10.0.0.1", account).is_ok(), "{account}");
        }
        assert!(retry(spend("10.0.0.1", "eve")).is_some(), "the address spent 4 × 2");
        assert!(spend("10.0.0.3", "eve").is_ok(), "other addresses are unaffected");
        assert!(rates.spend(Action::Chat, Some("10.0.0.1"), Some("ada")).is_ok(), "rates are per action");
    }

    #[test]
    fn registration_is_counted_per_address() {
        let rates = Rates::new(&parse_rates(Some("register=1/h")).unwrap_or_default());
        assert!(rates.spend(Action::Register, Some("10.0.0.1"), None).is_ok());
        let wait = retry(rates.spend(Action::Register, Some("10.0.0.1"), None));
        assert!(wait.is_some_and(|s| (3500..=3601).contains(&s)), "{wait:?}");
        assert!(rates.spend(Action::Register, Some("10.0.0.2"), None).is_ok());
    }

    #[test]
    fn the_setting_is_checked_and_keeps_unnamed_rates() {
        let rates = parse_rates(Some(" chat=5/s , upload=3/d")).unwrap_or_default();
        assert_eq!(rates.get(&Action::Chat), Some(&Rate::per(5, Duration::from_secs(1))));
        assert_eq!(rates.get(&Action::Upload), Some(&Rate::per(3, Duration::from_secs(86_400))));
        assert_eq!(rates.get(&Action::Search), Some(&Action::Search.default_rate()));
        for bad in ["chat", "chat=5", "chat=0/min", "chat=5/week", "talk=5/min", "chat=x/min"] {
            let error = parse_rates(Some(bad)).err().unwrap_or_default();
            assert!(error.contains("TOME_RATE_LIMITS") && error.contains(bad), "{bad}: {error}");
        }
    }
}
