//! The crate's integration tests, in one binary (one link, one process).
//!
//! - `cache_fuzz`: proptest edits of the cached lease and of a signed answer.
//! - `decisions`: the decision rules end to end against a broker stand-in.
//! - `cli` (feature `cli`): the real `license-check` binary; `cli_seats` its seat commands.
//! - `hardening`: regressions from an attack review (rollback marks, broker text,
//!   timeouts); `cli_apps` (feature `cli`): several apps on one machine; `cli_real`
//!   (feature `cli`): the binary against the real broker and emulator (replacing a
//!   machine, apps kept apart, JSON on every exit, `RATE_LIMITED`).
//! - `no_place`: no seat without a place to keep it (real broker and emulator).
//! - `offline`: offline activation through the library against the real broker.
//! - `seats`: machine seats (activate, deactivate, machines, custom machine ids).
//! - `products`: the app's product, entitlements and the perpetual fallback.
//! - `keyring`: the OS keyring for real (`LICENSE_CHECK_REQUIRE_OS_KEYRING=1` makes an
//!   unusable keyring a failure instead of a skip).
//! - `real_broker`: the client against the real broker and the ORDS emulator.
//! - `layers`: the shape of `src`, read from its text: no import cycle between the
//!   library's top-level modules, and no function over 120 lines.
//! - `support`: the broker stand-in and the fixture the others share.
//!
//! The tests share this process, so none of them changes process-wide state (the
//! environment, the working directory): each gives its settings to the client or to
//! the child process it runs, and every keyring entry has a name of its own.

mod bound_requests;
mod cache_fuzz;
#[cfg(feature = "cli")]
mod cli;
#[cfg(feature = "cli")]
mod cli_apps;
#[cfg(feature = "cli")]
mod cli_real;
#[cfg(feature = "cli")]
mod cli_seats;
mod decisions;
mod floating;
mod hardening;
mod keyring;
mod layers;
mod no_place;
mod offline;
mod products;
mod real_broker;
mod seats;
mod support;
