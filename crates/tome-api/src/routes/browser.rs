//! What the web app needs before anyone is signed in: the installation's first-run state,
//! and signing in to a browser session held in an HttpOnly cookie.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use tome_config::SignupMode;
use tome_domain::auth;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Client;
use crate::browser;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Json;
use crate::routes::auth::{LoginRequest, UserResponse, sign_in};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(first_run)).routes(routes!(cookie_login))
}

#[derive(Serialize, ToSchema)]
pub struct FirstRunResponse {
    /// True until the first account exists: that account becomes the administrator.
    pub needs_admin: bool,
    /// `open`, `approval` (new accounts wait for an administrator) or `closed`.
    #[schema(pattern = "^(open|approval|closed)$")]
    pub signup: &'static str,
    /// The models the server answers with. Shown only during the first run (null after).
    pub models: Option<ModelsStatus>,
}

#[derive(Serialize, ToSchema)]
pub struct ModelsStatus {
    /// The sentence embedder of semantic search (null: search is keyword-only).
    pub embedder: Option<String>,
    /// The chat models offered, default first (empty: answers quote the best passages).
    pub chat_models: Vec<String>,
    /// Whether recordings can be transcribed (a Whisper folder or a transcription server).
    pub transcriber: bool,
}

/// The installation's first-run state: whether an administrator must still be created, the
/// sign-up mode, and (during the first run only) which models are present. Public.
#[utoipa::path(get, path = "/api/v1/setup", tag = "auth", responses((status = 200, body = FirstRunResponse)))]
async fn first_run(State(state): State<AppState>) -> ApiResult<Json<FirstRunResponse>> {
    let needs_admin = state.store.count_users().await? == 0;
    let signup = match state.config.signup {
        SignupMode::Open => "open",
        SignupMode::Approval => "approval",
        SignupMode::Closed => "closed",
    };
    let models = needs_admin.then(|| ModelsStatus {
        embedder: state.retriever.embedder().map(|embedder| embedder.model_name().to_owned()),
        chat_models: state.assistant.models().iter().map(|model| model.name().to_owned()).collect(),
        transcriber: state.config.whisper_model_dir.is_some() || state.config.stt_base_url.is_some(),
    });
    Ok(Json(FirstRunResponse { needs_admin, signup, models }))
}

#[derive(Serialize, ToSchema)]
pub struct CookieSessionResponse {
    pub user: UserResponse,
    pub session_id: Uuid,
    /// When the browser session ends unless it is signed out earlier.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// Sign in a browser: like `/api/v1/auth/login`, but the session lives in an HttpOnly,
/// SameSite=Lax cookie (`Secure` behind https) that scripts cannot read, and no token is
/// returned. Needs the `X-Tome-CSRF` header. Later changes made with the cookie need it too,
/// and an `Origin` (when sent) of this server. `POST /api/v1/auth/logout` ends it.
#[utoipa::path(post, path = "/api/v1/auth/cookie", tag = "auth", request_body = LoginRequest,
    params(("X-Tome-CSRF" = String, Header, description = "Any value; proves the request comes from a page of this server")),
    responses((status = 200, body = CookieSessionResponse, headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn cookie_login(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    browser::check_same_origin(&headers, &state.cookies)?;
    let pair = sign_in(&state, &client, body).await?;
    let (token, expires_at) = auth::browser_token(&state.tokens, &pair)?;
    let cookie = state.cookies.set(&token, expires_at);
    let body = CookieSessionResponse { user: pair.user.into(), session_id: pair.session_id.0, expires_at };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}
