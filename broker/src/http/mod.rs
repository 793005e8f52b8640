//! The broker's HTTP surface: the router, its handlers and middleware, and the accept
//! loop.
//!
//! - [`serve`]: the accept loop, plain or TLS, and the drain on shutdown.
//! - [`validate`]: `POST /v1/license/validate` (and activate, deactivate, machines).
//! - [`offline`]: `POST /v1/license/offline/{activate,deactivate}`, offline codes in
//!   and out; [`offline_page`]: `GET /offline`, the page a person uses for them.
//! - [`health`]: `GET /healthz`, `GET /readyz` and `GET /metrics`.
//! - [`error`]: [`ApiError`], the only error a handler returns.
//! - [`state`]: [`AppState`], what handlers share.
//! - [`edge_config`]: [`EdgeConfig`], the settings of the public edge.
//! - [`request_log`]: one structured line and the request metrics per request.
//! - [`shutdown`]: the draining flag readiness reads, and SIGTERM/SIGINT/SIGHUP.
//! - [`tls`]: optional rustls termination.
//!
//! # Middleware, outermost first
//!
//! 0. Over TLS only: `Strict-Transport-Security` on every answer.
//! 1. `SetSensitiveRequestHeadersLayer(Authorization, Cookie)`: marked before anything
//!    could log them.
//! 2. `log_and_measure`: the request id, one log line and the request metrics for
//!    every answer, including the ones the handlers produce (429, 503, 504).
//!
//! The license handlers then run under the broker's own deadline (504, covering body
//! reading as well as ORDS), read the body under its 16 KiB limit (413), and then take
//! a concurrency slot for the work (a quick 503 with `Retry-After` beyond
//! `max_concurrent`, never a queue; one pool for the four license routes, so
//! `/healthz`, `/readyz` and `/metrics` stay answerable under load): see
//! `validate::handle` and `validate::answer`.
//! A few lines there rather than five layers (tower's HandleError, LoadShed,
//! ConcurrencyLimit and Timeout, axum's DefaultBodyLimit), whose boxing and error
//! mapping cost the warm path more than the checks themselves.

mod edge_config;
mod error;
mod health;
mod offline;
mod offline_page;
pub(crate) mod request_log;
mod serve;
pub(crate) mod shutdown;
mod slots;
mod state;
pub(crate) mod tls;
mod trial;
mod validate;

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::routing::{get, post};
use axum::Router;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

use request_log::log_and_measure;

pub(crate) use edge_config::EdgeConfig;
pub use error::ApiError;
pub(crate) use serve::{serve, serve_metrics};
pub use shutdown::Signals;
pub(crate) use state::{AppState, Parts};

/// The router, with the middleware above. `metrics`: whether `/metrics` is on this
/// (public) router; it is not when a separate metrics listener is configured.
pub(crate) fn app(state: AppState, metrics: bool) -> Router {
    let router = Router::new()
        .route("/v1/license/validate", post(validate::validate))
        .route("/v1/license/activate", post(validate::activate))
        .route("/v1/license/deactivate", post(validate::deactivate))
        .route("/v1/license/machines", post(validate::machines))
        .route(
            "/v1/license/offline/activate",
            post(validate::offline_activate),
        )
        .route(
            "/v1/license/offline/deactivate",
            post(validate::offline_deactivate),
        )
        .route("/offline", get(offline_page::page))
        .route("/offline/page.js", get(offline_page::script))
        .route("/offline/page.css", get(offline_page::style))
        .route("/v1/license/checkout", post(validate::checkout))
        .route("/v1/license/checkin", post(validate::checkin))
        .route("/v1/trial/start", post(trial::start))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let router = if metrics {
        router.route("/metrics", get(health::metrics))
    } else {
        router
    };
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
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

/// The router of the separate metrics listener (`LICENSE_BROKER_METRICS_LISTEN`):
/// `/metrics` and nothing else, unlogged (a scrape every few seconds is not news).
pub(crate) fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// The broker's own 404, in the same `{"error","message"}` shape as every other error.
async fn not_found() -> impl axum::response::IntoResponse {
    let body = serde_json::json!({
        "error": "not_found",
        "message": "no such endpoint; the API is POST /v1/license/validate, activate, deactivate, machines, checkout and checkin, and POST /v1/trial/start",
    });
    (axum::http::StatusCode::NOT_FOUND, axum::Json(body))
}

/// The broker's own 405 (axum adds the `Allow` header).
async fn method_not_allowed() -> impl axum::response::IntoResponse {
    let body = serde_json::json!({
        "error": "method_not_allowed",
        "message": "this endpoint does not take that method; the license endpoints take POST, the health endpoints GET",
    });
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
}
