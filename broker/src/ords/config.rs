//! [`OrdsConfig`]: where and how ORDS is called and how its rows are read, built from
//! the settings' [`Sources`].

use url::{Host, Url};

use super::{OutboundLimits, ValidationPath};
use crate::config::vars as var;
use crate::config::{ConfigError, Sources};

/// Where and how ORDS is called, and how its rows are read.
#[derive(Debug, Clone)]
pub struct OrdsConfig {
    /// The schema root, e.g. `https://host/ords/page`.
    pub base_url: Url,
    pub validation_path: ValidationPath,
    /// The seats handlers' template; `/activate`, `/renew`, `/release` follow it.
    pub seats_path: ValidationPath,
    /// The trials handler, `<base_url>/customers/trials/start` by default.
    pub trials_url: Url,
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

/// Column names in the ORDS answer. Every one but the id must be a member of each row
/// (ORDS prints a NULL as `null`); a row without one is an upstream error, so a typo in
/// a setting never reads as "no limit" or "any product".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The customer id; when the answer has it, it must be the id looked up.
    pub id: String,
    pub expiry: String,
    pub status: String,
    /// Seats per license (NULL: unlimited).
    pub max_machines: String,
    /// The product code (NULL: the license is for any product).
    pub product: String,
    /// Comma-separated entitlement names (NULL: none).
    pub entitlements: String,
    /// `REVOKE_ACCESS` or `MAINTAIN_ACCESS` (NULL: revoke).
    pub expiry_strategy: String,
    /// The serial of the license's current key (NULL: 0).
    pub key_serial: String,
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
            key_serial: "key_serial".into(),
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

impl OrdsConfig {
    /// The ORDS settings: the URLs and templates, the outbound limits, and how rows
    /// are read.
    pub(crate) fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
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
        let trials_url = trials_url(&base_url, src)?;
        Ok(Self {
            base_url,
            validation_path,
            seats_path,
            trials_url,
            token_url,
            limits: OutboundLimits::from_sources(src)?,
            columns: Columns::from_sources(src)?,
            statuses: StatusValues::from_sources(src)?,
            item_404_is_not_found: boolean(src, var::ITEM_404_IS_NOT_FOUND, true)?,
        })
    }
}

impl OutboundLimits {
    /// The timeouts and the body cap of every ORDS call.
    fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            connect_timeout: src
                .positive_secs_or(var::UPSTREAM_CONNECT_TIMEOUT_SECS, defaults.connect_timeout)?,
            total_timeout: src
                .positive_secs_or(var::UPSTREAM_TIMEOUT_SECS, defaults.total_timeout)?,
            max_body_bytes: src.parse_or(
                var::UPSTREAM_BODY_LIMIT_BYTES,
                defaults.max_body_bytes,
                "a whole number of bytes",
            )?,
        })
    }
}

impl Columns {
    fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let columns = Self::default();
        Ok(Self {
            id: column(src, var::ID_COLUMN, columns.id)?,
            expiry: column(src, var::EXPIRY_COLUMN, columns.expiry)?,
            status: column(src, var::STATUS_COLUMN, columns.status)?,
            max_machines: column(src, var::MAX_MACHINES_COLUMN, columns.max_machines)?,
            product: column(src, var::PRODUCT_COLUMN, columns.product)?,
            entitlements: column(src, var::ENTITLEMENTS_COLUMN, columns.entitlements)?,
            expiry_strategy: column(src, var::EXPIRY_STRATEGY_COLUMN, columns.expiry_strategy)?,
            key_serial: column(src, var::KEY_SERIAL_COLUMN, columns.key_serial)?,
        })
    }
}

impl StatusValues {
    fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            active: list(src, var::STATUS_ACTIVE, defaults.active)?,
            suspended: list(src, var::STATUS_SUSPENDED, defaults.suspended)?,
            revoked: list(src, var::STATUS_REVOKED, defaults.revoked)?,
        })
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
/// `LICENSE_BROKER_TRIALS_PATH` under the schema root: plain segments only, so the
/// setting can never climb out of the schema.
fn trials_url(base: &Url, src: &Sources) -> Result<Url, ConfigError> {
    let Some(s) = src.get(var::TRIALS_PATH) else {
        return Ok(join(base, &["customers", "trials", "start"]));
    };
    let segments: Vec<&str> = s.value.trim_matches('/').split('/').collect();
    let plain = |seg: &&str| {
        !seg.is_empty()
            && *seg != "."
            && *seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if !segments.iter().all(plain) {
        return Err(ConfigError::new(
            s.origin,
            format!(
                "{:?} must be a path of plain segments (letters, digits, '.', '_', '-') such as customers/trials/start",
                s.value
            ),
        ));
    }
    Ok(join(base, &segments))
}

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
