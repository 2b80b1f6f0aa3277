//! The worker loop against both databases.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use tome_domain::jobs::{Job, JobStatus, NewJob};
use tome_domain::now;
use tome_domain::repo::JobQueue;
use tome_jobs::{JobHandler, Step, Worker, WorkerOptions};
use tome_store::SqlStore;
use tome_testkit::contract_tests;

contract_tests!(
    handler_runs_and_job_succeeds,
    failing_handler_is_retried_then_failed,
    unknown_kind_fails_with_a_message,
    run_loop_drains_the_queue_and_stops,
    a_long_job_keeps_its_lease_while_its_worker_lives,
    a_panicking_handler_fails_its_job_and_the_worker_goes_on,
    a_worker_that_lost_its_lease_cannot_complete_the_job,
);

#[test]
fn default_worker_names_differ_between_processes_on_one_host() {
    let (a, b) = (Worker::default_name(0), Worker::default_name(0));
    assert_ne!(a, b, "a random part besides the host");
    assert!(a.ends_with("-0"), "{a}");
}

/// Fails the first `failures` runs, then succeeds; counts runs.
struct Flaky {
    failures: usize,
    runs: AtomicUsize,
}

#[async_trait]
impl JobHandler for Flaky {
    fn kind(&self) -> &'static str {
        "flaky"
    }
    async fn run(&self, _job: &Job) -> Result<(), String> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst);
        if run < self.failures { Err(format!("failure {run}")) } else { Ok(()) }
    }
}

fn options() -> WorkerOptions {
    WorkerOptions { base_backoff: Duration::ZERO, idle_poll: Duration::from_millis(10), ..WorkerOptions::default() }
}

async fn enqueue(store: &SqlStore, kind: &str, max_attempts: i32) -> Job {
    store
        .enqueue(NewJob { tenant_id: None, kind: kind.into(), payload: json!({}), max_attempts, run_at: now() })
        .await
        .unwrap()
}

async fn handler_runs_and_job_succeeds(store: SqlStore) {
    let job = enqueue(&store, "flaky", 3).await;
    let flaky = Arc::new(Flaky { failures: 0, runs: AtomicUsize::new(0) });
    let worker = Worker::new(Arc::new(store.clone()), vec![flaky.clone()], "w", options());
    assert_eq!(worker.step().await.unwrap(), Step::Succeeded("flaky".into()));
    assert_eq!(worker.step().await.unwrap(), Step::Idle);
    assert_eq!(store.get_job(job.id).await.unwrap().status, JobStatus::Succeeded);
}

async fn failing_handler_is_retried_then_failed(store: SqlStore) {
    let job = enqueue(&store, "flaky", 2).await;
    let flaky = Arc::new(Flaky { failures: 5, runs: AtomicUsize::new(0) });
    let worker = Worker::new(Arc::new(store.clone()), vec![flaky.clone()], "w", options());
    assert_eq!(worker.step().await.unwrap(), Step::Failed("failure 0".into()));
    assert_eq!(store.get_job(job.id).await.unwrap().status, JobStatus::Queued, "retried");
    assert_eq!(worker.step().await.unwrap(), Step::Failed("failure 1".into()));
    let failed = store.get_job(job.id).await.unwrap();
    assert_eq!(
        (failed.status, failed.attempts, failed.last_error.as_deref()),
        (JobStatus::Failed, 2, Some("failure 1"))
    );
    assert_eq!(worker.step().await.unwrap(), Step::Idle, "a failed job stays failed");
}

async fn unknown_kind_fails_with_a_message(store: SqlStore) {
    let job = enqueue(&store, "mystery", 1).await;
    let worker = Worker::new(Arc::new(store.clone()), Vec::new(), "w", options());
    assert!(matches!(worker.step().await.unwrap(), Step::Failed(message) if message.contains("mystery")));
    assert_eq!(store.get_job(job.id).await.unwrap().status, JobStatus::Failed);
}

async fn run_loop_drains_the_queue_and_stops(store: SqlStore) {
    for _ in 0..5 {
        enqueue(&store, "flaky", 1).await;
    }
    let flaky = Arc::new(Flaky { failures: 0, runs: AtomicUsize::new(0) });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handles = tome_jobs::spawn_workers(Arc::new(store.clone()), vec![flaky.clone()], 2, options(), stopped);
    for _ in 0..500 {
        if flaky.runs.load(Ordering::SeqCst) == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    for handle in handles {
        tokio::time::timeout(Duration::from_secs(5), handle).await.unwrap().unwrap();
    }
    assert_eq!(flaky.runs.load(Ordering::SeqCst), 5);
    let succeeded = store.list_jobs(Some(JobStatus::Succeeded), tome_domain::PageRequest::default()).await.unwrap();
    assert_eq!(succeeded.items.len(), 5);
}

/// Takes longer than a lease; counts runs.
struct Slow(AtomicUsize);

#[async_trait]
impl JobHandler for Slow {
    fn kind(&self) -> &'static str {
        "slow"
    }
    async fn run(&self, _job: &Job) -> Result<(), String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Ok(())
    }
}

