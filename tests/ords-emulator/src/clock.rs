//! Time as a value the emulator is handed, so token expiry can be tested without sleeping.

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

/// Where the emulator reads "now" from: token expiry, `expires_in`, and the seed's
/// relative license dates all go through it.
pub trait Clock: Send + Sync {
    /// The current instant (UTC).
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock; what the binary uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Tests share it (in an `Arc`) with the
/// emulator and call [`ManualClock::advance`] to make tokens expire.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Jumps to `instant` (backwards is allowed, to test clock roll-back).
    pub fn set(&self, instant: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = instant;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

/// The emulator's clock: the one it was given, moved forward by however much
/// `POST /__emulator/clock` asked, so tests can age tokens, seats, floating leases and
/// trials over real HTTP without waiting.
pub(crate) struct ShiftedClock {
    base: Arc<dyn Clock>,
    by: Mutex<Duration>,
}

impl ShiftedClock {
    pub(crate) fn new(base: Arc<dyn Clock>) -> ShiftedClock {
        ShiftedClock {
            base,
            by: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves this clock forward by `by` (never back) and returns the new shift.
    pub(crate) fn advance(&self, by: Duration) -> Duration {
        let mut shift = self.by.lock().unwrap_or_else(|e| e.into_inner());
        *shift += by;
        *shift
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        self.base.now() + *self.by.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
