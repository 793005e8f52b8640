//! What can go wrong between the broker and ORDS. None of these carries an ORDS body,
//! header or token: the messages are the broker's own words, fit for a log line, at
//! most quoting a short, escaped piece of what the database said (`answer::shown`).
//! What a caller of the broker sees is decided once, in `api::error`.

use std::time::Duration;

use super::token::TokenError;

/// Why a lookup produced no answer the broker can sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// ORDS or its token endpoint is down, throttling, or refusing the broker's
    /// credentials; worth retrying later.
    #[error("ORDS is unavailable: {cause}")]
    Unavailable {
        retry_after: Option<Duration>,
        cause: String,
    },
    /// ORDS did not answer within the upstream timeout.
    #[error("ORDS did not answer in time")]
    Timeout,
    /// ORDS answered, but not in a way the broker can read with confidence.
    #[error("ORDS answered something the broker cannot read: {0}")]
    BadResponse(String),
}

impl UpstreamError {
    pub(crate) fn unavailable(cause: impl Into<String>) -> Self {
        Self::Unavailable {
            retry_after: None,
            cause: cause.into(),
        }
    }

    /// A transport failure; the reqwest error is reduced to its kind so no URL, header
    /// or body detail leaks into the message.
    pub(crate) fn from_transport(err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else if err.is_connect() {
            Self::unavailable("cannot connect to ORDS")
        } else if err.is_redirect() {
            Self::BadResponse("ORDS answered with a redirect, which is never followed".into())
        } else {
            Self::unavailable("the connection to ORDS failed")
        }
    }
}

/// Every token failure is "unavailable" to a caller; the cause is `TokenError`'s own
/// message (none carries a token or secret), and its `Retry-After` is kept.
impl From<TokenError> for UpstreamError {
    fn from(err: TokenError) -> Self {
        let retry_after = match err {
            TokenError::Unavailable { retry_after } | TokenError::Rejected { retry_after } => {
                retry_after
            }
            TokenError::Stopped => None,
        };
        Self::Unavailable {
            retry_after,
            cause: err.to_string(),
        }
    }
}
