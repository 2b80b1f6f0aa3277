//! The durable job queue. Claiming is the one place where the engines differ: PostgreSQL
//! locks the chosen row with `FOR UPDATE SKIP LOCKED` so that concurrent workers never
//! take the same job; SQLite has one writer at a time, so a single `UPDATE … RETURNING` is
//! already exclusive.

use async_trait::async_trait;
use tome_domain::jobs::{Job, JobStatus, NewJob};
use tome_domain::knowledge::NewAuditEntry;
use tome_domain::outbox::Write;
use tome_domain::repo::JobQueue;
use tome_domain::{DomainResult, JobId, Page, PageRequest, TenantId, Timestamp, now};

use crate::sql::{Arg, Sql, values};
use crate::{Backend, SqlStore};

const JOB: &str = "id, tenant_id, kind, payload, status, attempts, max_attempts, run_at, locked_until, locked_by, \
last_error, finished_at, created_at, updated_at";

/// The columns of a new queued job.
pub(crate) fn job_values(new: NewJob) -> Vec<(&'static str, Arg)> {
    let now = now();
    values![
        "id" => JobId::new(), "tenant_id" => new.tenant_id, "kind" => new.kind, "payload" => new.payload,
        "status" => JobStatus::Queued.as_str(), "attempts" => 0, "max_attempts" => new.max_attempts.max(1),
        "run_at" => new.run_at, "created_at" => now, "updated_at" => now,
    ]
}

#[async_trait]
impl JobQueue for SqlStore {
    async fn enqueue(&self, new: NewJob) -> DomainResult<Job> {
        self.one("job", Sql::insert("jobs", job_values(new), JOB)).await
    }

    async fn write_unit(&self, tenant: TenantId, writes: Vec<Write>, entry: Option<NewAuditEntry>) -> DomainResult<()> {
        self.write_unit_of(tenant, writes, entry).await
    }

    async fn get_job(&self, id: JobId) -> DomainResult<Job> {
        self.one("job", Sql::new(format!("SELECT {JOB} FROM jobs WHERE id = ")).bind(id)).await
    }

    async fn claim_job(&self, worker: &str, now: Timestamp, lease_until: Timestamp) -> DomainResult<Option<Job>> {
        // A job whose worker died on its last attempt will never be claimed again: fail it.
        let exhausted = Sql::new("UPDATE jobs SET status = 'failed', finished_at = ")
            .bind(now)
            .push(", updated_at = ")
            .bind(now)
            .push(", locked_by = NULL, locked_until = NULL, last_error = coalesce(last_error, 'the worker stopped during the last attempt') ")
            .push("WHERE status = 'running' AND locked_until < ")
            .bind(now)
            .push(" AND attempts >= max_attempts");
        self.exec("job", exhausted).await?;

        let lock = match self.backend_kind() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = Sql::new("UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = ")
            .bind(worker)
            .push(", locked_until = ")
            .bind(lease_until)
            .push(", updated_at = ")
            .bind(now)
            .push(" WHERE id = (SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= ")
            .bind(now)
            .push(") OR (status = 'running' AND locked_until < ")
            .bind(now)
            .push(format!(" AND attempts < max_attempts) ORDER BY run_at, id LIMIT 1{lock}) RETURNING {JOB}"));
        self.optional("job", sql).await
    }

    async fn complete_job(&self, id: JobId, worker: &str, at: Timestamp) -> DomainResult<()> {
        let sql = Sql::new("UPDATE jobs SET status = 'succeeded', finished_at = ")
            .bind(at)
            .push(", updated_at = ")
            .bind(at)
            .push(", locked_by = NULL, locked_until = NULL WHERE id = ")
            .bind(id)
            .push(" AND locked_by = ")
            .bind(worker);
        self.exec_one("job", sql).await
    }

    async fn extend_lease(&self, id: JobId, worker: &str, until: Timestamp) -> DomainResult<()> {
        let sql = Sql::new("UPDATE jobs SET locked_until = ")
            .bind(until)
            .push(" WHERE id = ")
            .bind(id)
            .push(" AND status = 'running' AND locked_by = ")
            .bind(worker);
        self.exec_one("job", sql).await
    }

    async fn fail_job(&self, id: JobId, worker: &str, error: &str, retry_at: Timestamp) -> DomainResult<Job> {
        let now = now();
        let sql = Sql::new(
            "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
             finished_at = CASE WHEN attempts >= max_attempts THEN ",
        )
        .bind(now)
        .push(" ELSE NULL END, run_at = ")
        .bind(retry_at)
        .push(", last_error = ")
        .bind(error)
        .push(", updated_at = ")
        .bind(now)
        .push(", locked_by = NULL, locked_until = NULL WHERE id = ")
        .bind(id)
        .push(" AND locked_by = ")
        .bind(worker)
        .push(format!(" RETURNING {JOB}"));
        self.one("job", sql).await
    }

    async fn list_jobs(&self, status: Option<JobStatus>, page: PageRequest) -> DomainResult<Page<Job>> {
        let sql = Sql::new(format!("SELECT {JOB} FROM jobs WHERE 1 = 1")).and_eq("status", status.map(|s| s.as_str()));
        self.page_of("job", sql, page, |j: &Job| j.id.0).await
    }
}
