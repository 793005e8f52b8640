//! `POST /v1/license/validate`.
//!
//! Order matters: the per-address limit (before the body is read, so a flood costs
//! one map lookup each), content type, size, JSON shape, field bounds, key format, the
//! per-key limit, then the MAC. Only a key the broker itself minted ever leads to a
//! lookup; a forged one gets the same signed `NOT_FOUND` as an unknown customer,
//! without touching ORDS, and spends the address's `NOT_FOUND` budget like one.
//!
//! The response carries [`RequestFacts`] as an extension for the request log line
//! (the logging layer takes it out again).

use std::net::{Ipv4Addr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use license_shared::{LicenseKey, ValidateRequest, VerdictCode};

use super::error::ApiError;
use super::state::AppState;
use crate::guard::KeyId;
use crate::http::request_log::RequestFacts;
use crate::ords::check_id_segment;
use crate::verdict::Echo;

/// Largest request body accepted. A real request is a few hundred bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

pub async fn validate(State(state): State<AppState>, request: Request) -> Response {
    let mut seen = RequestFacts::default();
    let mut response = match answer(&state, request, &mut seen).await {
        Ok(response) => response,
        Err(err) => {
            if let ApiError::RateLimited(limited) = &err {
                state.metrics().rate_limited(limited.kind);
            }
            err.into_response()
        }
    };
    response.extensions_mut().insert(seen);
    response
}

async fn answer(
    state: &AppState,
    request: Request,
    seen: &mut RequestFacts,
) -> Result<Response, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), |c| c.0);
    let ip = state.trusted_proxies().client_ip(peer, request.headers());
    state.limits().check_ip(ip).map_err(ApiError::RateLimited)?;
    if !is_json(request.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
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
    // One key, one identity: the parser accepts any case, I/L for 1, O for 0 and
    // dashes or spaces anywhere, so the limit and the log fingerprint use the
    // canonical spelling, never the text as sent.
    let key_id = KeyId::of(&key.encode());
    seen.key = Some(key_id.fingerprint());
    state
        .limits()
        .check_key(&key_id)
        .map_err(ApiError::RateLimited)?;
    let id = key.customer_id();
    // Defence in depth: CustomerId already limits the alphabet, but the URL builder's
    // segment check has the final word on what may become a path segment. Only the
    // check runs here; the URL itself is built once, by the lookup.
    check_id_segment(id.as_str())
        .map_err(|e| ApiError::InvalidRequest(format!("license_key: {e}")))?;
    let echo = Echo {
        nonce: request.nonce,
        fingerprint: request.fingerprint,
    };
    let (envelope, code) = if state.license_keys().verify(&key) {
        let answered = state.verdicts().validate(id, echo).await;
        seen.upstream_status = answered.upstream_status;
        answered.result?
    } else {
        tracing::info!(customer_id = %id, "license key MAC does not verify; answering NOT_FOUND");
        (state.verdicts().not_found(id, echo), VerdictCode::NotFound)
    };
    state.metrics().verdict(code.as_str());
    if code == VerdictCode::NotFound {
        state.limits().record_not_found(ip);
    }
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
