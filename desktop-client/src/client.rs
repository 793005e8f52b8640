//! [`LicenseClient`]: the start-up check, activation and deactivation.
//!
//! A check is three steps. `prepare` reads local state (key store, marks, lease) on a
//! blocking thread, because the keyring blocks; it may already answer (offline check,
//! or a verified lease before its `recheck_after`). Otherwise `ask` makes the one HTTP
//! call, and `finish` verifies the answer, decides (see `decide`) and persists the new
//! lease and marks, again on a blocking thread.
//!
//! One concept per file: this one holds the public API; `local` the local reads and
//! the offline answer, `online` the round trip (send, verify, decide), `persist` the
//! writes, `activation` activation, `seats` deactivation and the machine list,
//! `offline` offline activation and deactivation (codes carried by hand).

mod activation;
pub(crate) mod builder;
mod floating;
mod local;
mod offline;
mod online;
mod persist;
mod seats;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use license_shared::Keyset;

use self::activation::Options;
use self::builder::LicenseClientBuilder;
use self::local::{Mode, Step};
use self::online::{high_water_after, newest_after_storing};
use crate::clock::Clock;
use crate::error::Error;
use crate::fingerprint::{Fingerprint, FingerprintError};
use crate::store::keystore::KeyStore;
use crate::store::lease;
use crate::store::paths::Paths;
use crate::text::end_sentence;
use crate::transport::Transport;
use crate::verdict::{Code, Verdict};

struct Inner {
    app_id: String,
    app_version: String,
    /// The app's product and build time.
    app: crate::app::ThisApp,
    trusted_keys: Keyset,
    transport: Option<Transport>,
    skew_tolerance: i64,
    rollback_tolerance: i64,
    key_store: Arc<dyn KeyStore>,
    paths: Paths,
    clock: Arc<dyn Clock>,
    fingerprint: Result<Fingerprint, FingerprintError>,
    use_fresh_lease: bool,
}

/// The license check an app runs at start-up. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct LicenseClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for LicenseClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LicenseClient")
            .field("app_id", &self.inner.app_id)
            .field("product", &self.inner.app.product)
            .field("build_time", &self.inner.app.build_time)
            .field("trusted_keys", &self.inner.trusted_keys)
            .field("key_store", &self.inner.key_store.describe())
            .field("paths", &self.inner.paths)
            .finish_non_exhaustive()
    }
}

impl LicenseClient {
    pub fn builder() -> LicenseClientBuilder {
        LicenseClientBuilder::default()
    }

    fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The start-up check. Answers from a verified lease until its signed
    /// `recheck_after` (unless disabled in the builder), otherwise asks the broker and
    /// falls back to the lease on any failure. The network part takes at most the total
    /// timeout; reading the OS keyring comes before it and is not bounded by it (a
    /// locked keyring may wait for the user to unlock it).
    pub async fn check(&self) -> Verdict {
        self.run(Mode::Auto).await
    }

    /// Like [`check`](Self::check) but always asks the broker first.
    pub async fn refresh(&self) -> Verdict {
        self.run(Mode::Online).await
    }

    /// [`refresh`](Self::refresh) for synchronous code, like
    /// [`check_blocking`](Self::check_blocking).
    pub fn refresh_blocking(&self) -> Verdict {
        on_own_runtime(|| self.refresh()).unwrap_or_else(blocking_verdict)
    }

    /// Decides from local state only; never touches the network. Blocking (the key
    /// store may be the OS keyring), so call it off an async executor's threads.
    pub fn check_offline(&self) -> Verdict {
        match self.inner.prepare(Mode::Offline) {
            Step::Done(verdict) => verdict,
            Step::Online(_) => Verdict::local(
                Code::NoLease,
                "internal error: offline check wanted the network",
            ),
        }
    }

    /// [`check`](Self::check) for synchronous code: runs it on a small runtime of its
    /// own. Called from inside a Tokio runtime it does not panic: it runs that runtime
    /// on a separate thread and blocks the caller until done, so from async code
    /// prefer `check().await`.
    pub fn check_blocking(&self) -> Verdict {
        on_own_runtime(|| self.check()).unwrap_or_else(blocking_verdict)
    }

