//! The owner task: the only code that fetches tokens.
//!
//! One task per broker owns the fetcher, the secret and the schedule, and publishes a
//! [`Snapshot`] through a `watch` channel after every change. Because the fetch runs
//! here and not in a request, single flight is structural (there is no second place a
//! fetch could start) and no caller can cancel it.
//!
//! The loop, each turn: drop the current token if a caller invalidated it; work out
//! when the next fetch is due (now when there is no usable token, the backoff instant
//! while failing, otherwise the proactive refresh at ~80 %); sleep until then or until
//! woken; fetch; publish the token or the failure with its retry instant. While a
//! refresh fails, the old token stays published and callers keep getting it until its
//! hard floor.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio::time::Instant;

use super::backoff::{self, BackoffPolicy};
use super::config::TokenConfig;
use super::fetch::{Cause, FailureKind, Fetch, FetchError, Grant};
use super::handle::{Failure, FetchResult, Issued, Shared, Snapshot, TokenHandle};
use super::http::HttpFetcher;
use super::lifetime::LifetimePolicy;
use crate::ords::token::BearerToken;
use crate::ords::token::SecretSource;

/// Starts token managers. Each call spawns one owner task on the current tokio runtime
/// and fetches the first token right away, so `/readyz` turns green without traffic.
#[derive(Debug)]
#[non_exhaustive]
pub struct TokenManager;

/// Why a token manager could not start.
#[derive(Debug, thiserror::Error)]
pub enum TokenSetupError {
    #[error("cannot build the HTTP client for the ORDS token endpoint: {0}")]
    Http(#[source] reqwest::Error),
}

impl TokenManager {
    /// A manager that fetches over HTTP with `oauth2` (see [`HttpFetcher`]).
    pub fn spawn(config: TokenConfig) -> Result<TokenHandle, TokenSetupError> {
        let fetcher = HttpFetcher::new(&config).map_err(TokenSetupError::Http)?;
        Ok(Self::spawn_with(config, fetcher))
    }

    /// A manager with any fetcher; tests use an in-memory one on a paused clock.
    pub fn spawn_with<F: Fetch>(config: TokenConfig, fetcher: F) -> TokenHandle {
        let (tx, rx) = watch::channel(Snapshot::default());
        let shared = Arc::new(Shared::default());
        let (min, max) = config.backoff_bounds();
        let owner = Owner {
            fetcher,
            lifetime: LifetimePolicy {
                default_expires_in: config.default_expires_in,
                max_expires_in: config.max_expires_in,
                hard_floor: config.hard_floor,
                refresh_fraction: config.refresh_fraction(),
            },
            backoff: BackoffPolicy {
                min,
                max,
                permanent: config.permanent_wait(),
            },
            secret_source: config.secret,
            secret: None,
            tx,
            shared: shared.clone(),
            failures: 0,
        };
        tokio::spawn(owner.run());
        TokenHandle::new(rx, shared)
    }
}

struct Owner<F> {
    fetcher: F,
    lifetime: LifetimePolicy,
    backoff: BackoffPolicy,
    secret_source: SecretSource,
    /// The secret in use; `None` means read it (again) before the next fetch.
    secret: Option<SecretString>,
    tx: watch::Sender<Snapshot>,
    shared: Arc<Shared>,
    /// Transient failures in a row (the backoff exponent).
    failures: u32,
}

impl<F: Fetch> Owner<F> {
    async fn run(mut self) {
        tracing::debug!("token manager started");
        let shared = self.shared.clone();
        loop {
            if shared.stopping.load(SeqCst) {
                break;
            }
            self.drop_invalidated();
            let due = self.next_fetch(Instant::now());
            if due > Instant::now() {
                tokio::select! {
                    () = shared.wake.notified() => continue,
                    () = tokio::time::sleep_until(due) => {}
                }
            }
            self.tx.send_modify(|s| s.fetching = true);
            let (sent_at, result) = tokio::select! {
                outcome = self.fetch_once() => outcome,
                () = stopped(&shared) => break,
            };
            self.record(sent_at, result);
        }
        tracing::debug!("token manager stopped");
        // Dropping `self.tx` here makes every waiting caller return `Stopped`.
    }

    /// Removes the current token if a caller reported it refused.
    fn drop_invalidated(&self) {
        let invalidated = self.shared.invalidated.load(SeqCst);
        self.tx.send_if_modified(|s| match &s.token {
            Some(t) if t.bearer.generation() <= invalidated => {
                s.token = None;
                true
            }
            _ => false,
        });
    }

