//! How long to wait after a failed fetch.
//!
//! Transient failures back off exponentially with *full jitter* (AWS architecture
//! blog, "Exponential Backoff and Jitter"): after the n-th failure in a row the wait is
//! uniform in `[min, min(max, min·2ⁿ⁻¹)]`. Full jitter spreads the replicas of a fleet
//! that all lost ORDS at the same moment; the lower bound of `min` (≥ 1 s) keeps any
//! single replica from spinning. A `Retry-After` from the endpoint is a floor, never
//! shortened by jitter.
//!
//! Permanent failures wait a flat `permanent_retry` (60 s): the credentials will not
//! heal by hammering, but the loop never ends either, so a rotated secret is picked up.

use std::time::Duration;

use super::fetch::FailureKind;

/// The retry settings (from `TokenConfig`, already made safe).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BackoffPolicy {
    pub min: Duration,
    pub max: Duration,
    pub permanent: Duration,
}

impl BackoffPolicy {
    /// The ceiling of the jitter window after `failures` transient failures in a row.
    pub(super) fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.min.saturating_mul(1u32 << doublings).min(self.max)
    }

    /// The wait after a failure; `jitter` is uniform in `[0, 1)`.
    pub(super) fn delay(
        &self,
        kind: FailureKind,
        failures: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Duration {
        let base = match kind {
            FailureKind::Permanent => self.permanent,
            FailureKind::Transient => {
                let ceiling = self.ceiling(failures);
                self.min + (ceiling - self.min).mul_f64(jitter.clamp(0.0, 1.0))
            }
        };
        base.max(retry_after.unwrap_or_default())
    }
}

/// A uniform sample in `[0, 1)` from the thread RNG (not held across an await).
pub(crate) fn jitter() -> f64 {
    use rand::Rng as _;
    rand::thread_rng().gen::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn policy() -> BackoffPolicy {
        BackoffPolicy {
            min: S(1),
            max: S(60),
            permanent: S(60),
        }
    }

    #[test]
    fn transient_windows_double_up_to_the_ceiling() {
        let p = policy();
        let ceilings: Vec<u64> = (1..=9).map(|n| p.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.ceiling(u32::MAX), S(60));
        for n in 1..=9 {
            assert_eq!(p.delay(FailureKind::Transient, n, None, 0.0), S(1));
            assert!(p.delay(FailureKind::Transient, n, None, 0.999_999) <= p.ceiling(n));
        }
    }

    #[test]
    fn retry_after_is_a_floor_and_permanent_is_flat() {
        let p = policy();
        assert_eq!(p.delay(FailureKind::Transient, 1, Some(S(7)), 0.5), S(7));
        assert_eq!(
            p.delay(FailureKind::Transient, 9, Some(S(7)), 0.999),
            p.delay(FailureKind::Transient, 9, None, 0.999)
        );
        assert_eq!(p.delay(FailureKind::Permanent, 1, None, 0.0), S(60));
        assert_eq!(
            p.delay(FailureKind::Permanent, 5, Some(S(120)), 0.0),
            S(120)
        );
    }
}
