//! A document's extracted text with the span of each passage, for the web app's viewer.

use serde::Serialize;
use serde_json::Value;
use tome_domain::DocumentId;
use tome_domain::document_text::{self, DocumentText};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Require, perm};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_document_text))
}

#[derive(Serialize, ToSchema)]
pub struct PassageSpanResponse {
    pub chunk_id: Uuid,
    pub ordinal: i32,
    /// Offset of the passage's first character in `text`, counted in Unicode code points.
    pub start: usize,
    /// Offset just past its last character, in code points.
    pub end: usize,
    /// Page, heading path, slide, sheet and rows, time span.
    #[schema(value_type = Object)]
    pub metadata: Value,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentTextResponse {
    /// The text that was extracted and cut into passages.
    pub text: String,
    /// Every passage, in order; passages may overlap.
    pub passages: Vec<PassageSpanResponse>,
    /// True when the document has more passages than are returned (the text stops there).
    pub truncated: bool,
}

impl From<DocumentText> for DocumentTextResponse {
    fn from(text: DocumentText) -> Self {
        let passages = text
            .passages
            .into_iter()
            .map(|p| PassageSpanResponse {
                chunk_id: p.chunk_id.0,
                ordinal: p.ordinal,
                start: p.start,
                end: p.end,
                metadata: p.metadata,
            })
            .collect();
        Self { text: text.text, passages, truncated: text.truncated }
    }
}

/// A document's extracted text and where each passage is in it (permission
/// `documents.read`; at most 10,000 passages). Empty until the document is processed.
#[utoipa::path(get, path = "/api/v1/documents/{id}/text", tag = "documents", security(("bearer" = ["documents.read"])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DocumentTextResponse), (status = 404, body = ErrorBody)))]
async fn get_document_text(
    request: Require<perm::DocumentsRead>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<DocumentTextResponse>> {
    let text = document_text::text(request.store.as_ref(), &request.access, DocumentId(id)).await?;
    Ok(Json(text.into()))
}
