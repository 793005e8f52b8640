//! The broker's configuration, read once at start-up from TOML plus the environment
//! (the environment wins), failing fast with one line that names the variable.
//!
//! Key material is loaded here too, so a broker that starts can sign and check keys;
//! `issue-key` needs only the key secret and uses [`load_license_keys`].

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;
use url::{Host, Url};

use crate::http::EdgeConfig;
use crate::ords::{OutboundLimits, ValidationPath};
use crate::token::{SecretSource, TokenConfig};
use crate::verdict::{LicenseKeys, Signer};

mod sources;
pub mod vars;

pub use sources::{example_toml, unknown_variables, ConfigError, Sources};
pub(crate) use sources::{read_private_file, warn_if_readable_by_others};
use vars as var;

/// The longest offline grace ever signed, whatever the configuration says.
pub const MAX_OFFLINE_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

// The `license_seats` package's own checks (`c_min_lease_seconds`, `c_max_seconds` and
// `c_max_release_budget` in deploy/ords/seats.sql). A value outside them is sent on
// every seat call and refused there with a 400, so the broker would start and then
// answer every seat-limited license with 503; refused at load instead.
/// The shortest `lease_seconds` the package accepts.
const MIN_SEAT_LEASE_SECS: u64 = 60;
/// The longest `lease_seconds` and `release_window_seconds` the package accepts.
const MAX_SEAT_SECS: u64 = 315_360_000;
/// The largest `release_budget` the package accepts.
const MAX_RELEASE_BUDGET: u32 = 1_000_000;

/// Everything the broker needs to run. `Debug` is safe to log: secrets redact themselves.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// A second listener that alone serves `/metrics`; `None`: `/metrics` is on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    pub client_id: String,
    pub client_secret: SecretSource,
    pub ords: OrdsConfig,
    pub signer: Signer,
    pub license_keys: LicenseKeys,
    pub policy: PolicyConfig,
    pub cache: CacheConfig,
    pub rate: RateConfig,
    pub seats: SeatConfig,
    /// Trusted proxies, TLS, deadlines, concurrency and shutdown ([`EdgeConfig`]).
    pub edge: EdgeConfig,
}

/// Where and how ORDS is called, and how its rows are read.
#[derive(Debug, Clone)]
pub struct OrdsConfig {
    /// The schema root, e.g. `https://host/ords/page`.
    pub base_url: Url,
    pub validation_path: ValidationPath,
    /// The seats handlers' template; `/activate`, `/renew`, `/release` follow it.
    pub seats_path: ValidationPath,
    /// `client_credentials` endpoint; `<base_url>/oauth/token` unless configured.
    pub token_url: Url,
    pub columns: Columns,
    pub statuses: StatusValues,
    /// A `404` carrying ORDS's `NotFound` problem JSON means "no row" (a `json/item`
    /// handler); when `false`, only an empty collection does and every 404 is an
    /// upstream error. Default `true`.
    pub item_404_is_not_found: bool,
    pub limits: OutboundLimits,
}

/// Column names in the ORDS answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The customer id; when the answer has it, it must be the id looked up.
    pub id: String,
    pub expiry: String,
    pub status: String,
    /// Seats per license; optional in the answer (absent or NULL: unlimited).
    pub max_machines: String,
    /// The product code; optional (absent or NULL: the license is for any product).
    pub product: String,
    /// Comma-separated entitlement names; optional (absent or NULL: none).
    pub entitlements: String,
    /// `REVOKE_ACCESS` or `MAINTAIN_ACCESS`; optional (absent or NULL: revoke).
    pub expiry_strategy: String,
}

/// The columns as `deploy/ords/schema.sql` names them.
impl Default for Columns {
    fn default() -> Self {
        Self {
            id: "customer_id".into(),
            expiry: "expires_at".into(),
            status: "license_status".into(),
            max_machines: "max_machines".into(),
            product: "product".into(),
            entitlements: "entitlements".into(),
            expiry_strategy: "expiry_strategy".into(),
        }
    }
}

