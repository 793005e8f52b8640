//! The seam between the owner task and the token endpoint: one [`Fetch::fetch`] is one
//! token POST. The real implementation is [`super::HttpFetcher`]; tests on a paused
//! clock plug in an in-memory fake, because real sockets and auto-advancing time do not
//! mix well.
//!
//! Every failure is classified here, once, as transient or permanent, because the two
//! are retried completely differently (see [`super::backoff`]).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;

use super::lifetime::ExpiresIn;

/// Obtains one token with the given client secret.
pub trait Fetch: Send + Sync + 'static {
    /// One exchange with the token endpoint. Must be bounded in time (the real one has
    /// the outbound timeouts).
    fn fetch(
        &self,
        secret: &SecretString,
    ) -> impl Future<Output = Result<Grant, FetchError>> + Send;
}

/// A token as the endpoint granted it. `Debug` never shows the token.
pub struct Grant {
    /// The access token.
    pub access_token: SecretString,
    /// Its lifetime as sent; [`super::lifetime`] decides what it means.
    pub expires_in: ExpiresIn,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// How a failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Connect errors, timeouts, 408, 429, 5xx, malformed or oversized answers:
    /// exponential backoff with full jitter, honouring `Retry-After`.
    Transient,
    /// The endpoint refused us (400/401/403, `invalid_client`, a redirect, an unreadable
    /// secret): one attempt per `permanent_retry`, re-reading the secret first.
    Permanent,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        })
    }
}

/// What went wrong, in words safe to log: no token, secret or body text ever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The connection failed for a reason none of the three below names.
    Connect,
    /// The host answered the TCP connect with a reset: nothing listens on that port.
    ConnectRefused,
    /// The TLS handshake failed (untrusted or mismatched certificate, or not TLS).
    Tls,
    /// The host name did not resolve.
    Dns,
    /// The connect or total timeout elapsed.
    Timeout,
    /// Some other transport error while sending or reading.
    Transport,
    /// The answer was larger than the body cap.
    BodyTooLarge,
    /// A status other than 200; `oauth_error` is the RFC 6749 `error` code when the
    /// body had one (only `[a-z0-9_]`, at most 64 characters, else `None`).
    Status {
        status: u16,
        oauth_error: Option<String>,
    },
    /// A 404: no token endpoint at that URL, which almost always means the base URL
    /// lacks `/ords/<alias>` or names the wrong alias. `advice` names the setting and
    /// its value (a URL the loader has already refused to hold credentials).
    NoTokenEndpoint { advice: String },
    /// A 200 whose body could not be read as a token response; `field` is the JSON path
    /// where reading failed (a name, never a value).
    Malformed { field: String },
    /// A token type other than bearer.
    NotBearer,
    /// `expires_in` was zero, negative or within the hard floor.
    LifetimeTooShort,
    /// The secret file could not be read.
    SecretUnreadable,
    /// The request could not be built (a bad token URL).
    Request,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect => f.write_str("cannot connect to the token endpoint"),
            Self::ConnectRefused => f.write_str(
                "connection refused: nothing listens at the token endpoint's host and port; check the host and port of the ORDS URL and that ORDS is running",
            ),
            Self::Tls => f.write_str(
                "TLS handshake with the token endpoint failed: its certificate is not trusted or not for that host name, or the port does not speak TLS",
            ),
            Self::Dns => f.write_str(
                "DNS lookup failed: the token endpoint's host name does not resolve; check the host of the ORDS URL",
            ),
            Self::NoTokenEndpoint { advice } => {
                write!(f, "HTTP 404: there is no token endpoint there; {advice}")
            }
            Self::Timeout => f.write_str("the token endpoint timed out"),
            Self::Transport => f.write_str("transport error talking to the token endpoint"),
            Self::BodyTooLarge => f.write_str("token response larger than the body cap"),
            Self::Status {
                status,
                oauth_error: Some(code),
            } => write!(f, "HTTP {status} ({code})"),
            Self::Status {
                status,
                oauth_error: None,
            } => write!(f, "HTTP {status}"),
            Self::Malformed { field } => write!(f, "malformed token response (at `{field}`)"),
            Self::NotBearer => f.write_str("token type is not bearer"),
            Self::LifetimeTooShort => f.write_str("token lifetime too short to use"),
            Self::SecretUnreadable => f.write_str("the client secret cannot be read"),
            Self::Request => f.write_str("the token request cannot be built"),
        }
    }
}

/// A classified fetch failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} token fetch failure: {cause}")]
pub struct FetchError {
    pub kind: FailureKind,
    pub cause: Cause,
    /// The endpoint's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

impl FetchError {
    pub fn transient(cause: Cause) -> Self {
        Self {
            kind: FailureKind::Transient,
            cause,
            retry_after: None,
        }
    }

    pub fn permanent(cause: Cause) -> Self {
        Self {
            kind: FailureKind::Permanent,
            cause,
            retry_after: None,
        }
    }

    /// Classifies a non-200 status: 408, 429 and 5xx are worth retrying soon, and so
    /// are the two RFC 6749 codes that say so; everything else (400, 401, 403, 404, a
    /// 3xx that we refuse to follow) will not heal without a change on one side.
    pub fn from_status(
        status: u16,
        oauth_error: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let retryable_code = matches!(
            oauth_error.as_deref(),
            Some("temporarily_unavailable" | "server_error")
        );
        let kind =
            if status == 408 || status == 429 || (500..=599).contains(&status) || retryable_code {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            };
        Self {
            kind,
            cause: Cause::Status {
                status,
                oauth_error,
            },
            retry_after,
        }
    }
}

/// Keeps an RFC 6749 error code only if it looks like one, so a hostile body cannot
/// smuggle text into our logs through it.
pub(crate) fn safe_oauth_code(code: &str) -> Option<String> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let kind =
            |s, code: Option<&str>| FetchError::from_status(s, code.map(str::to_owned), None).kind;
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(kind(s, None), FailureKind::Transient, "{s}");
        }
        for s in [302, 400, 401, 403, 404, 405] {
            assert_eq!(kind(s, None), FailureKind::Permanent, "{s}");
        }
        assert_eq!(kind(401, Some("invalid_client")), FailureKind::Permanent);
        assert_eq!(
            kind(400, Some("temporarily_unavailable")),
            FailureKind::Transient
        );
    }

    #[test]
    fn only_code_shaped_oauth_errors_are_kept() {
        assert_eq!(
            safe_oauth_code("invalid_client").as_deref(),
            Some("invalid_client")
        );
        assert_eq!(safe_oauth_code("SENTINEL_SECRET_x"), None);
        assert_eq!(safe_oauth_code("a b"), None);
        assert_eq!(safe_oauth_code(&"a".repeat(65)), None);
    }
}
