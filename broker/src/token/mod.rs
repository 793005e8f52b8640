//! The token manager: one owner task per broker that obtains ORDS access tokens with
//! the client-credentials grant, caches them and refreshes them, so that no request
//! ever owns (or can cancel) a token fetch.
//!
//! The rest of the broker sees it only through [`crate::token_source::TokenSource`],
//! implemented by [`TokenHandle`].
//!
//! # Layout
//!
//! - [`config`]: [`TokenConfig`], the knobs and their defaults.
//! - [`lifetime`]: what an `expires_in` value means (missing, zero, huge, a string) and
//!   when a token is refreshed and stops being handed out.
//! - [`response`]: the lenient ORDS token response type handed to `oauth2`.
//! - [`fetch`]: the [`Fetch`] seam (one token POST) and how its failures are classified.
//! - [`http`]: the real fetcher: `oauth2` over a status-aware, capped, no-redirect client.
//! - [`backoff`]: how long to wait after a failure (full jitter, `Retry-After`).
//! - [`owner`]: the owner task: single flight, proactive refresh, backoff, invalidation.
//! - [`handle`]: [`TokenHandle`], what requests hold, and [`TokenStatus`] for
//!   `/readyz` and `/metrics`.

pub mod backoff;
pub mod config;
pub mod fetch;
pub mod handle;
pub mod http;
pub mod lifetime;
mod owner;
pub mod response;

pub use config::TokenConfig;
pub use fetch::{Cause, FailureKind, Fetch, FetchError, Grant};
pub use handle::{FetchCounters, FetchResult, TokenHandle, TokenStatus};
pub use http::HttpFetcher;
pub use lifetime::ExpiresIn;
pub use owner::{TokenManager, TokenSetupError};
