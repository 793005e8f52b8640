//! What every handler shares: the token source, the verdict service, the key checker
//! and the edge (limits, metrics, trusted proxies, the draining flag), built once by
//! `app` from the configuration.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::guard::{Limits, TrustedProxies};
use crate::http::shutdown::Draining;
use crate::http::EdgeConfig;
use crate::metrics::Metrics;
use crate::ords::token::TokenSource;
use crate::verdict::{LicenseKeys, Verdicts};

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub(crate) struct AppState {
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

/// The parts of the state, built by `app` from the configuration.
pub(crate) struct Parts {
    pub(crate) tokens: Arc<dyn TokenSource>,
    pub(crate) verdicts: Verdicts,
    pub(crate) license_keys: LicenseKeys,
    pub(crate) edge: EdgeConfig,
    pub(crate) limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
}

impl AppState {
    /// The state of `parts`, with its own concurrency slots and draining flag.
    pub(crate) fn new(parts: Parts) -> Self {
        let Parts {
            tokens,
            verdicts,
            license_keys,
            edge,
            limits,
            metrics,
        } = parts;
        Self {
            inner: Arc::new(Inner {
                tokens,
                verdicts,
                license_keys,
                capacity: Semaphore::new(edge.max_concurrent),
                edge,
                limits: Arc::new(limits),
                metrics,
                draining: Draining::new(),
            }),
        }
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
    pub(crate) fn edge(&self) -> &EdgeConfig {
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
    pub(crate) fn draining(&self) -> &Draining {
        &self.inner.draining
    }
}
