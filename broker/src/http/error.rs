//! `ApiError`: every non-200 answer, and the one place that decides what a caller sees
//! (status, code, message, `Retry-After`) and how loudly it is logged.
//!
//! Upstream failures keep their detail for the log line only; callers get the
//! contract's code and a sentence, never an ORDS body, header, URL or token.

use std::time::Duration;

use axum::http::header::{CACHE_CONTROL, CONNECTION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use license_shared::{ErrorBody, ErrorCode};

use crate::guard::Limited;
use crate::ords::UpstreamError;

/// `Retry-After` when ORDS gave none.
const DEFAULT_RETRY: Duration = Duration::from_secs(5);
/// `Retry-After` when the broker sheds load or is draining: another replica (or this
/// one a moment later) can answer.
const BUSY_RETRY: Duration = Duration::from_secs(1);
/// `Retry-After` after an answer the broker could not read: retrying at once will not help.
const BAD_ANSWER_RETRY: Duration = Duration::from_secs(30);

/// What went wrong with a request, from the caller's point of view.
#[derive(Debug)]
pub enum ApiError {
    /// 400; the message names the field.
    InvalidRequest(String),
    /// 413: the body is larger than the limit it carries (bytes).
    PayloadTooLarge(usize),
    /// 415.
    UnsupportedMediaType,
    /// 429 with `Retry-After`: a rate limit refused the request.
    RateLimited(Limited),
    /// 503 with `Retry-After`: too many validations in flight; shed, not queued.
    Overloaded,
    /// 503 with `Retry-After`: shutting down (what `/readyz` says while draining).
    Draining,
    /// 504: the broker's own request deadline passed before an answer was ready.
    DeadlineExceeded,
    /// 503 with `Retry-After`. `detail` goes to the log, not to the caller.
    UpstreamUnavailable {
        retry_after: Duration,
        detail: String,
        bad_answer: bool,
    },
    /// 504.
    UpstreamTimeout,
    /// 429 with `Retry-After`: the license freed its budget of seats for the window.
    ReleaseBudgetSpent { budget: u32, window_secs: u64 },
    /// 500. The detail goes to the log only.
    Internal(String),
}

impl From<UpstreamError> for ApiError {
    fn from(err: UpstreamError) -> Self {
        match err {
            UpstreamError::Unavailable { retry_after, cause } => Self::UpstreamUnavailable {
                retry_after: retry_after
                    .unwrap_or(DEFAULT_RETRY)
                    .max(Duration::from_secs(1)),
                detail: cause,
                bad_answer: false,
            },
            UpstreamError::Timeout => Self::UpstreamTimeout,
            UpstreamError::BadResponse(reason) => Self::UpstreamUnavailable {
                retry_after: BAD_ANSWER_RETRY,
                detail: reason,
                bad_answer: true,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let refused_unread = matches!(self, Self::PayloadTooLarge(_));
        let (code, message, retry_after) = match self {
            Self::InvalidRequest(message) => {
                tracing::debug!(%message, "invalid request");
                (ErrorCode::InvalidRequest, message, None)
            }
            Self::PayloadTooLarge(limit) => {
                tracing::debug!("request body too large");
                let message = format!("the request body is larger than {limit} bytes");
                (ErrorCode::PayloadTooLarge, message, None)
            }
            Self::UnsupportedMediaType => {
                tracing::debug!("request without a JSON content type");
                let message = "send the body as JSON with Content-Type: application/json".into();
                (ErrorCode::UnsupportedMediaType, message, None)
            }
            Self::RateLimited(limited) => {
                tracing::info!(limit = limited.kind.as_str(), "rate limited");
                let secs = limited.retry_after.header_secs();
                let what = match limited.kind {
                    crate::guard::LimitKind::Activation => "activations",
                    _ => "validations",
                };
                let message = format!("too many {what}; retry in {secs} s");
                (
                    ErrorCode::RateLimited,
                    message,
                    Some(Duration::from_secs(secs)),
                )
            }
            Self::Overloaded => {
                tracing::warn!("concurrency limit reached; shedding the request");
                let message = "the broker is busy; retry in a moment".into();
                (ErrorCode::UpstreamUnavailable, message, Some(BUSY_RETRY))
            }
            Self::Draining => {
                tracing::debug!("not ready: draining");
                let message = "the broker is shutting down".into();
                (ErrorCode::UpstreamUnavailable, message, Some(BUSY_RETRY))
            }
            Self::DeadlineExceeded => {
                tracing::warn!("the request deadline passed before an answer was ready");
                let message = "the license service did not answer in time; retry later".into();
                (ErrorCode::UpstreamTimeout, message, None)
            }
            Self::UpstreamUnavailable {
                retry_after,
                detail,
                bad_answer,
            } => {
                if bad_answer {
                    tracing::error!(%detail, "ORDS answer could not be read; no verdict given");
                } else {
                    tracing::warn!(%detail, "ORDS unavailable");
                }
                let message = format!(
                    "the license service cannot be reached right now; retry in {} s",
                    retry_after.as_secs()
                );
                (ErrorCode::UpstreamUnavailable, message, Some(retry_after))
            }
            Self::ReleaseBudgetSpent {
                budget,
                window_secs,
            } => {
                tracing::info!(budget, "remote seat release refused: budget spent");
                let days = window_secs.div_ceil(24 * 3600);
                let message = format!(
                    "this license has already freed {budget} seats in the last {days} days, as many as it may; a seat that is not used lapses by itself after its lease, or ask your vendor"
                );
                (
                    ErrorCode::RateLimited,
                    message,
                    Some(Duration::from_secs(24 * 3600)),
                )
            }
            Self::UpstreamTimeout => {
                tracing::warn!("ORDS did not answer in time");
                let message = "the license service did not answer in time; retry later".into();
                (ErrorCode::UpstreamTimeout, message, None)
            }
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    ErrorCode::Internal,
                    "internal error; the broker logged the cause".into(),
                    None,
                )
            }
        };
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(ErrorBody::new(code, message))).into_response();
        response
            .extensions_mut()
            .insert(super::request_log::LoggedError(code.as_str()));
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(after) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(after.as_secs()));
        }
        if refused_unread {
            // The body is refused unread, so the connection cannot carry another
            // request: hyper closes it after this answer. Saying so keeps a pooling
            // client from sending its next request on a connection that is closing.
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
