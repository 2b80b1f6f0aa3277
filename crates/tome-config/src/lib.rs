//! Tome's typed configuration: defaults → optional `tome.toml` → `TOME_*` environment → flags.
//!
//! The environment names are a contract (DESIGN.md, "Configuration keys"); the `tome.toml`
//! spelling of each key is the same name without the `TOME_` prefix, in lower case
//! (`TOME_BIND` → `bind`). `DATABASE_URL` is accepted beside `TOME_DATABASE_URL`; the
//! prefixed name wins when both are set.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Who may create an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignupMode {
    /// Anyone may register and use the account at once.
    Open,
    /// New accounts stay inactive until an administrator activates them.
    Approval,
    /// Only administrators create accounts.
    Closed,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The effective configuration of one Tome process.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub database_url: Option<SecretString>,
    pub signup: SignupMode,
    pub jwt_secret: Option<SecretString>,
    pub max_upload_bytes: u64,
    /// Largest JSON (non-upload) request body.
    pub max_body_bytes: u64,
    /// Seconds before a request that has not answered gets a 408.
    pub request_timeout_secs: u64,
    /// Seconds that shutdown waits for in-flight requests.
    pub shutdown_grace_secs: u64,
    pub storage_url: Option<String>,
    pub smtp_url: Option<SecretString>,
    /// The sender of Tome's mail (`Name <address>`).
    pub smtp_from: Option<String>,
    pub embed_model_dir: Option<PathBuf>,
    pub embed_base_url: Option<String>,
    pub embed_api_key: Option<SecretString>,
    pub embed_model: Option<String>,
    /// Asked of a remote embedding model that can shorten its vectors.
    pub embed_dimensions: Option<u32>,
    pub chat_model: Option<PathBuf>,
    pub llm_base_url: Option<String>,
    pub llm_api_key: Option<SecretString>,
    pub llm_model: Option<String>,
    pub whisper_model_dir: Option<PathBuf>,
    pub stt_base_url: Option<String>,
    pub stt_api_key: Option<SecretString>,
    pub stt_model: Option<String>,
    pub log_format: LogFormat,
    /// Background workers that `tome serve` runs in-process (0: none).
    pub workers: u32,
    /// How long a claimed job stays with its worker without a heartbeat: a job whose worker
    /// died is taken over this long after the last one (a live worker renews it every third).
    pub job_lease_secs: u64,
    /// How hybrid search fuses its keyword and semantic rankings: `rrf` or `convex`.
    pub search_fusion: String,
    /// The keyword ranking's weight in hybrid search.
    pub search_keyword_weight: f64,
    /// The semantic ranking's weight in hybrid search.
    pub search_semantic_weight: f64,
    /// A `/v1/rerank` server (Cohere's protocol) that re-scores the first fused results;
    /// none by default.
    pub rerank_base_url: Option<String>,
    pub rerank_api_key: Option<SecretString>,
    pub rerank_model: Option<String>,
    /// How many of the first fused results the reranker re-scores.
    pub rerank_depth: u32,
    /// Most files in one upload request.
    pub max_upload_files: u32,
    /// Seconds an upload request may take (instead of `request_timeout_secs`): a large file
    /// on a slow link is not cut off.
    pub upload_timeout_secs: u64,
    /// Most open client connections; further ones wait in the listen queue.
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers, counted from when the server
    /// waits for them: a connection idle that long between requests is closed too.
    pub header_timeout_secs: u64,
    /// `/metrics` answers only with `Authorization: Bearer <this token>` when set.
    pub metrics_token: Option<SecretString>,
    /// A separate listen address for `/metrics` (then the main address does not serve it).
    pub metrics_bind: Option<SocketAddr>,
    /// Addresses (comma-separated IPs or CIDR ranges) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<String>,
    /// The address people use (`https://tome.example.org`): links in mail, the `Secure`
    /// flag of the session cookie, and the origin that browser requests must come from.
    pub public_url: Option<String>,
    /// Key that encrypts secrets at rest (TOTP); generated once into the data folder.
    pub secret_key: Option<SecretString>,
    /// Request rates per account (four times as many per client address), by action, over
    /// the built-in ones: `search=120/min,chat=30/min,…` (see `tome_api::rates`).
    pub rate_limits: Option<String>,
    /// Most documents one tenant may hold (unset: no limit).
    pub quota_documents: Option<i64>,
    /// Most bytes of documents one tenant may store (unset: no limit).
    pub quota_storage_bytes: Option<i64>,
    /// Most model tokens (prompt and answer) one tenant may spend per UTC day (unset: no limit).
    pub quota_tokens_per_day: Option<i64>,
    /// Seconds that reading one uploaded file may take before it is stopped.
    pub extract_timeout_secs: u64,
    /// Most memory, in MiB, of the child process that reads a PDF or Office file.
    pub extract_memory_mb: u64,
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// Why the configuration could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Every configuration key, as spelled in `tome.toml` (and, upper-cased with `TOME_`, in the
/// environment).
pub const KEYS: &[&str] = &[
    "data_dir",
    "bind",
    "database_url",
    "signup",
    "jwt_secret",
    "max_upload_bytes",
    "max_body_bytes",
    "request_timeout_secs",
    "shutdown_grace_secs",
    "storage_url",
    "smtp_url",
    "smtp_from",
    "embed_model_dir",
    "embed_base_url",
    "embed_api_key",
    "embed_model",
    "embed_dimensions",
    "chat_model",
    "llm_base_url",
    "llm_api_key",
    "llm_model",
    "whisper_model_dir",
    "stt_base_url",
    "stt_api_key",
    "stt_model",
    "log_format",
    "workers",
    "job_lease_secs",
    "search_fusion",
    "search_keyword_weight",
    "search_semantic_weight",
    "rerank_base_url",
    "rerank_api_key",
    "rerank_model",
    "rerank_depth",
    "max_upload_files",
    "upload_timeout_secs",
    "max_connections",
    "header_timeout_secs",
    "metrics_token",
    "metrics_bind",
    "trusted_proxies",
    "public_url",
    "secret_key",
    "rate_limits",
    "quota_documents",
    "quota_storage_bytes",
    "quota_tokens_per_day",
    "extract_timeout_secs",
    "extract_memory_mb",
];

