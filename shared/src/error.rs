//! The broker's error body: `{"error": "<code>", "message": "…"}`.

use serde::{Deserialize, Serialize};

/// Every error the broker can answer with. Each code has exactly one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request body is malformed or a field is out of bounds.
    InvalidRequest,
    /// 413: the body is larger than the broker accepts.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 429: a rate limit was hit; the response carries `Retry-After`.
    RateLimited,
    /// 503: ORDS or its token endpoint is unavailable; the response carries `Retry-After`.
    UpstreamUnavailable,
    /// 504: ORDS did not answer in time.
    UpstreamTimeout,
    /// 500: a bug or an unexpected local failure.
    Internal,
}

impl ErrorCode {
    /// The HTTP status that goes with this code.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited => 429,
            Self::UpstreamUnavailable => 503,
            Self::UpstreamTimeout => 504,
            Self::Internal => 500,
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::UpstreamTimeout => "upstream_timeout",
            Self::Internal => "internal",
        }
    }
}

/// The JSON body of every non-200 answer from the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code; decides the HTTP status.
    pub error: ErrorCode,
    /// A sentence a person can act on. Never carries secrets, tokens or ORDS bodies.
    pub message: String,
}

impl ErrorBody {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_the_contract_names_them() {
        let all = [
            (ErrorCode::InvalidRequest, 400),
            (ErrorCode::PayloadTooLarge, 413),
            (ErrorCode::UnsupportedMediaType, 415),
            (ErrorCode::RateLimited, 429),
            (ErrorCode::UpstreamUnavailable, 503),
            (ErrorCode::UpstreamTimeout, 504),
            (ErrorCode::Internal, 500),
        ];
        for (code, status) in all {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.status(), status);
        }
        let body = ErrorBody::new(ErrorCode::RateLimited, "slow down");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":"rate_limited","message":"slow down"}"#
        );
    }
}
