//! The background job loop: claims due jobs from the durable queue in the database, runs
//! the handler registered for each job's kind, and records success or the error. Retries
//! back off exponentially; a job whose worker died is taken over when its lease expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use tome_domain::jobs::Job;
use tome_domain::repo::Store;
use tome_domain::{DomainResult, now};

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

    /// A worker name unique to this process and index: host-less, so it never leaks.
    pub fn default_name(index: usize) -> String {
        format!("worker-{}-{index}", std::process::id())
    }

    /// Claims and runs at most one due job.
    pub async fn step(&self) -> DomainResult<Step> {
        let claimed_at = now();
        let lease_until = claimed_at + self.options.lease;
        let Some(job) = self.store.claim_job(&self.name, claimed_at, lease_until).await? else {
            return Ok(Step::Idle);
        };
        let outcome = match self.handlers.get(job.kind.as_str()) {
            Some(handler) => self.with_heartbeat(&job, handler.run(&job)).await,
            None => Err(format!("no handler for jobs of kind `{}`", job.kind)),
        };
        match outcome {
            Ok(()) => {
                self.store.complete_job(job.id, &self.name, now()).await?;
                tracing::info!(job = %job.id, kind = %job.kind, "job succeeded");
                Ok(Step::Succeeded(job.kind))
            }
            Err(error) => {
                let retry_at = now() + self.options.backoff(job.attempts);
                let failed = self.store.fail_job(job.id, &self.name, &error, retry_at).await?;
                tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, status = %failed.status, %error, "job failed");
                Ok(Step::Failed(error))
            }
        }
    }

    /// Runs `work` while renewing the job's lease every third of it, so that a long job
    /// (a large document) is never taken over while its worker lives, and one whose worker
    /// died is taken over one lease later.
    async fn with_heartbeat(
        &self,
        job: &Job,
        work: impl std::future::Future<Output = Result<(), String>>,
    ) -> Result<(), String> {
        let beat = self.options.lease / 3;
        tokio::pin!(work);
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                () = tokio::time::sleep(beat) => {
                    if let Err(error) = self.store.extend_lease(job.id, &self.name, now() + self.options.lease).await {
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