/// Which status values mean what; anything else is an upstream error, not a guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusValues {
    pub active: Vec<String>,
    pub suspended: Vec<String>,
    pub revoked: Vec<String>,
}

impl Default for StatusValues {
    fn default() -> Self {
        Self {
            active: vec!["ACTIVE".into()],
            suspended: vec!["SUSPENDED".into()],
            revoked: vec!["REVOKED".into()],
        }
    }
}

/// How long a signed verdict may be relied upon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Offline use of a valid verdict; at most [`MAX_OFFLINE_GRACE`].
    pub offline_grace: Duration,
    /// When the client should ask again at start-up.
    pub recheck_after: Duration,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            offline_grace: Duration::from_secs(7 * 24 * 3600),
            recheck_after: Duration::from_secs(24 * 3600),
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
}

/// Rate limits per minute; `0` is off. Enforced by the rate-limiting layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    pub per_ip: u32,
    pub per_key: u32,
}

impl Config {
    /// The token manager's settings: its endpoint, client and secret, the same
    /// outbound limits as the resource call (an operator who tightens the ORDS timeout
    /// means every ORDS call), and the manager's own defaults for refresh and backoff.
    pub fn token_config(&self) -> TokenConfig {
        let mut token = TokenConfig::new(
            self.ords.token_url.clone(),
            self.client_id.clone(),
            self.client_secret.clone(),
        );
        token.limits = self.ords.limits;
        token
    }

