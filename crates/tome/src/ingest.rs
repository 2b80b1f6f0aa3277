//! `tome ingest PATH…`: files and folders (recursive, include/exclude globs) into a tenant
//! and project through the same pipeline as uploads — streamed to storage, typed by
//! content, registered (duplicates found), then processed by workers in this process —
//! with a progress bar and a summary of what failed and why.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use globset::{Glob, GlobSet, GlobSetBuilder};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;
use tome_config::Config;
use tome_domain::auth::ClientInfo;
use tome_domain::documents::UploadOptions;
use tome_domain::knowledge::{DocumentStatus, Visibility};
use tome_domain::outbox::StorageQuota;
use tome_domain::repo::Store;
use tome_domain::{DocumentId, DomainError, TenantId};
use tome_jobs::{WorkerOptions, spawn_workers};
use tome_rag::intake::Intake;
use tome_rag::pipeline::Pipeline;

/// What `tome ingest` was asked to do.
#[derive(Debug)]
pub struct IngestRequest {
    pub paths: Vec<PathBuf>,
    pub tenant: Option<String>,
    pub project: Option<String>,
    pub user: Option<String>,
    pub visibility: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub concurrency: Option<usize>,
    /// Print the summary on stderr (stdout is kept for a caller's own output).
    pub quiet: bool,
}

/// The files under `paths` that the globs let through, sorted, hidden entries skipped. A
/// glob matches the path relative to the folder given (or the file name of a file given).
pub fn collect(paths: &[PathBuf], include: &[String], exclude: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let include = globs(include)?;
    let exclude = globs(exclude)?;
    let mut found = Vec::new();
    for root in paths {
        let meta = std::fs::metadata(root).with_context(|| format!("cannot read {}", root.display()))?;
        if meta.is_file() {
            found.push(root.clone());
            continue;
        }
        let walk = walkdir::WalkDir::new(root).sort_by_file_name().into_iter();
        for entry in walk.filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')) {
            let entry = entry.with_context(|| format!("cannot read {}", root.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
            let wanted = include.as_ref().is_none_or(|set| set.is_match(relative));
            let unwanted = exclude.as_ref().is_some_and(|set| set.is_match(relative));
            if wanted && !unwanted {
                found.push(entry.into_path());
            }
        }
    }
    Ok(found)
}

fn globs(patterns: &[String]) -> anyhow::Result<Option<GlobSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        // `*.pdf` also matches in subfolders: a pattern without a slash matches any level.
        let full = if pattern.contains('/') { pattern.clone() } else { format!("**/{pattern}") };
        builder.add(Glob::new(&full).with_context(|| format!("invalid glob {pattern:?}"))?);
    }
    Ok(Some(builder.build()?))
}

/// One file that did not become a processed document, and why.
struct Failure {
    path: PathBuf,
    reason: String,
}

pub async fn run(
    config: Config,
    store: Arc<dyn Store>,
    pipeline: Pipeline,
    request: IngestRequest,
) -> anyhow::Result<()> {
    let quiet = request.quiet;
    macro_rules! say {
        ($($arg:tt)*) => {
            if quiet { eprintln!($($arg)*) } else { println!($($arg)*) }
        };
    }
    let files = collect(&request.paths, &request.include, &request.exclude)?;
    if files.is_empty() {
        bail!("no files to ingest under {}", display_paths(&request.paths));
    }
    let access = tome_domain::auth::operator_access(store.as_ref(), request.user.as_deref(), request.tenant.as_deref())
        .await
        .context("cannot act for the documents' owner")?;
    let tenant = access.tenant_id;
    let store = store.for_tenant(tenant);
    let options = UploadOptions {
        project_id: match &request.project {
            Some(project) => Some(find_project(store.as_ref(), tenant, project).await?),
            None => None,
        },
        visibility: match request.visibility.as_deref() {
            Some(text) => Some(
                text.parse::<Visibility>()
                    .map_err(|_| anyhow::anyhow!("--visibility must be `tenant` or `private`, not {text:?}"))?,
            ),
            None => None,
        },
        document_type: None,
        ..UploadOptions::default()
    };
    let intake = Intake::new(pipeline.files.clone(), config.max_upload_bytes)
        .with_quota(StorageQuota { max_documents: config.quota_documents, max_bytes: config.quota_storage_bytes });
    let client = ClientInfo { ip: None, user_agent: Some("tome ingest".into()) };
    let started = Instant::now();

    // Workers start at once, so processing overlaps registration.
    let stats = pipeline.stats.clone();
    // More workers than cores: while one document's chunks are embedded, others are read and
    // chunked, and their chunks join the next embedding batch.
    let count = request.concurrency.unwrap_or((config.workers as usize).max(4)).max(1);
    let (stop, stopped) = watch::channel(false);
    let handlers = tome_jobs::builtin_handlers().into_iter().chain(pipeline.clone().handlers()).collect();
    let options_for_workers =
        WorkerOptions { idle_poll: Duration::from_millis(100), ..crate::commands::worker_options(&config) };
    let workers = spawn_workers(store.clone(), handlers, count, options_for_workers, stopped);

    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files · {msg} · {elapsed_precise} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut failures = Vec::new();
    let mut duplicates = 0usize;
    let mut pending: VecDeque<(DocumentId, PathBuf)> = VecDeque::new();
    for path in &files {
        match register(&intake, store.as_ref(), &access, path, &options, &client).await {
            Ok((id, false)) => pending.push_back((id, path.clone())),
            Ok((_, true)) => {
                duplicates += 1;
                bar.inc(1);
            }
            Err(reason) => {
                failures.push(Failure { path: path.clone(), reason });
                bar.inc(1);
            }
        }
        let finished = settle(store.as_ref(), tenant, &mut pending, &mut failures).await?;
        bar.inc(finished);
        bar.set_message(rates(&stats, started));
    }
    while !pending.is_empty() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let finished = settle(store.as_ref(), tenant, &mut pending, &mut failures).await?;
        bar.inc(finished);
        bar.set_message(rates(&stats, started));
    }
    bar.finish_and_clear();
    let _ = stop.send(true);
    for worker in workers {
        let _ = worker.await;
    }

    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let processed = files.len() - duplicates - failures.len();
    say!(
        "{} file(s): {processed} processed, {duplicates} already there, {} failed, in {seconds:.1} s",
        files.len(),
        failures.len()
    );
    let chunks = stats.chunks.load(Ordering::Relaxed);
    let tokens = stats.tokens.load(Ordering::Relaxed);
    say!(
        "{:.1} documents/s, {chunks} chunks ({:.1}/s), {tokens} tokens",
        processed as f64 / seconds,
        chunks as f64 / seconds
    );
    match &pipeline.embedder {
        Some(embedder) => {
            let embedded = stats.embedded_tokens.load(Ordering::Relaxed);
            let embedding_seconds = (stats.embed_micros.load(Ordering::Relaxed) as f64 / 1e6).max(1e-9);
            say!(
                "embedded with {}: {embedded} tokens, {:.0} tokens/s overall, {:.0} tokens/s while embedding",
                embedder.model_name(),
                embedded as f64 / seconds,
                embedded as f64 / embedding_seconds
            );
        }
        None => {
            say!("no embedding model: the documents are searchable by keywords; `tome reindex` embeds them later")
        }
    }
    if let Some(peak) = peak_rss_mib() {
        say!("peak memory (RSS): {peak:.0} MiB");
    }
    for failure in &failures {
        say!("failed: {}: {}", failure.path.display(), failure.reason);
    }
    if !failures.is_empty() {
        bail!("{} of {} file(s) failed", failures.len(), files.len());
    }
    Ok(())
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

