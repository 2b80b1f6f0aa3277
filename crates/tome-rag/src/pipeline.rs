//! The ingestion jobs. `document.ingest` reads a document's file, extracts and chunks it off
//! the async threads within a time bound, embeds the chunks when an embedder is configured,
//! and replaces its chunks and their vectors in one transaction (a worker that dies leaves
//! the previous chunks or none, never half). `document.embed` gives a processed document's
//! stored chunks vectors (missing, or by another model) without reading the file again.
//! `document.purge` removes a deleted document's file and rows. All may run again after a
//! crash.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tome_domain::documents::{EMBED_JOB, INGEST_JOB, PURGE_JOB, document_job};
use tome_domain::jobs::Job;
use tome_domain::knowledge::{ChunkSet, Document, DocumentPatch, DocumentStatus, NewChunk};
use tome_domain::page::MAX_LIMIT;
use tome_domain::repo::Store;
use tome_domain::{DocumentId, DomainError, PageRequest, TenantId, now};
use tome_jobs::JobHandler;
use tome_models::chat::ChatModel;
use tome_models::embed::Embedder;
use tome_models::transcribe::Transcriber;

use crate::chunk::{ChunkSettings, Chunker, EstimatedTokens};
use crate::detect::FileKind;
use crate::extract::Limits;
use crate::extract::isolate::{Extractor, Stopped};
use crate::storage::{FileStore, StorageError};

/// What the ingestion jobs need.
#[derive(Clone)]
pub struct Pipeline {
    pub store: Arc<dyn Store>,
    pub files: FileStore,
    pub chunker: Chunker,
    pub limits: Limits,
    /// Longest that extraction of one document may take.
    pub time_limit: Duration,
    /// Where files are read: in a killable child process for the container formats when
    /// the `tome` binary runs (`with_extractor`), else in-process.
    pub extractor: Extractor,
    /// None: documents are processed for keyword search only, their vectors missing.
    pub embedder: Option<Arc<dyn Embedder>>,
    /// What this pipeline's ingest jobs have done, for progress and benchmarks.
    pub stats: Arc<PipelineStats>,
    /// Hears recordings (None: transcription jobs fail, saying that none is configured).
    pub transcriber: Option<Arc<dyn Transcriber>>,
    /// Writes meeting minutes (None: the extractive writer quotes the transcript).
    pub minutes_model: Option<Arc<dyn ChatModel>>,
}

/// Counters of the ingest jobs run by one pipeline (this process only).
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub chunks: AtomicU64,
    /// Tokens of the stored chunks, and of those embedded (with the time it took).
    pub tokens: AtomicU64,
    pub embedded_tokens: AtomicU64,
    /// Wall time during which at least one embedding call was in flight. Concurrent jobs
    /// share one embedder, so the sum of each call's own time would count the same
    /// seconds several times over.
    pub embed_micros: AtomicU64,
    in_flight: std::sync::Mutex<InFlight>,
}

/// Embedding calls under way, and since when there has been at least one.
#[derive(Debug, Default)]
struct InFlight {
    calls: usize,
    since: Option<std::time::Instant>,
}

impl PipelineStats {
    /// Runs one embedding call, counting its time in `embed_micros`.
    async fn timed<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let _timing = self.embedding();
        call.await
    }

    /// Starts timing one embedding call; the time counts until the returned guard drops.
    fn embedding(&self) -> EmbeddingCall<'_> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if in_flight.calls == 0 {
            in_flight.since = Some(std::time::Instant::now());
        }
        in_flight.calls += 1;
        EmbeddingCall(self)
    }
}

/// One embedding call being timed (`PipelineStats::embedding`).
struct EmbeddingCall<'a>(&'a PipelineStats);

impl Drop for EmbeddingCall<'_> {
    fn drop(&mut self) {
        let stats = self.0;
        let mut in_flight = stats.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        in_flight.calls = in_flight.calls.saturating_sub(1);
        if in_flight.calls == 0
            && let Some(since) = in_flight.since.take()
        {
            let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
            stats.embed_micros.fetch_add(micros, Ordering::Relaxed);
        }
    }
}

/// Chunks embedded per step; progress is written after each.
const EMBED_GROUP: usize = 32;
/// How long after an embedding failure the document's `document.embed` job first runs.
const EMBED_RETRY: Duration = Duration::from_secs(60);

impl Pipeline {
    /// A pipeline with the default limits and chunk sizes, counting tokens by estimate.
    pub fn new(store: Arc<dyn Store>, files: FileStore) -> Self {
        Self {
            store,
            files,
            chunker: Chunker::new(Arc::new(EstimatedTokens), ChunkSettings::default()),
            limits: Limits::default(),
            time_limit: Duration::from_secs(300),
            extractor: Extractor::InProcess,
            embedder: None,
            stats: Arc::default(),
            transcriber: None,
            minutes_model: None,
        }
    }

