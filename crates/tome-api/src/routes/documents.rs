//! The request's tenant's documents: multipart upload (streamed to storage), list with
//! filters, one, the original file, its chunks, re-index, change, delete.

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tome_domain::documents::{self, DocumentChanges, Registered, UploadOptions};
use tome_domain::knowledge::{Chunk, Document, DocumentFilter};
use tome_domain::{DocumentId, DomainError, ProjectId, UserId};
use tome_rag::intake::Received;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, perm};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, PageQuery, PageResponse, Path, Query, nullable};
use crate::form::{self, drain, form_error, multipart_error, parse_field};
use crate::rates::Action;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_documents, upload_documents))
        // Files are size-capped one by one while they stream (TOME_MAX_UPLOAD_BYTES).
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(get_document, update_document, delete_document))
        .routes(routes!(get_document_content))
        .routes(routes!(list_document_chunks))
        .routes(routes!(reindex_document))
}

#[derive(Serialize, ToSchema)]
pub struct DocumentResponse {
    pub id: Uuid,
    pub owner_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    /// `tenant` (shared knowledge) or `private` (the owner's alone).
    pub visibility: String,
    pub original_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// `general_document`, `full_transcript` or `meeting_minutes`.
    pub document_type: String,
    /// `uploaded` → `processing` → `processed` | `error`.
    pub status: String,
    /// Why processing failed, or what is missing (such as vectors).
    pub error: Option<String>,
    pub chunk_count: i32,
    /// The model whose vectors the chunks carry (null: none).
    pub embedding_model: Option<String>,
    /// Processed without vectors (no embedder was available): found by keywords only until
    /// `tome reindex` embeds it.
    pub vectors_missing: bool,
    /// Progress while processing: `done` of `total` chunks.
    pub progress: Progress,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub processed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct Progress {
    pub done: i32,
    pub total: i32,
}

impl From<Document> for DocumentResponse {
    fn from(d: Document) -> Self {
        let vectors_missing = d.vectors_missing();
        Self {
            id: d.id.0,
            owner_id: d.owner_id.map(|u| u.0),
            project_id: d.project_id.map(|p| p.0),
            visibility: d.visibility.to_string(),
            original_name: d.original_name,
            mime_type: d.mime_type,
            size_bytes: d.size_bytes,
            sha256: d.sha256,
            document_type: d.document_type.to_string(),
            status: d.status.to_string(),
            error: d.error,
            chunk_count: d.chunk_count,
            embedding_model: d.embedding_model,
            vectors_missing,
            progress: Progress { done: d.progress_done, total: d.progress_total },
            processed_at: d.processed_at,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UploadedDocument {
    #[serde(flatten)]
    pub document: DocumentResponse,
    /// True when the tenant already had this content: this is the existing document.
    pub duplicate: bool,
}

#[derive(Serialize, ToSchema)]
pub struct UploadResponse {
    pub documents: Vec<UploadedDocument>,
}

/// The multipart form of an upload (for the OpenAPI document).
#[derive(ToSchema)]
pub struct UploadForm {
    /// One or more files (repeat the field).
    #[schema(value_type = Vec<String>, format = Binary)]
    pub file: Vec<Vec<u8>>,
    pub project_id: Option<Uuid>,
    /// `tenant` (default) or `private`.
    pub visibility: Option<String>,
    /// `general_document` (default), `full_transcript` or `meeting_minutes`.
    pub document_type: Option<String>,
}

/// Upload documents (permission `documents.ingest`): `multipart/form-data` with one or more
/// `file` fields and optional `project_id`, `visibility`, `document_type`. Each file streams
/// to storage, is hashed and typed from its content, and becomes a document in status
/// `uploaded` (processing follows in the background). Content the tenant already has returns
/// the existing document with `duplicate: true`.
#[utoipa::path(post, path = "/api/v1/documents", tag = "documents", security(("bearer" = ["documents.ingest"])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 202, body = UploadResponse), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn upload_documents(
    State(state): State<AppState>,
    request: Require<perm::DocumentsIngest>,
    Client(client): Client,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    state.spend(Action::Upload, &client, Some(request.principal.user.id))?;
    let mut multipart = multipart.map_err(multipart_error)?;
    let mut received: Vec<Received> = Vec::new();
    let mut options = UploadOptions::default();
    let most_files = state.config.max_upload_files as usize;
    let outcome: Result<(), ApiError> = async {
        while let Some(field) = multipart.next_field().await.map_err(form_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            match name.as_str() {
                "file" | "files" | "file[]" | "files[]" => {
                    if received.len() == most_files {
                        return Err(DomainError::invalid(
                            "file",
                            format!("at most {most_files} files per request (TOME_MAX_UPLOAD_FILES)"),
                        )
                        .into());
                    }
                    let file_name: String = field.file_name().unwrap_or("upload").chars().take(255).collect();
                    let used: u64 = received.iter().map(|r| r.stored.size_bytes).sum();
                    let left = state.intake.max_bytes().saturating_sub(used);
                    let tenant = request.access.tenant_id;
                    received.push(state.intake.receive_within(tenant, &file_name, field.boxed(), left).await?);
                }
                "project_id" => {
                    let text = form::text(field, "project_id").await?;
                    let id =
                        Uuid::parse_str(text.trim()).map_err(|_| DomainError::invalid("project_id", "not a UUID"))?;
                    options.project_id = Some(ProjectId(id));
                }
                "visibility" => options.visibility = Some(parse_field("visibility", &form::text(field, &name).await?)?),
                "document_type" => {
                    options.document_type = Some(parse_field("document_type", &form::text(field, &name).await?)?)
                }
                other => {
                    let other: String = other.chars().take(64).collect();
                    return Err(DomainError::invalid(other, "unknown form field").into());
                }
            }
        }
        if received.is_empty() {
            return Err(DomainError::invalid("file", "no file in the upload").into());
        }
        Ok(())
    }
    .await;
    if let Err(error) = outcome {
        for file in &received {
            state.intake.discard(&file.stored.key).await;
        }
        drain(&mut multipart).await;
        return Err(error);
    }
    let registered = state.intake.register(request.store.as_ref(), &request.access, received, options, &client).await?;
    let documents = registered
        .into_iter()
        .map(|Registered { document, duplicate }| UploadedDocument { document: document.into(), duplicate })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(UploadResponse { documents })).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    /// `uploaded`, `processing`, `processed` or `error`.
    pub status: Option<String>,
    pub document_type: Option<String>,
    pub project_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub visibility: Option<String>,
    /// Part of the file name (case-insensitive).
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The documents you may read, newest first (permission `documents.read`).
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", security(("bearer" = ["documents.read"])),
    params(DocumentQuery),
    responses((status = 200, body = PageResponse<DocumentResponse>), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn list_documents(
    request: Require<perm::DocumentsRead>,
    Query(query): Query<DocumentQuery>,
) -> ApiResult<Json<PageResponse<DocumentResponse>>> {
    let page = PageQuery { limit: query.limit, cursor: query.cursor }.request()?;
    let filter = DocumentFilter {
        status: query.status.as_deref().map(|s| parse_field("status", s)).transpose()?,
        document_type: query.document_type.as_deref().map(|t| parse_field("document_type", t)).transpose()?,
        visibility: query.visibility.as_deref().map(|v| parse_field("visibility", v)).transpose()?,
        project_id: query.project_id.map(ProjectId),
        owner_id: query.owner_id.map(UserId),
        name_contains: query.q,
        ..DocumentFilter::default()
    };
    let found = documents::list(request.store.as_ref(), &request.access, filter, page).await?;
    Ok(Json(PageResponse::from_page(found, DocumentResponse::from)))
}

/// One document (permission `documents.read`; another member's private document is 404).
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = ["documents.read"])),
    params(("id" = Uuid, Path)), responses((status = 200, body = DocumentResponse), (status = 404, body = ErrorBody)))]