    /// Activates the license on this machine: claims a seat online (for a license
    /// that does not limit machines, a plain validation). On a verified `VALID` it
    /// stores the key in the key store and the verdict as the lease. A verified
    /// `MACHINE_LIMIT` stores nothing and carries the machines holding the seats in
    /// [`Verdict::machines`]. Another verified deny stores nothing, except that a deny
    /// for the key already stored replaces its lease (a deny always beats an allow).
    ///
    /// Before claiming a seat it checks that the key store and the data directory can
    /// take the key and the lease ([`ErrorKind::KeyStoreUnavailable`] or
    /// [`ErrorKind::CacheUnavailable`] otherwise, with no seat claimed); when storing
    /// still fails after the seat was claimed, that seat is freed again (best effort,
    /// and the error's message says whether it was).
    ///
    /// [`ErrorKind::KeyStoreUnavailable`]: crate::ErrorKind::KeyStoreUnavailable
    /// [`ErrorKind::CacheUnavailable`]: crate::ErrorKind::CacheUnavailable
    pub async fn activate(&self, key: &str) -> Result<Verdict, Error> {
        activation::activate(&self.inner, key, Options::default()).await
    }

    /// [`activate`](Self::activate), giving this machine a name that machine lists
    /// show (at most 64 characters, no control characters).
    pub async fn activate_named(
        &self,
        key: &str,
        machine_name: Option<&str>,
    ) -> Result<Verdict, Error> {
        let options = Options {
            machine_name,
            ..Options::default()
        };
        activation::activate(&self.inner, key, options).await
    }

    /// The way out of `MACHINE_LIMIT` with only the license key in hand (this machine
    /// may hold no key yet): frees the seat of machine `machine_id` (the 12-digit id
    /// that [`Verdict::machines`] lists), counted against the license's budget of freed
    /// seats like [`deactivate_machine`](Self::deactivate_machine), then activates this
    /// machine as [`activate`](Self::activate) does. When the seat cannot be freed
    /// (an unknown id is [`ErrorKind::UnknownMachine`], a spent budget
    /// [`ErrorKind::RateLimited`]) nothing is activated; the key store and the data
    /// directory are checked before any seat is freed or claimed.
    ///
    /// [`ErrorKind::UnknownMachine`]: crate::ErrorKind::UnknownMachine
    /// [`ErrorKind::RateLimited`]: crate::ErrorKind::RateLimited
    pub async fn activate_replacing(&self, key: &str, machine_id: &str) -> Result<Verdict, Error> {
        self.activate_replacing_named(key, machine_id, None).await
    }

    /// [`activate_replacing`](Self::activate_replacing), naming this machine as
    /// [`activate_named`](Self::activate_named) does.
    pub async fn activate_replacing_named(
        &self,
        key: &str,
        machine_id: &str,
        machine_name: Option<&str>,
    ) -> Result<Verdict, Error> {
        let options = Options {
            machine_name,
            replace: Some(machine_id),
            ..Options::default()
        };
        activation::activate(&self.inner, key, options).await
    }

    /// [`activate_replacing_named`](Self::activate_replacing_named) for synchronous code.
    pub fn activate_replacing_blocking(
        &self,
        key: &str,
        machine_id: &str,
        machine_name: Option<&str>,
    ) -> Result<Verdict, Error> {
        on_own_runtime(|| self.activate_replacing_named(key, machine_id, machine_name))
            .unwrap_or_else(|failure| Err(Error::internal(blocking_failure("activation", failure))))
    }

    /// [`activate`](Self::activate) for synchronous code, on a runtime of its own like
    /// [`check_blocking`](Self::check_blocking) (and, like it, safe to call from inside
    /// a Tokio runtime, though async code should prefer `activate(key).await`).
    pub fn activate_blocking(&self, key: &str) -> Result<Verdict, Error> {
        self.activate_named_blocking(key, None)
    }

    /// [`activate_named`](Self::activate_named) for synchronous code.
    pub fn activate_named_blocking(
        &self,
        key: &str,
        machine_name: Option<&str>,
    ) -> Result<Verdict, Error> {
        on_own_runtime(|| self.activate_named(key, machine_name))
            .unwrap_or_else(|failure| Err(Error::internal(blocking_failure("activation", failure))))
    }

