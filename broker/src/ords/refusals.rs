//! Memory of ORDS refusing even freshly issued tokens.
//!
//! When the OAuth client's role loses the privilege that protects the module, ORDS
//! answers 401 to every token. Without memory each validation would invalidate the
//! token, mint a new one and call twice: a token request per validation and twice the
//! resource calls, against a server that has said no. Instead the refused generation
//! is remembered: until its back-off passes, calls with that token fail at once; then
//! one call probes, and a success forgets everything.
//!
//! Requests already in flight when the first refusal lands are refused too, moments
//! later; those refusals say nothing new, so only one reported for a window that has
//! ended (the probe's, in practice) doubles the back-off. Otherwise a handful of
//! concurrent validations would start at the 60 s cap, and recovery after the grant
//! is restored would take that long. Admitting the probe holds everyone else off for
//! one more wait, so ORDS sees one call per window, not a burst; and as that is all
//! the admission does, a probe whose request is dropped costs that one window, never
//! a back-off that no longer ends.

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

/// What [`Refusals::check`] let through, to hand back to [`Refusals::refused`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// Nothing is known against the token.
    Clear,
    /// The one call of an ended back-off; `until` is the end of the window its
    /// admission opened, which names it as long as no later probe was admitted.
    Probe { generation: u64, until: Instant },
}

impl Refusals {
    /// Fails fast while the token of `generation` is known to be refused; once its
    /// back-off is over, the first caller goes through as the probe.
    pub(super) fn check(&self, generation: u64) -> Result<Pass, UpstreamError> {
        let mut state = self.lock();
        let now = Instant::now();
        match state.as_mut() {
            Some(refused) if refused.generation == generation => {
                if now < refused.until {
                    return Err(refused_error(refused.until - now));
                }
                refused.until = now + refused.wait;
                Ok(Pass::Probe {
                    generation,
                    until: refused.until,
                })
            }
            _ => Ok(Pass::Clear),
        }
    }

    /// True when `generation` was refused before: a new token would not fare better.
    pub(super) fn holds(&self, generation: u64) -> bool {
        matches!(*self.lock(), Some(refused) if refused.generation == generation)
    }

    /// ORDS refused a token of `generation` that should have been good, on a call
    /// `check` let through as `pass`; the error to return.
    pub(super) fn refused(&self, generation: u64, pass: Pass) -> UpstreamError {
        let mut state = self.lock();
        let now = Instant::now();
        let wait = match *state {
            Some(refused) if refused.generation == generation => {
                let probe = pass
                    == Pass::Probe {
                        generation,
                        until: refused.until,
                    };
                if !probe && now < refused.until {
                    return refused_error(refused.until - now);
                }
                (refused.wait * 2).min(MAX_WAIT)
            }
            _ => FIRST_WAIT,
        };
        *state = Some(Refused {
            generation,
            until: now + wait,
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

    fn retry_after(err: &UpstreamError) -> Duration {
        match err {
            UpstreamError::Unavailable {
                retry_after: Some(d),
                ..
            } => *d,
            other => panic!("not the refusal: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_generation_fails_fast_then_probes_with_growing_waits() {
        let refusals = Refusals::default();
        assert_eq!(refusals.check(7), Ok(Pass::Clear));
        let first = refusals.refused(7, Pass::Clear);
        assert_eq!(retry_after(&first), FIRST_WAIT);
        assert!(refusals.check(7).is_err(), "inside the back-off");
        assert_eq!(
            refusals.check(8),
            Ok(Pass::Clear),
            "another token is not known to be refused"
        );
        tokio::time::advance(FIRST_WAIT).await;
        let probe = refusals.check(7).expect("one probe after the back-off");
        assert!(matches!(probe, Pass::Probe { generation: 7, .. }));
        assert!(refusals.holds(7));
        let second = refusals.refused(7, probe);
        assert_eq!(retry_after(&second), FIRST_WAIT * 2);
        refusals.clear();
        assert!(refusals.check(7) == Ok(Pass::Clear) && !refusals.holds(7));
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_of_calls_in_flight_together_start_one_back_off() {
        let refusals = Refusals::default();
        let passes: Vec<Pass> = (0..5).map(|_| refusals.check(7).unwrap()).collect();
        for pass in passes {
            let err = refusals.refused(7, pass);
            assert!(retry_after(&err) <= FIRST_WAIT, "{err:?}");
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        tokio::time::advance(FIRST_WAIT - Duration::from_millis(500)).await;
        let probe = refusals
            .check(7)
            .expect("the first back-off is 5 s however many calls were refused in it");
        assert_eq!(retry_after(&refusals.refused(7, probe)), FIRST_WAIT * 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_ended_back_off_lets_exactly_one_probe_through() {
        let refusals = Refusals::default();
        refusals.refused(7, Pass::Clear);
        tokio::time::advance(FIRST_WAIT).await;
        let probe = refusals.check(7).unwrap();
        assert!(matches!(probe, Pass::Probe { .. }));
        for _ in 0..4 {
            let err = refusals.check(7).expect_err("the probe is in flight");
            assert_eq!(retry_after(&err), FIRST_WAIT);
        }
        assert_eq!(
            retry_after(&refusals.refused(7, probe)),
            FIRST_WAIT * 2,
            "the probe's refusal is the one that counts"
        );
        assert!(refusals.check(7).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_never_reports_costs_one_window() {
        let refusals = Refusals::default();
        refusals.refused(7, Pass::Clear);
        tokio::time::advance(FIRST_WAIT).await;
        let lost = refusals.check(7).unwrap();
        assert!(refusals.check(7).is_err(), "held off for the probe");
        tokio::time::advance(FIRST_WAIT).await;
        let probe = refusals
            .check(7)
            .expect("a window after the lost probe, another goes out");
        assert_ne!(probe, lost);
        // The lost probe turning up late is not the probe this window waits on.
        let late = refusals.refused(7, lost);
        assert_eq!(retry_after(&late), FIRST_WAIT);
        assert_eq!(
            retry_after(&refusals.refused(7, probe)),
            FIRST_WAIT * 2,
            "the wait doubled once, for the probe that answered"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_forgets_the_back_off() {
        let refusals = Refusals::default();
        refusals.refused(7, Pass::Clear);
        for wait in [FIRST_WAIT, FIRST_WAIT * 2] {
            tokio::time::advance(wait).await;
            let probe = refusals.check(7).unwrap();
            refusals.refused(7, probe);
        }
        tokio::time::advance(FIRST_WAIT * 4).await;
        assert!(matches!(refusals.check(7), Ok(Pass::Probe { .. })));
        refusals.clear();
        assert_eq!(refusals.check(7), Ok(Pass::Clear), "nothing held any more");
        assert!(!refusals.holds(7));
        let again = refusals.refused(7, Pass::Clear);
        assert_eq!(retry_after(&again), FIRST_WAIT, "a new refusal starts over");
        tokio::time::advance(FIRST_WAIT).await;
        assert!(matches!(refusals.check(7), Ok(Pass::Probe { .. })));
    }
}
