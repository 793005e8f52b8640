//! Liveness and readiness. Liveness does no I/O at all; readiness asks the token
//! source for a token (cached, so normally no I/O either) with a short deadline.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::state::AppState;
use crate::ords::UpstreamError;

/// How long `/readyz` waits for a token before calling the broker not ready.
const READY_DEADLINE: Duration = Duration::from_secs(2);

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(READY_DEADLINE, state.tokens().token()).await {
        Ok(Ok(_token)) => Ok(Json(json!({"status": "ready"}))),
        Ok(Err(err)) => Err(UpstreamError::from(err).into()),
        Err(_) => Err(UpstreamError::Timeout.into()),
    }
}
