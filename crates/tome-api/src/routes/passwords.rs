//! Password change, forgot and reset.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tome_domain::passwords;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Client, CurrentUser};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8–128 characters, not the username or email.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Change your password; your other sessions end.
#[utoipa::path(put, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
    Client(client): Client,
    Json(body): Json<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    passwords::change_password(state.store.as_ref(), &principal, &body.current_password, &body.new_password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ForgotPasswordRequest {
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct AcceptedResponse {
    pub message: &'static str,
}

/// Mail a reset token to the account with this email, if there is one. The answer is the
/// same either way.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = ForgotPasswordRequest,
    responses((status = 202, body = AcceptedResponse)))]
async fn forgot_password(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<ForgotPasswordRequest>,
) -> ApiResult<Response> {
    state.limits.attempt("forgot", client.ip.as_deref(), &body.email)?;
    if body.email.len() > 254 {
        return Err(tome_domain::DomainError::invalid("email", "must be at most 254 characters").into());
    }
    // The work (looking the account up, making a token, mailing it) happens after the
    // answer, so that the answer takes the same time whether or not the account exists.
    let (store, mailer) = (state.store.clone(), state.mailer.clone());
    tokio::spawn(async move {
        if let Err(error) = passwords::forgot_password(store.as_ref(), mailer.as_ref(), &body.email, &client).await {
            tracing::error!(%error, "a password reset could not be started");
        }
    });
    let message = "if an account has this email, a reset token is on its way";
    Ok((StatusCode::ACCEPTED, Json(AcceptedResponse { message })).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    pub token: String,
    /// 8–128 characters, not the username or email.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Set a new password with a mailed token (once, within 30 minutes); every session ends.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    Client(client): Client,
    Json(body): Json<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    // Reset tokens are unguessable; the per-address limit still stops a flood of guesses.
    state.limits.attempt("reset", client.ip.as_deref(), "any token")?;
    passwords::reset_password(state.store.as_ref(), &body.token, &body.new_password, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
