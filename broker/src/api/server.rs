//! The accept loop. `axum::serve` has no header-read timeout, so a client that opens
//! connections and trickles header bytes (slowloris) could hold them forever; this
//! loop serves each connection with hyper's HTTP/1 builder, which closes a connection
//! whose headers do not arrive within the configured time.
//!
//! Shutdown: when the `shutdown` future completes the broker is marked draining, stops
//! accepting, asks every connection to finish its in-flight request and close (idle
//! keep-alive connections close at once), and returns once all have. Bounding that
//! wait is the caller's business (`run::serve` applies the grace period).

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

use super::{app, AppState};
use crate::edge::TlsListener;

/// Serves `app(state)` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish. Peer addresses are kept for per-IP rate limiting.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_on(listener, state, shutdown).await
}

/// [`serve`] over TLS (see [`crate::edge::tls::server_config`]).
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_loop(
        TlsListener::new(listener, tls),
        with_hsts(app(state.clone())),
        state,
        shutdown,
    )
    .await
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

/// [`serve`] on any listener that yields peer socket addresses.
pub async fn serve_on<L>(
    listener: L,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    serve_loop(listener, app(state.clone()), state, shutdown).await
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
