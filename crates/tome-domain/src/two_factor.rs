//! TOTP two-factor authentication (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock skew either way) with single-use recovery codes. Setting up stores a pending secret;
//! the first valid code turns it on and returns ten recovery codes, shown once and stored
//! hashed. A code is accepted once (its step is recorded). Tenants may require it. Secrets
//! are sealed with the server's key ring and recovery codes peppered (`secrets`).

use totp_rs::{Algorithm, Secret, TOTP};

use crate::auth::{ClientInfo, audit_raw, constant_time_eq};
use crate::identity::{TwoFactor, User};
use crate::repo::Store;
use crate::secrets::Keyring;
use crate::{DomainError, DomainResult, UserId};

const STEP_SECONDS: u64 = 30;
const RECOVERY_CODES: usize = 10;

/// What a second factor in a request says.
#[derive(Clone, Debug, Default)]
pub struct SecondFactor {
    pub totp_code: Option<String>,
    pub recovery_code: Option<String>,
}

/// A pending secret, for an authenticator app.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Base32, as authenticator apps take it.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_url: String,
}

/// Whether two-factor is on, and how many recovery codes are left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub enabled: bool,
    pub recovery_codes_left: i64,
}

fn totp(secret: &str) -> DomainResult<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().map_err(DomainError::internal)?;
    Ok(TOTP::new_unchecked(Algorithm::SHA1, 6, 1, STEP_SECONDS, bytes))
}

fn unix_now() -> u64 {
    crate::now().unix_timestamp().max(0).unsigned_abs()
}

/// The step (of now, the one before or the one after) whose code `code` is.
pub fn matching_step(secret: &str, code: &str, at_unix: u64) -> DomainResult<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let totp = totp(secret)?;
    for time in [at_unix.saturating_sub(STEP_SECONDS), at_unix, at_unix + STEP_SECONDS] {
        if constant_time_eq(&totp.generate(time), &code) {
            return Ok(i64::try_from(time / STEP_SECONDS).ok());
        }
    }
    Ok(None)
}

/// The code of a secret at a time (for tests and tools).
pub fn code_at(secret: &str, at_unix: u64) -> DomainResult<String> {
    Ok(totp(secret)?.generate(at_unix))
}

fn normalize_recovery(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
}

fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::fill(&mut bytes);
    let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

pub async fn status(store: &dyn Store, user: UserId) -> DomainResult<Status> {
    let enabled = enabled(store, user).await?.is_some();
    let recovery_codes_left = if enabled { store.count_recovery_codes(user).await? } else { 0 };
    Ok(Status { enabled, recovery_codes_left })
}

/// Starts setting up: a new pending secret (409 while two-factor is on).
pub async fn setup(store: &dyn Store, keyring: &Keyring, user: &User) -> DomainResult<Setup> {
    let mut raw = [0u8; 20];
    rand::fill(&mut raw);
    let Secret::Encoded(secret) = Secret::Raw(raw.to_vec()).to_encoded() else {
        return Err(DomainError::internal("base32 encoding failed"));
    };
    store.put_two_factor_secret(user.id, &keyring.seal(&secret)?).await?;
    let mut url = url::Url::parse("otpauth://totp/").map_err(DomainError::internal)?;
    url.set_path(&format!("Tome:{}", user.username));
    url.query_pairs_mut()
        .append_pair("secret", &secret)
        .append_pair("issuer", "Tome")
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", "6")
        .append_pair("period", "30");
    Ok(Setup { secret, otpauth_url: url.to_string() })
}

/// Confirms the pending secret with a code; returns the recovery codes (shown only now).
pub async fn enable(
    store: &dyn Store,
    keyring: &Keyring,
    user: &User,
    code: &str,
    client: &ClientInfo,
) -> DomainResult<Vec<String>> {
    let pending = store
        .get_two_factor(user.id)
        .await?
        .filter(|tf| tf.enabled_at.is_none())
        .ok_or_else(|| DomainError::Conflict("start with POST /api/v1/auth/2fa/setup".into()))?;
    let Some(step) = matching_step(&keyring.open(&pending.secret)?, code, unix_now())? else {
        audit(store, user.id, "user.two_factor_failed", "a wrong code while turning on two-factor", client).await?;
        return Err(DomainError::invalid("code", "does not match the authenticator (check the device's clock)"));
    };
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| keyring.pepper(&normalize_recovery(c))).collect();
    store.enable_two_factor(user.id, step, &hashes).await?;
    audit(store, user.id, "user.two_factor_enable", "turned on two-factor authentication", client).await?;
    Ok(codes)
}

