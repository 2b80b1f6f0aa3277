//! Changes that start background work, written as one unit: the rows, the jobs that carry
//! them on and the audit entry commit together or not at all (the job queue is an outbox
//! in the same database). A crash between them cannot leave a document that is never
//! processed, a job for a row that does not exist, or a change without its audit line.

use crate::audio::NewTranscriptionJob;
use crate::identity::{NewRole, RolePatch};
use crate::jobs::NewJob;
use crate::knowledge::NewDocument;
use crate::{ConversationId, DocumentId, RoleId, Timestamp, TranscriptionJobId};

/// The most documents and stored bytes a tenant may hold (`None`: no limit), checked in
/// the transaction that adds a document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageQuota {
    pub max_documents: Option<i64>,
    pub max_bytes: Option<i64>,
}

/// What a tenant holds, measured against its `StorageQuota`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct StorageUsed {
    pub documents: i64,
    pub bytes: i64,
}

impl StorageQuota {
    /// Refuses `more` documents of `bytes` in all when they would take `used` past the quota.
    pub fn admit(self, used: StorageUsed, more: i64, bytes: i64) -> crate::DomainResult<()> {
        let over_count = self.max_documents.is_some_and(|max| used.documents + more > max);
        let over_bytes = self.max_bytes.is_some_and(|max| used.bytes + bytes > max);
        if over_count || over_bytes { Err(self.exceeded()) } else { Ok(()) }
    }

    /// The refusal of a document past this quota.
    pub fn exceeded(self) -> crate::DomainError {
        let mut limits = Vec::new();
        if let Some(max) = self.max_documents {
            limits.push(format!("{max} documents"));
        }
        if let Some(max) = self.max_bytes {
            limits.push(format!("{max} bytes"));
        }
        crate::DomainError::QuotaExceeded {
            message: format!(
                "this upload would take the organization past its quota of {}: delete documents or ask an administrator to raise it",
                limits.join(" and ")
            ),
            retry_after_secs: None,
        }
    }
}

/// One write of a unit.
#[derive(Clone, Debug)]
pub enum Write {
    /// A new document with the id its jobs and audit entry name; refused with
    /// `DomainError::QuotaExceeded` when it would take the tenant past `quota`.
    CreateDocument { id: DocumentId, new: NewDocument, quota: StorageQuota },
    /// Hides a document from lists and search (its purge job removes the rest).
    HideDocument { id: DocumentId, at: Timestamp },
    /// Sets a document back to `uploaded`, without its last error, to be processed again.
    RequeueDocument { id: DocumentId },
    /// A new transcription request with the id its job and audit entry name.
    CreateTranscription { id: TranscriptionJobId, new: NewTranscriptionJob },
    /// Marks a conversation deleted (its purge job removes the messages).
    HideConversation { id: ConversationId },
    /// A job; it runs only once everything else of the unit is committed.
    Enqueue(NewJob),
    /// A tenant's own role with its permissions (names from the catalog).
    CreateRole { id: RoleId, new: NewRole, permissions: Vec<String> },
    /// Changes a tenant's own role, and its permissions when given.
    ChangeRole { id: RoleId, patch: RolePatch, permissions: Option<Vec<String>> },
    /// Deletes a tenant's own role that nobody holds.
    DeleteRole { id: RoleId },
}
