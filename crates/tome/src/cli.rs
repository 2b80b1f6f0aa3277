//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tome_config::Overrides;

#[derive(Parser, Debug)]
#[command(name = "tome", version, about = "Self-hosted, multi-tenant knowledge assistant")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Configuration file (default: ./tome.toml when present).
    #[arg(long, global = true, env = "TOME_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data folder (TOME_DATA_DIR).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL (DATABASE_URL / TOME_DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the API and web UI, with background workers in-process.
    Serve {
        /// Listen address (TOME_BIND).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Run background workers only.
    Worker {
        /// Number of concurrent workers (default: the `workers` setting, at least 1).
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Apply database migrations and seed what a new installation needs.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Manage users without the API.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Ingest files and folders (recursively) into a tenant through the upload pipeline, with
    /// a progress bar; exit status 1 when a file failed (each is listed with its reason).
    Ingest {
        /// Files and folders.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Tenant id or slug (default: the user's first tenant, or the default tenant).
        #[arg(long)]
        tenant: Option<String>,
        /// Project id or name in that tenant.
        #[arg(long)]
        project: Option<String>,
        /// Owner of the documents, username or email (default: the oldest superadmin).
        #[arg(long)]
        user: Option<String>,
        /// `tenant` (shared, the default) or `private` (the owner's alone).
        #[arg(long)]
        visibility: Option<String>,
        /// Only files matching this glob (repeatable; `*.pdf` matches at any depth).
        #[arg(long)]
        include: Vec<String>,
        /// Skip files matching this glob (repeatable).
        #[arg(long)]
        exclude: Vec<String>,
        /// Workers processing in this process (default: the `workers` setting).
        #[arg(long)]
        concurrency: Option<usize>,
    },
    /// Transcribe recordings here with the configured model (a progress bar each) and write
    /// their minutes; print both, or save `<stem>.transcript.md` and `<stem>.minutes.md`.
    /// Exit status 1 when a recording failed (each is listed with its reason).
    Transcribe {
        /// Recordings (WAV, MP3, FLAC, Ogg Vorbis, M4A/AAC).
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Save into this folder instead of printing.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Report the configured models: where they are, whether they are found and load
    /// (exit status 1 when a configured model is unusable).
    Models,
    /// Give processed documents vectors from the configured embedding model: those without
    /// (processed while no embedder was available) and those by another model.
    Reindex {
        /// Extract and chunk every document again too, not only embed.
        #[arg(long)]
        all: bool,
        /// Only this tenant (id or slug).
        #[arg(long)]
        tenant: Option<String>,
        /// Do the work in this process and return when it is done, instead of queueing it
        /// for the workers of `tome serve` or `tome worker`.
        #[arg(long)]
        wait: bool,
    },
    /// Measure retrieval quality on a BEIR-layout dataset (corpus.jsonl, queries.jsonl,
    /// qrels/test.tsv): ingest the corpus into a scratch installation, then print nDCG@10,
    /// Recall@10, Recall@100, MRR@10 and query latency for each search mode.
    Eval {
        /// The dataset folder.
        dataset: std::path::PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Evaluate on this empty PostgreSQL database instead of a scratch SQLite one.
        #[arg(long)]
        database_url: Option<String>,
        /// Only the first N test queries.
        #[arg(long)]
        max_queries: Option<usize>,
    },
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Work with the keys that seal secrets at rest.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Internal: read one file from stdin in a memory- and time-capped child process and
    /// print its sections as JSON (started by the ingestion pipeline, not by people).
    #[command(name = "extract-file", hide = true)]
    ExtractFile {
        #[arg(long)]
        kind: String,
        #[arg(long)]
        max_inflated_bytes: u64,
        #[arg(long)]
        max_text_bytes: usize,
        #[arg(long)]
        memory_bytes: u64,
        #[arg(long)]
        cpu_secs: u64,
        #[arg(long)]
        limited: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Put a new current key in front of the ring in the data folder and seal every stored
    /// secret again under it (older keys stay, so nothing sealed is lost).
    Rotate,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute the audit hash chains: every tenant's and the platform's (exit status 1 when
    /// one is broken).
    Verify {
        /// Check only this tenant (id or slug).
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user (the password is read from standard input, or prompted for).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: Option<String>,
        /// Platform-wide administrator, owner of the default tenant.
        #[arg(long)]
        superadmin: bool,
        /// Role in the default tenant (default: owner for a superadmin, else member).
        #[arg(long)]
        role: Option<String>,
    },
    /// Make a single-use password reset token for an account (valid 30 minutes) and print
    /// it: how a password is reset where no mail goes out.
    ResetLink {
        /// The account's email or username.
        login: String,
    },
}

impl GlobalArgs {
    pub fn overrides(&self, bind: Option<String>) -> Overrides {
        Overrides { data_dir: self.data_dir.clone(), bind, database_url: self.database_url.clone() }
    }
}
