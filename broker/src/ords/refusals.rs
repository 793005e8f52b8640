//! Memory of ORDS refusing even freshly issued tokens.
//!
//! When the OAuth client's role loses the privilege that protects the module, ORDS
//! answers 401 to every token. Without memory each validation would invalidate the
//! token, mint a new one and call twice: a token request per validation and twice the
//! resource calls, against a server that has said no. Instead the refused generation
//! is remembered: until its back-off passes, calls with that token fail at once; then
//! one call probes, and a success forgets everything.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::UpstreamError;

/// First back-off after a refusal; it doubles up to [`MAX_WAIT`] while refusals go on.
const FIRST_WAIT: Duration = Duration::from_secs(5);
const MAX_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub(super) struct Refusals {
    state: Mutex<Option<Refused>>,
}

#[derive(Debug, Clone, Copy)]
struct Refused {
    generation: u64,
    until: Instant,
    wait: Duration,
}

impl Refusals {
    /// Fails fast while the token of `generation` is known to be refused.
    pub(super) fn check(&self, generation: u64) -> Result<(), UpstreamError> {
        match *self.lock() {
            Some(refused) if refused.generation == generation && Instant::now() < refused.until => {
                Err(refused_error(refused.until - Instant::now()))
            }
            _ => Ok(()),
        }
    }

    /// True when `generation` was refused before (its back-off is over: this is a probe).
    pub(super) fn holds(&self, generation: u64) -> bool {
        matches!(*self.lock(), Some(refused) if refused.generation == generation)
    }

    /// ORDS refused a token of `generation` that should have been good; the error to
    /// return.
    pub(super) fn refused(&self, generation: u64) -> UpstreamError {
        let mut state = self.lock();
        let wait = match *state {
            Some(refused) if refused.generation == generation => (refused.wait * 2).min(MAX_WAIT),
            _ => FIRST_WAIT,
        };
        *state = Some(Refused {
            generation,
            until: Instant::now() + wait,
            wait,
        });
        tracing::warn!(
            token_generation = generation,
            retry_in_s = wait.as_secs(),
            "ORDS refuses the broker's freshly issued token; backing off"
        );
        refused_error(wait)
    }

    /// ORDS accepted a token: forget any refusal.
    pub(super) fn clear(&self) {
        let mut state = self.lock();
        if state.is_some() {
            *state = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Refused>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn refused_error(wait: Duration) -> UpstreamError {
    UpstreamError::Unavailable {
        retry_after: Some(Duration::from_secs(wait.as_secs().max(1))),
        cause: "ORDS refused a freshly issued token (401 after a refresh): the OAuth client's role lacks the privilege that protects the module; check ORDS_SECURITY grants".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_refused_generation_fails_fast_then_probes_with_growing_waits() {
        let refusals = Refusals::default();
        assert!(refusals.check(7).is_ok());
        let first = refusals.refused(7);
        assert!(
            matches!(first, UpstreamError::Unavailable { retry_after: Some(d), .. } if d == FIRST_WAIT)
        );
        assert!(refusals.check(7).is_err(), "inside the back-off");
        assert!(
            refusals.check(8).is_ok(),
            "another token is not known to be refused"
        );
        tokio::time::advance(FIRST_WAIT).await;
        assert!(refusals.check(7).is_ok(), "one probe after the back-off");
        assert!(refusals.holds(7));
        let second = refusals.refused(7);
        assert!(
            matches!(second, UpstreamError::Unavailable { retry_after: Some(d), .. } if d == FIRST_WAIT * 2)
        );
        refusals.clear();
        assert!(refusals.check(7).is_ok() && !refusals.holds(7));
    }
}
