//! The rules of transcription jobs: who may ask for one (`transcriptions.create`), who sees
//! it (its creator; with `documents.manage`, anyone's in the tenant — others get 404), where
//! its two documents go (visibility `tenant` needs `documents.ingest`, as an upload would),
//! and the background job that does the work.

use serde_json::json;

use crate::access::Access;
use crate::audio::{NewTranscriptionJob, TranscriptionJob};
use crate::audit;
use crate::auth::ClientInfo;
use crate::documents::{INGEST, MANAGE, name};
use crate::jobs::NewJob;
use crate::knowledge::Visibility;
use crate::outbox::Write;
use crate::repo::Store;
use crate::{DomainError, DomainResult, Page, PageRequest, ProjectId, TenantId, TranscriptionJobId, now};

pub const CREATE: &str = "transcriptions.create";

/// The job that transcribes a recording, writes its minutes and adds both as documents.
/// Payload: `{"transcription_id"}`.
pub const RUN_JOB: &str = "transcription.run";

/// A recording already written to storage.
#[derive(Clone, Debug)]
pub struct UploadedAudio {
    pub original_name: String,
    pub audio_key: String,
    pub mime_type: String,
    pub size_bytes: i64,
}

/// Choices made when asking for a transcription.
#[derive(Clone, Debug, Default)]
pub struct TranscriptionOptions {
    /// The language spoken, when known (else detected).
    pub language: Option<String>,
    pub project_id: Option<ProjectId>,
    /// Of the transcript and minutes: `tenant` by default for those who may add shared
    /// knowledge (`documents.ingest`), else `private`.
    pub visibility: Option<Visibility>,
}

/// Creates the job and queues its work.
pub async fn create(
    store: &dyn Store,
    access: &Access,
    audio: UploadedAudio,
    options: TranscriptionOptions,
    client: &ClientInfo,
) -> DomainResult<TranscriptionJob> {
    access.require(CREATE)?;
    let visibility = match options.visibility {
        Some(Visibility::Tenant) => {
            access.require(INGEST).map_err(|_| {
                DomainError::Forbidden("sharing the transcript with the tenant needs documents.ingest".into())
            })?;
            Visibility::Tenant
        }
        Some(Visibility::Private) => Visibility::Private,
        None if access.can(INGEST) => Visibility::Tenant,
        None => Visibility::Private,
    };
    let language = match options.language.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) if code.len() <= 8 && code.chars().all(|c| c.is_ascii_alphabetic() || c == '-') => {
            Some(code.to_ascii_lowercase())
        }
        Some(_) => return Err(DomainError::invalid("language", "must be a language code such as `en`")),
    };
    let new = NewTranscriptionJob {
        user_id: Some(access.user_id),
        audio_key: audio.audio_key,
        original_name: name(&audio.original_name)?,
        mime_type: Some(audio.mime_type),
        size_bytes: audio.size_bytes,
        language,
        project_id: options.project_id,
        visibility,
    };
    // The request, its job and its audit line are written together: none without the others.
    let id = TranscriptionJobId::new();
    let summary = format!("asked for a transcript of {} ({} bytes)", new.original_name, new.size_bytes);
    let changes = json!({"name": new.original_name, "visibility": new.visibility.as_str()});
    let target = ("transcription", id.to_string());
    let entry = audit::entry(Some(access.user_id), "transcription.create", target, summary, changes, client);
    let writes = vec![Write::CreateTranscription { id, new }, Write::Enqueue(run_job(access.tenant_id, id))];
    store.write_unit(access.tenant_id, writes, Some(entry)).await?;
    store.get_transcription(access.tenant_id, id).await
}

/// The job's background work, with three attempts (a recording's own fault is not retried).
pub fn run_job(tenant: TenantId, transcription: TranscriptionJobId) -> NewJob {
    NewJob {
        tenant_id: Some(tenant),
        kind: RUN_JOB.into(),
        payload: json!({"transcription_id": transcription}),
        max_attempts: 3,
        run_at: now(),
    }
}

/// Your transcriptions, newest first; `everyone` (with `documents.manage`) lists the tenant's.
pub async fn list(
    store: &dyn Store,
    access: &Access,
    everyone: bool,
    page: PageRequest,
) -> DomainResult<Page<TranscriptionJob>> {
    access.require(CREATE)?;
    if everyone {
        access.require(MANAGE)?;
    }
    let user = (!everyone).then_some(access.user_id);
    store.list_transcriptions(access.tenant_id, user, page).await
}

/// One transcription: yours, or anyone's with `documents.manage`; else 404.
pub async fn get(store: &dyn Store, access: &Access, id: TranscriptionJobId) -> DomainResult<TranscriptionJob> {
    access.require(CREATE)?;
    let job = store.get_transcription(access.tenant_id, id).await?;
    if job.user_id == Some(access.user_id) || access.can(MANAGE) {
        Ok(job)
    } else {
        Err(DomainError::NotFound("transcription"))
    }
}

/// Deletes a transcription (its recording is removed by the caller; the transcript and
/// minutes documents stay — they are deleted as documents). A job still running stops
/// writing when it finds its row gone. Returns what was deleted.
pub async fn delete(
    store: &dyn Store,
    access: &Access,
    id: TranscriptionJobId,
    client: &ClientInfo,
) -> DomainResult<TranscriptionJob> {
    let job = get(store, access, id).await?;
    store.delete_transcription(access.tenant_id, id).await?;
    let summary = format!("deleted the transcription of {}", job.original_name);
    audit::record(store, access, "transcription.delete", ("transcription", id.to_string()), summary, json!({}), client)
        .await?;
    Ok(job)
}
