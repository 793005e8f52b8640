//! The broker's HTTP API (CONTRACT §3): the router and the server loop.
//!
//! - [`validate`]: `POST /v1/license/validate`.
//! - [`health`]: `GET /healthz` and `GET /readyz`.
//! - [`error`]: [`ApiError`], the only error a handler returns.
//! - [`state`]: [`AppState`], what handlers share.

pub mod error;
pub mod health;
pub mod state;
pub mod validate;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use state::AppState;

/// The router. Sensitive inbound headers are marked before tracing sees them.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/v1/license/validate", post(validate::validate))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(DefaultBodyLimit::max(validate::BODY_LIMIT))
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([
            AUTHORIZATION,
            COOKIE,
        ]))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish. Peer addresses are kept for per-IP rate limiting.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