#[derive(Serialize)]
struct Defaults {
    data_dir: PathBuf,
    bind: String,
    signup: SignupMode,
    max_upload_bytes: u64,
    max_body_bytes: u64,
    request_timeout_secs: u64,
    shutdown_grace_secs: u64,
    log_format: LogFormat,
    workers: u32,
    job_lease_secs: u64,
    search_fusion: String,
    search_keyword_weight: f64,
    search_semantic_weight: f64,
    rerank_depth: u32,
    max_upload_files: u32,
    upload_timeout_secs: u64,
    max_connections: u32,
    header_timeout_secs: u64,
    extract_timeout_secs: u64,
    extract_memory_mb: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            bind: "127.0.0.1:8080".into(),
            signup: SignupMode::Approval,
            max_upload_bytes: 100 * 1024 * 1024,
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 60,
            shutdown_grace_secs: 30,
            log_format: LogFormat::Text,
            workers: 2,
            job_lease_secs: 300,
            search_fusion: "rrf".into(),
            search_keyword_weight: 1.0,
            search_semantic_weight: 1.0,
            rerank_depth: 50,
            max_upload_files: 20,
            upload_timeout_secs: 1800,
            max_connections: 1024,
            header_timeout_secs: 10,
            extract_timeout_secs: 300,
            extract_memory_mb: 1024,
        }
    }
}

impl Config {
    /// Loads defaults, then `config_file` (or `TOME_CONFIG`, or `./tome.toml` when present),
    /// then the environment, then `overrides`.
    pub fn load(config_file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::figment(config_file, overrides)?.extract().map_err(|error| ConfigError::Invalid(describe(error)))
    }

    /// The configuration a test or an embedded caller starts from: defaults with a data folder.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let overrides = Overrides { data_dir: Some(data_dir.into()), ..Overrides::default() };
        // Defaults alone always extract; a failure here would be a bug in `Defaults`.
        Figment::from(Serialized::defaults(Defaults::default()))
            .merge(Serialized::defaults(overrides))
            .extract()
            .unwrap_or_else(|error| unreachable!("built-in defaults are valid: {error}"))
    }

    fn figment(config_file: Option<&Path>, overrides: &Overrides) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Defaults::default()));
        let explicit =
            config_file.map(Path::to_path_buf).or_else(|| std::env::var_os("TOME_CONFIG").map(PathBuf::from));
        match explicit {
            Some(path) if !path.is_file() => return Err(ConfigError::MissingFile(path)),
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("tome.toml").is_file() => figment = figment.merge(Toml::file_exact("tome.toml")),
            None => {}
        }
        Ok(figment
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database_url".into()))
            // Only Tome's own keys: other TOME_* variables (scripts', tests') are not ours to
            // reject. Unknown keys in tome.toml are still errors, since there they are typos.
            .merge(Env::prefixed("TOME_").only(KEYS))
            .merge(Serialized::defaults(overrides)))
    }

    /// The SQLite file used when no database URL is configured.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("tome.db")
    }

    /// The database URL in force: the configured one, else the SQLite file in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!("sqlite://{}", self.sqlite_path().display()),
        }
    }

    /// The effective configuration as `tome.toml` lines, secrets redacted.
    pub fn redacted(&self) -> Redacted<'_> {
        Redacted(self)
    }
}

