//! API keys: `tome_<prefix>_<secret>`, shown once, stored as a SHA-256 hash, found by the
//! public prefix. A key belongs to one tenant and carries a subset of its creator's
//! permissions there, never more.

use crate::access::Access;
use crate::auth::{constant_time_eq, hash_token, random_secret};
use crate::identity::{ApiKey, NewApiKey, User};
use crate::repo::Store;
use crate::validate::required_text;
use crate::{DomainError, DomainResult, Timestamp, now};

/// Every key starts with this, so that a bearer credential tells what it is.
pub const KEY_PREFIX: &str = "tome_";

/// A new key: the record and the secret, which is never shown again.
#[derive(Clone, Debug)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Creates a key in the request's tenant. `permissions` default to all that the request
/// holds there; asking for one it does not hold is invalid.
pub async fn create_api_key(
    store: &dyn Store,
    access: &Access,
    user: &User,
    name: &str,
    permissions: Option<Vec<String>>,
    expires_at: Option<Timestamp>,
) -> DomainResult<CreatedKey> {
    let name = required_text("name", name, 100)?;
    if expires_at.is_some_and(|at| at <= now()) {
        return Err(DomainError::invalid("expires_at", "must be in the future"));
    }
    // The request's own permissions bound the new key: a key cannot mint a stronger key.
    let cap: Vec<String> = if access.is_superadmin {
        crate::catalog::PERMISSIONS.iter().map(|(name, _)| (*name).to_owned()).collect()
    } else {
        access.permissions.iter().cloned().collect()
    };
    let mut permissions = permissions.unwrap_or_else(|| cap.clone());
    if let Some(excess) = permissions.iter().find(|p| !cap.contains(p)) {
        return Err(DomainError::invalid("permissions", format!("`{excess}` is not one of your permissions here")));
    }
    permissions.sort();
    permissions.dedup();
    let prefix: String =
        random_secret().chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).take(10).collect();
    let secret = format!("{KEY_PREFIX}{prefix}_{}", random_secret());
    let key = store
        .create_api_key(
            access.tenant_id,
            NewApiKey { user_id: user.id, name, prefix, key_hash: hash_token(&secret), permissions, expires_at },
        )
        .await?;
    Ok(CreatedKey { key, secret })
}

/// Checks a presented key; every failure is the same 401.
/// How stale a key's `last_used_at` may grow before a request records its use again.
pub(crate) const USE_RECORDED: time::Duration = time::Duration::minutes(1);

pub async fn authenticate_key(store: &dyn Store, presented: &str) -> DomainResult<(User, ApiKey)> {
    let invalid = || DomainError::Unauthorized("the API key is invalid, expired or revoked".into());
    let prefix =
        presented.strip_prefix(KEY_PREFIX).and_then(|rest| rest.split_once('_')).map(|(p, _)| p).ok_or_else(invalid)?;
    let key = match store.find_api_key_by_prefix(prefix).await {
        Ok(key) => key,
        Err(DomainError::NotFound(_)) => return Err(invalid()),
        Err(error) => return Err(error),
    };
    let matches = constant_time_eq(&hash_token(presented), &key.key_hash);
    let now = now();
    if !matches || key.revoked_at.is_some() || key.expires_at.is_some_and(|at| at <= now) {
        return Err(invalid());
    }
    let user = store.get_user(key.user_id).await?;
    if !user.is_active {
        return Err(invalid());
    }
    // Record use at most once a minute: a write per request would cost more than the request.
    if key.last_used_at.is_none_or(|at| now - at > USE_RECORDED) {
        store.touch_api_key(key.id, now).await?;
    }
    Ok((user, key))
}