async fn a_long_job_keeps_its_lease_while_its_worker_lives(store: SqlStore) {
    let job = enqueue(&store, "slow", 3).await;
    let slow = Arc::new(Slow(AtomicUsize::new(0)));
    let short = WorkerOptions { lease: Duration::from_millis(600), ..options() };
    let busy = Worker::new(Arc::new(store.clone()), vec![slow.clone()], "busy", short.clone());
    let other = Worker::new(Arc::new(store.clone()), vec![slow.clone()], "other", short);
    let running = tokio::spawn(async move { busy.step().await.unwrap() });
    // Well past the first lease: without the heartbeat the other worker would take it over.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(other.step().await.unwrap(), Step::Idle);
    assert_eq!(running.await.unwrap(), Step::Succeeded("slow".into()));
    assert_eq!(slow.0.load(Ordering::SeqCst), 1, "the job ran once");
    let done = store.get_job(job.id).await.unwrap();
    assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 1));
}

/// Panics on its first run, succeeds afterwards.
struct Panicky(AtomicUsize);

#[async_trait]
impl JobHandler for Panicky {
    fn kind(&self) -> &'static str {
        "panicky"
    }
    async fn run(&self, _job: &Job) -> Result<(), String> {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("the parser fell over");
        }
        Ok(())
    }
}

async fn a_panicking_handler_fails_its_job_and_the_worker_goes_on(store: SqlStore) {
    let first = enqueue(&store, "panicky", 1).await;
    let panicky = Arc::new(Panicky(AtomicUsize::new(0)));
    let worker = Worker::new(Arc::new(store.clone()), vec![panicky.clone()], "w", options());
    let step = worker.step().await.unwrap();
    assert!(matches!(&step, Step::Failed(message) if message.contains("the parser fell over")), "{step:?}");
    let failed = store.get_job(first.id).await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.last_error.unwrap().contains("panic"));
    // The same worker takes the next job.
    let second = enqueue(&store, "panicky", 1).await;
    assert_eq!(worker.step().await.unwrap(), Step::Succeeded("panicky".into()));
    assert_eq!(store.get_job(second.id).await.unwrap().status, JobStatus::Succeeded);
}

/// Takes 800 ms, yielding; counts runs.
struct Steady(AtomicUsize);

#[async_trait]
impl JobHandler for Steady {
    fn kind(&self) -> &'static str {
        "steady"
    }
    async fn run(&self, _job: &Job) -> Result<(), String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(800)).await;
        Ok(())
    }
}

async fn a_worker_that_lost_its_lease_cannot_complete_the_job(store: SqlStore) {
    let job = enqueue(&store, "steady", 3).await;
    let steady = Arc::new(Steady(AtomicUsize::new(0)));
    // Both under one name, as two claims by one worker: the lease token still tells them apart.
    let stalled = Worker::new(Arc::new(store.clone()), vec![steady.clone()], "w", options());
    let taker = Worker::new(Arc::new(store.clone()), vec![steady.clone()], "w", options());
    let first = tokio::spawn(async move { stalled.step().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The first claim's lease runs out (as when its worker stalls past it); the job is taken over.
    let claimed = store.get_job(job.id).await.unwrap();
    let token = claimed.locked_by.unwrap();
    store.extend_lease(job.id, &token, now() - time::Duration::seconds(1)).await.unwrap();
    let second = tokio::spawn(async move { taker.step().await.unwrap() });
    // The first claim finishes while the second runs: its completion is refused.
    assert_eq!(first.await.unwrap(), Step::LeaseLost("steady".into()));
    let running = store.get_job(job.id).await.unwrap();
    assert_eq!((running.status, running.attempts), (JobStatus::Running, 2), "still the second claim's");
    assert_ne!(running.locked_by.as_deref(), Some(token.as_str()));
    assert_eq!(second.await.unwrap(), Step::Succeeded("steady".into()));
    let done = store.get_job(job.id).await.unwrap();
    assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 2));
    assert_eq!(steady.0.load(Ordering::SeqCst), 2);
}
