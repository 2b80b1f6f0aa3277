//! The `transcription.run` job: a recording becomes a timed transcript, then minutes, then two
//! documents (`full_transcript`, `meeting_minutes`) that are ingested like any upload. Each
//! step stores its result on the job's row before the next begins, so a job that runs again
//! (after a crash or a retry) goes on where it stopped; the documents are found again by
//! their content rather than made twice. A recording's own fault (unreadable, silent,
//! unsupported codec) ends the job `failed` with a sentence; the system's (a server down) is
//! retried, and told as `failed` on the last attempt.

pub mod minutes;
pub mod render;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tome_domain::audio::{TranscriptionJob, TranscriptionPatch, TranscriptionStatus};
use tome_domain::documents::{UploadOptions, UploadedFile, register_generated};
use tome_domain::jobs::Job;
use tome_domain::knowledge::DocumentType;
use tome_domain::repo::Store;
use tome_domain::transcriptions::RUN_JOB;
use tome_domain::{DocumentId, DomainError, TenantId, TranscriptionJobId, now};
use tome_jobs::JobHandler;
use tome_models::transcribe::{Progress, Transcript};
use tome_models::whisper::{Segment, TranscribeError};
use uuid::Uuid;

use crate::pipeline::Pipeline;
use render::Recording;

/// Least time between two progress writes.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct TranscriptionJobHandler(pub(crate) Arc<Pipeline>);

#[derive(Deserialize)]
struct Payload {
    transcription_id: TranscriptionJobId,
}

/// Why a step stopped.
enum Stop {
    /// The recording's fault, or the last attempt: the job ends `failed` with this sentence.
    Failed(String),
    /// Worth another attempt.
    Retry(String),
    /// The transcription was deleted meanwhile: nothing more to do.
    Gone,
}

impl From<DomainError> for Stop {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(_) => Self::Gone,
            other => Self::Retry(other.to_string()),
        }
    }
}

#[async_trait]
impl JobHandler for TranscriptionJobHandler {
    fn kind(&self) -> &'static str {
        RUN_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), String> {
        let tenant = job.tenant_id.ok_or("the job names no tenant")?;
        let payload: Payload = serde_json::from_value(job.payload.clone()).map_err(|e| format!("bad payload: {e}"))?;
        let store = self.0.store.for_tenant(tenant);
        let last_attempt = job.attempts >= job.max_attempts;
        match self.process(store.as_ref(), tenant, payload.transcription_id, last_attempt).await {
            Ok(()) | Err(Stop::Gone) => Ok(()),
            Err(Stop::Retry(reason)) if !last_attempt => Err(reason),
            Err(Stop::Failed(reason) | Stop::Retry(reason)) => {
                let patch = TranscriptionPatch {
                    status: Some(TranscriptionStatus::Failed),
                    error: Some(Some(reason)),
                    completed_at: Some(now()),
                    ..TranscriptionPatch::default()
                };
                match store.update_transcription(tenant, payload.transcription_id, patch).await {
                    Ok(_) | Err(DomainError::NotFound(_)) => Ok(()),
                    Err(error) => Err(error.to_string()),
                }
            }
        }
    }
}