    /// Deactivates the license on this machine: frees its seat online first, and only
    /// after a verified `DEACTIVATED` removes the stored key and the lease (the marks
    /// stay: forgetting them would let deactivate, restore an old lease and roll back
    /// the clock undo their protection). When the server cannot be reached, or answers
    /// anything else, the key and the seat stay (an [`Error`] without a `DEACTIVATED`
    /// [`Error::verdict`], which only a failed local removal after a freed seat has); a
    /// verified
    /// deny of the license (such as `REVOKED`) still replaces the lease, as a check's
    /// would. To
    /// remove the license locally without the server (an uninstaller), use
    /// [`remove_activation`]; the seat then lapses by itself after its lease period.
    pub async fn deactivate(&self) -> Result<Verdict, Error> {
        seats::deactivate(&self.inner).await
    }

    /// [`deactivate`](Self::deactivate) for synchronous code.
    pub fn deactivate_blocking(&self) -> Result<Verdict, Error> {
        on_own_runtime(|| self.deactivate()).unwrap_or_else(|failure| {
            Err(Error::internal(blocking_failure("deactivation", failure)))
        })
    }

    /// Frees the seat of another machine (a dead or lost one) by its id from
    /// [`machines`](Self::machines), keeping this machine's seat, key and lease (a
    /// verified deny of the license replaces the lease, as a check's would).
    pub async fn deactivate_machine(&self, machine_id: &str) -> Result<Verdict, Error> {
        seats::deactivate_machine(&self.inner, machine_id).await
    }

    /// [`deactivate_machine`](Self::deactivate_machine) for synchronous code.
    pub fn deactivate_machine_blocking(&self, machine_id: &str) -> Result<Verdict, Error> {
        on_own_runtime(|| self.deactivate_machine(machine_id)).unwrap_or_else(|failure| {
            Err(Error::internal(blocking_failure("deactivation", failure)))
        })
    }

    /// Lists the machines holding the stored license's seats, online, in
    /// [`Verdict::machines`] (the one asking is marked `current`); `None` there for a
    /// license that does not limit machines. Stores nothing, except that a verified
    /// deny of the license (such as `REVOKED`) replaces the lease, as a check's would.
    pub async fn machines(&self) -> Result<Verdict, Error> {
        seats::machines(&self.inner, None).await
    }

    /// [`machines`](Self::machines) for the license `key` in hand instead of the stored
    /// one: this machine may hold no key (the list to choose from before
    /// [`activate_replacing`](Self::activate_replacing)). Stores nothing, except that a
    /// verified deny replaces the lease when `key` is the stored key.
    pub async fn machines_for_key(&self, key: &str) -> Result<Verdict, Error> {
        let parsed = license_shared::LicenseKey::parse(key).map_err(Error::invalid_key)?;
        let key = crate::store::keystore::LicenseKeyText::new(parsed.encode());
        seats::machines(&self.inner, Some(key)).await
    }

    /// [`machines_for_key`](Self::machines_for_key) for synchronous code.
    pub fn machines_for_key_blocking(&self, key: &str) -> Result<Verdict, Error> {
        on_own_runtime(|| self.machines_for_key(key)).unwrap_or_else(|failure| {
            Err(Error::internal(blocking_failure(
                "machine listing",
                failure,
            )))
        })
    }

    /// [`machines`](Self::machines) for synchronous code.
    pub fn machines_blocking(&self) -> Result<Verdict, Error> {
        on_own_runtime(|| self.machines()).unwrap_or_else(|failure| {
            Err(Error::internal(blocking_failure(
                "machine listing",
                failure,
            )))
        })
    }

    /// Names the key store, e.g. "OS keyring (Secret Service)".
    pub fn key_store_description(&self) -> String {
        self.inner.key_store.describe()
    }

    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// Offline activation, step 1, with no network: a request code for `key` (letters,
    /// digits and `-`, safe to type), to be carried to the license server (its
    /// `/offline` page or `POST /v1/license/offline/activate`). The pending request
    /// (its nonce and a device key made for it) is kept in the data directory: only
    /// this machine, with it, can install the answer. A new request replaces an
    /// earlier pending one. Reads and writes local files only (it blocks briefly).
    pub fn offline_request(&self, key: &str) -> Result<String, Error> {
        offline::request(&self.inner, key)
    }

