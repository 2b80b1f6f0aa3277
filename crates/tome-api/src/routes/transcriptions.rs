//! Recordings to transcripts and minutes: multipart upload (streamed to storage, size-capped,
//! typed from its content) creating a job, the jobs with their progress, and deletion.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tome_domain::audio::TranscriptionJob;
use tome_domain::transcriptions::{self, TranscriptionOptions, UploadedAudio};
use tome_domain::{DomainError, ProjectId, TranscriptionJobId};
use tome_rag::storage::StoredFile;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, perm};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query};
use crate::form::{self, drain, form_error, multipart_error, parse_field};
use crate::rates::Action;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_transcriptions, create_transcription))
        // The recording is size-capped while it streams (TOME_MAX_UPLOAD_BYTES).
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(get_transcription, delete_transcription))
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptionResponse {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub original_name: String,
    pub mime_type: Option<String>,
    pub size_bytes: i64,
    /// `pending` → `processing` → `completed` | `failed`.
    pub status: String,
    /// Seconds heard so far and the recording's length (null until known).
    pub progress: TranscriptionProgress,
    /// The language heard (or given).
    pub language: Option<String>,
    /// The transcription model that heard it.
    pub model: Option<String>,
    /// The whole transcript as text (null until heard).
    pub transcript: Option<String>,
    /// Timed segments: `[{"start", "end", "text"}]`, seconds from the start.
    pub segments: Value,
    /// The minutes, in Markdown.
    pub minutes: Option<String>,
    /// Why it failed, as a sentence.
    pub error: Option<String>,
    /// The `full_transcript` document it added to the knowledge base.
    pub transcript_document_id: Option<Uuid>,
    /// The `meeting_minutes` document it added.
    pub minutes_document_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    /// Of the two documents: `tenant` or `private`.
    pub visibility: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptionProgress {
    pub seconds_done: f64,
    pub seconds_total: Option<f64>,
}

impl From<TranscriptionJob> for TranscriptionResponse {
    fn from(t: TranscriptionJob) -> Self {
        Self {
            id: t.id.0,
            user_id: t.user_id.map(|u| u.0),
            original_name: t.original_name,
            mime_type: t.mime_type,
            size_bytes: t.size_bytes,
            status: t.status.to_string(),
            progress: TranscriptionProgress { seconds_done: t.progress_seconds, seconds_total: t.duration_seconds },
            language: t.language,
            model: t.model,
            transcript: t.transcript,
            segments: t.segments,
            minutes: t.minutes,
            error: t.error,
            transcript_document_id: t.transcript_document_id.map(|d| d.0),
            minutes_document_id: t.minutes_document_id.map(|d| d.0),
            project_id: t.project_id.map(|p| p.0),
            visibility: t.visibility.to_string(),
            started_at: t.started_at,
            completed_at: t.completed_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// The multipart form of a transcription request (for the OpenAPI document).
#[derive(ToSchema)]
pub struct TranscriptionForm {
    /// The recording: WAV, MP3, FLAC, Ogg, M4A/AAC, MP4.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The language spoken (`en`…), when known; else detected.
    pub language: Option<String>,
    pub project_id: Option<Uuid>,
    /// Of the transcript and minutes: `tenant` (default with `documents.ingest`) or `private`.
    pub visibility: Option<String>,
}

/// Transcribe a recording (permission `transcriptions.create`): `multipart/form-data` with
/// one `file` and optional `language`, `project_id`, `visibility`. Answers 202 with the job
/// (`pending`); a worker hears it, writes minutes, and adds both as documents. 413 over the
/// upload limit, 415 for a file that is not a recording, 503 when the server has no
/// transcription model.
#[utoipa::path(post, path = "/api/v1/transcriptions", tag = "transcriptions",
    security(("bearer" = ["transcriptions.create"])),
    request_body(content = TranscriptionForm, content_type = "multipart/form-data"),
    responses((status = 202, body = TranscriptionResponse), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn create_transcription(
    State(state): State<AppState>,
    request: Require<perm::TranscriptionsCreate>,
    Client(client): Client,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    state.spend(Action::Transcribe, &client, Some(request.principal.user.id))?;
    if state.config.whisper_model_dir.is_none() && state.config.stt_base_url.is_none() {
        return Err(DomainError::Unavailable(
            "this server has no transcription model (TOME_WHISPER_MODEL_DIR or TOME_STT_BASE_URL)".into(),
        )
        .into());
    }
    let mut multipart = multipart.map_err(multipart_error)?;
    let mut received: Option<(String, StoredFile, &'static str)> = None;
    let mut options = TranscriptionOptions::default();
    let outcome: Result<(), ApiError> = async {
        while let Some(field) = multipart.next_field().await.map_err(form_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            match name.as_str() {
                "file" => {
                    if received.is_some() {
                        return Err(DomainError::invalid("file", "one recording per request").into());
                    }
                    let file_name: String = field.file_name().unwrap_or("recording").chars().take(255).collect();
                    let (stored, mime) =
                        state.intake.receive_audio(request.access.tenant_id, &file_name, field.boxed()).await?;
                    received = Some((file_name, stored, mime));
                }
                "language" => options.language = Some(form::text(field, "language").await?),
                "project_id" => {
                    let text = form::text(field, "project_id").await?;
                    let id =
                        Uuid::parse_str(text.trim()).map_err(|_| DomainError::invalid("project_id", "not a UUID"))?;
                    options.project_id = Some(ProjectId(id));
                }
                "visibility" => options.visibility = Some(parse_field("visibility", &form::text(field, &name).await?)?),
                other => {
                    let other: String = other.chars().take(64).collect();
                    return Err(DomainError::invalid(other, "unknown form field").into());
                }
            }
        }
        if received.is_none() {
            return Err(DomainError::invalid("file", "no recording in the request").into());
        }
        Ok(())
    }
    .await;
    let (original_name, stored, mime) = match (outcome, received) {
        (Ok(()), Some(received)) => received,
        (outcome, received) => {
            // A refused request leaves nothing in storage.
            if let Some((_, stored, _)) = received {
                state.intake.discard(&stored.key).await;
            }
            drain(&mut multipart).await;
            return Err(outcome.err().unwrap_or_else(|| DomainError::invalid("file", "no recording").into()));
        }
    };
    let audio = UploadedAudio {
        original_name,
        audio_key: stored.key.clone(),
        mime_type: mime.to_owned(),
        size_bytes: i64::try_from(stored.size_bytes).unwrap_or(i64::MAX),
    };
    match transcriptions::create(request.store.as_ref(), &request.access, audio, options, &client).await {
        Ok(job) => Ok((StatusCode::ACCEPTED, Json(TranscriptionResponse::from(job))).into_response()),
        Err(error) => {
            state.intake.discard(&stored.key).await;
            Err(error.into())
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TranscriptionQuery {
    /// Everyone's in the tenant (needs `documents.manage`), not only yours.
    pub all: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Your transcriptions, newest first (permission `transcriptions.create`).
#[utoipa::path(get, path = "/api/v1/transcriptions", tag = "transcriptions",
    security(("bearer" = ["transcriptions.create"])), params(TranscriptionQuery),
    responses((status = 200, body = PageResponse<TranscriptionResponse>), (status = 403, body = ErrorBody)))]
async fn list_transcriptions(
    request: Require<perm::TranscriptionsCreate>,
    Query(query): Query<TranscriptionQuery>,
) -> ApiResult<Json<PageResponse<TranscriptionResponse>>> {
    let page = PageQuery { limit: query.limit, cursor: query.cursor }.request()?;
    let list = transcriptions::list(request.store.as_ref(), &request.access, query.all.unwrap_or(false), page).await?;
    Ok(Json(PageResponse::from_page(list, TranscriptionResponse::from)))
}

/// One transcription, with its progress while it runs (yours, or any with `documents.manage`).
#[utoipa::path(get, path = "/api/v1/transcriptions/{id}", tag = "transcriptions",
    security(("bearer" = ["transcriptions.create"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = TranscriptionResponse), (status = 404, body = ErrorBody)))]
async fn get_transcription(
    request: Require<perm::TranscriptionsCreate>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<TranscriptionResponse>> {
    Ok(Json(transcriptions::get(request.store.as_ref(), &request.access, TranscriptionJobId(id)).await?.into()))
}

/// Delete a transcription and its recording; the transcript and minutes documents stay
/// (delete them as documents).
#[utoipa::path(delete, path = "/api/v1/transcriptions/{id}", tag = "transcriptions",
    security(("bearer" = ["transcriptions.create"])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_transcription(
    State(state): State<AppState>,
    request: Require<perm::TranscriptionsCreate>,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let job = transcriptions::delete(request.store.as_ref(), &request.access, TranscriptionJobId(id), &client).await?;
    state.intake.discard(&job.audio_key).await;
    Ok(StatusCode::NO_CONTENT)
}
