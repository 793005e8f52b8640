//! The broker's HTTP API (CONTRACT §3): the router and the server loop.
//!
//! - [`validate`]: `POST /v1/license/validate`.
//! - [`health`]: `GET /healthz`, `GET /readyz` and `GET /metrics`.
//! - [`error`]: [`ApiError`], the only error a handler returns.
//! - [`state`]: [`AppState`], what handlers share.
//! - [`server`]: the accept loop with a header-read timeout, plain or TLS, and the
//!   graceful drain.
//!
//! # Middleware, outermost first
//!
//! 0. Over TLS only ([`serve_tls`]): `Strict-Transport-Security` on every answer.
//! 1. `SetSensitiveRequestHeadersLayer(Authorization, Cookie)`: marked before anything
//!    could log them.
//! 2. `log_and_measure`: the request id, one log line and the request metrics for
//!    every answer, including the ones the layers below produce (429, 503, 504).
//! 3. `DefaultBodyLimit` (16 KiB): the validate handler turns an excess into 413.
//! 4. On the validate route only, so `/healthz`, `/readyz` and `/metrics` stay
//!    answerable under load: `HandleErrorLayer` (turns the two errors below into the
//!    contract's JSON), `LoadShed` + `ConcurrencyLimit` (a quick 503 with
//!    `Retry-After` beyond `max_concurrent`, never a queue), and `Timeout` (the
//!    broker's own deadline, 504, covering body reading as well as ORDS).

pub mod error;
pub mod health;
pub mod server;
pub mod state;
pub mod validate;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::routing::{get, post};
use axum::Router;
use tower::{BoxError, ServiceBuilder};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

use crate::edge::request_log::log_and_measure;

pub use error::ApiError;
pub use server::{serve, serve_on, serve_tls};
pub use state::AppState;

/// The router, with the middleware above.
pub fn app(state: AppState) -> Router {
    let edge = state.edge();
    let guard = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(edge_error))
        .load_shed()
        .concurrency_limit(edge.max_concurrent)
        .timeout(edge.request_timeout);
    Router::new()
        .route(
            "/v1/license/validate",
            post(validate::validate).layer(guard),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(DefaultBodyLimit::max(validate::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::clone(state.metrics()),
            log_and_measure,
        ))
        .layer(SetSensitiveRequestHeadersLayer::new([
            AUTHORIZATION,
            COOKIE,
        ]))
        .with_state(state)
}

/// What the load-shedding and deadline layers report, as the contract's answers.
async fn edge_error(err: BoxError) -> ApiError {
    if err.is::<tower::load_shed::error::Overloaded>() {
        ApiError::Overloaded
    } else if err.is::<tower::timeout::error::Elapsed>() {
        ApiError::DeadlineExceeded
    } else {
        ApiError::Internal(format!("middleware error: {err}"))
    }
}
