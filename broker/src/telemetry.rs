//! Logging set-up for the binary: an env filter from `LICENSE_BROKER_LOG` (else
//! `RUST_LOG`, else a default the command picks) and text or JSON lines on stderr.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::config::vars;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// `LICENSE_BROKER_LOG_FORMAT`, when the command line gave none.
    pub fn from_env() -> Result<Option<Self>, String> {
        match std::env::var(vars::LOG_FORMAT) {
            Err(_) => Ok(None),
            Ok(v) if v.trim().eq_ignore_ascii_case("json") => Ok(Some(Self::Json)),
            Ok(v) if v.trim().eq_ignore_ascii_case("text") => Ok(Some(Self::Text)),
            Ok(v) => Err(format!(
                "{}: {:?} is not a log format; use text or json",
                vars::LOG_FORMAT,
                v.trim()
            )),
        }
    }
}

/// Installs the global subscriber. Call once, first thing in `main`. `default_filter`
/// applies when neither variable is set.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter = std::env::var(vars::LOG)
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    // Colour only on a terminal: escape codes in a log file are noise, and colouring
    // costs more than the rest of the request log line.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
