//! `POST /v1/trial/start` with `{"product", "nonce", "fingerprint", "app"}`: one trial
//! per machine and product, answered with a signed `TRIAL`, `TRIAL_EXPIRED` or
//! `NO_TRIAL` verdict.
//!
//! Rate limited per client address before the body is read (the validations' per-address
//! limit): a trial carries no license key, so the address is all there is to limit, and
//! a flood of made-up fingerprints costs one map lookup each. A fingerprint is required:
//! the trial belongs to the machine.

use axum::extract::{Request, State};
use axum::response::Response;
use license_shared::{TrialRequest, VerdictRequest, TRIAL_KEY};

use super::error::ApiError;
use super::state::AppState;
use super::validate::{admit, json_no_store, respond};
use crate::http::request_log::RequestFacts;
use crate::verdict::Echo;

/// The `request.op` of a trial's verdict.
const OP: &str = "start";

pub(super) async fn start(State(state): State<AppState>, request: Request) -> Response {
    let mut seen = RequestFacts::default();
    let deadline = state.edge().request_timeout;
    let answered = tokio::time::timeout(deadline, answer(&state, request, &mut seen))
        .await
        .unwrap_or(Err(ApiError::DeadlineExceeded));
    respond(&state, answered, seen)
}

async fn answer(
    state: &AppState,
    request: Request,
    seen: &mut RequestFacts,
) -> Result<Response, ApiError> {
    let (_, body) = admit(state, request, seen).await?;
    let _slot = state
        .capacity()
        .try_acquire()
        .map_err(|_| ApiError::Overloaded)?;
    let request: TrialRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidRequest(format!("request body: {e}")))?;
    request
        .check()
        .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let echo = Echo {
        request: VerdictRequest::new(OP, TRIAL_KEY, Some(&request.product)),
        nonce: request.nonce,
        fingerprint: Some(request.fingerprint.clone()),
    };
    let answered = state
        .verdicts()
        .trial(&request.product, &request.fingerprint, echo)
        .await;
    seen.upstream_status = answered.upstream_status;
    let (envelope, code) = answered.result?;
    state.metrics().verdict(code);
    seen.code = Some(code.as_str());
    Ok(json_no_store(envelope))
}
