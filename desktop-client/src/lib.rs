//! The start-up license check a desktop app embeds, and the `license-check` CLI.
//!
//! # Layout
//!
//! An app builds one [`LicenseClient`] with its pinned verdict-signing keys and calls
//! [`LicenseClient::check`] (or [`LicenseClient::check_blocking`]) at start-up. The
//! answer is a [`Verdict`]: licensed or not, a [`Code`], where it came from, the signed
//! times, and a message a person can act on. [`Verdict::outcome`] folds it into run /
//! do not run / undetermined (the CLI's exit codes 0 / 1 / 2). Activation has the same
//! two forms: [`LicenseClient::activate`] and [`LicenseClient::activate_blocking`].
//!
//! From the top down; a module imports only modules further down this list (the
//! `layers` test in `tests/it` holds the library to it):
//!
//! - `client`: check, activate, deactivate, machines (the public API); its
//!   submodules hold the builder (`builder`: the client takes its world as values —
//!   paths, key store, clock, fingerprint — so tests run the real logic against temp
//!   dirs and fake clocks), the local reads (`local`), the check's HTTP call and its
//!   verification (`online`), the writes (`persist`), activation (`activation`) and
//!   the seat calls (`seats`: deactivate, free another machine's seat, list them).
//! - `error`: the one [`Error`] of activation and the seat calls, with its [`ErrorKind`].
//! - `decide`: the decision rules as pure functions; the only place a verdict is made.
//! - `verify`: envelope verification, every check failing closed.
//! - `transport`: the HTTP calls (timeouts, system proxy, no redirects, body cap).
//! - `store`: what is kept on this machine: where (`paths`), the license key
//!   (`keystore`: the OS keyring, a 0600 file, or memory), the signed lease
//!   (`lease`, `license.json`) and the clock marks (`marks`, `state.json`), each
//!   written atomically (`fs`), and the one-time move out of the location every app
//!   once shared (`adopt`).
//! - `app`: this app (its product and build time) and whether a payload licenses it;
//!   `verdict`: the answer; `text`: broker-provided text cleaned of control and
//!   format characters before anyone shows it ([`clean_text`]); `clock`,
//!   `fingerprint`: inputs.
//!
//! The `license-check` binary (`src/bin/license-check`) reads its own environment
//! variables and configuration file and uses only this crate's public API.
//!
//! # Cargo features
//!
//! - `cli` (default): the `license-check` binary and its configuration (`clap`,
//!   `anyhow`, `toml`). An app depends on the library alone with
//!   `license-client = { version = "…", default-features = false }`; everything it
//!   needs to configure the client, including [`Keyset`] and its parser, is
//!   re-exported here, so it needs no other dependency of ours.
//!
//! # Embedding
//!
//! This runs as it stands (offline, nothing is stored yet, so the answer is
//! `NO_LICENSE`):
//!
//! ```
//! use std::sync::Arc;
//! use license_client::{Code, Fingerprint, Keyset, LicenseClient, ManualClock, MemoryKeyStore, Outcome, Paths};
//! # let pinned = Keyset::new().with_key(ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key()).to_text();
//! # let dir = tempfile::tempdir()?;
//!
//! // In a real app: `.pinned_keys(license_client::pinned_keys!("kid:base64url"))`
//! // instead, checked while the app compiles.
//! let keys = Keyset::parse(&pinned)?;
//! let client = LicenseClient::builder()
//!     .broker_url("https://license.example.com")
//!     .app_id("com.example.editor")
//!     .app_version("2.3.1")
//!     .trusted_keys(keys)
//!     // The defaults are the OS keyring, the platform directories, the system clock
//!     // and the machine id; a test replaces them all:
//!     .key_store(Box::new(MemoryKeyStore::new()))
//!     .paths(Paths::in_dir(dir.path()))
//!     .clock(Arc::new(ManualClock::new(1_767_261_600)))
//!     .fingerprint(Fingerprint::from_machine_id("a-machine-id", "com.example.editor"))
//!     .build()?;
//!
//! let verdict = client.check_offline();
//! match verdict.outcome() {
//!     Outcome::Licensed => { /* start normally */ }
//!     Outcome::NotLicensed => eprintln!("Not licensed: {}", verdict.message),
//!     Outcome::Undetermined => eprintln!("Could not check the license: {}", verdict.message),
//! }
//! assert_eq!(verdict.code, Code::NoLicense);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The online check, inside an async app (`no_run`: it needs a broker):
//!
//! ```no_run
//! # async fn app(client: license_client::LicenseClient) {
//! let verdict = client.check().await; // network: at most the total timeout (5 s by default)
//! if !verdict.licensed {
//!     eprintln!("{}", verdict.message);
//! }
//! # }
//! ```

mod app;
mod client;
mod clock;
mod decide;
mod error;
mod fingerprint;
mod pinned;
mod store;
mod text;
mod transport;
mod verdict;
mod verify;

pub use client::builder::{BuildError, LicenseClientBuilder};
pub use client::{remove_activation, Checkout, LicenseClient, SeatKeeper, SeatState};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorKind};
pub use fingerprint::{Fingerprint, FingerprintError};
pub use pinned::PinnedKeys;
pub use store::keystore::{
    FileKeyStore, KeyStore, KeyStoreError, KeyStorePolicy, LicenseKeyText, MemoryKeyStore,
    OsKeyring,
};
pub use store::marks::Marks;
pub use store::paths::{NoHomeDir, Paths};
pub use text::clean_text;
pub use transport::TransportError;
pub use verdict::{format_time, Code, Outcome, Source, Verdict};
pub use verify::{RequestPart, Untrusted};

/// The pinned verdict-signing keys ([`Keyset::parse`] reads `kid:base64url[,…]`), and
/// the errors that appear in this crate's own: re-exported so that an app needs no
/// direct dependency on `license-shared`.
pub use license_shared::{
    EnvelopeError, Keyset, KeysetError, LicenseKeyError, MachineEntry, Machines, RequestError,
};