    /// Reads `file` (if given) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_sources(&Sources::from_process(file)?)
    }

    /// Builds the configuration from already-opened sources (tests pass their own env).
    pub fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let listen = src.parse_or(
            var::LISTEN,
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            "an address such as 127.0.0.1:8080",
        )?;
        let metrics_listen = match src.get(var::METRICS_LISTEN) {
            None => None,
            Some(s) => Some(s.value.trim().parse().map_err(|_| {
                ConfigError::new(
                    s.origin,
                    format!(
                        "{:?} is not an address such as 127.0.0.1:9090",
                        s.value.trim()
                    ),
                )
            })?),
        };
        let base = src.require(var::ORDS_BASE_URL)?;
        let base_url = parse_ords_url(&base.value, &base.origin)?;
        let token_url = match src.get(var::TOKEN_URL) {
            Some(s) => parse_ords_url(&s.value, &s.origin)?,
            None => join(&base_url, &["oauth", "token"]),
        };
        let validation_path = match src.get(var::VALIDATION_PATH) {
            Some(s) => {
                ValidationPath::parse(&s.value).map_err(|p| ConfigError::new(s.origin, p))?
            }
            None => ValidationPath::default(),
        };
        let seats_path = match src.get(var::SEATS_PATH) {
            Some(s) => {
                ValidationPath::parse(&s.value).map_err(|p| ConfigError::new(s.origin, p))?
            }
            None => ValidationPath::parse("customers/seats/{id}").expect("a valid template"),
        };
        let client_id = src.require(var::CLIENT_ID)?.value.trim().to_owned();
        let client_secret = secret_source(src)?;
        let signing = src.require(var::SIGNING_KEY_FILE)?;
        let signer = Signer::from_file(Path::new(signing.value.trim()), &signing.origin)?;
        let license_keys = load_license_keys(src)?;

        let defaults = PolicyConfig::default();
        let grace = src.secs_or(var::OFFLINE_GRACE_SECS, defaults.offline_grace)?;
        if grace > MAX_OFFLINE_GRACE {
            tracing::warn!(
                setting = var::OFFLINE_GRACE_SECS,
                "offline grace is capped at 30 days"
            );
        }
        let policy = PolicyConfig {
            offline_grace: grace.min(MAX_OFFLINE_GRACE),
            recheck_after: src.secs_or(var::RECHECK_AFTER_SECS, defaults.recheck_after)?,
        };
        let cache_defaults = CacheConfig::default();
        let cache = CacheConfig {
            ttl: src.secs_or(var::VERDICT_TTL_SECS, cache_defaults.ttl)?,
            negative_ttl: src.secs_or(var::NEGATIVE_TTL_SECS, cache_defaults.negative_ttl)?,
        };
        let limits_default = OutboundLimits::default();
        let limits = OutboundLimits {
            connect_timeout: src.positive_secs_or(
                var::UPSTREAM_CONNECT_TIMEOUT_SECS,
                limits_default.connect_timeout,
            )?,
            total_timeout: src
                .positive_secs_or(var::UPSTREAM_TIMEOUT_SECS, limits_default.total_timeout)?,
            max_body_bytes: src.parse_or(
                var::UPSTREAM_BODY_LIMIT_BYTES,
                limits_default.max_body_bytes,
                "a whole number of bytes",
            )?,
        };
        let statuses_default = StatusValues::default();
        let columns = Columns::default();
        let ords = OrdsConfig {
            base_url,
            validation_path,
            seats_path,
            token_url,
            columns: Columns {
                id: column(src, var::ID_COLUMN, columns.id)?,
                expiry: column(src, var::EXPIRY_COLUMN, columns.expiry)?,
                status: column(src, var::STATUS_COLUMN, columns.status)?,
                max_machines: column(src, var::MAX_MACHINES_COLUMN, columns.max_machines)?,
                product: column(src, var::PRODUCT_COLUMN, columns.product)?,
                entitlements: column(src, var::ENTITLEMENTS_COLUMN, columns.entitlements)?,
                expiry_strategy: column(src, var::EXPIRY_STRATEGY_COLUMN, columns.expiry_strategy)?,
            },
            statuses: StatusValues {
                active: list(src, var::STATUS_ACTIVE, statuses_default.active)?,
                suspended: list(src, var::STATUS_SUSPENDED, statuses_default.suspended)?,
                revoked: list(src, var::STATUS_REVOKED, statuses_default.revoked)?,
            },
            item_404_is_not_found: boolean(src, var::ITEM_404_IS_NOT_FOUND, true)?,
            limits,
        };
        let rate = RateConfig {
            per_ip: src.parse_or(var::RATE_PER_IP, 60, "a whole number per minute (0 = off)")?,
            per_key: src.parse_or(var::RATE_PER_KEY, 20, "a whole number per minute (0 = off)")?,
        };
        // Unset, the lease is the offline grace, brought within what the seats package
        // accepts (a short grace, as in a trial or a test, is no reason to refuse to
        // start); only a lease set out of that range is an error.
        let default_lease = policy.offline_grace.clamp(
            Duration::from_secs(MIN_SEAT_LEASE_SECS),
            Duration::from_secs(MAX_SEAT_SECS),
        );
        let lease = src.secs_or(var::SEAT_LEASE_SECS, default_lease)?;
        if lease < policy.offline_grace {
            return Err(ConfigError::new(
                var::SEAT_LEASE_SECS,
                format!(
                    "({} s) must be at least the offline grace {} ({} s): a machine using its offline lease must not lose its seat meanwhile",
                    lease.as_secs(),
                    var::OFFLINE_GRACE_SECS,
                    policy.offline_grace.as_secs()
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
        let seats = SeatConfig {
            lease,
            release_budget,
            release_window,
            activations_per_hour: src.parse_or(
                var::ACTIVATIONS_PER_HOUR,
                10,
                "a whole number per hour (0 = off)",
            )?,
        };
        let edge = EdgeConfig::from_sources(src, ords.limits.total_timeout)?;
        tls_files_usable(src, &edge)?;
        if client_id.is_empty() {
            return Err(ConfigError::new(var::CLIENT_ID, "is empty"));
        }
        Ok(Self {
            listen,
            metrics_listen,
            client_id,
            client_secret,
            ords,
            signer,
            license_keys,
            policy,
            cache,
            rate,
            seats,
            edge,
        })
    }
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

/// The TLS certificate and key are read and parsed now, with the code `serve` uses,
/// so a missing, unreadable or mismatched file stops the start (and `check`) with one
/// line that names its variable.
fn tls_files_usable(src: &Sources, edge: &EdgeConfig) -> Result<(), ConfigError> {
    use crate::http::tls::{server_config, TlsError};
    let Some(files) = &edge.tls else {
        return Ok(());
    };
    match server_config(&files.cert, &files.key) {
        Ok(_) => Ok(()),
        Err(
            e @ (TlsError::ReadCert { .. } | TlsError::BadCert { .. } | TlsError::NoCert { .. }),
        ) => Err(ConfigError::new(
            src.origin(var::TLS_CERT_FILE),
            e.to_string(),
        )),
        Err(e) => Err(ConfigError::new(
            src.origin(var::TLS_KEY_FILE),
            e.to_string(),
        )),
    }
}

/// Exactly one of the file or the value; both set is ambiguous and refused.
fn secret_source(src: &Sources) -> Result<SecretSource, ConfigError> {
    match (
        src.get(var::CLIENT_SECRET_FILE),
        src.get(var::CLIENT_SECRET),
    ) {
        (Some(file), None) => {
            // Read now, so a missing or unreadable file stops `serve` (and `check`)
            // before it listens, instead of a broker that answers 503 forever. It is
            // read again at every refusal, so rotating it in place still works.
            let path = std::path::PathBuf::from(file.value.trim());
            let source = SecretSource::File(path.clone());
            source
                .read()
                .map_err(|e| ConfigError::new(&file.origin, e.to_string()))?;
            warn_if_readable_by_others(&path, &file.origin);
            Ok(source)
        }
        (None, Some(value)) => Ok(SecretSource::Value(SecretString::from(
            value.value.trim().to_owned(),
        ))),
        (Some(_), Some(_)) => Err(ConfigError::new(
            var::CLIENT_SECRET,
            format!(
                "is set together with {}; set only one of the two",
                var::CLIENT_SECRET_FILE
            ),
        )),
        (None, None) => Err(ConfigError::new(
            var::CLIENT_SECRET_FILE,
            format!(
                "is required (or {}); the secret is never read from the command line",
                var::CLIENT_SECRET
            ),
        )),
    }
}

/// An ORDS URL: https, or http only to a loopback host; no query or fragment.
fn parse_ords_url(text: &str, origin: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim())
        .map_err(|e| ConfigError::new(origin, format!("{:?} is not a URL: {e}", text.trim())))?;
    if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            origin,
            "must be a plain https URL without query or fragment, e.g. https://host/ords/page",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            origin,
            "must not carry credentials in the URL",
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(ConfigError::new(
            origin,
            "http:// is only accepted for loopback hosts (127.0.0.0/8, ::1, localhost); use https:// for a real ORDS",
        )),
        other => Err(ConfigError::new(origin, format!("scheme {other:?} is not supported; use https://"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `base` with extra path segments, keeping its own path.
fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), or `default` when unset.
fn boolean(src: &Sources, name: &str, default: bool) -> Result<bool, ConfigError> {
    let Some(s) = src.get(name) else {
        return Ok(default);
    };
    match s.value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(
            s.origin,
            format!("{:?} is not true or false", s.value.trim()),
        )),
    }
}

/// A column name as ORDS prints it: lower-case identifier characters.
fn column(src: &Sources, name: &str, default: String) -> Result<String, ConfigError> {
    let Some(s) = src.get(name) else {
        return Ok(default);
    };
    let value = s.value.trim().to_owned();
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'#');
    if ok {
        Ok(value)
    } else {
        Err(ConfigError::new(
            s.origin,
            format!("{value:?} is not a column name"),
        ))
    }
}

fn list(src: &Sources, name: &str, default: Vec<String>) -> Result<Vec<String>, ConfigError> {
    let Some(s) = src.get(name) else {
        return Ok(default);
    };
    let values: Vec<String> = s
        .value
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return Err(ConfigError::new(
            s.origin,
            "needs at least one value (comma-separated)",
        ));
    }
    Ok(values)
}

#[cfg(test)]
mod tests;
