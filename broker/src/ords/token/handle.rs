//! What requests hold: a cheap, clonable [`TokenHandle`] that reads the owner task's
//! published state and, when it has to wait, only ever *asks* the owner to fetch.
//!
//! The fast path (a usable token is cached) is one `watch` borrow: no lock shared with
//! the fetch, no channel round trip. A waiting caller awaits the next published state,
//! so a caller that is dropped or cancelled leaves the fetch untouched (T7), and a
//! failed fetch wakes every waiter at once with the error instead of letting them wait
//! out the backoff.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::fetch::FailureKind;
use crate::ords::token::{BearerToken, TokenError, TokenFuture, TokenSource};

/// State shared between the handles and the owner, outside the published snapshot.
#[derive(Default)]
pub(crate) struct Shared {
    /// The highest generation a caller reported as refused (401). Atomic so that
    /// `invalidate` takes effect before it returns: the caller's very next `token()`
    /// already skips the refused token, with no race against the owner.
    pub invalidated: AtomicU64,
    /// Set by `shutdown` or when the last handle is dropped.
    pub stopping: AtomicBool,
    /// Wakes the owner: a caller needs a token, a token was invalidated, or stop.
    pub wake: Notify,
}

impl Shared {
    pub(crate) fn stop(&self) {
        self.stopping.store(true, SeqCst);
        self.wake.notify_one();
    }
}

/// The token in force and when it stops being handed out.
pub(crate) struct Issued {
    pub bearer: BearerToken,
    pub expires_at: Instant,
    pub refresh_at: Instant,
    pub usable_until: Instant,
}

/// The last fetch failed; the next attempt is at `retry_at`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    pub kind: FailureKind,
    pub retry_at: Instant,
}

/// What the owner publishes after every change.
#[derive(Clone, Default)]
pub(crate) struct Snapshot {
    pub token: Option<Arc<Issued>>,
    /// Generation of the newest token ever obtained (0: none yet).
    pub generation: u64,
    pub fetching: bool,
    pub failure: Option<Failure>,
    pub last: Option<FetchResult>,
    pub counters: FetchCounters,
}

/// Outcome of one token fetch, the `result` label of `broker_token_fetch_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchResult {
    Ok,
    Transient,
    Permanent,
}

impl FetchResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        }
    }
}

/// Fetches since start, by result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchCounters {
    pub ok: u64,
    pub transient: u64,
    pub permanent: u64,
}

/// The token manager's state for `/readyz` and `/metrics`. Holds no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStatus {
    /// A token with more than the hard floor left is cached (readiness).
    pub has_token: bool,
    /// Whole seconds until the cached token expires (`None` without a token).
    pub seconds_to_expiry: Option<u64>,
    /// Generation of the newest token obtained (0 before the first).
    pub generation: u64,
    /// A fetch is in flight.
    pub fetching: bool,
    /// Result of the most recent fetch (`None` before the first completes).
    pub last_fetch: Option<FetchResult>,
    /// While failing: time until the next attempt.
    pub retry_in: Option<Duration>,
    /// Fetches since start, by result.
    pub fetches: FetchCounters,
}

/// A handle on the token manager; clone it freely. The manager stops when the last
/// handle is dropped or on [`TokenHandle::shutdown`].
#[derive(Clone)]
pub struct TokenHandle {
    inner: Arc<Inner>,
}

