//! The public edge's settings: trusted proxies, TLS, the request deadline, header
//! timeout, concurrency and shutdown. Read with the rest of [`crate::config`].
//!
//! The deadlines nest, and the loader refuses a configuration where they do not:
//! upstream timeout < the broker's request deadline < the desktop client's 5 s. Each
//! layer then answers with its own error instead of the outer one giving up first
//! (the client would see a transport timeout rather than the broker's 504).

use std::path::PathBuf;
use std::time::Duration;

use crate::config::vars as var;
use crate::config::{ConfigError, Sources};
use crate::guard::TrustedProxies;

/// The desktop client's total timeout per call (desktop-client `DEFAULT_TIMEOUT`).
pub(super) const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How the broker faces the public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    /// Networks whose `X-Forwarded-For` is believed. Default: none.
    pub trusted_proxies: TrustedProxies,
    /// Serve HTTPS with these files; `None`: plain HTTP (behind a terminating proxy).
    pub tls: Option<TlsFiles>,
    /// The broker answers every validation within this (504 otherwise). Default 4 s.
    pub request_timeout: Duration,
    /// A connection must send its request headers within this. Default 10 s.
    pub header_read_timeout: Duration,
    /// Validations answered at once; more are shed with 503. Default 1024.
    pub max_concurrent: usize,
    /// In-flight requests get this long after SIGTERM. Default 30 s.
    pub shutdown_grace: Duration,
    /// After SIGTERM, keep accepting (readiness 503) this long. Default 0.
    pub drain_delay: Duration,
}

/// The certificate chain and private key for serving HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: TrustedProxies::none(),
            tls: None,
            request_timeout: Duration::from_secs(4),
            header_read_timeout: Duration::from_secs(10),
            max_concurrent: 1024,
            shutdown_grace: Duration::from_secs(30),
            drain_delay: Duration::ZERO,
        }
    }
}

impl EdgeConfig {
    /// Reads the edge settings; `upstream_timeout` is the configured ORDS timeout,
    /// which must fit inside the request deadline.
    pub fn from_sources(src: &Sources, upstream_timeout: Duration) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let trusted_proxies = match src.get(var::TRUSTED_PROXIES) {
            None => defaults.trusted_proxies,
            Some(s) => TrustedProxies::parse(&s.value)
                .map_err(|e| ConfigError::new(s.origin, e.to_string()))?,
        };
        let tls = match (src.get(var::TLS_CERT_FILE), src.get(var::TLS_KEY_FILE)) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: PathBuf::from(cert.value.trim()),
                key: PathBuf::from(key.value.trim()),
            }),
            (Some(_), None) => return Err(both(var::TLS_KEY_FILE, var::TLS_CERT_FILE)),
            (None, Some(_)) => return Err(both(var::TLS_CERT_FILE, var::TLS_KEY_FILE)),
        };
        let request_timeout =
            src.positive_secs_or(var::REQUEST_TIMEOUT_SECS, defaults.request_timeout)?;
        if upstream_timeout >= request_timeout {
            return Err(ConfigError::new(
                var::UPSTREAM_TIMEOUT_SECS,
                format!(
                    "({} s) must be shorter than {} ({} s), the broker's own deadline, so a slow ORDS gets the broker's 504 and not a dropped call",
                    upstream_timeout.as_secs(),
                    var::REQUEST_TIMEOUT_SECS,
                    request_timeout.as_secs()
                ),
            ));
        }
        if request_timeout >= CLIENT_TIMEOUT {
            tracing::warn!(
                setting = var::REQUEST_TIMEOUT_SECS,
                seconds = request_timeout.as_secs(),
                "the desktop client gives up after 5 s; a longer broker deadline means it never sees the broker's 504"
            );
        }
        let header_read_timeout =
            src.positive_secs_or(var::HEADER_READ_TIMEOUT_SECS, defaults.header_read_timeout)?;
        let max_concurrent = src.parse_or(
            var::MAX_CONCURRENT,
            defaults.max_concurrent,
            "a whole number of requests",
        )?;
        if max_concurrent == 0 {
            return Err(ConfigError::new(var::MAX_CONCURRENT, "must be at least 1"));
        }
        if max_concurrent > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(ConfigError::new(
                var::MAX_CONCURRENT,
                format!("must be at most {}", tokio::sync::Semaphore::MAX_PERMITS),
            ));
        }
        let shutdown_grace =
            src.positive_secs_or(var::SHUTDOWN_GRACE_SECS, defaults.shutdown_grace)?;
        let drain_delay = src.secs_or(var::DRAIN_DELAY_SECS, defaults.drain_delay)?;
        if drain_delay >= shutdown_grace {
            return Err(ConfigError::new(
                var::DRAIN_DELAY_SECS,
                format!(
                    "must be shorter than {} ({} s): the grace bounds the whole drain",
                    var::SHUTDOWN_GRACE_SECS,
                    shutdown_grace.as_secs()
                ),
            ));
        }
        Ok(Self {
            trusted_proxies,
            tls,
            request_timeout,
            header_read_timeout,
            max_concurrent,
            shutdown_grace,
            drain_delay,
        })
    }
}

