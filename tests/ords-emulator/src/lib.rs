//! A stand-in for Oracle REST Data Services (ORDS), faithful on the wire to what public
//! evidence shows: the OAuth2 client-credentials token endpoint, privilege-protected
//! handlers with ORDS's 401s, Collection Query and Collection Query Item shapes, ORDS's
//! problem JSON (and HTML) errors, plus fault injection and counters for tests.
//! `README.md` lists each behaviour with the public source that shows it (or marks it
//! a guess) and the test that pins it.
//!
//! # Layout
//!
//! * [`seed`] describes the ORDS objects (the TOML seed, `seeds/article.toml` by
//!   default; `validate` checks it, naming the bad field) and [`options`] the switches for questions public sources leave open.
//! * [`model`] compiles the seed into schemas, modules, templates and privileges,
//!   matched with [`route`]; [`state`] holds what changes: clients, tokens, rows.
//! * [`ords`] takes every request under the context root, counts it ([`stats`]),
//!   applies [`faults`] (a gateway's HTML page, `Retry-After` and chunked answers
//!   come from [`gateway`]), then hands it to [`token`] or [`resource`]; [`shapes`]
//!   renders handler bodies from [`license`] rows; errors come from [`problem`] in the
//!   format [`negotiate`] picks.
//! * [`seats`] serves the machine-seat handlers (the `license_seats` package of
//!   `deploy/ords/seats.sql`), with one async row lock per license.
//! * [`admin`] is the `/__emulator/` test surface; [`server`] is the accept loop that
//!   can drop a connection on purpose; [`emulator`] ties it together and [`spawn`]
//!   starts one on a loopback port for tests.

mod admin;
pub mod clock;
mod emulator;
pub mod faults;
mod gateway;
mod ids;
pub mod license;
mod model;
mod negotiate;
mod number;
pub mod options;
mod ords;
mod problem;
mod resource;
mod route;
pub mod seats;
pub mod seed;
mod server;
mod shapes;
mod state;
pub mod stats;
mod timespec;
mod token;
mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

pub use clock::{Clock, ManualClock, SystemClock};
pub use emulator::{ClientInfo, Emulator};
pub use faults::Faults;
pub use license::{
    Column, License, ENTITLEMENTS_PATTERN, EXPIRY_STRATEGIES, KEY_SERIAL_LIMIT, LICENSE_MODELS,
    LICENSE_STATUSES, MAX_DAYS, MAX_MACHINES_LIMIT,
};
pub use options::{
    EcidStyle, EmulatorOptions, PrivilegeWithoutRoles, ResponseFormat, TokenErrorStyle,
};
pub use problem::{INVALID_TOKEN, NOT_MAPPED};
pub use seats::{Outcome, Procedure, Seat};
pub use seed::{ProductSeed, Seed, SeedError, SourceType};
pub use stats::{EndpointStats, Stats};
pub use timespec::TimeSpec;

/// The default client's name in [`Seed::article_default`].
pub const ARTICLE_CLIENT: &str = "license_backend_client";

/// An emulator serving on a loopback port; shuts down when dropped.
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// The first schema's root: `http://127.0.0.1:PORT/ords/page`.
    pub schema_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The emulator itself, to steer it from the test.
    pub emulator: Emulator,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// The token endpoint of the first schema.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.schema_url)
    }

    /// `schema_url` joined with `path` (`customers/validation/1`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.schema_url, path.trim_start_matches('/'))
    }

    /// Stops serving and waits until the listener is closed.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl std::ops::Deref for RunningEmulator {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        &self.emulator
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts an emulator on `127.0.0.1:0` for a test; it is serving when this returns.
///
/// # Panics
/// When the seed or options are invalid, or no loopback port can be bound.
pub async fn spawn(seed: Seed, options: EmulatorOptions, clock: Arc<dyn Clock>) -> RunningEmulator {
    let emulator = Emulator::new(seed, options, clock);
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("ords-emulator: cannot bind 127.0.0.1:0: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("ords-emulator: no local address: {e}"),
    };
    let base_url = format!("http://{addr}");
    let alias = emulator
        .inner
        .schemas
        .first()
        .map(|s| s.alias.clone())
        .unwrap_or_default();
    let schema_url = format!("{base_url}{}/{alias}", emulator.options().context_root);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(emulator.clone().serve(listener, async move {
        let _ = rx.await;
    }));
    RunningEmulator {
        base_url,
        schema_url,
        addr,
        emulator,
        shutdown: Some(tx),
        task: Some(task),
    }
}
