//! What each subcommand does.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tome_api::AppState;
use tome_config::Config;
use tome_domain::accounts::{AccountInput, create_account};
use tome_domain::repo::{Store, StoreAdmin};
use tome_jobs::{JobHandler, Step, Worker, WorkerOptions, spawn_workers};
use tome_rag::pipeline::Pipeline;
use tome_rag::storage::FileStore;
use tome_store::{SqlStore, StoreOptions};

use crate::cli::{AuditCommand, Cli, Command, SecretsCommand, UserCommand};
use crate::telemetry;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let bind = match &cli.command {
        Command::Serve { bind } => bind.clone(),
        _ => None,
    };
    let config = Config::load(cli.global.config.as_deref(), &cli.global.overrides(bind))?;
    let quiet = matches!(
        cli.command,
        Command::Ingest { .. }
            | Command::Reindex { .. }
            | Command::Models
            | Command::Eval { .. }
            | Command::Transcribe { .. }
    );
    telemetry::init(config.log_format, if quiet { "warn" } else { "info,sqlx=warn" });
    match cli.command {
        Command::Serve { .. } => serve(config).await,
        Command::Worker { concurrency } => worker(config, concurrency).await,
        Command::Migrate => migrate(config).await,
        Command::Config => {
            print!("{}", config.redacted());
            Ok(())
        }
        Command::User { command } => user(config, command).await,
        Command::Models => {
            if !crate::models::report(&config).await? {
                bail!("a configured model is not usable");
            }
            Ok(())
        }
        Command::Reindex { all, tenant, wait } => reindex(config, all, tenant, wait).await,
        Command::Ingest { paths, tenant, project, user, visibility, include, exclude, concurrency } => {
            let request = crate::ingest::IngestRequest {
                paths,
                tenant,
                project,
                user,
                visibility,
                include,
                exclude,
                concurrency,
                quiet: false,
            };
            let store: Arc<dyn Store> = Arc::new(open_store(&config).await?);
            let pipeline = pipeline(&config, store.clone())?;
            crate::ingest::run(config, store, pipeline, request).await
        }
        Command::Transcribe { files, out } => {
            crate::transcribe::run(config, crate::transcribe::TranscribeRequest { files, out }).await
        }
        Command::Audit { command: AuditCommand::Verify { tenant } } => verify_audit(config, tenant).await,
        Command::Secrets { command: SecretsCommand::Rotate } => {
            let store = open_store(&config).await?;
            crate::keys::rotate(&config, &store).await
        }
        Command::Eval { dataset, json, database_url, max_queries } => {
            crate::eval::run(config, crate::eval::EvalRequest { dataset, json, database_url, max_queries }).await
        }
        Command::ExtractFile { .. } => anyhow::bail!("extract-file runs before the runtime starts"),
    }
}

/// Checks the chains named (or all), printing one line per chain.
async fn verify_audit(config: Config, tenant: Option<String>) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let chains: Vec<(String, Option<tome_domain::TenantId>)> = match tenant {
        Some(hint) => {
            let tenant = tome_domain::tenancy::find_tenant(&store, &hint).await?;
            vec![(tenant.slug, Some(tenant.id))]
        }
        None => {
            let mut chains = vec![("(platform)".to_owned(), None)];
            chains.extend(tome_domain::tenancy::all_tenants(&store).await?.into_iter().map(|t| (t.slug, Some(t.id))));
            chains
        }
    };
    let mut broken = 0;
    for (name, tenant) in chains {
        let report = tome_domain::audit::verify(&store, tenant).await?;
        match &report.broken {
            None => println!("{name}: ok, {} entries, head {}", report.entries, report.head.as_deref().unwrap_or("-")),
            Some((entry, reason)) => {
                broken += 1;
                let seq = entry.seq.map_or_else(|| "-".to_owned(), |s| s.to_string());
                println!("{name}: BROKEN at entry {seq} ({}): {reason}", entry.id);
            }
        }
    }
    store.close().await;
    if broken > 0 {
        bail!("{broken} audit chain(s) do not verify");
    }
    Ok(())
}

