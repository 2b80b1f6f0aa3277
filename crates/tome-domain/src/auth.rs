//! Authentication: registration by signup mode, login, short-lived access tokens (JWT)
//! naming a session, opaque refresh tokens that rotate (reuse revokes the session), and
//! resolving the tenant and permissions of a request.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::access::Access;
use crate::accounts::{AccountInput, create_account};
use crate::identity::{ApiKey, NewAuthSession, User};
use crate::knowledge::NewAuditEntry;
use crate::password;
use crate::repo::Store;
use crate::{AuthSessionId, DomainError, DomainResult, PageRequest, TenantId, Timestamp, UserId, now};

/// Who may create an account through the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signup {
    Open,
    Approval,
    Closed,
}

/// Token lifetimes and the signup mode.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub signup: Signup,
    /// Seals second-factor secrets and peppers recovery codes.
    pub keyring: crate::secrets::Keyring,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            signup: Signup::Approval,
            keyring: crate::secrets::Keyring::generate(),
        }
    }
}

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The session: revoking it rejects the token at once.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and verifies access tokens (HS256).
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Tokens {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    pub fn issue(&self, user: UserId, session: AuthSessionId, ttl: Duration) -> DomainResult<(String, Timestamp)> {
        let issued = now();
        let expires = issued + ttl;
        let claims =
            Claims { sub: user.0, sid: session.0, iat: issued.unix_timestamp(), exp: expires.unix_timestamp() };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(DomainError::internal)?;
        Ok((token, expires))
    }

    pub fn verify(&self, token: &str) -> DomainResult<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| DomainError::Unauthorized("the access token is invalid or expired".into()))
    }
}

/// What a successful login or refresh hands out.
#[derive(Clone, Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: Timestamp,
    pub refresh_token: String,
    pub refresh_expires_at: Timestamp,
    pub session_id: AuthSessionId,
    pub user: User,
}

/// Where a request came from, for sessions and the audit log.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// An authenticated request: the user and the session its token names.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    pub credential: Credential,
}

/// How a request proved who it is.
#[derive(Clone, Debug)]
pub enum Credential {
    /// An access token of a login session.
    Session(AuthSessionId),
    /// An API key: bound to one tenant, with at most its owner's permissions.
    ApiKey(Box<ApiKey>),
}

impl Principal {
    /// The login session of the request (None for API keys).
    pub fn session_id(&self) -> Option<AuthSessionId> {
        match &self.credential {
            Credential::Session(id) => Some(*id),
            Credential::ApiKey(_) => None,
        }
    }
}

/// Registration input as typed by a person.
#[derive(Clone, Debug)]
pub struct Registration {
    pub email: String,
    pub username: String,
    pub name: Option<String>,
    pub password: String,
}

const INVALID_CREDENTIALS: &str = "invalid login or password";

/// SHA-256 of a secret token, hex: what the database keeps instead of the token.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// 32 random bytes, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares without leaking where the inputs differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Creates an account. The first account of an installation becomes superadmin, active,
/// and owner of the default tenant whatever the signup mode; later ones follow it.
pub async fn register(store: &dyn Store, settings: &AuthSettings, input: Registration) -> DomainResult<User> {
    let first = store.count_users().await? == 0;
    let (is_active, is_superadmin, role) = match (first, settings.signup) {
        (true, _) => (true, true, "owner"),
        (false, Signup::Closed) => {
            return Err(DomainError::Forbidden("sign-up is closed: ask an administrator for an account".into()));
        }
        (false, Signup::Open) => (true, false, "member"),
        (false, Signup::Approval) => (false, false, "member"),
    };
    let user = create_account(
        store,
        AccountInput {
            email: input.email,
            username: input.username,
            name: input.name,
            password: input.password,
            is_active,
            is_superadmin,
            tenant_id: None,
            role: role.into(),
        },
    )
    .await?;
    audit(store, Some(user.id), "user.register", &user, "account created", &ClientInfo::default()).await?;
    Ok(user)
}

