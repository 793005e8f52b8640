//! A keyed rate limiter: GCRA (the "generic cell rate algorithm", a token bucket that
//! stores one instant per key instead of a count and a timestamp).
//!
//! Why GCRA: one `Instant` per key is the whole state, a check is a compare and an
//! add, and a key whose instant lies in the past is indistinguishable from a key never
//! seen, so idle keys can be dropped without changing any answer.
//!
//! Memory stays bounded because the broker is public and anyone can invent new keys
//! (IP addresses, forged license keys): idle keys are swept periodically, and at
//! `max_keys` the entries closest to idle are evicted in a batch. Eviction can only
//! ever make the limiter more lenient for the evicted key, never block anyone.
//!
//! Time comes from `tokio::time::Instant`, so tests run on a paused clock; the `*_at`
//! methods take the instant explicitly for pure tests.
//!
//! Hand-written rather than `governor`. Its keyed limiter (0.10, `state/keyed.rs` in
//! boinkor-net/governor) only offers checks that spend a cell (`check_key`,
//! `check_key_n`, `check_key_any_n`), while the `NOT_FOUND` budget must be read
//! without spending (`peek`, before answering an unverifiable key) and spent only
//! once a `NOT_FOUND` has gone out (`Limits::record_not_found`). Its key store grows
//! until the caller schedules `retain_recent`, with no cap on keys, where here the
//! sweep and the eviction at `max_keys` ride on inserts. Its `Quota` cannot be zero,
//! where `0` here means off. And it keeps its own clock (`quanta`, or a fake one in
//! tests), where these limits run on tokio's, which the tests pause. What would be
//! left to reuse is the GCRA compare-and-add, a few lines.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How many keys one limiter tracks before it evicts (about 50 bytes each for an IP).
pub(super) const DEFAULT_MAX_KEYS: usize = 100_000;
/// How often idle keys are swept even when the map is not full.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How long the caller should wait before the next attempt can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// The `Retry-After` header value: whole seconds, rounded up, at least 1, so a
    /// client that obeys it exactly is not refused again.
    pub fn header_secs(self) -> u64 {
        let secs = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// `count` events per `period`, of which `burst` may arrive at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    pub count: u32,
    pub period: Duration,
    pub burst: u32,
}

impl Quota {
    /// `n` per minute with a burst of `n`: a full minute's allowance may arrive at
    /// once (a desktop fleet behind one NAT starting at 9:00), then it refills evenly.
    pub(crate) fn per_minute(n: u32) -> Self {
        Self {
            count: n,
            period: Duration::from_secs(60),
            burst: n,
        }
    }

    /// `n` per hour with a burst of `n`.
    pub(crate) fn per_hour(n: u32) -> Self {
        Self {
            count: n,
            period: Duration::from_secs(3600),
            burst: n,
        }
    }

    /// The same rate with a different burst (at least 1).
    #[cfg(test)]
    fn with_burst(self, burst: u32) -> Self {
        Self {
            burst: burst.max(1),
            ..self
        }
    }

    /// `0` per period turns the limit off.
    pub(crate) fn is_off(&self) -> bool {
        self.count == 0
    }

    /// The time one event "costs": the spacing of the steady rate.
    fn interval(&self) -> Duration {
        self.period / self.count
    }

    /// How far ahead of `now` the theoretical arrival time may run before refusing.
    fn tolerance(&self) -> Duration {
        self.interval() * self.burst.saturating_sub(1)
    }
}

/// A GCRA limiter keyed by `K`. Cheap to share behind an `Arc`; one short mutex hold
/// per check (a hash lookup), which is far below the cost of the request it guards.
#[derive(Debug)]
pub(super) struct RateLimiter<K> {
    quota: Quota,
    max_keys: usize,
    state: Mutex<State<K>>,
}

