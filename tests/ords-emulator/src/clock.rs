//! Time as a value the emulator is handed, so token expiry can be tested without sleeping.

use std::sync::Mutex;

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

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