/// Turns a figment error into one sentence that names the key and where it came from.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|error| {
            let key = error.path.join(".");
            let origin = error
                .metadata
                .as_ref()
                .map(|metadata| match &metadata.source {
                    Some(source) => format!(" (from {} {source})", metadata.name),
                    None => format!(" (from {})", metadata.name),
                })
                .unwrap_or_default();
            let env_name = format!("TOME_{}", key.to_uppercase());
            if key.is_empty() {
                format!("{}{origin}", error.kind)
            } else {
                format!("key `{key}` ({env_name}): {}{origin}", error.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Hides the password in a URL such as `postgres://user:secret@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') { format!("{scheme}://{user}:[redacted]@{host}{path}") } else { url.to_owned() }
        }
        None => url.to_owned(),
    }
}

/// Display adapter that prints the configuration with every secret hidden.
pub struct Redacted<'a>(&'a Config);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.0;
        let secret = |value: &Option<SecretString>| match value {
            Some(_) => "\"[redacted]\"".to_owned(),
            None => "# unset".to_owned(),
        };
        let text = |value: Option<String>| match value {
            Some(value) => format!("{value:?}"),
            None => "# unset".to_owned(),
        };
        let number = |value: Option<i64>| value.map_or_else(|| "# unset".to_owned(), |n| n.to_string());
        let path = |value: &Option<PathBuf>| text(value.as_ref().map(|p| p.display().to_string()));
        let lines = [
            ("data_dir", format!("{:?}", config.data_dir.display().to_string())),
            ("bind", format!("\"{}\"", config.bind)),
            ("database_url", format!("{:?}", redact_url(&config.database_url()))),
            ("signup", format!("{:?}", format!("{:?}", config.signup).to_lowercase())),
            ("jwt_secret", secret(&config.jwt_secret)),
            ("max_upload_bytes", config.max_upload_bytes.to_string()),
            ("max_body_bytes", config.max_body_bytes.to_string()),
            ("request_timeout_secs", config.request_timeout_secs.to_string()),
            ("shutdown_grace_secs", config.shutdown_grace_secs.to_string()),
            ("storage_url", text(config.storage_url.clone())),
            ("smtp_url", text(config.smtp_url.as_ref().map(|u| redact_url(u.expose_secret())))),
            ("smtp_from", text(config.smtp_from.clone())),
            ("embed_model_dir", path(&config.embed_model_dir)),
            ("embed_base_url", text(config.embed_base_url.clone())),
            ("embed_api_key", secret(&config.embed_api_key)),
            ("embed_model", text(config.embed_model.clone())),
            ("embed_dimensions", config.embed_dimensions.map_or_else(|| "# unset".to_owned(), |d| d.to_string())),
            ("chat_model", path(&config.chat_model)),
            ("llm_base_url", text(config.llm_base_url.clone())),
            ("llm_api_key", secret(&config.llm_api_key)),
            ("llm_model", text(config.llm_model.clone())),
            ("whisper_model_dir", path(&config.whisper_model_dir)),
            ("stt_base_url", text(config.stt_base_url.clone())),
            ("stt_api_key", secret(&config.stt_api_key)),
            ("stt_model", text(config.stt_model.clone())),
            ("log_format", format!("{:?}", format!("{:?}", config.log_format).to_lowercase())),
            ("workers", config.workers.to_string()),
            ("job_lease_secs", config.job_lease_secs.to_string()),
            ("search_fusion", format!("{:?}", config.search_fusion)),
            ("search_keyword_weight", config.search_keyword_weight.to_string()),
            ("search_semantic_weight", config.search_semantic_weight.to_string()),
            ("rerank_base_url", text(config.rerank_base_url.clone())),
            ("rerank_api_key", secret(&config.rerank_api_key)),
            ("rerank_model", text(config.rerank_model.clone())),
            ("rerank_depth", config.rerank_depth.to_string()),
            ("max_upload_files", config.max_upload_files.to_string()),
            ("upload_timeout_secs", config.upload_timeout_secs.to_string()),
            ("max_connections", config.max_connections.to_string()),
            ("header_timeout_secs", config.header_timeout_secs.to_string()),
            ("metrics_token", secret(&config.metrics_token)),
            ("metrics_bind", text(config.metrics_bind.map(|a| a.to_string()))),
            ("trusted_proxies", text(config.trusted_proxies.clone())),
            ("public_url", text(config.public_url.clone())),
            ("secret_key", secret(&config.secret_key)),
            ("rate_limits", text(config.rate_limits.clone())),
            ("quota_documents", number(config.quota_documents)),
            ("quota_storage_bytes", number(config.quota_storage_bytes)),
            ("quota_tokens_per_day", number(config.quota_tokens_per_day)),
            ("extract_timeout_secs", config.extract_timeout_secs.to_string()),
            ("extract_memory_mb", config.extract_memory_mb.to_string()),
        ];
        for (key, value) in lines {
            writeln!(f, "{key} = {value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[expect(clippy::result_large_err, reason = "figment's Jail works in figment::Error")]
#[expect(clippy::expect_used, reason = "tests")]
mod tests {
    use super::*;
    use figment::Jail;

    fn load(overrides: &Overrides) -> figment::error::Result<Config> {
        Config::load(None, overrides).map_err(|error| figment::Error::from(error.to_string()))
    }

    #[test]
    fn defaults_apply_without_file_or_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let config = load(&Overrides::default())?;
            assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
            assert_eq!(config.data_dir, PathBuf::from("./data"));
            assert_eq!(config.signup, SignupMode::Approval);
            assert_eq!(config.max_upload_bytes, 100 * 1024 * 1024);
            assert!(config.database_url().starts_with("sqlite://./data/tome.db"));
            Ok(())
        });
    }

    #[test]
    fn environment_wins_over_file_and_flags_win_over_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("tome.toml", "bind = \"127.0.0.1:9000\"\nsignup = \"open\"\n")?;
            jail.set_env("TOME_BIND", "127.0.0.1:9001");
            let config = load(&Overrides::default())?;
            assert_eq!(config.bind.to_string(), "127.0.0.1:9001");
            assert_eq!(config.signup, SignupMode::Open);
            let flags = Overrides { bind: Some("127.0.0.1:9002".into()), ..Overrides::default() };
            assert_eq!(load(&flags)?.bind.to_string(), "127.0.0.1:9002");
            Ok(())
        });
    }

    #[test]
    fn prefixed_database_url_wins_over_the_plain_one() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("DATABASE_URL", "postgres://a@h/plain");
            assert_eq!(load(&Overrides::default())?.database_url(), "postgres://a@h/plain");
            jail.set_env("TOME_DATABASE_URL", "postgres://a@h/prefixed");
            assert_eq!(load(&Overrides::default())?.database_url(), "postgres://a@h/prefixed");
            Ok(())
        });
    }

    #[test]
    fn invalid_value_is_reported_with_its_key() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("TOME_BIND", "not-an-address");
            let error = Config::load(None, &Overrides::default()).expect_err("bad bind must fail");
            let message = error.to_string();
            assert!(message.contains("`bind`"), "{message}");
            assert!(message.contains("TOME_BIND"), "{message}");
            jail.set_env("TOME_BIND", "127.0.0.1:1");
            jail.set_env("TOME_SIGNUP", "sometimes");
            let message = Config::load(None, &Overrides::default()).expect_err("bad signup").to_string();
            assert!(message.contains("`signup`"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn missing_explicit_config_file_is_an_error() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let error = Config::load(Some(Path::new("nope.toml")), &Overrides::default());
            assert!(matches!(error, Err(ConfigError::MissingFile(_))));
            Ok(())
        });
    }

    #[test]
    fn unrelated_tome_variables_are_ignored_but_unknown_file_keys_are_errors() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("TOME_PG_HOME", "/tmp/elsewhere");
            assert_eq!(load(&Overrides::default())?.bind.to_string(), "127.0.0.1:8080");
            jail.create_file("tome.toml", "bnd = \"127.0.0.1:1\"\n")?;
            let message = Config::load(None, &Overrides::default()).expect_err("typo").to_string();
            assert!(message.contains("bnd"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn every_key_is_printed_by_config_and_read_from_the_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let printed = load(&Overrides::default())?.redacted().to_string();
            let keys: Vec<&str> = printed.lines().filter_map(|line| line.split(" = ").next()).collect();
            assert_eq!(keys, KEYS);
            jail.set_env("TOME_WORKERS", "7");
            jail.set_env("TOME_STT_MODEL", "whisper-1");
            let config = load(&Overrides::default())?;
            assert_eq!((config.workers, config.stt_model.as_deref()), (7, Some("whisper-1")));
            Ok(())
        });
    }

    #[test]
    fn redacted_output_hides_every_secret() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("TOME_DATABASE_URL", "postgres://tome:hunter2@db/tome");
            jail.set_env("TOME_JWT_SECRET", "supersecretvalue");
            jail.set_env("TOME_LLM_API_KEY", "sk-abcdef");
            let config = load(&Overrides::default())?;
            let printed = config.redacted().to_string();
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(!printed.contains("supersecretvalue"), "{printed}");
            assert!(!printed.contains("sk-abcdef"), "{printed}");
            assert!(printed.contains("postgres://tome:[redacted]@db/tome"), "{printed}");
            assert!(!format!("{config:?}").contains("hunter2"));
            Ok(())
        });
    }
}
