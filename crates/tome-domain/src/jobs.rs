//! Background job records: the durable queue in the database.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{JobId, TenantId, Timestamp, text_enum};

text_enum!(
    /// A job's life cycle: queued → running → succeeded | failed (queued again while
    /// attempts remain).
    JobStatus {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Job {
    pub id: JobId,
    pub tenant_id: Option<TenantId>,
    pub kind: String,
    pub payload: Value,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: Timestamp,
    pub locked_until: Option<Timestamp>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub finished_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewJob {
    pub tenant_id: Option<TenantId>,
    pub kind: String,
    pub payload: Value,
    pub max_attempts: i32,
    pub run_at: Timestamp,
}

/// The job queue for superadmins (`GET /api/v1/jobs`): every job of every tenant, newest
/// first, by status — failed jobs stay listed with their last error.
pub async fn list(
    store: &dyn crate::repo::Store,
    principal: &crate::auth::Principal,
    status: Option<JobStatus>,
    page: crate::PageRequest,
) -> crate::DomainResult<crate::Page<Job>> {
    crate::tenancy::require_superadmin(principal)?;
    store.list_jobs(status, page).await
}
