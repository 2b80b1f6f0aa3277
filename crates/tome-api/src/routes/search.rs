//! `POST /api/v1/search`: hybrid, semantic or keyword retrieval over what the caller may read.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tome_domain::knowledge::DocumentType;
use tome_domain::search::{SearchFilters, SearchMode};
use tome_domain::{DocumentId, DomainError, ProjectId, UserId};
use tome_rag::retrieve::{SearchOutcome, SearchRequest, SearchResult};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Client, Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Json;
use crate::rates::Action;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// The most projects a search may be confined to.
const MAX_PROJECT_FILTER: usize = 100;
/// The most documents a search may be confined to.
const MAX_DOCUMENT_FILTER: usize = 1000;

/// A search.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// What to look for (1–2,000 characters).
    pub query: String,
    /// `hybrid` (default), `semantic` or `keyword`.
    pub mode: Option<String>,
    /// How many results (1–100, default 10).
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// Only documents of these projects (at most 100).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub project_ids: Vec<Uuid>,
    /// Only these documents (at most 1,000).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub document_ids: Vec<Uuid>,
    /// Only documents of these types (`general_document`, `full_transcript`, `meeting_minutes`).
    #[serde(default)]
    pub document_types: Vec<String>,
    /// Only documents owned by this user.
    pub owner_id: Option<Uuid>,
    /// Only documents created at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_after: Option<OffsetDateTime>,
    /// Only documents created before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_before: Option<OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchDocument {
    pub id: Uuid,
    pub name: String,
    pub document_type: String,
    pub mime_type: String,
}

#[derive(Serialize, ToSchema)]
pub struct SearchHitResponse {
    pub document: SearchDocument,
    pub chunk_id: Uuid,
    /// The chunk's place in its document (0-based).
    pub ordinal: i32,
    /// The page (PDF), where known.
    pub page: Option<Value>,
    /// The heading path (Markdown, HTML, DOCX), where known.
    pub heading: Option<Value>,
    /// The chunk's location: page, heading path, slide, sheet and rows, character span.
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub score: f64,
    /// 1-based rank in the keyword ranking, if found there.
    pub keyword_rank: Option<usize>,
    /// 1-based rank in the semantic ranking, if found there.
    pub semantic_rank: Option<usize>,
    /// HTML-escaped excerpt with the query's words in `<mark>…</mark>`.
    pub snippet: String,
    /// The whole chunk text.
    pub content: String,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    /// The mode that ran (hybrid falls back to keyword without an embedding model).
    pub mode: String,
    pub results: Vec<SearchHitResponse>,
    /// Why the search did less than was asked, if it did.
    pub notice: Option<String>,
    pub took_ms: f64,
}

impl From<SearchResult> for SearchHitResponse {
    fn from(result: SearchResult) -> Self {
        let chunk = result.chunk;
        let field = |name: &str| chunk.metadata.get(name).filter(|value| !value.is_null()).cloned();
        Self {
            document: SearchDocument {
                id: chunk.document_id.0,
                name: chunk.document_name.clone(),
                document_type: chunk.document_type.as_str().to_owned(),
                mime_type: chunk.mime_type.clone(),
            },
            chunk_id: chunk.chunk_id.0,
            ordinal: chunk.ordinal,
            page: field("page"),
            heading: field("heading_path").or_else(|| field("heading")),
            score: result.score,
            keyword_rank: result.keyword_rank,
            semantic_rank: result.semantic_rank,
            snippet: result.snippet,
            metadata: chunk.metadata,
            content: chunk.content,
        }
    }
}

impl From<SearchOutcome> for SearchResponse {
    fn from(outcome: SearchOutcome) -> Self {
        Self {
            mode: outcome.mode.as_str().to_owned(),
            results: outcome.results.into_iter().map(SearchHitResponse::from).collect(),
            notice: outcome.notice,
            took_ms: outcome.took_ms,
        }
    }
}

impl SearchBody {
    fn request(self) -> Result<SearchRequest, DomainError> {
        // Each id becomes a bound parameter of every ranking's query: bounded.
        if self.project_ids.len() > MAX_PROJECT_FILTER {
            return Err(DomainError::invalid("project_ids", "at most 100 projects"));
        }
        if self.document_ids.len() > MAX_DOCUMENT_FILTER {
            return Err(DomainError::invalid("document_ids", "at most 1000 documents"));
        }
        if self.document_types.len() > 3 {
            return Err(DomainError::invalid("document_types", "at most 3 types"));
        }
        let mode = self
            .mode
            .as_deref()
            .map(|mode| mode.parse::<SearchMode>())
            .transpose()
            .map_err(|_| DomainError::invalid("mode", "must be one of: hybrid, semantic, keyword"))?;
        let document_types = self
            .document_types
            .iter()
            .map(|kind| kind.parse::<DocumentType>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                DomainError::invalid(
                    "document_types",
                    "each must be one of: general_document, full_transcript, meeting_minutes",
                )
            })?;
        Ok(SearchRequest {
            query: self.query,
            mode,
            limit: self.limit,
            filters: SearchFilters {
                project_ids: self.project_ids.into_iter().map(ProjectId).collect(),
                document_ids: self.document_ids.into_iter().map(DocumentId).collect(),
                document_types,
                owner_id: self.owner_id.map(UserId),
                created_after: self.created_after,
                created_before: self.created_before,
            },
        })
    }
}

/// Ranked passages from the documents the caller may read (permission `documents.read`):
/// the tenant's shared documents and the caller's private ones, with the filters given.
#[utoipa::path(post, path = "/api/v1/search", tag = "search", security(("bearer" = ["documents.read"])),
    request_body = SearchBody,
    responses((status = 200, body = SearchResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    request: Require<perm::DocumentsRead>,
    Client(client): Client,
    Json(body): Json<SearchBody>,
) -> ApiResult<Json<SearchResponse>> {
    state.spend(Action::Search, &client, Some(request.principal.user.id))?;
    let outcome = state.retriever.search(request.store.as_ref(), &request.access, body.request()?).await?;
    Ok(Json(outcome.into()))
}
