//! [`serve`]: a [`Config`] into a running broker, the one way `main`, the test suites,
//! the soak and the benchmarks start it, so every suite runs what production runs.
//!
//! The accept loop is our own because `axum::serve` has no header-read timeout: a
//! client that opens connections and trickles header bytes (slowloris) could hold them
//! forever. Each connection is served with hyper's HTTP/1 builder, which closes a
//! connection whose headers do not arrive within the configured time.
//!
//! Shutdown: when the `shutdown` future completes, readiness turns 503 at once, the
//! listener keeps accepting for the configured drain delay (so a load balancer sees
//! the 503 instead of refused connections), then stops; every connection is asked to
//! finish its in-flight request and close (idle keep-alive connections close at once),
//! and in-flight requests get what is left of the shutdown grace.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::Service as _;

use super::tls::{self, TlsListener};
use super::{app, metrics_app, AppState};
use crate::config::Config;
use crate::token::{TokenManager, TokenSource};
use crate::verdict::{system_clock, UnixClock};

/// Runs the broker for `config` on `listener` until `shutdown` completes, then drains
/// (see the module docs). The token manager is started here and stopped at the end;
/// the result is `Ok` after a drain, so the process exits 0.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Broker::new(config).serve(listener, shutdown).await
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
    ) -> anyhow::Result<()> {
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
                (
                    Arc::new(handle.clone()) as Arc<dyn TokenSource>,
                    Some(handle),
                )
            }
        };
        let state = AppState::new(&config, tokens, clock)?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                anyhow::anyhow!(
                    "{}: cannot listen on {addr}: {e}",
                    crate::config::vars::METRICS_LISTEN
                )
            })?),
            None => None,
        };
        let public_metrics = metrics_listener.is_none();
        let local = listener.local_addr()?;
        if tls.is_none() && !local.ip().is_loopback() {
            tracing::warn!(
                listen = %local,
                "plain HTTP on a non-loopback address: put a TLS-terminating proxy in front, or set LICENSE_BROKER_TLS_CERT_FILE and LICENSE_BROKER_TLS_KEY_FILE"
            );
        }
        let metrics_task = match metrics_listener {
            Some(listener) => {
                tracing::info!(listen = %listener.local_addr()?, "serving /metrics on its own listener");
                let router = metrics_app(state.clone());
                Some(tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, router).await {
                        tracing::warn!(error = %e, "the metrics listener stopped");
                    }
                }))
            }
            None => None,
        };
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            listen = %local,
            tls = tls.is_some(),
            ords = %config.ords.base_url,
            kid = config.signer.kid(),
            trusted_proxies = %config.edge.trusted_proxies,
            "license broker serving"
        );
        let draining = state.draining().clone();
        let drain_delay = config.edge.drain_delay;
        let stop_accepting = {
            let draining = draining.clone();
            async move {
                shutdown.await;
                draining.start();
                tracing::info!(
                    drain_delay_s = drain_delay.as_secs(),
                    "draining: /readyz answers 503; in-flight requests will finish"
                );
                tokio::time::sleep(drain_delay).await;
            }
        };
        let serving = async move {
            match tls {
                Some(tls) => {
                    let router = with_hsts(app(state.clone(), public_metrics));
                    serve_loop(
                        TlsListener::new(listener, tls),
                        router,
                        state,
                        stop_accepting,
                    )
                    .await
                }
                None => {
                    let router = app(state.clone(), public_metrics);
                    serve_loop(listener, router, state, stop_accepting).await
                }
            }
        };
        let grace = config.edge.shutdown_grace;
        let served = draining.run_with_grace(serving, grace).await;
        if let Some(manager) = manager {
            manager.shutdown();
        }
        if let Some(task) = metrics_task {
            task.abort();
        }
        match served {
            Some(result) => result?,
            None => tracing::warn!(
                grace_s = grace.as_secs(),
                "shutdown grace elapsed with requests still in flight; exiting anyway"
            ),
        }
        tracing::info!("license broker stopped");
        Ok(())
    }
}

/// Served over TLS, browsers and clients that honour it should never try plain HTTP.
fn with_hsts(router: Router) -> Router {
    router.layer(axum::middleware::map_response(
        |mut response: axum::response::Response| async move {
            response.headers_mut().insert(
                http::header::STRICT_TRANSPORT_SECURITY,
                http::HeaderValue::from_static("max-age=31536000"),
            );
            response
        },
    ))
}

async fn serve_loop<L>(
    mut listener: L,
    router: Router,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.edge().header_read_timeout)
        .keep_alive(true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            (io, peer) = listener.accept() => {
                let connection = serve_connection(io, peer, router.clone(), http.clone(), stop_rx.clone());
                connections.spawn(connection);
            }
            // Reap finished connections so the set does not grow with every client.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    state.draining().start();
    drop(listener);
    stop_tx.send_replace(true);
    tracing::info!(
        connections = connections.len(),
        "stopped accepting; finishing in-flight requests"
    );
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    http: http1::Builder,
    mut stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().call(request)
    });
    let connection = http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = async { let _ = stop.wait_for(|stop| *stop).await; } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // Header timeouts, resets and malformed requests: the client's problem.
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
