//! The token manager's settings. `TokenConfig::new` gives the defaults (refresh at
//! 80 % of the lifetime, never hand out a token with under 30 s left, jittered
//! back-off); the broker's configuration may override any field.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::config::files::warn_if_readable_by_others;
use crate::config::vars as var;
use crate::config::{ConfigError, Sources};
use crate::ords::outbound::OutboundLimits;
use crate::ords::token::SecretSource;

/// Everything the token manager needs. `Debug` is safe: [`SecretSource`] redacts itself.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// ORDS token endpoint, `https://host/ords/<schema>/oauth/token`.
    pub token_url: Url,
    /// OAuth client id (not a secret; ORDS shows it in its own views).
    pub client_id: String,
    /// Where the client secret comes from; re-read after ORDS rejects it.
    pub secret: SecretSource,
    /// Timeouts and the body cap for the token POST.
    pub limits: OutboundLimits,
    /// Fraction of the lifetime after which the token is refreshed in the background.
    /// Values outside `0.1..=1.0` (or NaN) are treated as 0.8.
    pub refresh_at: f64,
    /// A token with less than this left is never handed out.
    pub hard_floor: Duration,
    /// Shortest wait after a transient failure (also the fastest any retry ever runs).
    pub backoff_min: Duration,
    /// Longest wait after transient failures (the jitter ceiling once saturated).
    pub backoff_max: Duration,
    /// Wait after a permanent failure (credentials refused) before trying again.
    pub permanent_retry: Duration,
    /// Lifetime assumed when the response has no `expires_in` (see [`super::lifetime`]).
    pub default_expires_in: Duration,
    /// Longest lifetime believed, however large `expires_in` is.
    pub max_expires_in: Duration,
}

impl TokenConfig {
    /// The defaults: refresh at 80 %, never hand out a token with < 30 s left, transient
    /// backoff 1 s to 60 s, one attempt per 60 s after a refusal, 300 s for a missing
    /// `expires_in`, 24 h at most.
    pub fn new(token_url: Url, client_id: impl Into<String>, secret: SecretSource) -> Self {
        Self {
            token_url,
            client_id: client_id.into(),
            secret,
            limits: OutboundLimits::default(),
            refresh_at: 0.8,
            hard_floor: Duration::from_secs(30),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            permanent_retry: Duration::from_secs(60),
            default_expires_in: Duration::from_secs(300),
            max_expires_in: Duration::from_secs(24 * 60 * 60),
        }
    }

    /// `refresh_at`, made safe to compute with.
    pub(crate) fn refresh_fraction(&self) -> f64 {
        if (0.1..=1.0).contains(&self.refresh_at) {
            self.refresh_at
        } else {
            0.8
        }
    }

    /// The backoff bounds, made safe: never below 1 s (T19: nothing loops faster), and
    /// the ceiling never below the floor.
    pub(crate) fn backoff_bounds(&self) -> (Duration, Duration) {
        let min = self.backoff_min.max(Duration::from_secs(1));
        (min, self.backoff_max.max(min))
    }

    /// `permanent_retry`, never below 1 s.
    pub(crate) fn permanent_wait(&self) -> Duration {
        self.permanent_retry.max(Duration::from_secs(1))
    }
}

/// Exactly one of the file or the value; both set is ambiguous and refused.
pub(crate) fn secret_source(src: &Sources) -> Result<SecretSource, ConfigError> {
    match (
        src.get(var::CLIENT_SECRET_FILE),
        src.get(var::CLIENT_SECRET),
    ) {
        (Some(file), None) => {
            // Read now, so a missing or unreadable file stops `serve` (and `check`)
            // before it listens, instead of a broker that answers 503 forever. It is
            // read again at every refusal, so rotating it in place still works.
            let path = std::path::PathBuf::from(file.value.trim());
            let source = SecretSource::File(path.clone());
            source
                .read()
                .map_err(|e| ConfigError::new(&file.origin, e.to_string()))?;
            warn_if_readable_by_others(&path, &file.origin);
            Ok(source)
        }
        (None, Some(value)) => Ok(SecretSource::Value(SecretString::from(
            value.value.trim().to_owned(),
        ))),
        (Some(_), Some(_)) => Err(ConfigError::new(
            var::CLIENT_SECRET,
            format!(
                "is set together with {}; set only one of the two",
                var::CLIENT_SECRET_FILE
            ),
        )),
        (None, None) => Err(ConfigError::new(
            var::CLIENT_SECRET_FILE,
            format!(
                "is required (or {}); the secret is never read from the command line",
                var::CLIENT_SECRET
            ),
        )),
    }
}
