//! Everyone's ratings, for administrators (`feedback.read`): a filtered list, and an export of
//! question/answer/correction triples as JSON Lines, ready to use as an evaluation set.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tome_domain::UserId;
use tome_domain::chat::{FeedbackEntry, FeedbackFilter};
use tome_domain::feedback;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_feedback)).routes(routes!(export_feedback))
}

#[derive(Serialize, ToSchema)]
pub struct FeedbackEntryResponse {
    pub id: Uuid,
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub rating: i32,
    pub comment: Option<String>,
    pub correction: Option<String>,
    /// The question the rated answer answered.
    pub question: Option<String>,
    pub answer: String,
    pub model: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<FeedbackEntry> for FeedbackEntryResponse {
    fn from(e: FeedbackEntry) -> Self {
        Self {
            id: e.id.0,
            message_id: e.message_id.0,
            conversation_id: e.conversation_id.0,
            user_id: e.user_id.0,
            rating: e.rating,
            comment: e.comment,
            correction: e.correction,
            question: e.question,
            answer: e.answer,
            model: e.model,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackQuery {
    pub min_rating: Option<i32>,
    pub max_rating: Option<i32>,
    pub user_id: Option<Uuid>,
    /// Rated at or after (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub since: Option<OffsetDateTime>,
    /// Rated before (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub until: Option<OffsetDateTime>,
    /// Only ratings with a correction.
    #[serde(default)]
    pub with_correction: bool,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl FeedbackQuery {
    fn filter(&self) -> FeedbackFilter {
        FeedbackFilter {
            min_rating: self.min_rating,
            max_rating: self.max_rating,
            user_id: self.user_id.map(UserId),
            since: self.since,
            until: self.until,
            with_correction: self.with_correction,
        }
    }
}

/// The tenant's ratings, newest first (permission `feedback.read`).
#[utoipa::path(get, path = "/api/v1/feedback", tag = "chat", security(("bearer" = ["feedback.read"])),
    params(FeedbackQuery),
    responses((status = 200, body = PageResponse<FeedbackEntryResponse>), (status = 403, body = ErrorBody)))]
async fn list_feedback(
    request: Require<perm::FeedbackRead>,
    Query(query): Query<FeedbackQuery>,
) -> ApiResult<Json<PageResponse<FeedbackEntryResponse>>> {
    let page = PageQuery { limit: query.limit, cursor: query.cursor.clone() }.request()?;
    let entries = feedback::list(request.store.as_ref(), &request.access, query.filter(), page).await?;
    Ok(Json(PageResponse::from_page(entries, FeedbackEntryResponse::from)))
}

/// The ratings as JSON Lines, one `{"question", "answer", "correction", "rating", "comment",
/// "model", "message_id"}` object per line (permission `feedback.read`).
#[utoipa::path(get, path = "/api/v1/feedback/export", tag = "chat", security(("bearer" = ["feedback.read"])),
    params(FeedbackQuery),
    responses((status = 200, content_type = "application/x-ndjson", body = String), (status = 403, body = ErrorBody)))]
async fn export_feedback(
    request: Require<perm::FeedbackRead>,
    Query(query): Query<FeedbackQuery>,
) -> ApiResult<Response> {
    let entries = feedback::export(request.store.as_ref(), &request.access, query.filter()).await?;
    let mut body = String::new();
    for entry in entries {
        let line = serde_json::json!({
            "question": entry.question, "answer": entry.answer, "correction": entry.correction,
            "rating": entry.rating, "comment": entry.comment, "model": entry.model,
            "message_id": entry.message_id, "conversation_id": entry.conversation_id,
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    let headers = [
        (header::CONTENT_TYPE, "application/x-ndjson"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\"feedback.jsonl\""),
    ];
    Ok((headers, body).into_response())
}
