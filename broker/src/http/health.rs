//! The operations endpoints. Liveness does no I/O at all; readiness says 503 while
//! draining before anything else, then asks the token source for a token (cached, so
//! normally no I/O either) with a short deadline; `/metrics` renders the registry,
//! reading the token manager's state at render time.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::state::AppState;
use crate::ords::UpstreamError;

/// How long `/readyz` waits for a token before calling the broker not ready.
const READY_DEADLINE: Duration = Duration::from_secs(2);
/// The Prometheus text exposition format.
pub(super) const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(super) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(super) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.draining().is_draining() {
        return Err(ApiError::Draining);
    }
    match tokio::time::timeout(READY_DEADLINE, state.tokens().token()).await {
        Ok(Ok(_token)) => Ok(Json(json!({"status": "ready"}))),
        Ok(Err(err)) => Err(UpstreamError::from(err).into()),
        Err(_) => Err(UpstreamError::Timeout.into()),
    }
}

pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let metrics = state.metrics();
    if let Some(status) = state.tokens().status() {
        let f = status.fetches;
        metrics.set_token_fetches(f.ok, f.transient, f.permanent);
        metrics.set_token_expiry(
            status
                .seconds_to_expiry
                .map(|secs| tokio::time::Instant::now() + Duration::from_secs(secs)),
        );
        metrics.set_token_generation(status.generation);
    }
    (
        [
            (CONTENT_TYPE, METRICS_CONTENT_TYPE),
            (CACHE_CONTROL, "no-store"),
        ],
        metrics.render(),
    )
}
