//! Logging: human-readable or JSON lines (`TOME_LOG_FORMAT`), filtered by `RUST_LOG`.

use tome_config::LogFormat;
use tracing_subscriber::EnvFilter;

/// `default_filter` applies when `RUST_LOG` is unset: `info,sqlx=warn` for servers, `warn`
/// for commands with their own progress display.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A subscriber may already be set (tests running commands in-process); keep it.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
