//! The verdict settings: the offline policy, the lookup cache's lifetimes, the seats
//! (within what the `license_seats` package accepts), and the key material, each
//! built from the settings' [`Sources`].

use std::path::Path;
use std::time::Duration;

use super::{LicenseKeys, Signer};
use crate::config::vars as var;
use crate::config::{ConfigError, Sources};

/// The longest offline grace ever signed, whatever the configuration says.
pub(crate) const MAX_OFFLINE_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

// The `license_seats` package's own checks (`c_min_lease_seconds`, `c_max_seconds` and
// `c_max_release_budget` in deploy/ords/seats.sql). A value outside them is sent on
// every seat call and refused there with a 400, so the broker would start and then
// answer every seat-limited license with 503; refused at load instead.
/// The shortest `lease_seconds` the package accepts.
pub(crate) const MIN_SEAT_LEASE_SECS: u64 = 60;
/// The longest `lease_seconds` and `release_window_seconds` the package accepts.
pub(crate) const MAX_SEAT_SECS: u64 = 315_360_000;
/// The largest `release_budget` the package accepts.
pub(crate) const MAX_RELEASE_BUDGET: u32 = 1_000_000;

/// How long a signed verdict may be relied upon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Offline use of a valid verdict; at most [`MAX_OFFLINE_GRACE`].
    pub offline_grace: Duration,
    /// When the client should ask again at start-up.
    pub recheck_after: Duration,
    /// An offline activation's lease (and the least its seat is held); at most
    /// [`MAX_OFFLINE_ACTIVATION_DAYS`] days.
    pub offline_activation: Duration,
}

/// The longest offline activation lease, in days: a machine that never comes online
/// must come back with a new request at least this often. The same 30 days that cap
/// every verdict's offline use, which the client also enforces whatever is signed.
pub(crate) const MAX_OFFLINE_ACTIVATION_DAYS: u64 = 30;
const DAY_SECS: u64 = 24 * 3600;

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            offline_grace: Duration::from_secs(7 * 24 * 3600),
            recheck_after: Duration::from_secs(24 * 3600),
            offline_activation: Duration::from_secs(30 * DAY_SECS),
        }
    }
}

/// Lifetimes of looked-up licenses in the verdict cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// An active license.
    pub ttl: Duration,
    /// A deny: no row, suspended, revoked, expired. Shorter, so a fix shows quickly.
    pub negative_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(15),
        }
    }
}

/// Seats: how long one lasts unseen, and how often a license may free other
/// machines' seats. The database enforces both; these are the values it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatConfig {
    /// A seat not renewed by an online validation for this long lapses.
    pub lease: Duration,
    /// Other machines' seats one license may free per `release_window`.
    pub release_budget: u32,
    pub release_window: Duration,
    /// Activations per hour per license key; `0` is off.
    pub activations_per_hour: u32,
    /// A floating seat not checked out again for this long lapses.
    pub floating_lease: Duration,
}

impl PolicyConfig {
    /// The offline grace (capped at [`MAX_OFFLINE_GRACE`], with a warning) and the
    /// recheck time.
    pub(crate) fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let grace = src.secs_or(var::OFFLINE_GRACE_SECS, defaults.offline_grace)?;
        if grace > MAX_OFFLINE_GRACE {
            tracing::warn!(
                setting = var::OFFLINE_GRACE_SECS,
                "offline grace is capped at 30 days"
            );
        }
        Ok(Self {
            offline_grace: grace.min(MAX_OFFLINE_GRACE),
            recheck_after: src.secs_or(var::RECHECK_AFTER_SECS, defaults.recheck_after)?,
            offline_activation: offline_activation(src)?,
        })
    }
}

impl CacheConfig {
    pub(crate) fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            ttl: src.secs_or(var::VERDICT_TTL_SECS, defaults.ttl)?,
            negative_ttl: src.secs_or(var::NEGATIVE_TTL_SECS, defaults.negative_ttl)?,
        })
    }
}

impl SeatConfig {
    /// The seat settings, refused at load when the `license_seats` package would
    /// refuse them, or when the lease is shorter than `offline_grace`.
    pub(crate) fn from_sources(
        src: &Sources,
        offline_grace: Duration,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            lease: seat_lease(src, offline_grace)?,
            release_budget: release_budget(src)?,
            release_window: release_window(src)?,
            activations_per_hour: src.parse_or(
                var::ACTIVATIONS_PER_HOUR,
                10,
                "a whole number per hour (0 = off)",
            )?,
            floating_lease: floating_lease(src)?,
        })
    }
}

/// `LICENSE_BROKER_OFFLINE_ACTIVATION_DAYS`: 1 to 30 whole days.
fn offline_activation(src: &Sources) -> Result<Duration, ConfigError> {
    let days: u64 = src.parse_or(
        var::OFFLINE_ACTIVATION_DAYS,
        30,
        "a whole number of days from 1 to 30",
    )?;
    if !(1..=MAX_OFFLINE_ACTIVATION_DAYS).contains(&days) {
        return Err(ConfigError::new(
            src.origin(var::OFFLINE_ACTIVATION_DAYS),
            format!("({days}) must be from 1 to {MAX_OFFLINE_ACTIVATION_DAYS} days"),
        ));
    }
    Ok(Duration::from_secs(days * DAY_SECS))
}