impl TranscriptionJobHandler {
    async fn process(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        id: TranscriptionJobId,
        last_attempt: bool,
    ) -> Result<(), Stop> {
        let mut job = store.get_transcription(tenant, id).await?;
        if matches!(job.status, TranscriptionStatus::Completed | TranscriptionStatus::Failed) {
            return Ok(());
        }
        let Some(owner) = job.user_id else {
            return Err(Stop::Failed("the person who asked for this transcript no longer has an account".into()));
        };
        if job.transcript.is_none() {
            job = self.transcribe(store, &job, last_attempt).await?;
        }
        let segments: Vec<Segment> = serde_json::from_value(job.segments.clone())
            .map_err(|error| Stop::Failed(format!("the stored segments are unreadable: {error}")))?;
        let date = job.created_at.date().to_string();
        let model = job.model.clone().unwrap_or_else(|| "an unknown model".into());
        let language = job.language.clone().unwrap_or_else(|| "en".into());
        let name = job.original_name.clone();
        let recording = Recording {
            name: &name,
            date: &date,
            duration: job.duration_seconds.unwrap_or(0.0),
            language: &language,
            model: &model,
        };
        if job.transcript_document_id.is_none() {
            let text = render::transcript(&recording, &segments);
            let document =
                self.add_document(store, &job, owner, DocumentType::FullTranscript, "transcript", text).await?;
            let patch = TranscriptionPatch { transcript_document_id: Some(document), ..TranscriptionPatch::default() };
            job = store.update_transcription(tenant, id, patch).await?;
        }
        if job.minutes.is_none() {
            let (written, spent) = minutes::write(self.0.minutes_model.as_deref(), &recording, &segments).await;
            if let Some(model) = self.0.minutes_model.as_deref()
                && spent.input_tokens + spent.output_tokens > 0
            {
                // The tenant's daily token quota counts the minutes too.
                let usage = tome_domain::chat::NewTokenUsage {
                    user_id: job.user_id,
                    model: model.name().to_owned(),
                    source: "minutes",
                    input_tokens: i64::try_from(spent.input_tokens).unwrap_or(i64::MAX),
                    output_tokens: i64::try_from(spent.output_tokens).unwrap_or(i64::MAX),
                };
                if let Err(error) = store.record_tokens(tenant, usage).await {
                    tracing::warn!(%error, "the tokens of the minutes were not recorded");
                }
            }
            let patch = TranscriptionPatch { minutes: Some(written), ..TranscriptionPatch::default() };
            job = store.update_transcription(tenant, id, patch).await?;
        }
        if job.minutes_document_id.is_none() {
            let text = job.minutes.clone().unwrap_or_default();
            let document = self.add_document(store, &job, owner, DocumentType::MeetingMinutes, "minutes", text).await?;
            let patch = TranscriptionPatch { minutes_document_id: Some(document), ..TranscriptionPatch::default() };
            store.update_transcription(tenant, id, patch).await?;
        }
        let done = TranscriptionPatch {
            status: Some(TranscriptionStatus::Completed),
            error: Some(None),
            completed_at: Some(now()),
            ..TranscriptionPatch::default()
        };
        store.update_transcription(tenant, id, done).await?;
        Ok(())
    }

