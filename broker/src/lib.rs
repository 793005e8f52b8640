//! The license broker: the only place that holds the ORDS OAuth client secret.
//!
//! # Layout
//!
//! One folder per concept, each owning its settings type (built from [`Sources`]) and
//! its errors; imports run one way, from `app` down to `config`, and only what the
//! binary and the test suites need is re-exported below.
//!
//! - `app`: the broker put together: [`Config`] (each domain's settings and the checks
//!   across them), the parts built from it, [`Broker`] and [`serve`]; the preflight
//!   ([`check_route`]), keygen and the binary's help texts.
//! - `http`: the router, the validate, offline-activation and health handlers, the
//!   `/offline` page, [`ApiError`], the request log, TLS, the accept loop with its
//!   drain on shutdown, and the edge settings.
//! - `verdict`: license keys, the lookup cache, the decision, the offline policy, the
//!   seats and the Ed25519 signature, with their settings.
//! - `ords`: everything said to ORDS: the resource and seat calls, the outbound HTTP
//!   client, reading ORDS answers, their settings, and [`token`], the token manager
//!   (owner task, single flight, refresh, backoff).
//! - `metrics`: the `/metrics` registry; [`telemetry`]: log set-up for the binary.
//! - `guard`: the client address and the rate limits, applied before any work.
//! - [`config`]: where settings come from and nothing else: the table of every
//!   setting, TOML and the environment, [`ConfigError`], private files. It imports no
//!   other module of the broker.

// Modules are private; what the binary and the test suites use is re-exported below,
// and an item marked `pub` that nothing outside the crate can reach is a warning.
#![warn(unreachable_pub)]

mod app;
pub mod config;
mod guard;
mod http;
mod metrics;
mod ords;
pub mod telemetry;
mod verdict;

pub use app::check::{check_route, summary as check_summary};
pub use app::keygen::{key_line, keygen, IssueKey, KeygenError};
pub use app::{cli_help, serve, serve_until_signalled, warn_about_unknown_variables};
pub use app::{Broker, Config, ServeError};
pub use config::{vars, ConfigError, Sources};
pub use http::{ApiError, Signals};
pub use ords::{token, OutboundLimits};
pub use verdict::{load_license_keys, LicenseKeys, Signer};