fn both(missing: &str, present: &str) -> ConfigError {
    ConfigError::new(
        missing,
        format!("is required when {present} is set: serving TLS needs both the certificate chain and the key"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)], upstream: u64) -> Result<EdgeConfig, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let src = Sources::new(None, move |name| env.get(name).cloned()).unwrap();
        EdgeConfig::from_sources(&src, Duration::from_secs(upstream))
    }

    #[test]
    fn defaults_nest_inside_the_client_timeout() {
        let edge = load(&[], 3).unwrap();
        assert_eq!(edge, EdgeConfig::default());
        assert!(edge.request_timeout < CLIENT_TIMEOUT);
    }

    #[test]
    fn an_upstream_timeout_that_does_not_fit_the_deadline_is_refused_by_name() {
        let err = load(&[(var::REQUEST_TIMEOUT_SECS, "3")], 3).unwrap_err();
        assert_eq!(err.name, var::UPSTREAM_TIMEOUT_SECS);
        assert!(err.problem.contains(var::REQUEST_TIMEOUT_SECS), "{err}");
    }

    #[test]
    fn tls_needs_both_files_and_bad_values_name_their_variable() {
        let err = load(&[(var::TLS_CERT_FILE, "/c.pem")], 3).unwrap_err();
        assert_eq!(err.name, var::TLS_KEY_FILE);
        let err = load(&[(var::TLS_KEY_FILE, "/k.pem")], 3).unwrap_err();
        assert_eq!(err.name, var::TLS_CERT_FILE);
        let edge = load(
            &[
                (var::TLS_CERT_FILE, "/c.pem"),
                (var::TLS_KEY_FILE, "/k.pem"),
            ],
            3,
        )
        .unwrap();
        assert_eq!(edge.tls.unwrap().key, PathBuf::from("/k.pem"));
        for (name, value) in [
            (var::TRUSTED_PROXIES, "10.0.0.0/33"),
            (var::MAX_CONCURRENT, "0"),
            (var::MAX_CONCURRENT, "many"),
            (var::HEADER_READ_TIMEOUT_SECS, "0"),
            (var::SHUTDOWN_GRACE_SECS, "-1"),
            (var::DRAIN_DELAY_SECS, "30"),
        ] {
            let err = load(&[(name, value)], 3).unwrap_err();
            assert_eq!(err.name, name, "{value}: {err}");
        }
        let edge = load(&[(var::TRUSTED_PROXIES, "10.0.0.0/8, ::1")], 3).unwrap();
        assert_eq!(edge.trusted_proxies.to_string(), "10.0.0.0/8,::1/128");
    }
}