fn rates(stats: &tome_rag::pipeline::PipelineStats, started: Instant) -> String {
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let chunks = stats.chunks.load(Ordering::Relaxed);
    let tokens = stats.embedded_tokens.load(Ordering::Relaxed);
    format!("{chunks} chunks · {:.1} chunks/s · {:.0} tokens/s", chunks as f64 / seconds, tokens as f64 / seconds)
}

/// Streams one file to storage and registers it; (document, duplicate) or why not.
async fn register(
    intake: &Intake,
    store: &dyn Store,
    access: &tome_domain::access::Access,
    path: &Path,
    options: &UploadOptions,
    client: &ClientInfo,
) -> Result<(DocumentId, bool), String> {
    let file = tokio::fs::File::open(path).await.map_err(|e| format!("cannot open: {e}"))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stream = tokio_util::io::ReaderStream::new(file).boxed();
    let received = intake.receive(access.tenant_id, &name, stream).await.map_err(|e| e.to_string())?;
    let mut registered =
        intake.register(store, access, vec![received], options.clone(), client).await.map_err(|e| e.to_string())?;
    let done = registered.pop().ok_or("nothing was registered")?;
    Ok((done.document.id, done.duplicate))
}

/// Removes finished documents from the front of `pending` (up to 64 looked at), recording
/// errors; returns how many finished.
async fn settle(
    store: &dyn Store,
    tenant: TenantId,
    pending: &mut VecDeque<(DocumentId, PathBuf)>,
    failures: &mut Vec<Failure>,
) -> anyhow::Result<u64> {
    let mut finished = 0;
    let mut index = 0;
    while index < pending.len().min(64) {
        let (id, path) = &pending[index];
        let status = match store.get_document(tenant, *id).await {
            Ok(document) => Some((document.status, document.error)),
            Err(DomainError::NotFound(_)) => Some((DocumentStatus::Error, Some("deleted meanwhile".into()))),
            Err(error) => return Err(error.into()),
        };
        match status {
            Some((DocumentStatus::Processed, _)) => {}
            Some((DocumentStatus::Error, error)) => {
                failures.push(Failure { path: path.clone(), reason: error.unwrap_or_else(|| "failed".into()) });
            }
            _ => {
                index += 1;
                continue;
            }
        }
        pending.remove(index);
        finished += 1;
    }
    Ok(finished)
}

/// A project of the tenant by id or exact name.
async fn find_project(store: &dyn Store, tenant: TenantId, hint: &str) -> anyhow::Result<tome_domain::ProjectId> {
    if let Ok(id) = hint.parse::<tome_domain::ProjectId>() {
        return Ok(store.get_project(tenant, id).await.with_context(|| format!("no project {hint}"))?.id);
    }
    let mut matches = Vec::new();
    let mut page = tome_domain::PageRequest::first(tome_domain::page::MAX_LIMIT);
    loop {
        let found = store.list_projects(tenant, Default::default(), page).await?;
        matches.extend(found.items.into_iter().filter(|p| p.name == hint).map(|p| p.id));
        match found.next_cursor {
            Some(cursor) => page = tome_domain::PageRequest::parse(Some(tome_domain::page::MAX_LIMIT), Some(&cursor))?,
            None => break,
        }
    }
    match matches.as_slice() {
        [project] => Ok(*project),
        [] => bail!("no project named {hint:?} in this tenant"),
        _ => bail!("several projects are named {hint:?}: give its id"),
    }
}

/// The process's peak resident memory (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