struct Inner {
    rx: watch::Receiver<Snapshot>,
    shared: Arc<Shared>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

enum Decision {
    Ready(BearerToken),
    Fail(TokenError),
    /// Wait for the next snapshot; `nudge` if the owner may not know it is needed.
    Wait {
        nudge: bool,
    },
}

fn decide(snap: &Snapshot, now: Instant, invalidated: u64) -> Decision {
    if let Some(t) = &snap.token {
        if t.bearer.generation() > invalidated && now < t.usable_until {
            return Decision::Ready(t.bearer.clone());
        }
    }
    if snap.fetching {
        return Decision::Wait { nudge: false };
    }
    match snap.failure {
        Some(f) if f.retry_at > now => {
            let retry_after = Some(round_up(f.retry_at - now));
            Decision::Fail(match f.kind {
                FailureKind::Transient => TokenError::Unavailable { retry_after },
                FailureKind::Permanent => TokenError::Rejected { retry_after },
            })
        }
        // Cold, invalidated, or the retry is due: the owner is about to fetch.
        _ => Decision::Wait { nudge: true },
    }
}

/// Whole seconds, at least one, as a `Retry-After` header wants them.
fn round_up(d: Duration) -> Duration {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Duration::from_secs(secs.max(1))
}

impl TokenHandle {
    pub(crate) fn new(rx: watch::Receiver<Snapshot>, shared: Arc<Shared>) -> Self {
        Self {
            inner: Arc::new(Inner { rx, shared }),
        }
    }

    /// A token with more than the hard floor left, waiting for the fetch in flight if
    /// there is none. Errors come back as soon as a fetch fails (never after a backoff).
    /// `license-broker check` uses it to obtain one token or report why not.
    pub async fn ready_token(&self) -> Result<BearerToken, TokenError> {
        let shared = &self.inner.shared;
        let mut rx = self.inner.rx.clone();
        loop {
            if shared.stopping.load(SeqCst) {
                return Err(TokenError::Stopped);
            }
            let decision = decide(
                &rx.borrow_and_update(),
                Instant::now(),
                shared.invalidated.load(SeqCst),
            );
            match decision {
                Decision::Ready(token) => return Ok(token),
                Decision::Fail(error) => return Err(error),
                Decision::Wait { nudge } => {
                    if nudge {
                        shared.wake.notify_one();
                    }
                    if rx.changed().await.is_err() {
                        return Err(TokenError::Stopped);
                    }
                }
            }
        }
    }

    /// ORDS answered 401 to a token of `generation`: drop it if it is still the current
    /// one and have the owner fetch a new one. Stale generations are ignored, and only
    /// the first report of a generation wakes the owner, so N requests that saw the same
    /// 401 cause one refresh. (Replaying the request once is the ORDS caller's job.)
    pub fn invalidate(&self, generation: u64) {
        let current = self
            .inner
            .rx
            .borrow()
            .token
            .as_ref()
            .map(|t| t.bearer.generation());
        if current != Some(generation) {
            return;
        }
        if self.inner.shared.invalidated.fetch_max(generation, SeqCst) < generation {
            tracing::info!(generation, "ORDS refused the current token; refreshing");
            self.inner.shared.wake.notify_one();
        }
    }

    /// The manager's state, for `/readyz` and `/metrics`.
    pub fn status(&self) -> TokenStatus {
        let snap = self.inner.rx.borrow();
        let now = Instant::now();
        let invalidated = self.inner.shared.invalidated.load(SeqCst);
        let token = snap.token.as_ref();
        TokenStatus {
            has_token: token
                .is_some_and(|t| t.bearer.generation() > invalidated && now < t.usable_until),
            seconds_to_expiry: token.map(|t| t.expires_at.saturating_duration_since(now).as_secs()),
            generation: snap.generation,
            fetching: snap.fetching,
            last_fetch: snap.last,
            retry_in: snap
                .failure
                .map(|f| f.retry_at.saturating_duration_since(now)),
            fetches: snap.counters,
        }
    }

    /// Stops the owner task; every waiting and later caller gets `TokenError::Stopped`.
    pub fn shutdown(&self) {
        self.inner.shared.stop();
    }
}

impl TokenSource for TokenHandle {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.ready_token())
    }

    fn invalidate(&self, generation: u64) {
        TokenHandle::invalidate(self, generation);
    }

    fn status(&self) -> Option<TokenStatus> {
        Some(TokenHandle::status(self))
    }
}

impl fmt::Debug for TokenHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenHandle")
            .field("status", &self.status())
            .finish()
    }
}
