//! [`Config`]: everything the broker needs to run, read once at start-up from TOML
//! plus the environment (the environment wins), failing fast with one line that names
//! the variable. Each domain builds its own part from the [`Sources`]; what is here is
//! their assembly and the checks across them.
//!
//! Key material is loaded too, so a broker that starts can sign and check keys;
//! `issue-key` needs only the key secret and uses [`load_license_keys`](crate::load_license_keys).

use std::net::SocketAddr;
use std::path::Path;

use crate::config::vars as var;
use crate::config::{unknown_variables, ConfigError, Sources};
use crate::guard::RateConfig;
use crate::http::tls::{server_config, TlsError};
use crate::http::EdgeConfig;
use crate::ords::token::{secret_source, SecretSource, TokenConfig};
use crate::ords::OrdsConfig;
use crate::verdict::{
    load_license_keys, load_signer, CacheConfig, LicenseKeys, PolicyConfig, SeatConfig, Signer,
};

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

    /// Builds the configuration from already-opened sources (tests pass their own env):
    /// each domain reads its own settings, then the checks that span two of them.
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
        let ords = OrdsConfig::from_sources(src)?;
        let client_id = src.require(var::CLIENT_ID)?.value.trim().to_owned();
        let client_secret = secret_source(src)?;
        let signer = load_signer(src)?;
        let license_keys = load_license_keys(src)?;
        let policy = PolicyConfig::from_sources(src)?;
        let cache = CacheConfig::from_sources(src)?;
        let rate = RateConfig::from_sources(src)?;
        // The seat lease covers the offline grace: a machine using its offline lease
        // must not lose its seat meanwhile.
        let seats = SeatConfig::from_sources(src, policy.offline_grace)?;
        // The ORDS timeout must fit inside the request deadline.
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

/// Warns about every `LICENSE_BROKER_*` variable of the process that is no setting: a
/// typo such as `LICENSE_BROKER_CLIENTID` would otherwise be silently ignored.
pub fn warn_about_unknown_variables() {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    for warning in unknown_variables(names.iter().map(String::as_str)) {
        tracing::warn!("{warning}");
    }
}

/// The TLS certificate and key are read and parsed now, with the code `serve` uses,
/// so a missing, unreadable or mismatched file stops the start (and `check`) with one
/// line that names its variable.
fn tls_files_usable(src: &Sources, edge: &EdgeConfig) -> Result<(), ConfigError> {
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

#[cfg(test)]
mod tests;
