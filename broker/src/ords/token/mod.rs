//! The token manager: one owner task per broker that obtains ORDS access tokens with
//! the client-credentials grant, caches them and refreshes them, so that no request
//! ever owns (or can cancel) a token fetch.
//!
//! The rest of the broker sees it only through [`TokenSource`],
//! implemented by [`TokenHandle`].
//!
//! # Layout
//!
//! - [`source`]: [`TokenSource`], the seam the ORDS call uses, and [`BearerToken`].
//! - [`secret`]: where the client secret comes from (file or environment).
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

mod backoff;
mod config;
mod fetch;
mod handle;
mod http;
mod lifetime;
mod owner;
mod response;
mod secret;
mod source;

pub(crate) use config::secret_source;
pub use config::TokenConfig;
pub use fetch::{Cause, FailureKind, Fetch, FetchError, Grant};
pub use handle::{FetchCounters, FetchResult, TokenHandle, TokenStatus};
pub use http::HttpFetcher;
pub use lifetime::ExpiresIn;
pub use owner::{TokenManager, TokenSetupError};
pub use secret::{SecretError, SecretSource};
pub use source::{BearerToken, TokenError, TokenFuture, TokenSource};
