//! Accounts and sessions: register, login, refresh, logout, me, sessions.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::AuthSessionId;
use tome_domain::auth::{self, ClientInfo, Credential, Registration, TokenPair};
use tome_domain::identity::{AuthSession, User};
use tome_domain::two_factor::SecondFactor;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, CurrentUser, TenantAccess};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::rates::Action;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_sessions, revoke_other_sessions))
        .routes(routes!(revoke_session))
}

/// A user as the API shows it (never the password hash).
#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub name: Option<String>,
    pub is_active: bool,
    pub is_superadmin: bool,
    pub profile: serde_json::Value,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            email: user.email,
            username: user.username,
            name: user.name,
            is_active: user.is_active,
            is_superadmin: user.is_superadmin,
            profile: user.profile,
            last_login_at: user.last_login_at,
            created_at: user.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    /// 3–30 characters of a-z, 0-9, `.`, `_`, `-`.
    pub username: String,
    pub name: Option<String>,
    /// 8–128 characters, not the username or email.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct RegisterResponse {
    pub user: UserResponse,
    /// `active`, or `pending_approval` until an administrator activates the account.
    pub status: &'static str,
}

/// Create an account. The first account of an installation becomes superadmin; later ones
/// follow `TOME_SIGNUP` (`open`, `approval`: inactive until activated, `closed`: 403).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, body = RegisterResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    (status = 429, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<RegisterRequest>,
) -> ApiResult<Response> {
    state.spend(Action::Register, &client, None)?;
    let registration =
        Registration { email: body.email, username: body.username, name: body.name, password: body.password };
    let user = auth::register(state.store.as_ref(), &state.auth, registration).await?;
    let status = if user.is_active { "active" } else { "pending_approval" };
    Ok((StatusCode::CREATED, Json(RegisterResponse { user: user.into(), status })).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Email or username.
    #[serde(alias = "email", alias = "username")]
    pub login: String,
    pub password: String,
    /// The authenticator's current code, when two-factor authentication is on.
    pub totp_code: Option<String>,
    /// Instead of `totp_code`: one of the recovery codes (each works once).
    pub recovery_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; exchange it at `/api/v1/auth/refresh` for a new pair (it works once).
    pub refresh_token: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub refresh_expires_at: OffsetDateTime,
    pub session_id: Uuid,
    pub user: UserResponse,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: (pair.access_expires_at - tome_domain::now()).whole_seconds().max(0),
            refresh_token: pair.refresh_token,
            refresh_expires_at: pair.refresh_expires_at,
            session_id: pair.session_id.0,
            user: pair.user.into(),
        }
    }
}

/// Log in by email or username. Every failure answers the same 401.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(sign_in(&state, &client, body).await?.into()))
}

/// A login under the attempt limits, for tokens or for a browser's cookie.
pub(crate) async fn sign_in(state: &AppState, client: &ClientInfo, body: LoginRequest) -> ApiResult<TokenPair> {
    state.limits.attempt("login", client.ip.as_deref(), &body.login)?;
    let second = SecondFactor { totp_code: body.totp_code, recovery_code: body.recovery_code };
    let store = state.store.as_ref();
    let pair = auth::login(store, &state.tokens, &state.auth, &body.login, &body.password, &second, client).await?;
    for name in [&body.login, &pair.user.username, &pair.user.email] {
        state.limits.succeeded(client.ip.as_deref(), name);
    }
    Ok(pair)
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new pair. Reusing an old refresh token revokes the session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    state.spend(Action::Refresh, &client, None)?;
    let pair = auth::refresh(state.store.as_ref(), &state.tokens, &state.auth, &body.refresh_token).await?;
    Ok(Json(pair.into()))
}

/// End this session: its access token (or the browser's session cookie, which the answer
/// removes) stops working on the next request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204), (status = 401, body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
) -> ApiResult<Response> {
    auth::logout(state.store.as_ref(), &principal, &client).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, state.cookies.clear())]).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct TenantSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub user: UserResponse,
    /// The tenant of this request.
    pub tenant: TenantSummary,
    pub memberships: Vec<TenantSummary>,
    /// Effective permissions in `tenant` (superadmins pass every check regardless).
    pub permissions: Vec<String>,
    /// The login session of the request (null when an API key authenticated it).
    pub session_id: Option<Uuid>,
    /// The API key that authenticated the request, if one did.
    pub api_key_id: Option<Uuid>,
}

/// The caller, the request's tenant, their memberships and permissions there.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    params(("X-Tenant" = Option<String>, Header, description = "Tenant id or slug")),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn me(State(state): State<AppState>, tenant_access: TenantAccess) -> ApiResult<Json<MeResponse>> {
    let TenantAccess { principal, access, epoch, .. } = tenant_access;
    let summary = |t: tome_domain::identity::Tenant| TenantSummary { id: t.id.0, slug: t.slug, name: t.name };
    let view = state.auth_cache.tenants_view(state.store.as_ref(), epoch, principal.user.id, access.tenant_id).await?;
    let tenant = summary(view.tenant);
    let memberships = view.memberships.into_iter().map(summary).collect();
    Ok(Json(MeResponse {
        user: principal.user.clone().into(),
        tenant,
        memberships,
        permissions: access.permissions.into_iter().collect(),
        session_id: principal.session_id().map(|id| id.0),
        api_key_id: match &principal.credential {
            Credential::ApiKey(key) => Some(key.id.0),
            Credential::Session(_) => None,
        },
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// Whether this is the session of the request.
    pub current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionResponse>,
    pub next_cursor: Option<String>,
}

fn session_response(session: AuthSession, current: Option<AuthSessionId>) -> SessionResponse {
    SessionResponse {
        id: session.id.0,
        user_agent: session.user_agent,
        ip: session.ip,
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        expires_at: session.expires_at,
        current: Some(session.id) == current,
    }
}

/// The caller's live sessions (devices), newest first.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
) -> ApiResult<Json<SessionList>> {
    let sessions = state.store.list_sessions(principal.user.id).await?;
    let items = sessions.into_iter().map(|s| session_response(s, principal.session_id())).collect();
    Ok(Json(SessionList { items, next_cursor: None }))
}

#[derive(Serialize, ToSchema)]
pub struct RevokedResponse {
    pub revoked: u64,
}

/// Revoke every session of the caller but this one.
#[utoipa::path(delete, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = RevokedResponse), (status = 401, body = ErrorBody)))]
async fn revoke_other_sessions(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
) -> ApiResult<Json<RevokedResponse>> {
    let revoked = state.store.revoke_sessions(principal.user.id, principal.session_id()).await?;
    Ok(Json(RevokedResponse { revoked }))
}

/// Revoke one of the caller's sessions (404 for anyone else's).
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_session(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    state.store.revoke_session(principal.user.id, AuthSessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
