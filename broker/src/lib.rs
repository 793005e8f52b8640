//! The license broker: the only place that holds the ORDS OAuth client secret.
//!
//! # Layout
//!
//! One folder per concept; each owns its own settings and errors, and only what the
//! binary and the test suites need is re-exported below.
//!
//! - [`config`]: the table of every setting (name, default, doc), where values come
//!   from (TOML and the environment), and [`Config`], read once and failing fast with
//!   one line that names the variable.
//! - `http`: the router, the validate and health handlers, [`ApiError`], the request
//!   log, TLS, and [`serve`] with its drain on shutdown.
//! - `guard`: the client address and the rate limits, applied before any work.
//! - `verdict`: license keys, the lookup cache, the decision, the offline policy and
//!   the Ed25519 signature.
//! - `ords`: the one resource call, its outbound HTTP client, and reading ORDS answers.
//! - [`token`]: the token manager (owner task, single flight, refresh, backoff).
//! - `metrics`: the `/metrics` registry; [`telemetry`]: log set-up for the binary.
//! - `check`: `license-broker check`, the preflight that proves the ORDS route.

// Modules are private; what the binary and the test suites use is re-exported below,
// and an item marked `pub` that nothing outside the crate can reach is a warning.
#![warn(unreachable_pub)]

mod check;
pub mod config;
mod guard;
mod http;
mod metrics;
mod ords;
pub mod telemetry;
pub mod token;
mod verdict;

pub use check::check_route;
pub use config::{load_license_keys, vars, Config, ConfigError, Sources};
pub use http::{serve, ApiError, Broker, Signals};
pub use ords::OutboundLimits;
pub use verdict::{LicenseKeys, Signer};