    /// Embeds with `embedder`, and sizes chunks with its tokenizer and input limit.
    pub fn with_embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        let counter = embedder.token_counter().unwrap_or_else(|| Arc::new(EstimatedTokens));
        self.chunker = Chunker::new(counter, ChunkSettings::for_window(embedder.max_tokens()));
        self.embedder = Some(embedder);
        self
    }

    /// Reads files with `extractor`, each within `time_limit`.
    pub fn with_extractor(mut self, extractor: Extractor, time_limit: Duration) -> Self {
        self.extractor = extractor;
        self.time_limit = time_limit;
        self
    }

    /// Transcribes recordings with `transcriber`.
    pub fn with_transcriber(mut self, transcriber: Option<Arc<dyn Transcriber>>) -> Self {
        self.transcriber = transcriber;
        self
    }

    /// Has `model` write meeting minutes (a model that only quotes is left out).
    pub fn with_minutes_model(mut self, model: Option<Arc<dyn ChatModel>>) -> Self {
        self.minutes_model = model.filter(|m| m.is_generative());
        self
    }

    /// The job handlers: ingest, embed and purge documents; purge deleted conversations;
    /// transcribe recordings.
    pub fn handlers(self) -> Vec<Arc<dyn JobHandler>> {
        let conversations = Arc::new(crate::chat::purge::PurgeConversationJob(self.store.clone()));
        let shared = Arc::new(self);
        vec![
            Arc::new(IngestJob(shared.clone())),
            Arc::new(EmbedJob(shared.clone())),
            Arc::new(PurgeJob(shared.clone())),
            Arc::new(crate::meeting::TranscriptionJobHandler(shared)),
            conversations,
        ]
    }

    /// Vectors for `texts` by `embedder`, in groups, writing progress (`done` of `total`
    /// chunks) to the document after each group when `progress` is set.
    async fn embed_all(
        embedder: &dyn Embedder,
        store: &dyn Store,
        progress: Option<(TenantId, DocumentId)>,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, Failure> {
        let total = i32::try_from(texts.len()).unwrap_or(i32::MAX);
        let mut vectors = Vec::with_capacity(texts.len());
        for group in texts.chunks(EMBED_GROUP) {
            let embedded = embedder.embed(group.to_vec()).await.map_err(|e| Failure::Embedding(e.to_string()))?;
            if embedded.len() != group.len() {
                return Err(Failure::Embedding(format!("{} vectors for {} texts", embedded.len(), group.len())));
            }
            vectors.extend(embedded);
            if let Some((tenant, document)) = progress {
                let done = i32::try_from(vectors.len()).unwrap_or(i32::MAX);
                let patch = DocumentPatch {
                    progress_done: Some(done),
                    progress_total: Some(total),
                    ..DocumentPatch::default()
                };
                store.update_document(tenant, document, patch).await?;
            }
        }
        Ok(vectors)
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

/// The job's document, or None when it was deleted since the job was queued (nothing to do).
async fn live_document(store: &dyn Store, tenant: TenantId, id: DocumentId) -> Result<Option<Document>, String> {
    match store.get_document(tenant, id).await {
        Ok(document) => Ok(Some(document)),
        Err(DomainError::NotFound(_)) => Ok(None),
        Err(error) => Err(error.to_string()),
    }
}

/// Why processing stopped: the document's fault (stored on it, not retried) or the
/// system's (retried).
enum Failure {
    Document(String),
    Transient(String),
    /// The embedder failed: the document is stored without vectors and embedded later.
    Embedding(String),
}

impl Failure {
    fn message(self) -> String {
        match self {
            Self::Document(message) | Self::Transient(message) | Self::Embedding(message) => message,
        }
    }
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
        let Some(document) = live_document(store.as_ref(), tenant, payload.document_id).await? else {
            return Ok(());
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
            Err(failure) if job.attempts < job.max_attempts => return Err(failure.message()),
            Err(failure) => {
                let message = format!("Processing failed after {} attempts: {}", job.attempts, failure.message());
                DocumentPatch {
                    status: Some(DocumentStatus::Error),
                    error: Some(Some(message)),
                    ..DocumentPatch::default()
                }
            }
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
        let sections = match self.extractor.sections(kind, bytes, self.limits, self.time_limit).await {
            Ok(sections) => sections,
            Err(Stopped::File(sentence)) => return Err(Failure::Document(sentence)),
            Err(Stopped::Server(error)) => return Err(Failure::Transient(error)),
        };
        let chunker = self.chunker.clone();
        let drafts = tokio::task::spawn_blocking(move || chunker.chunk(&sections))
            .await
            .map_err(|join| Failure::Transient(format!("chunking stopped: {join}")))?;
        let texts: Vec<String> = drafts.iter().map(|d| d.content.clone()).collect();
        let tokens: u64 = drafts.iter().map(|d| u64::try_from(d.token_count).unwrap_or(0)).sum();
        let (vectors, model) = match &self.embedder {
            None => (None, None),
            Some(embedder) => {
                match self.stats.timed(Self::embed_all(embedder.as_ref(), store, Some((tenant, document)), texts)).await
                {
                    Ok(vectors) => {
                        self.stats.embedded_tokens.fetch_add(tokens, Ordering::Relaxed);
                        (Some(vectors), Some(embedder.model_name().to_owned()))
                    }
                    Err(Failure::Embedding(error)) => {
                        // Keyword search need not wait for the embedder: store the chunks now and
                        // let the embed job (with its own retries) add the vectors.
                        tracing::warn!(%document, %error, "embedding failed; storing the chunks without vectors");
                        let mut later = document_job(EMBED_JOB, tenant, document);
                        later.run_at = now() + EMBED_RETRY;
                        store.enqueue(later).await?;
                        (None, None)
                    }
                    Err(other) => return Err(other),
                }
            }
        };
        let mut vectors = vectors.map(Vec::into_iter);
        let chunks: Vec<NewChunk> = drafts
            .into_iter()
            .map(|d| NewChunk {
                ordinal: d.ordinal,
                content: d.content,
                token_count: d.token_count,
                metadata: d.metadata,
                embedding: vectors.as_mut().and_then(Iterator::next),
            })
            .collect();
        let dimensions = chunks.first().and_then(|c| c.embedding.as_ref()).map(Vec::len);
        let indexed = model.clone().zip(dimensions);
        let stored = store.replace_chunks(tenant, document, ChunkSet { chunks, embedding_model: model }).await?;
        if let Some((model, dimensions)) = indexed {
            refresh_vectors(store, &model, dimensions).await;
        }
        self.stats.chunks.fetch_add(stored.len() as u64, Ordering::Relaxed);
        self.stats.tokens.fetch_add(tokens, Ordering::Relaxed);
        Ok(i32::try_from(stored.len()).unwrap_or(i32::MAX))
    }
}

/// Brings the model's vector index up to date with vectors just stored, so that this work,
/// not the next search, pays for indexing them. A failure only delays that to the next search.
async fn refresh_vectors(store: &dyn Store, model: &str, dimensions: usize) {
    if let Err(error) = store.refresh_vectors(model, dimensions).await {
        tracing::warn!(%error, "cannot update the vector index now; the next search will");
    }
}

struct EmbedJob(Arc<Pipeline>);

#[async_trait]
impl JobHandler for EmbedJob {
    fn kind(&self) -> &'static str {
        EMBED_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), String> {
        let (tenant, payload) = target(job)?;
        let Some(embedder) = &self.0.embedder else {
            return Err("no embedding model is configured; `tome models` says why".into());
        };
        let store = self.0.store.for_tenant(tenant);
        let Some(document) = live_document(store.as_ref(), tenant, payload.document_id).await? else {
            return Ok(());
        };
        // Not processed yet (its ingest job embeds it), or already done by this model.
        if document.status != DocumentStatus::Processed
            || document.embedding_model.as_deref() == Some(embedder.model_name())
        {
            return Ok(());
        }
        let mut chunks = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = PageRequest::parse(Some(MAX_LIMIT), cursor.as_deref()).map_err(|e| e.to_string())?;
            let found = store.list_chunks(tenant, document.id, page).await.map_err(|e| e.to_string())?;
            chunks.extend(found.items);
            cursor = found.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let texts = chunks.iter().map(|c| c.content.clone()).collect();
        let vectors =
            Pipeline::embed_all(embedder.as_ref(), store.as_ref(), None, texts).await.map_err(Failure::message)?;
        let dimensions = vectors.first().map(Vec::len);
        let pairs = chunks.iter().map(|c| c.id).zip(vectors).collect();
        match store.set_document_embeddings(tenant, document.id, embedder.model_name(), pairs).await {
            Ok(()) => {
                if let Some(dimensions) = dimensions {
                    refresh_vectors(store.as_ref(), embedder.model_name(), dimensions).await;
                }
                Ok(())
            }
            // Re-indexed or deleted meanwhile: that work brings its own vectors.
            Err(DomainError::Conflict(_) | DomainError::NotFound(_)) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_embedding_calls_count_their_wall_time_once() {
        let stats = PipelineStats::default();
        let step = Duration::from_millis(200);
        let first = stats.embedding();
        std::thread::sleep(step);
        let second = stats.embedding();
        std::thread::sleep(step);
        drop(first);
        std::thread::sleep(step);
        drop(second);
        // In flight for three steps; the two calls' own times add up to four.
        let counted = Duration::from_micros(stats.embed_micros.load(Ordering::Relaxed));
        assert!(counted >= 3 * step && counted < 4 * step, "counted {counted:?}");
        // Nothing in flight: nothing more is counted.
        std::thread::sleep(step);
        assert_eq!(Duration::from_micros(stats.embed_micros.load(Ordering::Relaxed)), counted);
    }
}
