//! The license broker: the only place that holds the ORDS OAuth client secret.
//!
//! # Layout
//!
//! - [`config`] (with [`config_sources`], [`config_edge`] and the [`env_vars`]
//!   catalogue): settings from TOML and the environment, read once, failing fast with
//!   the variable's name.
//! - [`license_keys`]: minting license keys and checking their MAC in constant time.
//! - [`ords`]: the one resource call (URL template, 401 replay, reading both ORDS shapes)
//!   and its [`ords::UpstreamError`].
//! - [`verdict_cache`]: per-license lookups with single flight; [`verdicts`]: the
//!   decision, the offline policy and signing; [`signer`]: the Ed25519 key and its kid.
//! - [`api`]: the HTTP surface, `app(state)` and `serve(listener, state, shutdown)`.
//! - [`run`]: config → token manager → state → server, what `main` and tests start;
//!   [`telemetry`]: log set-up for the binary.
//! - [`outbound`]: the HTTP client for ORDS (no redirects, timeouts, capped bodies).
//! - [`secret`]: where the client secret comes from (file or environment).
//! - [`token_source`]: the seam between the ORDS call and the token manager.
//! - [`token`]: the token manager (owner task, single flight, refresh, backoff).
//! - [`edge`]: the public edge: rate limits, client address, metrics, shutdown, TLS, request logs.
pub mod api;
pub mod config;
pub mod config_edge;
pub mod config_sources;
pub mod edge;
pub mod env_vars;
pub mod license_keys;
pub mod ords;
pub mod outbound;
pub mod run;
pub mod secret;
pub mod signer;
pub mod telemetry;
pub mod token;
pub mod token_source;
pub mod verdict_cache;
pub mod verdicts;
