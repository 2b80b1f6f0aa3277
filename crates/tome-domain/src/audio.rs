//! Audio records: transcription jobs (recording → transcript → meeting minutes).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::knowledge::Visibility;
use crate::{DocumentId, ProjectId, TenantId, Timestamp, TranscriptionJobId, UserId, text_enum};

text_enum!(
    /// A transcription job's life cycle.
    TranscriptionStatus {
        Pending => "pending",
        Processing => "processing",
        Completed => "completed",
        Failed => "failed",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct TranscriptionJob {
    pub id: TranscriptionJobId,
    pub tenant_id: TenantId,
    pub user_id: Option<UserId>,
    pub audio_key: String,
    pub original_name: String,
    pub mime_type: Option<String>,
    pub size_bytes: i64,
    pub duration_seconds: Option<f64>,
    pub language: Option<String>,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub status: TranscriptionStatus,
    pub transcript: Option<String>,
    /// JSON array of timed segments: start, end, text.
    pub segments: Value,
    pub minutes: Option<String>,
    pub error: Option<String>,
    pub transcript_document_id: Option<DocumentId>,
    pub minutes_document_id: Option<DocumentId>,
    /// Seconds of audio heard so far (of `duration_seconds`).
    pub progress_seconds: f64,
    /// Where the two documents go, and who may read them.
    pub project_id: Option<ProjectId>,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub visibility: Visibility,
    /// The transcription model that heard it.
    pub model: Option<String>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewTranscriptionJob {
    pub user_id: Option<UserId>,
    pub audio_key: String,
    pub original_name: String,
    pub mime_type: Option<String>,
    pub size_bytes: i64,
    pub language: Option<String>,
    pub project_id: Option<ProjectId>,
    pub visibility: Visibility,
}

#[derive(Clone, Debug, Default)]
pub struct TranscriptionPatch {
    pub status: Option<TranscriptionStatus>,
    pub duration_seconds: Option<f64>,
    pub language: Option<String>,
    pub transcript: Option<String>,
    pub segments: Option<Value>,
    pub minutes: Option<String>,
    pub error: Option<Option<String>>,
    pub transcript_document_id: Option<DocumentId>,
    pub minutes_document_id: Option<DocumentId>,
    pub progress_seconds: Option<f64>,
    pub model: Option<String>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}