/// Creates the data folder (for the SQLite file and uploads) and opens the database.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data folder {}", config.data_dir.display()))?;
    let url = config.database_url();
    Ok(SqlStore::open(&url, &StoreOptions::default()).await?)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.bind).await.with_context(|| format!("cannot listen on {}", config.bind))?;
    let store = open_store(&config).await?;
    let address = listener.local_addr().context("cannot read the listening address")?;
    let store: Arc<dyn Store> = Arc::new(store);
    let (stop_workers, workers_stopped) = watch::channel(false);
    let chat_models = crate::models::load_chat_models(&config)?;
    let pipeline = meetings(pipeline(&config, store.clone())?, &config, &chat_models)?;
    if let Some(embedder) = &pipeline.embedder {
        // Documents without vectors, or by a model no longer configured, are embedded in the
        // background; they stay searchable meanwhile.
        let (store, model) = (store.clone(), embedder.model_name().to_owned());
        tokio::spawn(async move {
            match tome_domain::documents::queue_embeddings(store.as_ref(), &model, None).await {
                Ok(0) => {}
                Ok(queued) => tracing::info!(queued, %model, "documents queued for embedding"),
                Err(error) => tracing::error!(%error, "cannot queue documents for embedding"),
            }
        });
    }
    let embedder = pipeline.embedder.clone();
    {
        // The search indexes are built (or loaded) before the first search needs them: the
        // embedded keyword and vector indexes, or PostgreSQL's missing HNSW indexes.
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(error) = store.refresh_search().await {
                tracing::error!(%error, "cannot load the search indexes");
            }
        });
    }
    let workers = spawn_workers(
        store.clone(),
        job_handlers(pipeline),
        config.workers as usize,
        worker_options(&config),
        workers_stopped,
    );
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    tracing::info!(%address, database = store.backend(), data_dir = %config.data_dir.display(), "Tome is listening on http://{address}");
    let key = crate::keys::signing_key(&config)?;
    let keyring = crate::keys::keyring(&config)?;
    match tome_domain::two_factor::reseal(store.as_ref(), &keyring).await {
        Ok(0) => {}
        Ok(resealed) => tracing::info!(resealed, "second-factor secrets sealed under the current key"),
        Err(error) => tracing::error!(%error, "cannot seal the second-factor secrets"),
    }
    let state = AppState::new(store.clone(), config, &key)
        .map_err(anyhow::Error::msg)?
        .with_keyring(keyring)
        .with_embedder(embedder)
        .with_chat_models(chat_models);
    if let Some(metrics_bind) = state.config.metrics_bind {
        let metrics = TcpListener::bind(metrics_bind)
            .await
            .with_context(|| format!("cannot listen on {metrics_bind} (metrics_bind)"))?;
        let router = tome_api::routes::health::metrics_only(state.clone());
        tracing::info!(%metrics_bind, "metrics are served on their own address");
        tokio::spawn(async move {
            if let Err(error) = axum::serve(metrics, router).await {
                tracing::error!(%error, "the metrics server stopped");
            }
        });
    }
    let options = tome_api::ServeOptions::from_config(&state.config);
    let router = tome_api::router(state);
    tome_api::serve_with(listener, router, shutdown_signal(), options)
        .await
        .context("the server stopped with an error")?;
    let _ = stop_workers.send(true);
    for worker in workers {
        let _ = tokio::time::timeout(grace, worker).await;
    }
    if let Err(error) = store.save_search().await {
        tracing::warn!(%error, "cannot save the vector index; it is rebuilt at the next start");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The job loop's settings from the configuration (the lease; at least 3 s, so that the
/// heartbeat has a second to act).
pub fn worker_options(config: &Config) -> WorkerOptions {
    WorkerOptions { lease: Duration::from_secs(config.job_lease_secs.max(3)), ..WorkerOptions::default() }
}

/// The ingestion pipeline as configured: storage, and the embedder when there is one.
pub(crate) fn pipeline(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Pipeline> {
    let files = FileStore::open(config.storage_url.as_deref(), &config.data_dir.join("files"))?;
    // Hostile PDF and Office files are read by a child of this binary that can be stopped.
    let child = tome_rag::extract::isolate::ChildExtractor::this_binary(config.extract_memory_mb.max(64))?;
    let pipeline = Pipeline::new(store, files).with_extractor(
        tome_rag::extract::isolate::Extractor::Child(child),
        Duration::from_secs(config.extract_timeout_secs.max(1)),
    );
    Ok(match crate::models::load_embedder(config)? {
        Some(embedder) => pipeline.with_embedder(embedder),
        None => pipeline,
    })
}

/// `pipeline` with the configured transcriber, and minutes written by the default chat model.
pub(crate) fn meetings(
    pipeline: Pipeline,
    config: &Config,
    chat_models: &[Arc<dyn tome_models::chat::ChatModel>],
) -> anyhow::Result<Pipeline> {
    Ok(pipeline
        .with_transcriber(crate::models::load_transcriber(config)?)
        .with_minutes_model(chat_models.first().cloned()))
}

/// Every kind of background job this binary runs.
fn job_handlers(pipeline: Pipeline) -> Vec<Arc<dyn JobHandler>> {
    let mut handlers = tome_jobs::builtin_handlers();
    handlers.extend(pipeline.handlers());
    handlers
}

/// `tome reindex`: queues embedding (or, with `all`, full processing) of the documents
/// that need it; with `wait`, runs the queue in this process until it is empty.
async fn reindex(config: Config, all: bool, tenant: Option<String>, wait: bool) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = Arc::new(open_store(&config).await?);
    let pipeline = pipeline(&config, store.clone())?;
    let tenants = match &tenant {
        Some(hint) => Some(vec![tome_domain::tenancy::find_tenant(store.as_ref(), hint).await?]),
        None => None,
    };
    let queued = if all {
        let tenants = match tenants {
            Some(tenants) => tenants,
            None => tome_domain::tenancy::all_tenants(store.as_ref()).await?,
        };
        let mut queued = 0;
        for tenant in tenants {
            queued += tome_domain::documents::queue_processing(store.as_ref(), tenant.id).await?;
        }
        println!("queued {queued} document(s) to be extracted, chunked and embedded again");
        queued
    } else {
        let Some(embedder) = &pipeline.embedder else {
            bail!("no embedding model is configured or found; `tome models` says where Tome looks");
        };
        let only = tenants.map(|t| t.into_iter().map(|t| t.id).collect::<Vec<_>>());
        let queued =
            tome_domain::documents::queue_embeddings(store.as_ref(), embedder.model_name(), only.as_deref()).await?;
        println!("queued {queued} document(s) for embedding with {}", embedder.model_name());
        queued
    };
    if wait && queued > 0 {
        let worker =
            Worker::new(store.clone(), job_handlers(pipeline), Worker::default_name(0), worker_options(&config));
        let (mut succeeded, mut failed) = (0u64, 0u64);
        loop {
            match worker.step().await? {
                Step::Idle => break,
                Step::Succeeded(_) => succeeded += 1,
                Step::Failed(error) => {
                    failed += 1;
                    eprintln!("a job failed: {error}");
                }
                Step::LeaseLost(kind) => eprintln!("a {kind} job was taken over by another worker"),
            }
        }
        println!("done: {succeeded} job(s) succeeded, {failed} failed");
        // The search indexes of the new vectors (PostgreSQL: built concurrently, here).
        store.refresh_search().await?;
    } else if queued > 0 {
        println!("a running `tome serve` or `tome worker` does the work; `tome reindex --wait` does it here");
    }
    Ok(())
}

async fn worker(config: Config, concurrency: Option<usize>) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = Arc::new(open_store(&config).await?);
    let count = concurrency.unwrap_or(config.workers as usize).max(1);
    let (stop, stopped) = watch::channel(false);
    let chat_models = crate::models::load_chat_models(&config)?;
    let handlers = job_handlers(meetings(pipeline(&config, store.clone())?, &config, &chat_models)?);
    let workers = spawn_workers(store, handlers, count, worker_options(&config), stopped);
    tracing::info!(count, "workers running; stop with Ctrl-C or SIGTERM");
    shutdown_signal().await;
    let _ = stop.send(true);
    for worker in workers {
        let _ = tokio::time::timeout(Duration::from_secs(config.shutdown_grace_secs), worker).await;
    }
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data folder {}", config.data_dir.display()))?;
    let store = SqlStore::connect(&config.database_url(), &StoreOptions::default()).await?;
    let applied = store.migrate().await?;
    store.seed().await.context("cannot seed the database")?;
    println!(
        "applied {applied} migration(s); {} database at version {}",
        store.backend(),
        store.latest_known_migration().unwrap_or_default()
    );
    // PostgreSQL: each embedding model's vector index, built concurrently (never by a search).
    for index in store.ensure_vector_indexes().await.context("cannot build the vector indexes")? {
        println!("built vector index {index}");
    }
    Ok(())
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let (email, username, name, superadmin, role) = match command {
        UserCommand::Create { email, username, name, superadmin, role } => (email, username, name, superadmin, role),
        UserCommand::ResetLink { login } => return reset_link(config, &login).await,
    };
    let password = read_password()?;
    let store = open_store(&config).await?;
    let role = role.unwrap_or_else(|| if superadmin { "owner".into() } else { "member".into() });
    let input = AccountInput {
        email,
        username,
        name,
        password,
        is_active: true,
        is_superadmin: superadmin,
        tenant_id: None,
        role,
    };
    let user = create_account(&store, input).await?;
    println!(
        "created user {} <{}> ({}){}",
        user.username,
        user.email,
        user.id,
        if user.is_superadmin { ", superadmin" } else { "" }
    );
    Ok(())
}

