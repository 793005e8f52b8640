//! What every handler shares: the token source, the verdict service and the key
//! checker, built once from the configuration.

use std::sync::Arc;

use crate::config::{Config, RateConfig};
use crate::config_sources::ConfigError;
use crate::license_keys::LicenseKeys;
use crate::ords::OrdsClient;
use crate::token_source::TokenSource;
use crate::verdict_cache::VerdictCache;
use crate::verdicts::{system_clock, UnixClock, Verdicts};

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    tokens: Arc<dyn TokenSource>,
    verdicts: Verdicts,
    license_keys: LicenseKeys,
    rate: RateConfig,
}

impl AppState {
    /// The state for `config`, getting tokens from `tokens` and signing at wall-clock time.
    pub fn from_config(config: &Config, tokens: Arc<dyn TokenSource>) -> Result<Self, ConfigError> {
        Self::with_clock(config, tokens, system_clock())
    }

    /// Like [`AppState::from_config`], signing at the times `clock` gives.
    pub fn with_clock(
        config: &Config,
        tokens: Arc<dyn TokenSource>,
        clock: UnixClock,
    ) -> Result<Self, ConfigError> {
        let ords = OrdsClient::new(&config.ords, Arc::clone(&tokens)).map_err(|e| {
            ConfigError::new("outbound HTTP client", format!("cannot be built: {e}"))
        })?;
        let verdicts = Verdicts::new(
            ords,
            VerdictCache::new(config.cache),
            config.signer.clone(),
            config.policy,
            clock,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                tokens,
                verdicts,
                license_keys: config.license_keys.clone(),
                rate: config.rate,
            }),
        })
    }

    pub fn tokens(&self) -> &Arc<dyn TokenSource> {
        &self.inner.tokens
    }

    pub fn verdicts(&self) -> &Verdicts {
        &self.inner.verdicts
    }

    pub fn license_keys(&self) -> &LicenseKeys {
        &self.inner.license_keys
    }

    /// The configured limits, for the rate-limiting layer.
    pub fn rate(&self) -> RateConfig {
        self.inner.rate
    }
}
