//! The accept loop: listeners (plain or TLS) into served connections, and the drain
//! on shutdown. `app` builds the state and calls [`serve`].
//!
//! The accept loop is our own because `axum::serve` has no header-read timeout: a
//! client that opens connections and trickles header bytes (slowloris) could hold them
//! forever. Each connection is served with hyper's HTTP/1 builder, which closes a
//! connection whose headers do not arrive within the configured time.
//!
//! The separate metrics listener (`LICENSE_BROKER_METRICS_LISTEN`) runs through the
//! same loop, so it too speaks only HTTP/1 and drops headers that do not arrive in
//! time; it also holds at most [`METRICS_MAX_CONNECTIONS`] connections, at most
//! [`METRICS_MAX_PER_ADDRESS`] from one address (see [`Slots`] for who is evicted at
//! the cap). Connections are file descriptors the whole process shares: without a cap,
//! a flood of half-sent requests to the metrics port could use up the broker's
//! descriptors and make the public listener fail every validation.
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
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::Service as _;

use super::slots::{Room, Slots};
use super::tls::TlsListener;
use super::{app, metrics_app, AppState};
use crate::guard::ip_bucket;

/// Connections the metrics listener holds at once. A Prometheus server scrapes over one
/// keep-alive connection, an HA pair over two; 64 leaves room for several scrapers and
/// a person with curl, and bounds the descriptors a flood can take.
pub(crate) const METRICS_MAX_CONNECTIONS: usize = 64;
/// Connections the metrics listener holds from one address (an IPv6 /64).
pub(crate) const METRICS_MAX_PER_ADDRESS: usize = 8;

/// Serves `state`'s router on `listener` (over TLS with `tls`) until `shutdown`
/// completes, then drains (see the module docs). `public_metrics`: whether
/// `/metrics` is on this listener.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    state: AppState,
    public_metrics: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let draining = state.draining().clone();
    let drain_delay = state.edge().drain_delay;
    let grace = state.edge().shutdown_grace;
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
                    None,
                    stop_accepting,
                )
                .await
            }
            None => {
                let router = app(state.clone(), public_metrics);
                serve_loop(listener, router, state, None, stop_accepting).await
            }
        }
    };
    match draining.run_with_grace(serving, grace).await {
        Some(result) => result,
        None => {
            tracing::warn!(
                grace_s = grace.as_secs(),
                "shutdown grace elapsed with requests still in flight; exiting anyway"
            );
            Ok(())
        }
    }
}

/// Serves `/metrics` alone on `listener` until the task is aborted, through the same
/// accept loop as the public listener, with the metrics caps (see the module docs).
pub(crate) async fn serve_metrics(listener: TcpListener, state: AppState) -> io::Result<()> {
    let router = metrics_app(state.clone());
    let slots = Slots::new(METRICS_MAX_CONNECTIONS, METRICS_MAX_PER_ADDRESS);
    serve_loop(listener, router, state, Some(slots), std::future::pending()).await
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

/// Accepts and serves connections until `shutdown`; with `slots`, counts every
/// connection against them for its whole life.
async fn serve_loop<L>(
    mut listener: L,
    router: Router,
    state: AppState,
    mut slots: Option<Slots>,
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
                let bucket = ip_bucket(peer.ip());
                if let Some(slots) = &mut slots {
                    match slots.make_room(bucket) {
                        Room::AddressFull => {
                            tracing::debug!(%peer, "too many connections from this address; closing");
                            continue;
                        }
                        Room::Made { evicted: 0 } => {}
                        Room::Made { .. } => {
                            tracing::debug!(%peer, "connections at their cap; evicted one of the most crowded address");
                        }
                    }
                }
                let connection = serve_connection(io, peer, router.clone(), http.clone(), stop_rx.clone());
                let abort = connections.spawn(connection);
                if let Some(slots) = &mut slots {
                    slots.hold(bucket, abort);
                }
            }
            // Reap finished connections so the set does not grow with every client.
            Some(done) = connections.join_next_with_id(), if !connections.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                if let Some(slots) = &mut slots {
                    slots.release(id);
                }
            }
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