/// The user's secret, when two-factor is on.
async fn enabled(store: &dyn Store, user: UserId) -> DomainResult<Option<TwoFactor>> {
    Ok(store.get_two_factor(user).await?.filter(|tf| tf.enabled_at.is_some()))
}

/// Turns two-factor off; needs a current code or a recovery code.
pub async fn disable(
    store: &dyn Store,
    keyring: &Keyring,
    user: &User,
    second: &SecondFactor,
    client: &ClientInfo,
) -> DomainResult<()> {
    let Some(on) = enabled(store, user.id).await? else {
        return Err(DomainError::Conflict("two-factor authentication is not on".into()));
    };
    verify(store, keyring, user, &on, second, client).await?;
    store.disable_two_factor(user.id).await?;
    audit(store, user.id, "user.two_factor_disable", "turned off two-factor authentication", client).await
}

/// At login: nothing to do unless the user has two-factor on; then a fresh code or an
/// unused recovery code is required.
pub async fn check_login(
    store: &dyn Store,
    keyring: &Keyring,
    user: &User,
    second: &SecondFactor,
    client: &ClientInfo,
) -> DomainResult<()> {
    match enabled(store, user.id).await? {
        Some(on) => verify(store, keyring, user, &on, second, client).await,
        None => Ok(()),
    }
}

async fn verify(
    store: &dyn Store,
    keyring: &Keyring,
    user: &User,
    on: &TwoFactor,
    second: &SecondFactor,
    client: &ClientInfo,
) -> DomainResult<()> {
    let accepted = match (&second.totp_code, &second.recovery_code) {
        (Some(code), _) => match matching_step(&keyring.open(&on.secret)?, code, unix_now())? {
            Some(step) => store.claim_totp_step(user.id, step).await?,
            None => false,
        },
        (None, Some(code)) => {
            let mut used = false;
            for hash in keyring.pepper_candidates(&normalize_recovery(code)) {
                if store.use_recovery_code(user.id, &hash).await? {
                    used = true;
                    break;
                }
            }
            if used {
                audit(store, user.id, "user.two_factor_recovery_used", "logged in with a recovery code", client)
                    .await?;
            }
            used
        }
        (None, None) => {
            return Err(DomainError::Unauthorized(
                "two-factor authentication is on: send `totp_code` (or a `recovery_code`)".into(),
            ));
        }
    };
    if accepted {
        Ok(())
    } else {
        audit(store, user.id, "user.two_factor_failed", "a wrong or reused two-factor code", client).await?;
        Err(DomainError::Unauthorized("the two-factor code is wrong or was already used".into()))
    }
}

/// Seals every stored secret that is not sealed under the ring's current key (secrets
/// stored in clear before encryption, or under an older key); returns how many were.
pub async fn reseal(store: &dyn Store, keyring: &Keyring) -> DomainResult<usize> {
    let mut resealed = 0;
    for row in store.all_two_factor().await? {
        if keyring.is_current(&row.secret) {
            continue;
        }
        let sealed = keyring.seal(&keyring.open(&row.secret)?)?;
        if store.replace_two_factor_secret(row.user_id, &row.secret, &sealed).await? {
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// 403 when `tenant_requires` and the user has not turned two-factor on.
pub async fn enforce(store: &dyn Store, user: UserId, tenant_requires: bool) -> DomainResult<()> {
    if tenant_requires && enabled(store, user).await?.is_none() {
        return Err(DomainError::Forbidden(
            "this tenant requires two-factor authentication: turn it on with POST /api/v1/auth/2fa/setup".into(),
        ));
    }
    Ok(())
}

async fn audit(store: &dyn Store, user: UserId, action: &str, summary: &str, client: &ClientInfo) -> DomainResult<()> {
    audit_raw(store, Some(user), action, "user", Some(user.to_string()), summary, client).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_reference_vector_and_skew() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 s → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => unreachable!(),
        };
        assert_eq!(code_at(&secret, 59).ok().as_deref(), Some("287082"));
        assert_eq!(matching_step(&secret, "287 082", 59).ok().flatten(), Some(1));
        assert_eq!(matching_step(&secret, "287082", 59 + 30).ok().flatten(), Some(1), "one step late is accepted");
        assert_eq!(matching_step(&secret, "287082", 59 + 90).ok().flatten(), None, "three steps late is not");
    }

    #[test]
    fn recovery_codes_normalize() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(normalize_recovery(&code.to_uppercase()), normalize_recovery(&code));
    }
}
