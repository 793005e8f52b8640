//! Who may ask, and how often: the client address (from `X-Forwarded-For` only via
//! trusted proxies) and the rate limits applied before any work is done.
//!
//! - [`rate_limit`]: a keyed GCRA limiter with bounded memory.
//! - [`limits`]: the three limits the broker applies (per address, per license key,
//!   per-address `NOT_FOUND`).
//! - [`client_addr`]: [`TrustedProxies`] and the client address they yield.

mod client_addr;
pub(crate) mod limits;
mod rate_limit;

pub(crate) use client_addr::TrustedProxies;
#[cfg(test)]
pub(crate) use limits::key_fingerprint;
pub(crate) use limits::{ip_bucket, Fingerprint, KeyId, LimitKind, Limited, Limits, RateConfig};
