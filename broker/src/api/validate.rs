//! `POST /v1/license/validate`.
//!
//! Order matters: content type, size, JSON shape, field bounds, key format, then the
//! MAC. Only a key the broker itself minted ever leads to a lookup; a forged one gets
//! the same signed `NOT_FOUND` as an unknown customer, without touching ORDS.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use license_shared::{LicenseKey, ValidateRequest};

use super::error::ApiError;
use super::state::AppState;
use crate::verdicts::Echo;

/// Largest request body accepted. A real request is a few hundred bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::InvalidRequest("the request body could not be read".into())
        }
    })?;
    let request: ValidateRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::InvalidRequest(format!("request body: {e}")))?;
    request
        .check()
        .map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let key = LicenseKey::parse(&request.license_key)
        .map_err(|e| ApiError::InvalidRequest(format!("license_key: {e}")))?;
    let id = key.customer_id();
    // Defence in depth: CustomerId already limits the alphabet, but the URL builder
    // has the final word on what may become a path segment.
    state
        .verdicts()
        .ords()
        .url_for(id.as_str())
        .map_err(|e| ApiError::InvalidRequest(format!("license_key: {e}")))?;
    let echo = Echo {
        nonce: request.nonce,
        fingerprint: request.fingerprint,
    };
    let envelope = if state.license_keys().verify(&key) {
        state.verdicts().validate(id, echo).await?
    } else {
        tracing::info!(customer_id = %id, "license key MAC does not verify; answering NOT_FOUND");
        state.verdicts().not_found(id, echo)
    };
    let mut response = Json(envelope).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `application/json`, with or without parameters such as `charset=utf-8`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}
