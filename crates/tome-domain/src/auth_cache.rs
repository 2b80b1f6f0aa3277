//! What a credential resolves to (its user, the request's tenant and permissions, the user's
//! tenants), remembered between requests and forgotten the moment anything about identity or
//! access changes, in this process or any other.
//!
//! Every entry is tagged with the *auth epoch*: a counter in the database that triggers move
//! forward on every write to users, tenants, memberships, roles, permissions, sessions, API
//! keys and second factors (migration 0009). A request reads the epoch once, before anything
//! else, and uses only entries of that epoch; a miss runs the uncached path and stores its
//! result under the epoch read *before* it. So a logout, a revoked key, a deactivated user or
//! a changed role counts on the very next request, whoever made the change; what stays
//! per-request without the database is the token's signature and expiry, and the session's
//! or key's own expiry.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::access::Access;
use crate::auth::{self, Credential, Principal, Tokens};
use crate::identity::Tenant;
use crate::repo::Store;
use crate::{ApiKeyId, AuthSessionId, DomainResult, TenantId, Timestamp, UserId, now};

/// A value of the auth epoch (see the module documentation).
pub type Epoch = i64;

/// How many entries each of the cache's maps holds before it forgets.
const CAPACITY: usize = 16_384;

/// A map whose entries count only under the epoch they were stored with.
pub struct EpochMap<K, V> {
    capacity: usize,
    entries: Mutex<HashMap<K, (Epoch, V)>>,
}

impl<K: Eq + Hash, V: Clone> EpochMap<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), entries: Mutex::new(HashMap::new()) }
    }

    /// The value stored for `key` under `epoch` (an entry of another epoch is stale).
    pub fn get(&self, epoch: Epoch, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(key).filter(|(stored, _)| *stored == epoch).map(|(_, value)| value.clone())
    }

    /// Stores `value` for `key` under `epoch`. When full, entries of other epochs go first,
    /// then everything.
    pub fn put(&self, epoch: Epoch, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (stored, _)| *stored == epoch);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (epoch, value));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a bearer token was: a session's access token (by session and user) or an API key (by
/// the SHA-256 of the secret, so that the secret itself is not kept).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Presented {
    Session(AuthSessionId, UserId),
    ApiKey([u8; 32]),
}

/// The credential behind a principal, as the key of what it may do.
#[derive(Clone, PartialEq, Eq, Hash)]
enum CredentialId {
    Session(AuthSessionId),
    ApiKey(ApiKeyId),
}

impl CredentialId {
    fn of(principal: &Principal) -> Self {
        match &principal.credential {
            Credential::Session(id) => Self::Session(*id),
            Credential::ApiKey(key) => Self::ApiKey(key.id),
        }
    }
}

/// A user's tenants as a request sees them: the request's tenant and those they belong to.
#[derive(Clone, Debug)]
pub struct TenantsView {
    pub tenant: Tenant,
    pub memberships: Vec<Tenant>,
}

/// The server's memory of credentials (one per process, shared by every request).
pub struct AuthCache {
    principals: EpochMap<Presented, (Principal, Option<Timestamp>)>,
    access: EpochMap<(CredentialId, Option<String>), Access>,
    tenants: EpochMap<(UserId, TenantId), TenantsView>,
}

impl Default for AuthCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl AuthCache {
    pub fn with_capacity(capacity: usize) -> Self {
        Self { principals: EpochMap::new(capacity), access: EpochMap::new(capacity), tenants: EpochMap::new(capacity) }
    }

    /// The epoch a request works under: read it first, before any cached or uncached lookup.
    pub async fn epoch(&self, store: &dyn Store) -> DomainResult<Epoch> {
        store.auth_epoch().await
    }

    /// `auth::authenticate`, remembered under `epoch`. The token's signature and expiry are
    /// checked every time, and so is the session's or key's expiry.
    pub async fn authenticate(
        &self,
        store: &dyn Store,
        tokens: &Tokens,
        epoch: Epoch,
        bearer: &str,
    ) -> DomainResult<Principal> {
        let presented = if bearer.starts_with(crate::api_keys::KEY_PREFIX) {
            Presented::ApiKey(Sha256::digest(bearer.as_bytes()).into())
        } else {
            let claims = tokens.verify(bearer)?;
            Presented::Session(AuthSessionId(claims.sid), UserId(claims.sub))
        };
        if let Some((principal, expires_at)) = self.principals.get(epoch, &presented) {
            let now = now();
            let live = expires_at.is_none_or(|at| at > now);
            // An API key's use is recorded at most once a minute: when it is due, the uncached
            // path records it (and that write moves the epoch on).
            let recorded = match &principal.credential {
                Credential::ApiKey(key) => key.last_used_at.is_some_and(|at| now - at <= crate::api_keys::USE_RECORDED),
                Credential::Session(_) => true,
            };
            if live && recorded {
                return Ok(principal);
            }
        }
        let (principal, expires_at) = auth::authenticate_until(store, tokens, bearer).await?;
        self.principals.put(epoch, presented, (principal.clone(), expires_at));
        Ok(principal)
    }

    /// `auth::resolve_access`, remembered under `epoch` for the credential and tenant hint.
    pub async fn resolve_access(
        &self,
        store: &dyn Store,
        epoch: Epoch,
        principal: &Principal,
        hint: Option<&str>,
    ) -> DomainResult<Access> {
        let hint = hint.map(str::trim).filter(|h| !h.is_empty());
        let key = (CredentialId::of(principal), hint.map(str::to_owned));
        if let Some(access) = self.access.get(epoch, &key) {
            return Ok(access);
        }
        let access = auth::resolve_access(store, principal, hint).await?;
        self.access.put(epoch, key, access.clone());
        Ok(access)
    }

    /// `auth::tenants_view`, remembered under `epoch`.
    pub async fn tenants_view(
        &self,
        store: &dyn Store,
        epoch: Epoch,
        user: UserId,
        tenant: TenantId,
    ) -> DomainResult<TenantsView> {
        if let Some(view) = self.tenants.get(epoch, &(user, tenant)) {
            return Ok(view);
        }
        let view = auth::tenants_view(store, user, tenant).await?;
        self.tenants.put(epoch, (user, tenant), view.clone());
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_count_only_under_their_epoch() {
        let map = EpochMap::new(8);
        map.put(1, "a", 10);
        assert_eq!(map.get(1, &"a"), Some(10));
        assert_eq!(map.get(2, &"a"), None, "a later epoch does not see an earlier entry");
        assert_eq!(map.get(0, &"a"), None);
        map.put(2, "a", 20);
        assert_eq!(map.get(2, &"a"), Some(20));
        assert_eq!(map.get(1, &"a"), None);
    }

    #[test]
    fn a_full_map_forgets_stale_entries_first_then_everything() {
        let map = EpochMap::new(3);
        map.put(1, 1, ());
        map.put(1, 2, ());
        map.put(2, 3, ());
        map.put(2, 4, ());
        assert_eq!(map.len(), 2, "the two entries of epoch 1 went");
        assert!(map.get(2, &3).is_some() && map.get(2, &4).is_some());
        map.put(2, 5, ());
        map.put(2, 6, ());
        assert_eq!(map.len(), 1, "a map full of current entries starts over");
        assert!(map.get(2, &6).is_some());
        map.put(2, 6, ());
        assert_eq!(map.len(), 1);
        assert!(!map.is_empty());
    }
}