    /// Offline activation, step 2: installs the response code through the same
    /// verifier as an online answer. `Ok` with a licensed verdict when it licenses this
    /// machine (for the offline term the license server signed), `Ok` with a verified
    /// deny otherwise (`MACHINE_LIMIT`: free a seat and submit the same request again).
    /// An error of kind [`ErrorKind::InvalidArgument`](crate::ErrorKind) when the code is
    /// not a response code or does not answer this machine's pending request.
    pub fn install_offline_response(&self, code: &str) -> Result<Verdict, Error> {
        offline::install(&self.inner, code)
    }

    /// Offline deactivation: removes the key and the lease and returns a deactivation
    /// code signed with the offline activation's device key; the license server frees
    /// this machine's seat on it, once. Only for a machine activated offline.
    pub fn deactivate_offline(&self) -> Result<String, Error> {
        offline::deactivate(&self.inner)
    }

    async fn run(&self, mode: Mode) -> Verdict {
        let inner = Arc::clone(&self.inner);
        let pending = match blocking(move || inner.prepare(mode)).await {
            Ok(Step::Done(verdict)) => return verdict,
            Ok(Step::Online(pending)) => pending,
            Err(e) => {
                return Verdict::local(Code::KeyStoreUnavailable, end_sentence(&e.to_string()))
            }
        };
        let answer = self.inner.ask(&pending.local.key).await;
        let inner = Arc::clone(&self.inner);
        match blocking(move || inner.finish(*pending, answer)).await {
            Ok(verdict) => verdict,
            Err(e) => Verdict::local(Code::KeyStoreUnavailable, end_sentence(&e.to_string())),
        }
    }
}

pub use self::floating::{Checkout, SeatKeeper, SeatState};

/// Removes the stored key and the lease on this machine only, without asking the
/// license server, and without a client: for uninstallers and tools that have no
/// trusted keys configured. The seat, if the license limits machines, stays held until
/// it lapses by itself; [`LicenseClient::deactivate`] frees it first.
pub fn remove_activation(store: &dyn KeyStore, paths: &Paths) -> Result<(), Error> {
    let key = store
        .delete_key()
        .map_err(|e| Error::key_store("removed from", e));
    let lease = lease::remove(paths).map_err(Error::cache);
    let offline = crate::store::offline::forget(paths).map_err(Error::cache);
    key.and(lease).and(offline)
}

/// Why a blocking twin did not run its async original to the end.
enum Blocking {
    /// The runtime could not be built.
    Start(std::io::Error),
    /// The thread it ran on (inside another runtime) panicked.
    Panicked,
}

/// Runs the future `start` makes to completion on a current-thread runtime of its own,
/// blocking the caller: the one way the `*_blocking` methods run their async originals.
/// Inside a Tokio runtime, where `block_on` would panic, it does so on a scoped thread.
fn on_own_runtime<F: Future>(start: impl FnOnce() -> F + Send) -> Result<F::Output, Blocking>
where
    F::Output: Send,
{
    let run = || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Blocking::Start)?;
        Ok(runtime.block_on(start()))
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    std::thread::scope(|scope| scope.spawn(run).join().unwrap_or(Err(Blocking::Panicked)))
}

/// A background task of [`blocking`] panicked or was cancelled.
#[derive(Debug)]
struct BackgroundFailed(String);

impl fmt::Display for BackgroundFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a background task failed: {}", self.0)
    }
}

impl From<BackgroundFailed> for Error {
    fn from(failed: BackgroundFailed) -> Self {
        Self::internal(failed)
    }
}

/// What a blocking check answers when its runtime did not run the check to the end.
fn blocking_verdict(failure: Blocking) -> Verdict {
    match failure {
        Blocking::Start(e) => Verdict::local(
            Code::BrokerUnreachable,
            format!("The check could not start: {e}."),
        ),
        Blocking::Panicked => Verdict::local(
            Code::BrokerUnreachable,
            "The check failed unexpectedly; try again.",
        ),
    }
}

/// What a `*_blocking` twin says when its runtime did not run the call to the end.
fn blocking_failure(what: &str, failure: Blocking) -> String {
    match failure {
        Blocking::Start(e) => format!("the {what} could not start: {e}"),
        Blocking::Panicked => format!("the {what} failed unexpectedly"),
    }
}

/// Runs blocking work (keyring, files) off the async executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BackgroundFailed> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BackgroundFailed(e.to_string()))
}
