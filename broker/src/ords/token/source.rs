//! What the ORDS caller needs from the token manager, and nothing more.
//!
//! The resource call asks for a token, and when ORDS answers 401 it reports the
//! generation of the token it used. Invalidation by generation means a hundred requests
//! that all saw the same 401 cause one refresh, not a hundred, and a request holding an
//! old token cannot throw away a fresh one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// An ORDS access token and the generation it belongs to. `Debug` never shows it.
#[derive(Clone)]
pub struct BearerToken {
    generation: u64,
    token: SecretString,
}

impl BearerToken {
    pub fn new(generation: u64, token: SecretString) -> Self {
        Self { generation, token }
    }

    /// Increases by one each time a new token is obtained.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The `Authorization` header value. ORDS answers `"token_type":"bearer"`; the
    /// scheme is sent as `Bearer`, as RFC 6750 spells it.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.token.expose_secret())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("generation", &self.generation)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Why no token could be had. Messages never include a token, a secret or a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token endpoint is down, slow or throttling; worth retrying soon.
    #[error("the ORDS token endpoint is unavailable")]
    Unavailable { retry_after: Option<Duration> },
    /// The token endpoint refused the broker and will go on refusing until something
    /// changes: the credentials (`invalid_client`, 401) or the URL (404, a redirect).
    /// The log line `ORDS token fetch failed` names which.
    #[error("the ORDS token endpoint refuses the broker (its OAuth client credentials or the token URL; the broker's log names the cause)")]
    Rejected { retry_after: Option<Duration> },
    /// The token manager task has stopped (the broker is shutting down).
    #[error("the token manager has stopped")]
    Stopped,
}

/// A boxed future, so that `TokenSource` can be used as a trait object.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<BearerToken, TokenError>> + Send + 'a>>;

/// Hands out tokens for the ORDS resource call.
pub trait TokenSource: Send + Sync + 'static {
    /// A token with at least the hard-floor lifetime left, waiting for a refresh if needed.
    fn token(&self) -> TokenFuture<'_>;
    /// ORDS answered 401 to a token of this generation: drop it if it is still current.
    fn invalidate(&self, generation: u64);
    /// The manager's state for `/metrics`, when the source has one (stand-ins don't).
    fn status(&self) -> Option<crate::ords::token::TokenStatus> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let token = BearerToken::new(3, SecretString::from("SENTINEL_TOKEN_abc"));
        let shown = format!("{token:?}");
        assert!(!shown.contains("SENTINEL"), "{shown}");
        assert!(shown.contains('3'));
        assert_eq!(token.authorization(), "Bearer SENTINEL_TOKEN_abc");
    }
}