/// Verifies a password against an argon2id PHC string or an imported bcrypt hash; returns
/// whether it matched and, for bcrypt, the argon2id hash to store instead.
async fn check_password(password: String, hash: String) -> DomainResult<(bool, Option<String>)> {
    password::in_lane(password::Lane::Check, move || {
        if hash.starts_with("$2") {
            let matched = bcrypt::verify(&password, &hash).unwrap_or(false);
            let upgraded = if matched { Some(password::hash_blocking(&password)?) } else { None };
            Ok((matched, upgraded))
        } else {
            Ok((password::verify_blocking(&password, &hash), None))
        }
    })
    .await?
}

/// A hash that no password matches, verified when the login names nobody, so that the
/// answer takes as long as for a real account.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Pu4E8JZ4fqE4Nfj2xD5aNPmFz8rtyGJd8b3qVpqK0dE";

pub async fn login(
    store: &dyn Store,
    tokens: &Tokens,
    settings: &AuthSettings,
    login: &str,
    password: &str,
    second: &crate::two_factor::SecondFactor,
    client: &ClientInfo,
) -> DomainResult<TokenPair> {
    let user = match store.find_user_by_login(login).await {
        Ok(user) => Some(user),
        Err(DomainError::NotFound(_)) => None,
        Err(error) => return Err(error),
    };
    let hash = user.as_ref().map_or(DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
    let (matched, upgraded) = check_password(password.to_owned(), hash).await?;
    let user = match user {
        Some(user) if matched && user.is_active => user,
        other => {
            let actor = other.as_ref().map(|u| u.id);
            // What was typed as the login is not kept: it may be a password typed in the
            // wrong field. An unknown login is kept as a short keyed hash, to correlate.
            let summary = match &other {
                Some(user) => format!("failed login for {}", user.username),
                None => format!("failed login for an unknown account ({})", &settings.keyring.pepper(login)[..12]),
            };
            audit_raw(store, actor, "user.login_failed", "user", actor.map(|id| id.to_string()), &summary, client)
                .await?;
            return Err(DomainError::Unauthorized(INVALID_CREDENTIALS.into()));
        }
    };
    crate::two_factor::check_login(store, &settings.keyring, &user, second, client).await?;
    if let Some(argon2) = upgraded {
        store.set_password_hash(user.id, &argon2).await?;
    }
    store.record_login(user.id, now()).await?;
    let pair = open_session(store, tokens, settings, user, client).await?;
    audit(store, Some(pair.user.id), "user.login", &pair.user, "logged in", client).await?;
    Ok(pair)
}

async fn open_session(
    store: &dyn Store,
    tokens: &Tokens,
    settings: &AuthSettings,
    user: User,
    client: &ClientInfo,
) -> DomainResult<TokenPair> {
    let session_id = AuthSessionId::new();
    let refresh_token = format!("{session_id}.{}", random_secret());
    let refresh_expires_at = now() + settings.refresh_ttl;
    let session = store
        .create_session(NewAuthSession {
            id: session_id,
            user_id: user.id,
            refresh_token_hash: hash_token(&refresh_token),
            expires_at: refresh_expires_at,
            user_agent: client.user_agent.clone(),
            ip: client.ip.clone(),
        })
        .await?;
    let (access_token, access_expires_at) = tokens.issue(user.id, session.id, settings.access_ttl)?;
    Ok(TokenPair { access_token, access_expires_at, refresh_token, refresh_expires_at, session_id: session.id, user })
}

/// The token a browser keeps in its HttpOnly cookie for the session of `pair`: an access
/// token that lives as long as the session (revoking the session still rejects it at once,
/// since every request checks the session).
pub fn browser_token(tokens: &Tokens, pair: &TokenPair) -> DomainResult<(String, Timestamp)> {
    let ttl = (pair.refresh_expires_at - now()).unsigned_abs();
    tokens.issue(pair.user.id, pair.session_id, ttl)
}

/// Exchanges a refresh token for a new pair. The old refresh token stops working; using it
/// again (a sign that it was stolen) revokes the whole session.
pub async fn refresh(
    store: &dyn Store,
    tokens: &Tokens,
    settings: &AuthSettings,
    refresh_token: &str,
) -> DomainResult<TokenPair> {
    let invalid = || DomainError::Unauthorized("the refresh token is invalid, expired or revoked".into());
    let session_id: AuthSessionId =
        refresh_token.split('.').next().and_then(|id| id.parse().ok()).ok_or_else(invalid)?;
    let session = store.get_session(session_id).await.map_err(|_| invalid())?;
    if session.revoked_at.is_some() || session.expires_at <= now() {
        return Err(invalid());
    }
    let presented = hash_token(refresh_token);
    if !constant_time_eq(&presented, &session.refresh_token_hash) {
        match store.revoke_session(session.user_id, session.id).await {
            // Revoked meanwhile by a concurrent request: the outcome is the same.
            Ok(()) | Err(DomainError::NotFound(_)) => {}
            Err(error) => return Err(error),
        }
        return Err(DomainError::Unauthorized("this refresh token was already used: the session is revoked".into()));
    }
    let user = store.get_user(session.user_id).await?;
    if !user.is_active {
        return Err(invalid());
    }
    let new_token = format!("{session_id}.{}", random_secret());
    let refresh_expires_at = now() + settings.refresh_ttl;
    // Conditional on the old hash: of two concurrent refreshes with one token, one wins.
    store
        .rotate_session(session.id, &presented, &hash_token(&new_token), refresh_expires_at)
        .await
        .map_err(|_| invalid())?;
    let (access_token, access_expires_at) = tokens.issue(user.id, session.id, settings.access_ttl)?;
    Ok(TokenPair {
        access_token,
        access_expires_at,
        refresh_token: new_token,
        refresh_expires_at,
        session_id: session.id,
        user,
    })
}

/// Checks an access token, its session (not revoked, not expired) and its user (active).
pub async fn authenticate(store: &dyn Store, tokens: &Tokens, bearer: &str) -> DomainResult<Principal> {
    Ok(authenticate_until(store, tokens, bearer).await?.0)
}

/// `authenticate`, with the instant the credential stops being valid on its own (the
/// session's or the key's expiry), for callers that remember the result.
pub(crate) async fn authenticate_until(
    store: &dyn Store,
    tokens: &Tokens,
    bearer: &str,
) -> DomainResult<(Principal, Option<Timestamp>)> {
    if bearer.starts_with(crate::api_keys::KEY_PREFIX) {
        let (user, key) = crate::api_keys::authenticate_key(store, bearer).await?;
        let expires_at = key.expires_at;
        return Ok((Principal { user, credential: Credential::ApiKey(Box::new(key)) }, expires_at));
    }
    let claims = tokens.verify(bearer)?;
    let revoked = || DomainError::Unauthorized("the session has ended: log in again".into());
    let session = store.get_session(AuthSessionId(claims.sid)).await.map_err(|_| revoked())?;
    if session.revoked_at.is_some() || session.expires_at <= now() || session.user_id.0 != claims.sub {
        return Err(revoked());
    }
    let user = store.get_user(UserId(claims.sub)).await.map_err(|_| revoked())?;
    if !user.is_active {
        return Err(revoked());
    }
    Ok((Principal { user, credential: Credential::Session(session.id) }, Some(session.expires_at)))
}

pub async fn logout(store: &dyn Store, principal: &Principal, client: &ClientInfo) -> DomainResult<()> {
    let session = principal
        .session_id()
        .ok_or_else(|| DomainError::invalid("authorization", "an API key has no session: revoke the key instead"))?;
    store.revoke_session(principal.user.id, session).await?;
    audit(store, Some(principal.user.id), "user.logout", &principal.user, "logged out", client).await
}

/// The tenant of a request: the one named by `hint` (id or slug), else the user's first
/// membership (superadmins without one: the default tenant). A tenant the user does not
/// belong to is `NotFound`, exactly like one that does not exist. An API key's request is
/// in the key's tenant, with the key's permissions that its owner still holds.
pub async fn resolve_access(store: &dyn Store, principal: &Principal, hint: Option<&str>) -> DomainResult<Access> {
    let user = &principal.user;
    let hint = hint.map(str::trim).filter(|h| !h.is_empty());
    if let Credential::ApiKey(key) = &principal.credential {
        let tenant = match hint {
            Some(hint) => find_tenant(store, hint).await?,
            None => store.get_tenant(key.tenant_id).await?,
        };
        if tenant.id != key.tenant_id {
            return Err(DomainError::NotFound("tenant"));
        }
        crate::two_factor::enforce(store, user.id, tenant.require_two_factor).await?;
        let cap = permission_cap(store, user, key.tenant_id).await?;
        let granted: Vec<String> = serde_json::from_value(key.permissions.clone()).map_err(DomainError::internal)?;
        return Ok(Access {
            user_id: user.id,
            tenant_id: key.tenant_id,
            is_superadmin: false,
            permissions: granted.into_iter().filter(|p| cap.contains(p)).collect(),
        });
    }
    member_access(store, user, hint, true).await
}

/// What `user` may do in the tenant named by `hint` (else their first tenant, or the default
/// one for a superadmin without memberships). With `two_factor`, a tenant that requires
/// two-factor authentication refuses a user who has not turned it on.
async fn member_access(store: &dyn Store, user: &User, hint: Option<&str>, two_factor: bool) -> DomainResult<Access> {
    let tenant = match hint {
        Some(hint) => {
            let tenant = find_tenant(store, hint).await?;
            if !user.is_superadmin {
                let membership =
                    store.get_membership(tenant.id, user.id).await.map_err(|_| DomainError::NotFound("tenant"))?;
                if membership.suspended_at.is_some() {
                    return Err(DomainError::Forbidden("your membership of this tenant is suspended".into()));
                }
            }
            tenant
        }
        None => match store.list_memberships_of_user(user.id).await?.iter().find(|m| m.suspended_at.is_none()) {
            Some(membership) => store.get_tenant(membership.tenant_id).await?,
            None if user.is_superadmin => store.default_tenant().await?,
            None => return Err(DomainError::Forbidden("you are not a member of any tenant".into())),
        },
    };
    if two_factor {
        crate::two_factor::enforce(store, user.id, tenant.require_two_factor).await?;
    }
    let permissions = store.effective_permissions(tenant.id, user.id).await?;
    Ok(Access {
        user_id: user.id,
        tenant_id: tenant.id,
        is_superadmin: user.is_superadmin,
        permissions: permissions.into_iter().collect(),
    })
}

/// The access of an operator's command (`tome ingest`) acting for the active user `login`
/// (username or email; else the oldest active superadmin) in the tenant `hint` (else as for
/// a request). Whoever runs the command holds the database already, so there is no
/// password or second factor; the user's permissions still apply.
pub async fn operator_access(store: &dyn Store, login: Option<&str>, hint: Option<&str>) -> DomainResult<Access> {
    let user = match login {
        Some(login) => store.find_user_by_login(login).await.map_err(|_| DomainError::NotFound("user"))?,
        None => oldest_superadmin(store).await?,
    };
    if !user.is_active {
        return Err(DomainError::Forbidden(format!("the account {} is not active", user.username)));
    }
    member_access(store, &user, hint, false).await
}

async fn oldest_superadmin(store: &dyn Store) -> DomainResult<User> {
    // Lists run newest first: the last superadmin seen is the oldest.
    let active = crate::identity::UserFilter { is_active: Some(true), ..Default::default() };
    let mut page = PageRequest::first(crate::page::MAX_LIMIT);
    let mut oldest = None;
    loop {
        let found = store.list_users(active.clone(), page).await?;
        oldest = found.items.into_iter().rev().find(|u| u.is_superadmin).or(oldest);
        match found.next_cursor {
            Some(cursor) => page = PageRequest::parse(Some(crate::page::MAX_LIMIT), Some(&cursor))?,
            None => break,
        }
    }
    oldest.ok_or_else(|| DomainError::invalid("user", "no active superadmin: name the documents' owner with --user"))
}

/// The request's tenant and the tenants the user belongs to (`GET /api/v1/auth/me`).
pub async fn tenants_view(
    store: &dyn Store,
    user: UserId,
    tenant: TenantId,
) -> DomainResult<crate::auth_cache::TenantsView> {
    let tenant = store.get_tenant(tenant).await?;
    let mut memberships = Vec::new();
    for membership in store.list_memberships_of_user(user).await? {
        if membership.suspended_at.is_some() {
            continue;
        }
        memberships.push(store.get_tenant(membership.tenant_id).await?);
    }
    Ok(crate::auth_cache::TenantsView { tenant, memberships })
}

/// A tenant by id or slug; `NotFound("tenant")` either way.
async fn find_tenant(store: &dyn Store, hint: &str) -> DomainResult<crate::identity::Tenant> {
    crate::tenancy::find_tenant(store, hint).await.map_err(|_| DomainError::NotFound("tenant"))
}

/// The most a user may hand on in a tenant (to an API key): everything for a superadmin,
/// else their current effective permissions there; nothing once they are not a member.
pub async fn permission_cap(store: &dyn Store, user: &User, tenant: TenantId) -> DomainResult<Vec<String>> {
    if user.is_superadmin {
        return Ok(crate::catalog::PERMISSIONS.iter().map(|(name, _)| (*name).to_owned()).collect());
    }
    match store.get_membership(tenant, user.id).await {
        Ok(membership) if membership.suspended_at.is_some() => Ok(Vec::new()),
        Ok(_) => store.effective_permissions(tenant, user.id).await,
        Err(DomainError::NotFound(_)) => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

async fn audit(
    store: &dyn Store,
    actor: Option<UserId>,
    action: &str,
    user: &User,
    summary: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    audit_raw(store, actor, action, "user", Some(user.id.to_string()), summary, client).await
}

pub(crate) async fn audit_raw(
    store: &dyn Store,
    actor: Option<UserId>,
    action: &str,
    target_type: &str,
    target_id: Option<String>,
    summary: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    let entry = NewAuditEntry::new(actor, action, (target_type, target_id), summary, client);
    store.append_audit(None, entry).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_verify_with_the_same_key_only() {
        let tokens = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let token = tokens
            .issue(UserId::new(), AuthSessionId::new(), Duration::from_secs(60))
            .map(|(token, _)| token)
            .unwrap_or_default();
        assert!(tokens.verify(&token).is_ok());
        assert!(Tokens::new(b"another key another key another k").verify(&token).is_err());
        assert!(tokens.verify("not.a.token").is_err());
    }

    #[test]
    fn expired_access_token_is_rejected() {
        let tokens = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let claims = Claims {
            sub: Uuid::now_v7(),
            sid: Uuid::now_v7(),
            iat: now().unix_timestamp() - 3600,
            exp: now().unix_timestamp() - 60,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding).unwrap_or_default();
        assert!(matches!(tokens.verify(&token), Err(DomainError::Unauthorized(_))));
    }

    #[test]
    fn the_dummy_hash_is_a_real_argon2_hash_so_unknown_logins_take_as_long() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!password::verify_blocking("anything", DUMMY_HASH));
    }

    #[test]
    fn token_hash_is_hex_sha256_and_secrets_are_random() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_ne!(random_secret(), random_secret());
        assert!(constant_time_eq("same", "same") && !constant_time_eq("same", "sane"));
    }
}