async fn get_document(
    request: Require<perm::DocumentsRead>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<DocumentResponse>> {
    Ok(Json(documents::get(request.store.as_ref(), &request.access, DocumentId(id)).await?.into()))
}

/// `attachment; filename="…"; filename*=UTF-8''…` with the name made safe for the header.
fn content_disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The original file as uploaded, streamed, with its type and name.
#[utoipa::path(get, path = "/api/v1/documents/{id}/content", tag = "documents", security(("bearer" = ["documents.read"])),
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = ErrorBody)))]
async fn get_document_content(
    State(state): State<AppState>,
    request: Require<perm::DocumentsRead>,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let document = documents::get(request.store.as_ref(), &request.access, DocumentId(id)).await?;
    let stream = state.intake.files().stream(&document.storage_key).await.map_err(|error| match error {
        tome_rag::storage::StorageError::NotFound(_) => DomainError::NotFound("document content"),
        other => DomainError::internal(other),
    })?;
    let headers = [
        (header::CONTENT_TYPE, document.mime_type.clone()),
        (header::CONTENT_DISPOSITION, content_disposition(&document.original_name)),
        (header::CONTENT_LENGTH, document.size_bytes.to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
    ];
    Ok((headers, Body::from_stream(stream)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct ChunkResponse {
    pub id: Uuid,
    pub ordinal: i32,
    pub content: String,
    pub token_count: i32,
    /// Page, heading path, slide, sheet and rows, character span.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// The model whose vector is stored for this chunk (null: none yet).
    pub embedding_model: Option<String>,
}

impl From<Chunk> for ChunkResponse {
    fn from(c: Chunk) -> Self {
        Self {
            id: c.id.0,
            ordinal: c.ordinal,
            content: c.content,
            token_count: c.token_count,
            metadata: c.metadata,
            embedding_model: c.embedding_model,
        }
    }
}

/// A document's chunks in order (permission `documents.read`).
#[utoipa::path(get, path = "/api/v1/documents/{id}/chunks", tag = "documents", security(("bearer" = ["documents.read"])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = PageResponse<ChunkResponse>), (status = 404, body = ErrorBody)))]
async fn list_document_chunks(
    request: Require<perm::DocumentsRead>,
    Path(id): Path<Uuid>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<PageResponse<ChunkResponse>>> {
    let chunks = documents::chunks(request.store.as_ref(), &request.access, DocumentId(id), page.request()?).await?;
    Ok(Json(PageResponse::from_page(chunks, ChunkResponse::from)))
}

/// Changes to a document; fields left out stay as they are.
#[derive(Deserialize, ToSchema)]
pub struct DocumentPatchRequest {
    pub original_name: Option<String>,
    /// `null` takes the document out of its project.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub project_id: Option<Option<Uuid>>,
    /// Needs `documents.manage`.
    pub visibility: Option<String>,
    pub document_type: Option<String>,
}

/// Rename, move or re-type your document (`documents.ingest`) or anyone's
/// (`documents.manage`); changing visibility needs `documents.manage`.
#[utoipa::path(patch, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = ["documents.ingest"])),
    params(("id" = Uuid, Path)), request_body = DocumentPatchRequest,
    responses((status = 200, body = DocumentResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_document(
    request: Require<perm::DocumentsIngest>,
    Client(client): Client,
    Path(id): Path<Uuid>,
    Json(body): Json<DocumentPatchRequest>,
) -> ApiResult<Json<DocumentResponse>> {
    let changes = DocumentChanges {
        original_name: body.original_name,
        project_id: body.project_id.map(|p| p.map(ProjectId)),
        visibility: body.visibility.as_deref().map(|v| parse_field("visibility", v)).transpose()?,
        document_type: body.document_type.as_deref().map(|t| parse_field("document_type", t)).transpose()?,
    };
    let document = documents::update(request.store.as_ref(), &request.access, DocumentId(id), changes, &client).await?;
    Ok(Json(document.into()))
}

/// Delete your document (`documents.ingest`) or anyone's (`documents.manage`): hidden and
/// out of search at once; the file and its chunks are purged in the background.
#[utoipa::path(delete, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = ["documents.ingest"])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_document(
    request: Require<perm::DocumentsIngest>,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    documents::delete(request.store.as_ref(), &request.access, DocumentId(id), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Process a document again (your own with `documents.ingest`, anyone's with
/// `documents.manage`).
#[utoipa::path(post, path = "/api/v1/documents/{id}/reindex", tag = "documents",
    security(("bearer" = ["documents.ingest"])), params(("id" = Uuid, Path)),
    responses((status = 202, body = DocumentResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reindex_document(
    request: Require<perm::DocumentsIngest>,
    Client(client): Client,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let document = documents::reindex(request.store.as_ref(), &request.access, DocumentId(id), &client).await?;
    Ok((StatusCode::ACCEPTED, Json(DocumentResponse::from(document))).into_response())
}
