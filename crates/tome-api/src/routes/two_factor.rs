//! The caller's TOTP two-factor authentication: status, setup, enable (returns recovery
//! codes once), disable. Wrong codes count against the per-address and per-account limits.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use tome_domain::two_factor::{self, SecondFactor};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Client, CurrentUser};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_status))
        .routes(routes!(setup))
        .routes(routes!(enable))
        .routes(routes!(disable))
}

#[derive(Serialize, ToSchema)]
pub struct StatusResponse {
    pub enabled: bool,
    pub recovery_codes_left: i64,
}

/// Whether two-factor authentication is on.
#[utoipa::path(get, path = "/api/v1/auth/2fa", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = StatusResponse), (status = 401, body = ErrorBody)))]
async fn get_status(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
) -> ApiResult<Json<StatusResponse>> {
    let status = two_factor::status(state.store.as_ref(), principal.user.id).await?;
    Ok(Json(StatusResponse { enabled: status.enabled, recovery_codes_left: status.recovery_codes_left }))
}

#[derive(Serialize, ToSchema)]
pub struct SetupResponse {
    /// Base32 secret for an authenticator app.
    pub secret: String,
    /// The same as an `otpauth://` URL (for a QR code).
    pub otpauth_url: String,
}

/// Start setting up: a new secret, pending until confirmed with a code (409 while it is on).
#[utoipa::path(post, path = "/api/v1/auth/2fa/setup", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SetupResponse), (status = 409, body = ErrorBody)))]
async fn setup(State(state): State<AppState>, CurrentUser(principal): CurrentUser) -> ApiResult<Json<SetupResponse>> {
    let setup = two_factor::setup(state.store.as_ref(), &state.auth.keyring, &principal.user).await?;
    Ok(Json(SetupResponse { secret: setup.secret, otpauth_url: setup.otpauth_url }))
}

#[derive(Deserialize, ToSchema)]
pub struct EnableRequest {
    /// The authenticator's current code.
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct EnableResponse {
    /// Ten single-use codes for when the authenticator is lost. Shown only now.
    pub recovery_codes: Vec<String>,
}

/// Turn two-factor on by confirming the pending secret with a code.
#[utoipa::path(post, path = "/api/v1/auth/2fa/enable", tag = "auth", security(("bearer" = [])), request_body = EnableRequest,
    responses((status = 200, body = EnableResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn enable(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Json(body): Json<EnableRequest>,
) -> ApiResult<Json<EnableResponse>> {
    state.limits.attempt("2fa", client.ip.as_deref(), &principal.user.username)?;
    let recovery_codes =
        two_factor::enable(state.store.as_ref(), &state.auth.keyring, &principal.user, &body.code, &client).await?;
    Ok(Json(EnableResponse { recovery_codes }))
}

#[derive(Deserialize, ToSchema)]
pub struct DisableRequest {
    pub totp_code: Option<String>,
    pub recovery_code: Option<String>,
}

/// Turn two-factor off (needs a current code or a recovery code).
#[utoipa::path(post, path = "/api/v1/auth/2fa/disable", tag = "auth", security(("bearer" = [])), request_body = DisableRequest,
    responses((status = 200, body = StatusResponse), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn disable(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Json(body): Json<DisableRequest>,
) -> ApiResult<Json<StatusResponse>> {
    state.limits.attempt("2fa", client.ip.as_deref(), &principal.user.username)?;
    let second = SecondFactor { totp_code: body.totp_code, recovery_code: body.recovery_code };
    two_factor::disable(state.store.as_ref(), &state.auth.keyring, &principal.user, &second, &client).await?;
    Ok(Json(StatusResponse { enabled: false, recovery_codes_left: 0 }))
}