    /// Hears the recording and stores what was said (status `processing` meanwhile, the
    /// seconds heard written about once a second).
    async fn transcribe(
        &self,
        store: &dyn Store,
        job: &TranscriptionJob,
        last_attempt: bool,
    ) -> Result<TranscriptionJob, Stop> {
        let Some(transcriber) = self.0.transcriber.clone() else {
            return Err(Stop::Failed(
                "no transcription model is configured on this server (TOME_WHISPER_MODEL_DIR or TOME_STT_BASE_URL)"
                    .into(),
            ));
        };
        let start = TranscriptionPatch {
            status: Some(TranscriptionStatus::Processing),
            error: Some(None),
            progress_seconds: Some(0.0),
            model: Some(transcriber.name().to_owned()),
            started_at: Some(now()),
            ..TranscriptionPatch::default()
        };
        store.update_transcription(job.tenant_id, job.id, start).await?;
        let local = self.fetch(job).await?;
        let (sender, mut heard) = tokio::sync::watch::channel((0.0_f64, None::<f64>));
        let progress: Progress = Arc::new(move |done, total| {
            let _ = sender.send((done, total));
        });
        let work = transcriber.transcribe(&local, progress);
        tokio::pin!(work);
        let mut written = Instant::now();
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                changed = heard.changed() => {
                    if changed.is_err() {
                        break (&mut work).await;
                    }
                    if written.elapsed() >= PROGRESS_EVERY {
                        written = Instant::now();
                        let (done, total) = *heard.borrow_and_update();
                        let patch = TranscriptionPatch {
                            progress_seconds: Some(done.max(0.0)),
                            duration_seconds: total,
                            ..TranscriptionPatch::default()
                        };
                        store.update_transcription(job.tenant_id, job.id, patch).await?;
                    }
                }
            }
        };
        let transcript = outcome.map_err(|error| heard_error(error, last_attempt))?;
        let text = transcript.text();
        if text.is_empty() {
            return Err(Stop::Failed(format!(
                "no speech was heard in the recording ({} of audio)",
                render::stamp(transcript.duration)
            )));
        }
        let Transcript { segments, language, duration } = transcript;
        let patch = TranscriptionPatch {
            transcript: Some(text),
            segments: Some(serde_json::to_value(&segments).map_err(|e| Stop::Retry(e.to_string()))?),
            language: Some(language),
            duration_seconds: Some(duration),
            progress_seconds: Some(duration),
            ..TranscriptionPatch::default()
        };
        Ok(store.update_transcription(job.tenant_id, job.id, patch).await?)
    }

    /// The recording copied from storage into a temporary file (decoders need to seek),
    /// named with the original's extension as a hint to the demuxer.
    async fn fetch(&self, job: &TranscriptionJob) -> Result<tempfile::TempPath, Stop> {
        let suffix =
            Path::new(&job.original_name).extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix("tome-audio-")
            .suffix(&suffix)
            .tempfile()
            .map_err(|e| Stop::Retry(format!("cannot make a temporary file: {e}")))?;
        let (file, path) = file.into_parts();
        let mut out = tokio::fs::File::from_std(file);
        let mut source = match self.0.files.stream(&job.audio_key).await {
            Ok(source) => source,
            Err(crate::storage::StorageError::NotFound(_)) => {
                return Err(Stop::Failed("the recording is no longer in storage".into()));
            }
            Err(error) => return Err(Stop::Retry(error.to_string())),
        };
        while let Some(piece) = source.next().await {
            let piece: Bytes = piece.map_err(|e| Stop::Retry(e.to_string()))?;
            out.write_all(&piece).await.map_err(|e| Stop::Retry(format!("cannot write the recording: {e}")))?;
        }
        out.flush().await.map_err(|e| Stop::Retry(e.to_string()))?;
        Ok(path)
    }

    /// Writes `text` as a Markdown file and registers it as the owner's document of `kind`
    /// (or finds the one that already holds it, after a crash).
    async fn add_document(
        &self,
        store: &dyn Store,
        job: &TranscriptionJob,
        owner: tome_domain::UserId,
        kind: DocumentType,
        label: &str,
        text: String,
    ) -> Result<DocumentId, Stop> {
        let stem = Path::new(&job.original_name)
            .file_stem()
            .map_or_else(|| job.original_name.clone(), |s| s.to_string_lossy().into_owned());
        let key = format!("tenants/{}/documents/{}", job.tenant_id, Uuid::now_v7());
        let stored = self.0.files.put_bytes(&key, Bytes::from(text)).await.map_err(|e| Stop::Retry(e.to_string()))?;
        let file = UploadedFile {
            original_name: format!("{stem} — {label}.md"),
            storage_key: key.clone(),
            mime_type: "text/markdown".into(),
            size_bytes: i64::try_from(stored.size_bytes).unwrap_or(i64::MAX),
            sha256: stored.sha256,
        };
        let options = UploadOptions {
            project_id: job.project_id,
            visibility: Some(job.visibility),
            document_type: Some(kind),
            ..UploadOptions::default()
        };
        let registered = match register_generated(store, job.tenant_id, owner, file, options).await {
            Ok(registered) => registered,
            Err(error) => {
                self.0.files.discard(&key).await;
                return Err(error.into());
            }
        };
        if registered.duplicate {
            self.0.files.discard(&key).await;
        }
        Ok(registered.document.id)
    }
}

/// A transcriber's failure as the job treats it: the recording's fault is final.
fn heard_error(error: TranscribeError, last_attempt: bool) -> Stop {
    match error {
        TranscribeError::Audio(audio) => Stop::Failed(format!("the recording cannot be transcribed: {audio}")),
        other if last_attempt => Stop::Failed(other.to_string()),
        other => Stop::Retry(other.to_string()),
    }
}
