//! Transcription jobs.

use async_trait::async_trait;
use tome_domain::audio::{NewTranscriptionJob, TranscriptionJob, TranscriptionPatch, TranscriptionStatus};
use tome_domain::repo::AudioRepo;
use tome_domain::{DomainResult, Page, PageRequest, TenantId, TranscriptionJobId, UserId, now};

use crate::SqlStore;
use crate::sql::{Arg, Sets, Sql, values};

const TRANSCRIPTION: &str = "id, tenant_id, user_id, audio_key, original_name, mime_type, size_bytes, \
duration_seconds, language, status, transcript, segments, minutes, error, transcript_document_id, \
minutes_document_id, progress_seconds, project_id, visibility, model, started_at, completed_at, created_at, updated_at";

/// The columns of a new transcription request.
pub(crate) fn transcription_values(
    tenant: TenantId,
    id: TranscriptionJobId,
    new: NewTranscriptionJob,
) -> Vec<(&'static str, Arg)> {
    let now = now();
    values![
        "id" => id, "tenant_id" => tenant, "user_id" => new.user_id,
        "audio_key" => new.audio_key, "original_name" => new.original_name, "mime_type" => new.mime_type,
        "size_bytes" => new.size_bytes, "language" => new.language,
        "project_id" => new.project_id, "visibility" => new.visibility.as_str(),
        "status" => TranscriptionStatus::Pending.as_str(), "segments" => serde_json::json!([]),
        "created_at" => now, "updated_at" => now,
    ]
}

#[async_trait]
impl AudioRepo for SqlStore {
    async fn create_transcription(&self, tenant: TenantId, new: NewTranscriptionJob) -> DomainResult<TranscriptionJob> {
        self.ensure_in_tenant("project", "projects", tenant, new.project_id.map(|p| p.0)).await?;
        let values = transcription_values(tenant, TranscriptionJobId::new(), new);
        self.one("transcription", Sql::insert("transcription_jobs", values, TRANSCRIPTION)).await
    }

    async fn get_transcription(&self, tenant: TenantId, id: TranscriptionJobId) -> DomainResult<TranscriptionJob> {
        let sql = Sql::new(format!("SELECT {TRANSCRIPTION} FROM transcription_jobs WHERE ")).scoped(tenant, id);
        self.one("transcription", sql).await
    }

    async fn list_transcriptions(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        page: PageRequest,
    ) -> DomainResult<Page<TranscriptionJob>> {
        let sql = Sql::new(format!("SELECT {TRANSCRIPTION} FROM transcription_jobs WHERE tenant_id = "))
            .bind(tenant)
            .and_eq("user_id", user);
        self.page_of("transcription", sql, page, |t: &TranscriptionJob| t.id.0).await
    }

    async fn update_transcription(
        &self,
        tenant: TenantId,
        id: TranscriptionJobId,
        patch: TranscriptionPatch,
    ) -> DomainResult<TranscriptionJob> {
        self.ensure_in_tenant("document", "documents", tenant, patch.transcript_document_id.map(|d| d.0)).await?;
        self.ensure_in_tenant("document", "documents", tenant, patch.minutes_document_id.map(|d| d.0)).await?;
        let sets = Sets::default()
            .set("status", patch.status.map(|s| s.as_str()))
            .set("duration_seconds", patch.duration_seconds)
            .set("language", patch.language)
            .set("transcript", patch.transcript)
            .set("segments", patch.segments)
            .set("minutes", patch.minutes)
            .set("error", patch.error)
            .set("transcript_document_id", patch.transcript_document_id)
            .set("minutes_document_id", patch.minutes_document_id)
            .set("progress_seconds", patch.progress_seconds)
            .set("model", patch.model)
            .set("started_at", patch.started_at)
            .set("completed_at", patch.completed_at);
        let sql = Sql::update("transcription_jobs", sets.0, now())
            .scoped(tenant, id)
            .push(format!(" RETURNING {TRANSCRIPTION}"));
        self.one("transcription", sql).await
    }

    async fn delete_transcription(&self, tenant: TenantId, id: TranscriptionJobId) -> DomainResult<()> {
        self.exec_one("transcription", Sql::new("DELETE FROM transcription_jobs WHERE ").scoped(tenant, id)).await
    }
}
