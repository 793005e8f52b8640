//! What every handler shares: the token source, the verdict service, the key checker
//! and the edge (limits, metrics, trusted proxies, the draining flag), built once from
//! the configuration.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::config::Config;
use crate::config::ConfigError;
use crate::guard::{Limits, TrustedProxies};
use crate::http::shutdown::Draining;
use crate::http::EdgeConfig;
use crate::metrics::Metrics;
use crate::ords::OrdsClient;
use crate::token::TokenSource;
use crate::verdict::LicenseKeys;
use crate::verdict::LookupCache;
use crate::verdict::{UnixClock, Verdicts};

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub(super) struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    tokens: Arc<dyn TokenSource>,
    verdicts: Verdicts,
    license_keys: LicenseKeys,
    edge: EdgeConfig,
    limits: Arc<Limits>,
    /// One slot per validation answered at once (`max_concurrent`), shared by the
    /// four license routes: the limit is the broker's, not each route's.
    capacity: Semaphore,
    metrics: Arc<Metrics>,
    draining: Draining,
}

impl AppState {
    /// The state for `config`, getting tokens from `tokens` and signing at the times
    /// `clock` gives.
    pub(super) fn new(
        config: &Config,
        tokens: Arc<dyn TokenSource>,
        clock: UnixClock,
    ) -> Result<Self, ConfigError> {
        let metrics = Arc::new(Metrics::new());
        let ords = OrdsClient::new(&config.ords, Arc::clone(&tokens))
            .map_err(|e| ConfigError::new("outbound HTTP client", format!("cannot be built: {e}")))?
            .with_metrics(Arc::clone(&metrics));
        let verdicts = Verdicts::new(
            ords,
            LookupCache::new(config.cache),
            config.license_keys.clone(),
            config.signer.clone(),
            config.policy,
            config.seats,
            clock,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                tokens,
                verdicts,
                license_keys: config.license_keys.clone(),
                edge: config.edge.clone(),
                limits: Arc::new(
                    Limits::new(config.rate.per_ip, config.rate.per_key)
                        .with_activations_per_hour(config.seats.activations_per_hour),
                ),
                capacity: Semaphore::new(config.edge.max_concurrent),
                metrics,
                draining: Draining::new(),
            }),
        })
    }

    pub(super) fn tokens(&self) -> &Arc<dyn TokenSource> {
        &self.inner.tokens
    }

    pub(super) fn verdicts(&self) -> &Verdicts {
        &self.inner.verdicts
    }

    pub(super) fn license_keys(&self) -> &LicenseKeys {
        &self.inner.license_keys
    }

    /// Deadlines, concurrency, trusted proxies and shutdown settings.
    pub(super) fn edge(&self) -> &EdgeConfig {
        &self.inner.edge
    }

    pub(super) fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The license routes' concurrency slots.
    pub(super) fn capacity(&self) -> &Semaphore {
        &self.inner.capacity
    }

    pub(super) fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    pub(super) fn trusted_proxies(&self) -> &TrustedProxies {
        &self.inner.edge.trusted_proxies
    }

    /// Set on SIGTERM/SIGINT; `/readyz` reads it first.
    pub(super) fn draining(&self) -> &Draining {
        &self.inner.draining
    }
}
