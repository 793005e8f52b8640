//! The public edge: what keeps a public broker standing and observable (issue 4).
//! Each piece stands alone and is wired into the router and `serve` by `api`.
//!
//! - [`rate_limit`]: a keyed GCRA limiter with bounded memory; [`limits`]: the three
//!   limits the broker applies (per address, per license key, per-address `NOT_FOUND`).
//! - [`client_addr`]: the client address, from `X-Forwarded-For` only via trusted proxies.
//! - [`metrics`]: the `/metrics` registry in the Prometheus text format.
//! - [`request_log`]: one structured line and the request metrics per request.
//! - [`shutdown`]: the draining flag readiness reads, and SIGTERM/SIGINT.
//! - [`tls`]: optional rustls termination as an `axum::serve` listener.

pub mod client_addr;
pub mod limits;
pub mod metrics;
pub mod rate_limit;
pub mod request_log;
pub mod shutdown;
pub mod tls;

pub use client_addr::TrustedProxies;
pub use limits::{KeyId, LimitKind, Limited, Limits};
pub use metrics::Metrics;
pub use rate_limit::{Quota, RateLimiter, RetryAfter};
pub use request_log::{key_fingerprint, KeyFingerprint, UpstreamStatus};
pub use shutdown::{Draining, Signal};
pub use tls::{TlsError, TlsListener};
