//! The broker put together: [`Config`] (each domain's settings and the checks across
//! them), the parts built from it (the token manager, the ORDS client, the verdicts,
//! the limits, the metrics), and [`serve`], the one way `main`, the test suites, the
//! soak and the benchmarks start a broker, so every suite runs what production runs.
//!
//! - [`config`]: [`Config`], read once at start-up.
//! - [`check`]: `license-broker check`, the preflight that proves the ORDS route.
//! - [`keygen`]: writing a new signing key file; [`cli_help`]: the binary's long help.
//!
//! Shutdown: when the `shutdown` future completes, readiness turns 503 at once, the
//! listener keeps accepting for the configured drain delay (so a load balancer sees
//! the 503 instead of refused connections), then stops; every connection is asked to
//! finish its in-flight request and close (idle keep-alive connections close at once),
//! and in-flight requests get what is left of the shutdown grace. The accept loop
//! itself is `http`'s.

pub(crate) mod check;
pub mod cli_help;
mod config;
pub(crate) mod keygen;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{warn_about_unknown_variables, Config};

use crate::config::vars as var;
use crate::config::ConfigError;
use crate::guard::Limits;
use crate::http::tls::{self, TlsError};
use crate::http::{self, AppState, Parts, Signals};
use crate::metrics::Metrics;
use crate::ords::token::{TokenHandle, TokenManager, TokenSetupError, TokenSource};
use crate::ords::OrdsClient;
use crate::verdict::{system_clock, LookupCache, UnixClock, Verdicts};

/// Why [`serve`] could not start, or stopped other than by a drain. Each message is
/// one line naming the file, setting or address involved.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The token manager's HTTP client cannot be built.
    #[error(transparent)]
    TokenSetup(#[from] TokenSetupError),
    /// A part built from the configuration cannot be built (the ORDS client).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listener cannot be bound.
    #[error("{}: cannot listen on {addr}: {error}", var::LISTEN)]
    Listen { addr: SocketAddr, error: io::Error },
    /// The separate metrics listener cannot be bound.
    #[error("{}: cannot listen on {addr}: {error}", var::METRICS_LISTEN)]
    MetricsListen { addr: SocketAddr, error: io::Error },
    /// The listener failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Runs the broker for `config` on `listener` until `shutdown` completes, then drains
/// (see the module docs). The token manager is started here and stopped at the end;
/// the result is `Ok` after a drain, so the process exits 0.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    Broker::new(config).serve(listener, shutdown).await
}

/// `license-broker serve`: [`serve`] on `config.listen` until SIGTERM or SIGINT.
pub async fn serve_until_signalled(config: Config) -> Result<(), ServeError> {
    // Installed before the listener exists, so a SIGTERM that arrives as soon as the
    // broker is reachable still drains instead of killing it.
    let mut signals = Signals::install().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C will stop the broker gracefully");
        Signals::ctrl_c_only()
    });
    let addr = config.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|error| ServeError::Listen { addr, error })?;
    let shutdown = async move {
        let signal = signals.recv().await;
        tracing::info!(?signal, "shutdown requested");
    };
    serve(config, listener, shutdown).await
}

/// [`serve`] with parts replaced: test suites give a stand-in token source (to make
/// ORDS's token endpoint misbehave on cue) or a fixed clock. Everything else, the
/// drain, TLS and the router, is the same code.
pub struct Broker {
    config: Config,
    tokens: Option<Arc<dyn TokenSource>>,
    clock: UnixClock,
}

impl Broker {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            tokens: None,
            clock: system_clock(),
        }
    }

    /// Tokens from `tokens` instead of a token manager for the configured endpoint.
    pub fn with_tokens(mut self, tokens: Arc<dyn TokenSource>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Verdicts signed at the times `clock` gives (unix seconds).
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Runs until `shutdown` completes; see [`serve`].
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Self {
            config,
            tokens,
            clock,
        } = self;
        let tls = match &config.edge.tls {
            Some(files) => Some(tls::server_config(&files.cert, &files.key)?),
            None => None,
        };
        let (tokens, manager) = match tokens {
            Some(tokens) => (tokens, None),
            None => {
                let handle = TokenManager::spawn(config.token_config())?;
                let tokens: Arc<dyn TokenSource> = Arc::new(handle.clone());
                (tokens, Some(handle))
            }
        };
        let state = build_state(&config, tokens, clock)?;
        let metrics_task = start_metrics_listener(&config, &state).await?;
        let local = listener.local_addr()?;
        if tls.is_none() && !local.ip().is_loopback() {
            tracing::warn!(
                listen = %local,
                "plain HTTP on a non-loopback address: put a TLS-terminating proxy in front, or set LICENSE_BROKER_TLS_CERT_FILE and LICENSE_BROKER_TLS_KEY_FILE"
            );
        }
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            listen = %local,
            tls = tls.is_some(),
            ords = %config.ords.base_url,
            kid = config.signer.kid(),
            trusted_proxies = %config.edge.trusted_proxies,
            "license broker serving"
        );
        let public_metrics = metrics_task.is_none();
        let served = http::serve(listener, tls, state, public_metrics, shutdown).await;
        stop(manager, metrics_task);
        served?;
        tracing::info!("license broker stopped");
        Ok(())
    }
}

/// What the handlers share, built from `config`, getting tokens from `tokens` and
/// signing at the times `clock` gives.
pub(crate) fn build_state(
    config: &Config,
    tokens: Arc<dyn TokenSource>,
    clock: UnixClock,
) -> Result<AppState, ConfigError> {
    let metrics = Arc::new(Metrics::new());
    let ords = OrdsClient::new(&config.ords, Arc::clone(&tokens))
        .map_err(|e| ConfigError::new("outbound HTTP client", format!("cannot be built: {e}")))?
        .with_metrics(Arc::clone(&metrics));
    let verdicts = Verdicts::new(
        ords,
        LookupCache::new(config.cache),
        config.license_keys.clone(),
        config.signer.clone(),
        config.policy,
        config.seats,
        clock,
    );
    let limits = Limits::new(config.rate.per_ip, config.rate.per_key)
        .with_activations_per_hour(config.seats.activations_per_hour);
    Ok(AppState::new(Parts {
        tokens,
        verdicts,
        license_keys: config.license_keys.clone(),
        edge: config.edge.clone(),
        limits,
        metrics,
    }))
}

/// `/metrics` on its own listener when `LICENSE_BROKER_METRICS_LISTEN` is set (`None`:
/// it stays on the public router).
async fn start_metrics_listener(
    config: &Config,
    state: &AppState,
) -> Result<Option<JoinHandle<()>>, ServeError> {
    let Some(addr) = config.metrics_listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|error| ServeError::MetricsListen { addr, error })?;
    tracing::info!(listen = %listener.local_addr()?, "serving /metrics on its own listener");
    let state = state.clone();
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = http::serve_metrics(listener, state).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    })))
}

/// After the drain: the token manager and the metrics listener stop too.
fn stop(manager: Option<TokenHandle>, metrics_task: Option<JoinHandle<()>>) {
    if let Some(manager) = manager {
        manager.shutdown();
    }
    if let Some(task) = metrics_task {
        task.abort();
    }
}

#[cfg(test)]
mod tests;