/// The shortest and longest floating lease: a renewal every second at most, and a
/// crashed app's seat back within a day at the latest.
pub(crate) const FLOATING_LEASE_RANGE: std::ops::RangeInclusive<u64> = 2..=86_400;

fn floating_lease(src: &Sources) -> Result<Duration, ConfigError> {
    let lease = src.secs_or(var::FLOATING_LEASE_SECS, Duration::from_secs(900))?;
    if !FLOATING_LEASE_RANGE.contains(&lease.as_secs()) {
        return Err(ConfigError::new(
            var::FLOATING_LEASE_SECS,
            format!(
                "({} s) must be from {} to {} seconds",
                lease.as_secs(),
                FLOATING_LEASE_RANGE.start(),
                FLOATING_LEASE_RANGE.end()
            ),
        ));
    }
    Ok(lease)
}

/// Unset, the lease is the offline grace, brought within what the seats package
/// accepts (a short grace, as in a trial or a test, is no reason to refuse to start);
/// only a lease set out of that range is an error.
fn seat_lease(src: &Sources, offline_grace: Duration) -> Result<Duration, ConfigError> {
    let default_lease = offline_grace.clamp(
        Duration::from_secs(MIN_SEAT_LEASE_SECS),
        Duration::from_secs(MAX_SEAT_SECS),
    );
    let lease = src.secs_or(var::SEAT_LEASE_SECS, default_lease)?;
    if lease < offline_grace {
        return Err(ConfigError::new(
            var::SEAT_LEASE_SECS,
            format!(
                "({} s) must be at least the offline grace {} ({} s): a machine using its offline lease must not lose its seat meanwhile",
                lease.as_secs(),
                var::OFFLINE_GRACE_SECS,
                offline_grace.as_secs()
            ),
        ));
    }
    if !(MIN_SEAT_LEASE_SECS..=MAX_SEAT_SECS).contains(&lease.as_secs()) {
        return Err(outside_seats_package(
            src,
            var::SEAT_LEASE_SECS,
            format!("{} s", lease.as_secs()),
            format!("{MIN_SEAT_LEASE_SECS} to {MAX_SEAT_SECS} seconds (10 years)"),
            ("lease_seconds", "every activation and renewal"),
        ));
    }
    Ok(lease)
}

fn release_budget(src: &Sources) -> Result<u32, ConfigError> {
    let release_budget = src.parse_or(var::RELEASE_BUDGET, 5, "a whole number of machines")?;
    if release_budget > MAX_RELEASE_BUDGET {
        return Err(outside_seats_package(
            src,
            var::RELEASE_BUDGET,
            release_budget.to_string(),
            format!("0 to {MAX_RELEASE_BUDGET}"),
            ("release_budget", "every deactivation"),
        ));
    }
    Ok(release_budget)
}

fn release_window(src: &Sources) -> Result<Duration, ConfigError> {
    let release_window = src.positive_secs_or(
        var::RELEASE_WINDOW_SECS,
        Duration::from_secs(30 * 24 * 3600),
    )?;
    if release_window.as_secs() > MAX_SEAT_SECS {
        return Err(outside_seats_package(
            src,
            var::RELEASE_WINDOW_SECS,
            format!("{} s", release_window.as_secs()),
            format!("1 to {MAX_SEAT_SECS} seconds (10 years)"),
            ("release_window_seconds", "every deactivation"),
        ));
    }
    Ok(release_window)
}

/// A seat setting (`var`, whose value reads `value`) outside `range`, what the
/// `license_seats` package accepts as its `member`; outside it the package refuses
/// `refused` (the calls that send it) with HTTP 400.
fn outside_seats_package(
    src: &Sources,
    var: &str,
    value: String,
    range: String,
    (member, refused): (&str, &str),
) -> ConfigError {
    ConfigError::new(
        src.origin(var),
        format!(
            "({value}) must be from {range}, the {member} the license_seats package (deploy/ords/seats.sql) accepts; outside it {refused} is refused with HTTP 400. Set it within that range"
        ),
    )
}

/// Only the key secret: what `issue-key` needs.
pub fn load_license_keys(src: &Sources) -> Result<LicenseKeys, ConfigError> {
    let setting = src.require(var::KEY_SECRET_FILE)?;
    LicenseKeys::from_file(Path::new(setting.value.trim()), &setting.origin)
}

/// The verdict-signing key.
pub(crate) fn load_signer(src: &Sources) -> Result<Signer, ConfigError> {
    let signing = src.require(var::SIGNING_KEY_FILE)?;
    Signer::from_file(Path::new(signing.value.trim()), &signing.origin)
}
