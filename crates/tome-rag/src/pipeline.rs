//! The ingestion jobs. `document.ingest` reads a document's file, extracts and chunks it off
//! the async threads within a time bound, and replaces its chunks in one transaction (a
//! worker that dies leaves the previous chunks or none, never half); `document.purge`
//! removes a deleted document's file and rows. Both may run again after a crash.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tome_domain::documents::{INGEST_JOB, PURGE_JOB};
use tome_domain::jobs::Job;
use tome_domain::knowledge::{DocumentPatch, DocumentStatus, NewChunk};
use tome_domain::repo::Store;
use tome_domain::{DocumentId, DomainError, TenantId, now};
use tome_jobs::JobHandler;

use crate::chunk::{ChunkDraft, ChunkSettings, Chunker, EstimatedTokens};
use crate::detect::FileKind;
use crate::extract::{self, ExtractError, Limits};
use crate::storage::{FileStore, StorageError};

/// What the ingestion jobs need.
#[derive(Clone)]
pub struct Pipeline {
    pub store: Arc<dyn Store>,
    pub files: FileStore,
    pub chunker: Chunker,
    pub limits: Limits,
    /// Longest that extraction and chunking of one document may take.
    pub time_limit: Duration,
}

impl Pipeline {
    /// A pipeline with the default limits and chunk sizes, counting tokens by estimate.
    pub fn new(store: Arc<dyn Store>, files: FileStore) -> Self {
        Self {
            store,
            files,
            chunker: Chunker::new(Arc::new(EstimatedTokens), ChunkSettings::default()),
            limits: Limits::default(),
            time_limit: Duration::from_secs(300),
        }
    }

    /// The job handlers: ingest and purge.
    pub fn handlers(self) -> Vec<Arc<dyn JobHandler>> {
        let shared = Arc::new(self);
        vec![Arc::new(IngestJob(shared.clone())), Arc::new(PurgeJob(shared))]
    }
}

#[derive(Deserialize)]
struct DocumentPayload {
    document_id: DocumentId,
    #[serde(default)]
    storage_key: Option<String>,
}

fn target(job: &Job) -> Result<(TenantId, DocumentPayload), String> {
    let tenant = job.tenant_id.ok_or("the job names no tenant")?;
    let payload = serde_json::from_value(job.payload.clone()).map_err(|e| format!("bad payload: {e}"))?;
    Ok((tenant, payload))
}

/// Why processing stopped: the document's fault (stored on it, not retried) or the
/// system's (retried).
enum Failure {
    Document(String),
    Transient(String),
}

impl From<DomainError> for Failure {
    fn from(error: DomainError) -> Self {
        Self::Transient(error.to_string())
    }
}

struct IngestJob(Arc<Pipeline>);

#[async_trait]
impl JobHandler for IngestJob {
    fn kind(&self) -> &'static str {
        INGEST_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), String> {
        let (tenant, payload) = target(job)?;
        let store = self.0.store.for_tenant(tenant);
        let document = match store.get_document(tenant, payload.document_id).await {
            Ok(document) => document,
            // Deleted since it was queued: nothing to do.
            Err(DomainError::NotFound(_)) => return Ok(()),
            Err(error) => return Err(error.to_string()),
        };
        let start = DocumentPatch {
            status: Some(DocumentStatus::Processing),
            error: Some(None),
            progress_done: Some(0),
            progress_total: Some(0),
            ..DocumentPatch::default()
        };
        store.update_document(tenant, document.id, start).await.map_err(|e| e.to_string())?;
        let outcome =
            self.0.process(store.as_ref(), tenant, document.id, &document.storage_key, &document.mime_type).await;
        let finish = match outcome {
            Ok(count) => DocumentPatch {
                status: Some(DocumentStatus::Processed),
                processed_at: Some(Some(now())),
                progress_done: Some(count),
                progress_total: Some(count),
                ..DocumentPatch::default()
            },
            Err(Failure::Document(message)) => {
                tracing::info!(document = %document.id, %message, "document could not be processed");
                DocumentPatch {
                    status: Some(DocumentStatus::Error),
                    error: Some(Some(message)),
                    ..DocumentPatch::default()
                }
            }
            Err(Failure::Transient(message)) if job.attempts < job.max_attempts => return Err(message),
            Err(Failure::Transient(message)) => DocumentPatch {
                status: Some(DocumentStatus::Error),
                error: Some(Some(format!("Processing failed after {} attempts: {message}", job.attempts))),
                ..DocumentPatch::default()
            },
        };
        match store.update_document(tenant, document.id, finish).await {
            Ok(_) | Err(DomainError::NotFound(_)) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }
}

impl Pipeline {
    /// Extracts, chunks and stores; returns the number of chunks.
    async fn process(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        document: DocumentId,
        key: &str,
        mime_type: &str,
    ) -> Result<i32, Failure> {
        let kind = FileKind::from_mime_type(mime_type)
            .ok_or_else(|| Failure::Document(format!("Tome cannot read files of type {mime_type}.")))?;
        let bytes = self.files.get(key).await.map_err(|error| match error {
            StorageError::NotFound(_) => Failure::Document("The uploaded file is missing from storage.".into()),
            other => Failure::Transient(other.to_string()),
        })?;
        let chunker = self.chunker.clone();
        let limits = self.limits;
        let work = tokio::task::spawn_blocking(move || -> Result<Vec<ChunkDraft>, ExtractError> {
            let sections = extract::extract(kind, &bytes, limits)?;
            Ok(chunker.chunk(&sections))
        });
        let drafts = match tokio::time::timeout(self.time_limit, work).await {
            Err(_) => {
                return Err(Failure::Document(format!(
                    "Reading the file took longer than {} seconds, so Tome gave up on it.",
                    self.time_limit.as_secs()
                )));
            }
            Ok(Err(join)) => return Err(Failure::Transient(format!("extraction stopped: {join}"))),
            Ok(Ok(Err(error))) => return Err(Failure::Document(error.to_string())),
            Ok(Ok(Ok(drafts))) => drafts,
        };
        let chunks: Vec<NewChunk> = drafts
            .into_iter()
            .map(|d| NewChunk {
                ordinal: d.ordinal,
                content: d.content,
                token_count: d.token_count,
                metadata: d.metadata,
            })
            .collect();
        let stored = store.replace_chunks(tenant, document, chunks).await?;
        Ok(i32::try_from(stored.len()).unwrap_or(i32::MAX))
    }
}

struct PurgeJob(Arc<Pipeline>);

#[async_trait]
impl JobHandler for PurgeJob {
    fn kind(&self) -> &'static str {
        PURGE_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), String> {
        let (tenant, payload) = target(job)?;
        if let Some(key) = &payload.storage_key {
            self.0.files.delete(key).await.map_err(|e| e.to_string())?;
        }
        match self.0.store.for_tenant(tenant).purge_document(tenant, payload.document_id).await {
            Ok(()) | Err(DomainError::NotFound(_)) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }
}
