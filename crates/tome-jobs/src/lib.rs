//! The background job loop: claims due jobs from the durable queue in the database, runs
//! the handler registered for each job's kind, and records success or the error. Retries
//! back off exponentially; a job whose worker died is taken over when its lease expires.
//!
//! Each claim holds a lease token of its own (`locked_by`: the worker's name and a random
//! part), which completing, failing and extending must present: a worker that lost its
//! lease — it stalled, and another took the job over — cannot complete, fail or keep a job
//! that is no longer its, even if it is the same worker claiming the same job again. A
//! handler that panics fails its job like an error would; the worker goes on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use tokio::sync::watch;
use tome_domain::jobs::Job;
use tome_domain::repo::Store;
use tome_domain::{DomainError, DomainResult, now};

/// What a kind of job does. `run` must be idempotent: a job may run again after a crash.
#[async_trait]
pub trait JobHandler: Send + Sync {
    fn kind(&self) -> &'static str;
    async fn run(&self, job: &Job) -> Result<(), String>;
}

/// How a worker paces itself.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// How long a claimed job stays reserved for this worker.
    pub lease: Duration,
    /// Pause between polls when the queue is empty.
    pub idle_poll: Duration,
    /// First retry delay; doubled for each further attempt, capped by `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(300),
            idle_poll: Duration::from_millis(500),
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl WorkerOptions {
    /// The delay before retrying a job that has failed `attempts` times (1-based).
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
        self.base_backoff.saturating_mul(2u32.saturating_pow(exponent)).min(self.max_backoff)
    }
}

/// One worker: a loop that claims and runs one job at a time.
#[derive(Clone)]
pub struct Worker {
    store: Arc<dyn Store>,
    handlers: Arc<HashMap<&'static str, Arc<dyn JobHandler>>>,
    name: String,
    options: WorkerOptions,
}

/// What one step of the loop did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Idle,
    Succeeded(String),
    Failed(String),
    /// The job's lease passed to another claim while it ran: its outcome was discarded.
    LeaseLost(String),
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        handlers: Vec<Arc<dyn JobHandler>>,
        name: impl Into<String>,
        options: WorkerOptions,
    ) -> Self {
        let handlers = handlers.into_iter().map(|handler| (handler.kind(), handler)).collect();
        Self { store, handlers: Arc::new(handlers), name: name.into(), options }
    }

    /// A worker name unique across machines, containers and processes: the host's name, a
    /// random part and the index (a process id alone repeats in every container).
    pub fn default_name(index: usize) -> String {
        let random = uuid::Uuid::new_v4().simple().to_string();
        format!("{}-{}-{index}", host_name(), &random[..8])
    }

    /// Claims and runs at most one due job.
    pub async fn step(&self) -> DomainResult<Step> {
        let claimed_at = now();
        let lease_until = claimed_at + self.options.lease;
        // This claim's lease token: what completing, failing and extending must present.
        let lease = format!("{}/{}", self.name, &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let Some(job) = self.store.claim_job(&lease, claimed_at, lease_until).await? else {
            return Ok(Step::Idle);
        };
        let outcome = match self.handlers.get(job.kind.as_str()) {
            Some(handler) => {
                let run = std::panic::AssertUnwindSafe(handler.run(&job)).catch_unwind();
                self.with_heartbeat(
                    &job,
                    &lease,
                    run.map(|result| result.unwrap_or_else(|panic| Err(panicked(&*panic)))),
                )
                .await
            }
            None => Err(format!("no handler for jobs of kind `{}`", job.kind)),
        };
        let recorded = match &outcome {
            Ok(()) => self.store.complete_job(job.id, &lease, now()).await.map(|()| None),
            Err(error) => {
                let retry_at = now() + self.options.backoff(job.attempts);
                self.store.fail_job(job.id, &lease, error, retry_at).await.map(Some)
            }
        };
        match (outcome, recorded) {
            (Ok(()), Ok(_)) => {
                tracing::info!(job = %job.id, kind = %job.kind, "job succeeded");
                Ok(Step::Succeeded(job.kind))
            }
            (Err(error), Ok(failed)) => {
                let status = failed.map(|job| job.status.as_str()).unwrap_or_default();
                tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, status, %error, "job failed");
                Ok(Step::Failed(error))
            }
            (_, Err(DomainError::NotFound(_))) => {
                tracing::warn!(job = %job.id, kind = %job.kind, "the job's lease passed to another claim; its outcome is discarded");
                Ok(Step::LeaseLost(job.kind))
            }
            (_, Err(error)) => Err(error),
        }
    }

    /// Runs `work` while renewing the job's lease every third of it, so that a long job
    /// (a large document) is never taken over while its worker lives, and one whose worker
    /// died is taken over one lease later.
    async fn with_heartbeat(
        &self,
        job: &Job,
        lease: &str,
        work: impl std::future::Future<Output = Result<(), String>>,
    ) -> Result<(), String> {
        let beat = self.options.lease / 3;
        tokio::pin!(work);
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                () = tokio::time::sleep(beat) => {
                    if let Err(error) = self.store.extend_lease(job.id, lease, now() + self.options.lease).await {
                        tracing::warn!(job = %job.id, %error, "could not extend the job's lease");
                    }
                }
            }
        }
    }

    /// Runs until `shutdown` turns true; the job in hand is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.name, "worker started");
        while !*shutdown.borrow() {
            let pause = match self.step().await {
                Ok(Step::Idle) => self.options.idle_poll,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::error!(worker = %self.name, %error, "job queue unavailable");
                    self.options.idle_poll.saturating_mul(4)
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        tracing::info!(worker = %self.name, "worker stopped");
    }
}

/// The failure a panicking handler leaves on its job.
fn panicked(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    format!("the job's handler failed unexpectedly (panic: {message})")
}

/// This machine's name (in a container: the container's), for worker names; `host` if it
/// cannot be read. Kept to the characters of a host name.
fn host_name() -> String {
    let raw = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .unwrap_or_default();
    let name: String =
        raw.trim().chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')).take(63).collect();
    if name.is_empty() { "host".to_owned() } else { name }
}

/// Starts `count` workers; they stop when `shutdown` turns true.
pub fn spawn_workers(
    store: Arc<dyn Store>,
    handlers: Vec<Arc<dyn JobHandler>>,
    count: usize,
    options: WorkerOptions,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..count)
        .map(|index| {
            let worker = Worker::new(store.clone(), handlers.clone(), Worker::default_name(index), options.clone());
            tokio::spawn(worker.run(shutdown.clone()))
        })
        .collect()
}

/// The handlers that this build knows; later features register theirs here.
pub fn builtin_handlers() -> Vec<Arc<dyn JobHandler>> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let options = WorkerOptions {
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            ..WorkerOptions::default()
        };
        assert_eq!(options.backoff(1), Duration::from_secs(5));
        assert_eq!(options.backoff(3), Duration::from_secs(20));
        assert_eq!(options.backoff(10), Duration::from_secs(60));
    }
}