/// Prints a single-use reset token for the account `login`.
async fn reset_link(config: Config, login: &str) -> anyhow::Result<()> {
    use tome_domain::repo::UserRepo;
    let store = open_store(&config).await?;
    let user = store.find_user_by_login(login).await.map_err(|_| anyhow::anyhow!("no account is {login:?}"))?;
    let client = tome_domain::auth::ClientInfo { user_agent: Some("tome user reset-link".into()), ip: None };
    let (token, expires_at) = tome_domain::passwords::admin_reset_token(&store, None, user.id, &client).await?;
    println!("{token}");
    eprintln!(
        "single-use reset token for {} <{}>, valid until {expires_at}: send it with a new password to \
         POST /api/v1/auth/password/reset ({{\"token\": …, \"new_password\": …}})",
        user.username, user.email
    );
    store.close().await;
    Ok(())
}

/// The password from standard input when it is not a terminal, else prompted twice.
fn read_password() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!("no password on standard input");
        }
        return Ok(password);
    }
    let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
    let second = rpassword::prompt_password("Password again: ").context("cannot read the password")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(first)
}

/// Resolves on Ctrl-C or SIGTERM.
/// Ctrl-C or SIGTERM. The SIGTERM handler is installed at once, when this is called, not
/// when the future is first polled, so that a signal right after startup is not fatal.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let interrupt = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async move {
            match terminate {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = interrupt => {},
            () = terminate => {},
        }
    }
}