#[derive(Debug)]
struct State<K> {
    /// Theoretical arrival time of the next event for each key.
    tat: HashMap<K, Instant>,
    last_sweep: Option<Instant>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_minute` events per minute per key with a burst of the same size; `0` = off.
    #[cfg(test)]
    fn new(per_minute: u32) -> Self {
        Self::with_quota(Quota::per_minute(per_minute), DEFAULT_MAX_KEYS)
    }

    /// Any quota, tracking at most `max_keys` keys (at least 1).
    pub(super) fn with_quota(quota: Quota, max_keys: usize) -> Self {
        Self {
            quota: Quota {
                burst: quota.burst.max(1),
                ..quota
            },
            max_keys: max_keys.max(1),
            state: Mutex::new(State {
                tat: HashMap::new(),
                last_sweep: None,
            }),
        }
    }

    /// Takes one event for `key` now, or says how long to wait.
    pub(super) fn check(&self, key: &K) -> Result<(), RetryAfter> {
        self.check_at(key, Instant::now())
    }

    /// Whether one event for `key` would be allowed now, without taking it.
    pub(super) fn peek(&self, key: &K) -> Result<(), RetryAfter> {
        self.peek_at(key, Instant::now())
    }

    /// [`RateLimiter::check`] at an explicit instant.
    pub(super) fn check_at(&self, key: &K, now: Instant) -> Result<(), RetryAfter> {
        if self.quota.is_off() {
            return Ok(());
        }
        let mut state = self.lock();
        // A key seen before (every request but a key's first): one hash and lookup.
        if let Some(tat) = state.tat.get_mut(key) {
            let due = (*tat).max(now);
            self.admit(due, now)?;
            *tat = due + self.quota.interval();
            return Ok(());
        }
        // A key not tracked has its whole burst: admitted, and tracked from now on.
        self.make_room(&mut state, now);
        state.tat.insert(key.clone(), now + self.quota.interval());
        Ok(())
    }

    /// [`RateLimiter::peek`] at an explicit instant.
    pub(super) fn peek_at(&self, key: &K, now: Instant) -> Result<(), RetryAfter> {
        if self.quota.is_off() {
            return Ok(());
        }
        let tat = self.lock().tat.get(key).copied().unwrap_or(now).max(now);
        self.admit(tat, now)
    }

    /// How many keys are tracked.
    #[cfg(test)]
    fn tracked_keys(&self) -> usize {
        self.lock().tat.len()
    }

    /// The GCRA test: allowed while the theoretical arrival time is no further ahead
    /// of `now` than the burst tolerance.
    fn admit(&self, tat: Instant, now: Instant) -> Result<(), RetryAfter> {
        let ahead = tat - now;
        let tolerance = self.quota.tolerance();
        if ahead > tolerance {
            Err(RetryAfter(ahead - tolerance))
        } else {
            Ok(())
        }
    }

    /// Called before inserting a new key: sweep idle keys now and then, and when the
    /// map is full, evict the tenth of the entries nearest to idle. Batching makes the
    /// O(n) work happen once per n/10 inserts, so a flood of new keys costs O(1) each.
    fn make_room(&self, state: &mut State<K>, now: Instant) {
        let due = state
            .last_sweep
            .is_none_or(|at| now.duration_since(at) >= SWEEP_EVERY);
        if due || state.tat.len() >= self.max_keys {
            state.tat.retain(|_, tat| *tat > now);
            state.last_sweep = Some(now);
        }
        if state.tat.len() >= self.max_keys {
            let evict = (self.max_keys / 10).max(1);
            let mut tats: Vec<Instant> = state.tat.values().copied().collect();
            let (_, cutoff, _) = tats.select_nth_unstable(evict - 1);
            let cutoff = *cutoff;
            let mut left = evict;
            state.tat.retain(|_, tat| {
                if left > 0 && *tat <= cutoff {
                    left -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        // A panic while holding this lock cannot leave the map inconsistent (every
        // update is a single insert or retain), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_ok(limiter: &RateLimiter<u32>, key: u32, n: usize, now: Instant) -> usize {
        (0..n)
            .filter(|_| limiter.check_at(&key, now).is_ok())
            .count()
    }

    #[test]
    fn a_burst_gets_the_burst_and_then_waits_one_interval() {
        let limiter = RateLimiter::new(20);
        let now = Instant::now();
        assert_eq!(count_ok(&limiter, 1, 100, now), 20);
        // 20/min = one every 3 s.
        assert_eq!(
            limiter.check_at(&1, now),
            Err(RetryAfter(Duration::from_secs(3)))
        );
        assert!(limiter.check_at(&1, now + Duration::from_secs(3)).is_ok());
        assert!(limiter.check_at(&1, now + Duration::from_secs(3)).is_err());
    }

    #[test]
    fn keys_do_not_share_a_bucket() {
        let limiter = RateLimiter::new(5);
        let now = Instant::now();
        assert_eq!(count_ok(&limiter, 1, 50, now), 5);
        assert_eq!(count_ok(&limiter, 2, 3, now), 3);
    }

    #[test]
    fn zero_turns_the_limit_off_and_tracks_nothing() {
        let limiter = RateLimiter::new(0);
        let now = Instant::now();
        assert_eq!(count_ok(&limiter, 1, 10_000, now), 10_000);
        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[test]
    fn the_steady_rate_is_sustained_forever() {
        let limiter = RateLimiter::with_quota(Quota::per_minute(60).with_burst(1), 10);
        let start = Instant::now();
        for i in 0..1000 {
            let now = start + Duration::from_secs(i);
            assert!(limiter.check_at(&7, now).is_ok(), "second {i}");
            assert!(limiter.check_at(&7, now).is_err(), "second {i}");
        }
    }

    #[test]
    fn peek_does_not_consume() {
        let limiter = RateLimiter::with_quota(Quota::per_hour(2), 10);
        let now = Instant::now();
        assert!(limiter.peek_at(&1, now).is_ok());
        assert!(limiter.peek_at(&1, now).is_ok());
        assert_eq!(count_ok(&limiter, 1, 5, now), 2);
        // 2/hour = one every 30 min.
        assert_eq!(
            limiter.peek_at(&1, now),
            Err(RetryAfter(Duration::from_secs(1800)))
        );
    }

    #[test]
    fn a_flood_of_new_keys_stays_within_the_cap() {
        let limiter = RateLimiter::with_quota(Quota::per_minute(10), 1000);
        let now = Instant::now();
        for key in 0..50_000 {
            assert!(limiter.check_at(&key, now).is_ok());
            assert!(limiter.tracked_keys() <= 1000);
        }
    }

    #[test]
    fn idle_keys_are_swept() {
        let limiter = RateLimiter::with_quota(Quota::per_minute(60), 1000);
        let now = Instant::now();
        for key in 0..500 {
            limiter.check_at(&key, now).unwrap();
        }
        assert_eq!(limiter.tracked_keys(), 500);
        // Every key is idle one second later; the next sweep is due after a minute.
        limiter.check_at(&9999, now + SWEEP_EVERY).unwrap();
        assert_eq!(limiter.tracked_keys(), 1);
    }

    #[test]
    fn eviction_keeps_the_most_limited_keys() {
        let limiter = RateLimiter::with_quota(Quota::per_minute(1).with_burst(5), 10);
        let now = Instant::now();
        // Key 0 spends its whole burst: it owes five minutes, the others one each.
        for _ in 0..5 {
            limiter.check_at(&0, now).unwrap();
        }
        for key in 1..100u64 {
            let _ = limiter.check_at(&key, now + Duration::from_millis(key));
        }
        assert!(limiter.check_at(&0, now + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn retry_after_header_rounds_up_to_whole_seconds() {
        assert_eq!(RetryAfter(Duration::from_millis(1)).header_secs(), 1);
        assert_eq!(RetryAfter(Duration::from_millis(2001)).header_secs(), 3);
        assert_eq!(RetryAfter(Duration::from_secs(3)).header_secs(), 3);
        assert_eq!(RetryAfter(Duration::ZERO).header_secs(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_paused_clock_drives_refill() {
        let limiter = RateLimiter::new(20);
        let ok = (0..100)
            .filter(|_| limiter.check(&"1.2.3.4").is_ok())
            .count();
        assert_eq!(ok, 20);
        let Err(RetryAfter(wait)) = limiter.check(&"1.2.3.4") else {
            panic!("limited")
        };
        tokio::time::advance(wait).await;
        assert!(limiter.check(&"1.2.3.4").is_ok());
    }
}
