//! Knowledge records: documents, their chunks, and the audit log.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AuditEntryId, ChunkId, DocumentId, ProjectId, TenantId, Timestamp, UserId, text_enum};

text_enum!(
    /// Who may read a document.
    Visibility {
        Tenant => "tenant",
        Private => "private",
    }
);

text_enum!(
    /// What a document is.
    DocumentType {
        GeneralDocument => "general_document",
        FullTranscript => "full_transcript",
        MeetingMinutes => "meeting_minutes",
    }
);

text_enum!(
    /// Where a document is in the ingestion pipeline.
    DocumentStatus {
        Uploaded => "uploaded",
        Processing => "processing",
        Processed => "processed",
        Error => "error",
    }
);

/// An uploaded file and its processing state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Document {
    pub id: DocumentId,
    pub tenant_id: TenantId,
    pub owner_id: Option<UserId>,
    pub project_id: Option<ProjectId>,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub visibility: Visibility,
    pub original_name: String,
    pub storage_key: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub document_type: DocumentType,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub status: DocumentStatus,
    pub error: Option<String>,
    pub chunk_count: i32,
    pub progress_done: i32,
    pub progress_total: i32,
    pub processed_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The model whose vectors every chunk carries; None: vectors are missing (no embedder
    /// was available), and the document is found by keywords only until `tome reindex`.
    pub embedding_model: Option<String>,
}

impl Document {
    /// Processed, with chunks, but without vectors.
    pub fn vectors_missing(&self) -> bool {
        self.status == DocumentStatus::Processed && self.chunk_count > 0 && self.embedding_model.is_none()
    }
}

#[derive(Clone, Debug)]
pub struct NewDocument {
    pub owner_id: Option<UserId>,
    pub project_id: Option<ProjectId>,
    pub visibility: Visibility,
    pub original_name: String,
    pub storage_key: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub document_type: DocumentType,
}

/// Changes to a document's metadata or processing state.
#[derive(Clone, Debug, Default)]
pub struct DocumentPatch {
    pub original_name: Option<String>,
    pub project_id: Option<Option<ProjectId>>,
    pub visibility: Option<Visibility>,
    pub document_type: Option<DocumentType>,
    pub status: Option<DocumentStatus>,
    pub error: Option<Option<String>>,
    pub chunk_count: Option<i32>,
    pub progress_done: Option<i32>,
    pub progress_total: Option<i32>,
    pub processed_at: Option<Option<Timestamp>>,
}

#[derive(Clone, Debug, Default)]
pub struct DocumentFilter {
    pub status: Option<DocumentStatus>,
    pub document_type: Option<DocumentType>,
    pub owner_id: Option<UserId>,
    pub project_id: Option<ProjectId>,
    pub visibility: Option<Visibility>,
    pub sha256: Option<String>,
    /// Only documents this user may read: the tenant's shared ones and their own.
    pub readable_by: Option<UserId>,
    /// Case-insensitive substring of the original name.
    pub name_contains: Option<String>,
    pub include_deleted: bool,
}

/// A passage of a document, the unit of retrieval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Chunk {
    pub id: ChunkId,
    pub tenant_id: TenantId,
    pub document_id: DocumentId,
    pub ordinal: i32,
    pub content: String,
    pub token_count: i32,
    /// Page, heading path, character span.
    pub metadata: Value,
    /// The model whose vector is stored for this chunk, if any.
    pub embedding_model: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewChunk {
    pub ordinal: i32,
    pub content: String,
    pub token_count: i32,
    pub metadata: Value,
    /// Its vector, by the model that `replace_chunks` names.
    pub embedding: Option<Vec<f32>>,
}

/// A document's chunks, with the model of their vectors when every chunk has one.
#[derive(Clone, Debug, Default)]
pub struct ChunkSet {
    pub chunks: Vec<NewChunk>,
    pub embedding_model: Option<String>,
}

/// One line of the audit trail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub tenant_id: Option<TenantId>,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub summary: Option<String>,
    pub changes: Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    /// Position in its tenant's chain, from 1 (None: written before the chain existed).
    pub seq: Option<i64>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
    /// The actor's id as written (kept when the user is later deleted).
    pub actor_ref: Option<UserId>,
}

#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    pub actor_id: Option<UserId>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub summary: Option<String>,
    pub changes: Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl NewAuditEntry {
    /// An entry by `actor` about a target, from a request's client (address, user agent).
    pub fn new(
        actor: Option<UserId>,
        action: &str,
        target: (&str, Option<String>),
        summary: impl Into<String>,
        client: &crate::auth::ClientInfo,
    ) -> Self {
        Self {
            actor_id: actor,
            action: action.into(),
            target_type: target.0.into(),
            target_id: target.1,
            summary: Some(summary.into()),
            changes: Value::Object(Default::default()),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        }
    }

    /// What changed, as JSON.
    pub fn with_changes(self, changes: Value) -> Self {
        Self { changes, ..self }
    }
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor_id: Option<UserId>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
}