    /// When the next fetch is due. A pending retry wins over everything, so neither a
    /// caller nor an invalidation can shorten a backoff or a `Retry-After`.
    fn next_fetch(&self, now: Instant) -> Instant {
        let snap = self.tx.borrow();
        match (&snap.failure, &snap.token) {
            (Some(failure), _) => failure.retry_at,
            (None, Some(token)) => token.refresh_at,
            (None, None) => now,
        }
    }

    /// One fetch, reading the secret first if a refusal (or the start) asked for it.
    async fn fetch_once(&mut self) -> (Instant, Result<Grant, FetchError>) {
        let secret = match &self.secret {
            Some(secret) => secret.clone(),
            None => match self.secret_source.read() {
                Ok(secret) => {
                    self.secret = Some(secret.clone());
                    secret
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot read the ORDS client secret");
                    return (
                        Instant::now(),
                        Err(FetchError::permanent(Cause::SecretUnreadable)),
                    );
                }
            },
        };
        // Expiry counts from the moment the request leaves, not when the answer lands.
        let sent_at = Instant::now();
        (sent_at, self.fetcher.fetch(&secret).await)
    }

    fn record(&mut self, sent_at: Instant, result: Result<Grant, FetchError>) {
        let granted =
            result.and_then(
                |grant| match self.lifetime.schedule(sent_at, grant.expires_in) {
                    Ok(schedule) => Ok((grant, schedule)),
                    Err(_) => Err(FetchError::transient(Cause::LifetimeTooShort)),
                },
            );
        match granted {
            Ok((grant, schedule)) => {
                self.failures = 0;
                let generation = self.tx.borrow().generation + 1;
                tracing::info!(
                    generation,
                    lifetime_s = schedule.lifetime.as_secs(),
                    refresh_in_s = (schedule.refresh_at - sent_at).as_secs(),
                    "obtained an ORDS access token"
                );
                let issued = Arc::new(Issued {
                    bearer: BearerToken::new(generation, grant.access_token),
                    expires_at: schedule.expires_at,
                    refresh_at: schedule.refresh_at,
                    usable_until: schedule.usable_until,
                });
                self.tx.send_modify(|s| {
                    s.token = Some(issued);
                    s.generation = generation;
                    s.fetching = false;
                    s.failure = None;
                    s.last = Some(FetchResult::Ok);
                    s.counters.ok += 1;
                });
            }
            Err(error) => self.record_failure(&error),
        }
    }

    fn record_failure(&mut self, error: &FetchError) {
        let mut rotated = false;
        match error.kind {
            FailureKind::Transient => self.failures = self.failures.saturating_add(1),
            FailureKind::Permanent => {
                // The credentials were refused: read the secret again before the next
                // attempt, so writing a rotated secret into the file heals the broker.
                self.failures = 0;
                rotated = self.reread_secret_after_refusal();
            }
        }
        let delay = if rotated {
            // The operator has already written a new secret (the usual order is: write
            // the file, then revoke the old slot): try it soon, not after the slow wait.
            // A refusal of the new secret finds the file unchanged and waits as usual.
            self.backoff.min
        } else {
            self.backoff.delay(
                error.kind,
                self.failures,
                error.retry_after,
                backoff::jitter(),
            )
        };
        let now = Instant::now();
        let serving = self
            .tx
            .borrow()
            .token
            .as_ref()
            .is_some_and(|t| now < t.usable_until);
        tracing::warn!(
            kind = %error.kind,
            cause = %error.cause,
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            still_serving_previous_token = serving,
            "ORDS token fetch failed"
        );
        let failure = Failure {
            kind: error.kind,
            retry_at: now + delay,
        };
        self.tx.send_modify(|s| {
            s.fetching = false;
            s.failure = Some(failure);
            match error.kind {
                FailureKind::Transient => {
                    s.last = Some(FetchResult::Transient);
                    s.counters.transient += 1;
                }
                FailureKind::Permanent => {
                    s.last = Some(FetchResult::Permanent);
                    s.counters.permanent += 1;
                }
            }
        });
    }
}

impl<F: Fetch> Owner<F> {
    /// Forgets the refused secret and reads the file again. True when it now holds a
    /// different secret, which is then used for the next attempt.
    fn reread_secret_after_refusal(&mut self) -> bool {
        let Some(refused) = self.secret.take() else {
            return false;
        };
        match self.secret_source.read() {
            Ok(current) if current.expose_secret() != refused.expose_secret() => {
                tracing::info!(
                    "the ORDS client secret changed since it was refused; retrying soon"
                );
                self.secret = Some(current);
                true
            }
            _ => false,
        }
    }
}

/// Resolves once a stop was requested; ordinary wakes during a fetch are not needed
/// (the loop re-examines everything after the fetch anyway).
async fn stopped(shared: &Shared) {
    while !shared.stopping.load(SeqCst) {
        shared.wake.notified().await;
    }
}
