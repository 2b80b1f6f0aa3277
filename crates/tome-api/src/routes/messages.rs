//! One message: regenerate an answer (a sibling branch), and the caller's rating of it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::chat::Feedback;
use tome_domain::feedback::{self, FeedbackInput};
use tome_domain::{DomainError, MessageId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::rates::Action;
use crate::routes::turns::{self, TurnResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(regenerate))
        .routes(routes!(turn_events))
        .routes(routes!(cancel_turn))
        .routes(routes!(get_feedback, put_feedback, delete_feedback))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RegenerateRequest {
    /// Answer with Server-Sent Events.
    #[serde(default)]
    pub stream: bool,
}

/// Answer the same question again; the new answer is a sibling of this one and becomes the
/// branch shown.
#[utoipa::path(post, path = "/api/v1/messages/{id}/regenerate", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), request_body = RegenerateRequest,
    responses((status = 201, body = TurnResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn regenerate(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Client(client): Client,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> ApiResult<Response> {
    state.spend(Action::Chat, &client, Some(request.principal.user.id))?;
    // The body is optional: no body means a JSON answer.
    let options: RegenerateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RegenerateRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| DomainError::invalid("body", error.to_string()))?
    };
    let stream = options.stream;
    let access = request.access.clone();
    let turn = state.assistant.regenerate(request.store, request.access, MessageId(id)).await?;
    Ok(turns::respond(&state.turns, turn, stream, &access).await)
}

/// What re-attaching to, or cancelling, an answer that is not being written answers.
const NO_TURN: &str = "no answer to this message is being written here";

/// Re-attach to the streamed answer to question `id` (your own, on this node): the events
/// after `Last-Event-ID` (all of them without it), then the rest as they come. 404 when no
/// answer to it is being written here, or was in the last five minutes.
#[utoipa::path(get, path = "/api/v1/messages/{id}/events", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path), ("Last-Event-ID" = Option<String>, Header, description = "The last event received")),
    responses((status = 200, content_type = "text/event-stream", description = "The turn's events"),
        (status = 404, body = ErrorBody)))]
async fn turn_events(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let log = state
        .turns
        .find(id, request.access.tenant_id, request.principal.user.id)
        .ok_or(DomainError::NotFound(NO_TURN))?;
    let seen = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    Ok(turns::replay(log, seen).into_response())
}

/// Stop the answer being written to question `id` (your own): the part written so far is
/// kept, marked cancelled. 404 when none is being written here.
#[utoipa::path(post, path = "/api/v1/messages/{id}/cancel", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 202), (status = 404, body = ErrorBody)))]
async fn cancel_turn(
    State(state): State<AppState>,
    request: Require<perm::ChatUse>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    if state.turns.cancel(id, request.access.tenant_id, request.principal.user.id) {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(DomainError::NotFound(NO_TURN).into())
    }
}

#[derive(Serialize, ToSchema)]
pub struct FeedbackResponse {
    pub message_id: Uuid,
    pub rating: i32,
    pub comment: Option<String>,
    pub correction: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Feedback> for FeedbackResponse {
    fn from(f: Feedback) -> Self {
        Self {
            message_id: f.message_id.0,
            rating: f.rating,
            comment: f.comment,
            correction: f.correction,
            updated_at: f.updated_at,
        }
    }
}

/// A rating: `rating` 1–5, or `thumbs` `up` (5) / `down` (1); a comment and a corrected
/// answer are optional.
#[derive(Deserialize, ToSchema)]
pub struct FeedbackRequest {
    pub rating: Option<i32>,
    pub thumbs: Option<String>,
    pub comment: Option<String>,
    pub correction: Option<String>,
}

/// Rate an answer; rating again replaces the earlier rating.
#[utoipa::path(put, path = "/api/v1/messages/{id}/feedback", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), request_body = FeedbackRequest,
    responses((status = 200, body = FeedbackResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_feedback(
    request: Require<perm::ChatUse>,
    Path(id): Path<Uuid>,
    Json(body): Json<FeedbackRequest>,
) -> ApiResult<Json<FeedbackResponse>> {
    let input =
        FeedbackInput { rating: body.rating, thumbs: body.thumbs, comment: body.comment, correction: body.correction };
    let feedback = feedback::put(request.store.as_ref(), &request.access, MessageId(id), input).await?;
    Ok(Json(feedback.into()))
}

/// The caller's rating of an answer.
#[utoipa::path(get, path = "/api/v1/messages/{id}/feedback", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 200, body = FeedbackResponse), (status = 404, body = ErrorBody)))]
async fn get_feedback(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<Json<FeedbackResponse>> {
    Ok(Json(feedback::get(request.store.as_ref(), &request.access, MessageId(id)).await?.into()))
}

/// Withdraw the caller's rating.
#[utoipa::path(delete, path = "/api/v1/messages/{id}/feedback", tag = "chat", security(("bearer" = ["chat.use"])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_feedback(request: Require<perm::ChatUse>, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    feedback::delete(request.store.as_ref(), &request.access, MessageId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
