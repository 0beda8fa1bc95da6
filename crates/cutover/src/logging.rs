//! Logs through tracing to standard error: readable on a terminal, JSON lines with
//! `--log-format json`. The level comes from `--log-level` or `RUST_LOG`.

use tracing_subscriber::EnvFilter;

use crate::cli::{GlobalArgs, LogFormat};

/// Installs the global subscriber. A second call (tests) keeps the first one.
pub fn init(args: &GlobalArgs) -> anyhow::Result<()> {
    let filter = match &args.log_level {
        Some(level) => EnvFilter::try_new(level)?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    // Text lines go above the progress bars while they are drawn (JSON logs have no bars).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::progress::LogWriter::default);
    let installed = match args.log_format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // Already installed (several runs in one test process): keep the first subscriber.
    drop(installed);
    Ok(())
}
