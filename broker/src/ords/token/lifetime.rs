//! What an `expires_in` value means, and when a token is refreshed and retired.
//!
//! OAuth client libraries disagree wildly on odd values (forever, 1 s, 1 h, `None`),
//! so ours is written down here and pinned by a table test:
//!
//! | `expires_in`            | lifetime used                                      |
//! |-------------------------|----------------------------------------------------|
//! | `3600` (ORDS)           | 3600 s                                             |
//! | `"3600"` (a string)     | 3600 s: lenient like golang.org/x/oauth2           |
//! | `3600.0`, `1e9`         | the whole seconds of the number (then capped)      |
//! | missing or `null`       | `default_expires_in` (300 s): short, so a token    |
//! |                         | that really expires sooner is replaced quickly     |
//! | `0`, `-5`               | unusable: the fetch counts as a transient failure  |
//! |                         | and backs off (≥ 1 s), it is never handed out      |
//! | ≤ `hard_floor` (30 s)   | unusable, same as 0: it could never be handed out  |
//! | `1e9`, `10^30`          | capped at `max_expires_in` (24 h)                  |
//! | `"x"`, `true`, `{}`     | malformed response, a transient failure; the body  |
//! |                         | (which holds the token) is never logged            |
//!
//! Expiry is counted from the monotonic instant the request was *sent*, not when the
//! answer arrived, so a slow token endpoint makes us refresh early rather than late.
//! The refresh runs at `refresh_at` × lifetime, but never later than the hard floor
//! and never sooner than 1 s after the fetch, so no value can make the manager spin.
//! The refresh instant carries no jitter: T2 pins it at 80 % ± 1 %, and replicas that
//! started at different moments are already spread; failures are what get jittered.

use std::time::Duration;

use tokio::time::Instant;

/// The `expires_in` of a token response, as read (before any policy is applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresIn {
    /// Absent or `null`.
    Missing,
    /// Whole seconds, as sent; may be zero or negative.
    Seconds(i64),
}

/// When a token obtained at some instant is refreshed and retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// The lifetime believed, after the policy above.
    pub lifetime: Duration,
    /// The instant the token expires.
    pub expires_at: Instant,
    /// The instant the background refresh is due.
    pub refresh_at: Instant,
    /// The last instant the token may be handed out (`expires_at - hard_floor`).
    pub usable_until: Instant,
}

/// Why a successful response still gave no usable token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooShort;

/// The settings the policy reads (a subset of `TokenConfig`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LifetimePolicy {
    pub default_expires_in: Duration,
    pub max_expires_in: Duration,
    pub hard_floor: Duration,
    pub refresh_fraction: f64,
}

impl LifetimePolicy {
    /// The lifetime an `expires_in` stands for, or `TooShort` if it is unusable.
    pub(super) fn lifetime(&self, expires_in: ExpiresIn) -> Result<Duration, TooShort> {
        let lifetime = match expires_in {
            ExpiresIn::Missing => self.default_expires_in,
            ExpiresIn::Seconds(s) if s <= 0 => return Err(TooShort),
            ExpiresIn::Seconds(s) => Duration::from_secs(s.unsigned_abs()),
        }
        .min(self.max_expires_in);
        if lifetime <= self.hard_floor {
            return Err(TooShort);
        }
        Ok(lifetime)
    }

    /// The schedule of a token whose request was sent at `sent_at`.
    pub(super) fn schedule(
        &self,
        sent_at: Instant,
        expires_in: ExpiresIn,
    ) -> Result<Schedule, TooShort> {
        let lifetime = self.lifetime(expires_in)?;
        let usable_for = lifetime - self.hard_floor;
        let refresh_after = lifetime
            .mul_f64(self.refresh_fraction)
            .min(usable_for)
            .max(Duration::from_secs(1));
        Ok(Schedule {
            lifetime,
            expires_at: sent_at + lifetime,
            refresh_at: sent_at + refresh_after,
            usable_until: sent_at + usable_for,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LifetimePolicy {
        LifetimePolicy {
            default_expires_in: Duration::from_secs(300),
            max_expires_in: Duration::from_secs(86_400),
            hard_floor: Duration::from_secs(30),
            refresh_fraction: 0.8,
        }
    }

    #[test]
    fn token_lifetime_table() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        // (expires_in, Some((lifetime, refresh after, usable for)) or None = unusable)
        let table = [
            (ExpiresIn::Seconds(3600), Some((s(3600), s(2880), s(3570)))),
            (ExpiresIn::Missing, Some((s(300), s(240), s(270)))),
            (ExpiresIn::Seconds(0), None),
            (ExpiresIn::Seconds(-5), None),
            (ExpiresIn::Seconds(30), None),
            (ExpiresIn::Seconds(31), Some((s(31), s(1), s(1)))),
            (ExpiresIn::Seconds(60), Some((s(60), s(30), s(30)))),
            (
                ExpiresIn::Seconds(1_000_000_000),
                Some((s(86_400), s(69_120), s(86_370))),
            ),
            (
                ExpiresIn::Seconds(i64::MAX),
                Some((s(86_400), s(69_120), s(86_370))),
            ),
        ];
        for (expires_in, expected) in table {
            let got = policy()
                .schedule(t0, expires_in)
                .ok()
                .map(|sch| (sch.lifetime, sch.refresh_at - t0, sch.usable_until - t0));
            assert_eq!(got, expected, "{expires_in:?}");
            if let Some((_, refresh, usable)) = got {
                assert!(refresh >= s(1) && refresh <= usable, "{expires_in:?}");
            }
        }
    }
}
