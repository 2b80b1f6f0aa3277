//! Authentication at the edge: extractors that turn a bearer token into a `Principal`, an
//! `Access` (tenant + permissions), or a checked permission. A handler's signature says what
//! it needs: `CurrentUser`, `TenantAccess`, or `Require<perm::X>`. A bad token is always 401.
//! Browsers present the session cookie instead (see `browser`).

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use ipnet::IpNet;
use tome_domain::DomainError;
use tome_domain::access::Access;
use tome_domain::auth::{ClientInfo, Principal};
use tome_domain::auth_cache::Epoch;
use tome_domain::repo::Store;

use crate::AppState;
use crate::browser;
use crate::error::ApiError;

/// The header that picks the tenant of a request (id or slug).
pub const TENANT_HEADER: &str = "x-tenant";

/// A request with a valid access token of a live session and an active user.
pub struct CurrentUser(pub Principal);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(authenticated(parts, state).await?.0))
    }
}

/// The request's principal and the auth epoch it was checked under (read before anything
/// else: see `tome_domain::auth_cache`). The credential is the `Authorization` header, else
/// the browser's session cookie (whose changes must pass the CSRF check).
async fn authenticated(parts: &Parts, state: &AppState) -> Result<(Principal, Epoch), ApiError> {
    let token = match parts.headers.get(header::AUTHORIZATION) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| DomainError::Unauthorized("the Authorization header must be `Bearer <token>`".into()))?,
        None => {
            let token = browser::session_token(&parts.headers).ok_or_else(|| {
                DomainError::Unauthorized("this needs `Authorization: Bearer <token>` or a signed-in browser".into())
            })?;
            if browser::is_change(&parts.method) {
                browser::check_same_origin(&parts.headers, &state.cookies)?;
            }
            token
        }
    };
    let store = state.store.as_ref();
    let epoch = state.auth_cache.epoch(store).await?;
    let principal = state.auth_cache.authenticate(store, &state.tokens, epoch, token).await?;
    Ok((principal, epoch))
}

/// `CurrentUser` plus the request's tenant (the `X-Tenant` header, else the user's first
/// membership) and the user's permissions there.
pub struct TenantAccess {
    pub principal: Principal,
    pub access: Access,
    /// The store confined to the request's tenant (row-level security on PostgreSQL): what
    /// handlers of tenant data use.
    pub store: Arc<dyn Store>,
    /// The auth epoch the request was checked under, for further cached lookups.
    pub epoch: Epoch,
}

impl FromRequestParts<AppState> for TenantAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (principal, epoch) = authenticated(parts, state).await?;
        let hint = parts.headers.get(TENANT_HEADER).and_then(|v| v.to_str().ok());
        let access = state.auth_cache.resolve_access(state.store.as_ref(), epoch, &principal, hint).await?;
        let store = state.store.for_tenant(access.tenant_id);
        Ok(Self { principal, access, store, epoch })
    }
}

/// A permission named in a handler's signature.
pub trait Permission: Send + Sync {
    const NAME: &'static str;
}

/// `TenantAccess` that holds permission `P` (403 otherwise).
pub struct Require<P: Permission> {
    pub principal: Principal,
    pub access: Access,
    /// As `TenantAccess::store`.
    pub store: Arc<dyn Store>,
    permission: PhantomData<P>,
}

impl<P: Permission> FromRequestParts<AppState> for Require<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let TenantAccess { principal, access, store, .. } = TenantAccess::from_request_parts(parts, state).await?;
        access.require(P::NAME)?;
        Ok(Self { principal, access, store, permission: PhantomData })
    }
}

/// Marker types for the permission catalog.
pub mod perm {
    use super::Permission;

    macro_rules! permissions {
        ($($name:ident => $text:literal),* $(,)?) => {$(
            #[doc = concat!("The permission `", $text, "`.")]
            pub struct $name;
            impl Permission for $name {
                const NAME: &'static str = $text;
            }
        )*};
    }

    permissions!(
        DocumentsRead => "documents.read",
        DocumentsIngest => "documents.ingest",
        DocumentsManage => "documents.manage",
        ChatUse => "chat.use",
        PersonasManage => "personas.manage",
        ProjectsManage => "projects.manage",
        TranscriptionsCreate => "transcriptions.create",
        MembersManage => "members.manage",
        RolesManage => "roles.manage",
        UsersManage => "users.manage",
        AuditRead => "audit.read",
        FeedbackRead => "feedback.read",
        UsageRead => "usage.read",
        TenantManage => "tenant.manage",
    );
}

/// The caller's user agent and address, for sessions, limits and the audit log. The
/// address is the peer's, unless the peer is a trusted proxy (`TOME_TRUSTED_PROXIES`): then
/// it is the last address in `X-Forwarded-For` that is not itself a trusted proxy.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user_agent =
            parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(512).collect());
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let ip = peer.map(|peer| client_address(peer, &parts.headers, &state.trusted_proxies).to_string());
        Ok(Self(ClientInfo { user_agent, ip }))
    }
}

/// The client's address as `X-Forwarded-For` gives it, believed only from trusted proxies.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(address) => {
                client = address;
                if !is_trusted(&address) {
                    break;
                }
            }
            // Garbage in the chain: stop at the last address that could be checked.
            Err(_) => break,
        }
    }
    client
}

/// Parses `TOME_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges.
pub fn parse_trusted_proxies(raw: Option<&str>) -> Result<Vec<IpNet>, String> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("invalid configuration: trusted_proxies (TOME_TRUSTED_PROXIES): `{part}` is not an address or CIDR range"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted = parse_trusted_proxies(Some("127.0.0.1, 10.0.0.0/8")).unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", header::HeaderValue::from_static("203.0.113.9, 198.51.100.7, 10.1.2.3"));
        let local: IpAddr = [127, 0, 0, 1].into();
        assert_eq!(client_address(local, &headers, &trusted).to_string(), "198.51.100.7", "the last untrusted hop");
        let stranger: IpAddr = [192, 0, 2, 1].into();
        assert_eq!(client_address(stranger, &headers, &trusted), stranger, "an untrusted peer's header is ignored");
        assert!(client_address(local, &HeaderMap::new(), &trusted) == local);
        assert!(parse_trusted_proxies(Some("not-an-address")).is_err());
        assert!(parse_trusted_proxies(None).is_ok_and(|list| list.is_empty()));
    }
}
