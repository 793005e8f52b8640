//! [`LicenseClient`]: the start-up check, activation and deactivation.
//!
//! A check is three steps. `prepare` reads local state (key store, marks, lease) on a
//! blocking thread, because the keyring blocks; it may already answer (offline check,
//! or a verified lease before its `recheck_after`). Otherwise `ask` makes the one HTTP
//! call, and `finish` verifies the answer, decides (see `decide`) and persists the new
//! lease and marks, again on a blocking thread.

use std::fmt;
use std::sync::Arc;

use license_shared::{AppInfo, Keyset, LicenseKey, ValidateRequest, VerdictPayload};

use crate::builder::LicenseClientBuilder;
use crate::cache::{self, CacheRead};
use crate::clock::Clock;
use crate::decide::{
    classify_lease, from_answer, from_fresh_lease, recheck_after, without_answer, Failure, Lease,
};
use crate::fingerprint::{Fingerprint, FingerprintError};
use crate::keystore::{KeyStore, LicenseKeyText};
use crate::paths::Paths;
use crate::state::{self, Marks};
use crate::transport::{Received, Transport, TransportError};
use crate::verdict::{Code, Verdict};
use crate::verify::{fresh_nonce, verify_cached, verify_online};

pub(crate) struct Inner {
    pub app_id: String,
    pub app_version: String,
    pub trusted_keys: Keyset,
    pub transport: Option<Transport>,
    pub skew_tolerance: i64,
    pub rollback_tolerance: i64,
    pub key_store: Arc<dyn KeyStore>,
    pub paths: Paths,
    pub clock: Arc<dyn Clock>,
    pub fingerprint: Result<Fingerprint, FingerprintError>,
    pub use_fresh_lease: bool,
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
            .field("trusted_keys", &self.inner.trusted_keys)
            .field("key_store", &self.inner.key_store.describe())
            .field("paths", &self.inner.paths)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A fresh lease answers; otherwise online, falling back to the lease.
    Auto,
    /// Always online, falling back to the lease.
    Online,
    /// Never the network.
    Offline,
}

/// Local state for one check.
struct Local {
    key: LicenseKeyText,
    key_hash: String,
    /// The customer id the stored key carries: the `license.id` every verdict must name.
    license_id: String,
    file_marks: Marks,
    store_marks: Marks,
    cache: CacheRead,
    notes: Vec<String>,
}

impl Local {
    fn marks(&self) -> Marks {
        self.file_marks.merge(self.store_marks)
    }
}

enum Step {
    Done(Verdict),
    Online(Box<Pending>),
}

struct Pending {
    local: Local,
    lease: Lease,
    rolled_back: Option<i64>,
}

/// Why activation did not reach a verified answer. Never contains the key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ActivateError {
    #[error("{0}")]
    InvalidKey(license_shared::LicenseKeyError),
    #[error(transparent)]
    MachineId(FingerprintError),
    #[error("no license server URL is configured")]
    NoBrokerUrl,
    #[error(
        "{0}; check the network connection and the proxy settings (HTTPS_PROXY), then try again"
    )]
    Unreachable(TransportError),
    #[error("the license server's answer could not be verified: {0}; check the proxy settings and the license server URL")]
    Untrusted(crate::verify::Untrusted),
    #[error("the license key could not be stored in the {0}")]
    KeyStore(crate::keystore::KeyStoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why deactivation did not remove everything.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeactivateError {
    #[error("the license key could not be removed from the {0}")]
    KeyStore(crate::keystore::KeyStoreError),
    #[error("the saved license could not be removed: {0}")]
    Cache(String),
}

impl LicenseClient {
    pub fn builder() -> LicenseClientBuilder {
        LicenseClientBuilder::default()
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The start-up check. Answers from a verified lease until its signed
    /// `recheck_after` (unless disabled in the builder), otherwise asks the broker and
    /// falls back to the lease on any failure. Takes at most the total timeout.
    pub async fn check(&self) -> Verdict {
        self.run(Mode::Auto).await
    }

    /// Like [`check`](Self::check) but always asks the broker first.
    pub async fn refresh(&self) -> Verdict {
        self.run(Mode::Online).await
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
        let run = || match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(self.check()),
            Err(e) => Verdict::local(
                Code::BrokerUnreachable,
                format!("The check could not start: {e}."),
            ),
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return run();
        }
        std::thread::scope(|scope| match scope.spawn(run).join() {
            Ok(verdict) => verdict,
            Err(_) => Verdict::local(
                Code::BrokerUnreachable,
                "The check failed unexpectedly; try again.",
            ),
        })
    }

    /// Validates `key` online. On a verified `VALID` it stores the key in the key store
    /// and the verdict as the lease. A verified deny stores nothing, except that a deny
    /// for the key already stored replaces its lease (a deny always beats an allow).
    pub async fn activate(&self, key: &str) -> Result<Verdict, ActivateError> {
        let parsed = LicenseKey::parse(key).map_err(ActivateError::InvalidKey)?;
        let key = LicenseKeyText::new(parsed.encode());
        let license_id = parsed.customer_id().as_str().to_owned();
        let fingerprint = self
            .inner
            .fingerprint
            .clone()
            .map_err(ActivateError::MachineId)?;
        let transport = self
            .inner
            .transport
            .as_ref()
            .ok_or(ActivateError::NoBrokerUrl)?;
        let inner = Arc::clone(&self.inner);
        let (file_marks, store_marks, stored_hash) = blocking(move || inner.load_marks()).await?;
        let nonce = fresh_nonce();
        let request = self.inner.request(&key, &nonce, &fingerprint);
        let received = transport
            .validate(&request)
            .await
            .map_err(ActivateError::Unreachable)?;
        let marks = file_marks.merge(store_marks);
        let payload = verify_online(
            &received.envelope,
            &self.inner.trusted_keys,
            &nonce,
            &fingerprint,
            &license_id,
        )
        .map_err(ActivateError::Untrusted)?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let now = inner.clock.now();
            let offset = now.saturating_sub(payload.iat);
            let key_hash = cache::key_hash(&key);
            let mut after = marks;
            if payload.result.valid && offset.saturating_abs() > inner.skew_tolerance {
                let message = format!(
                    "{}. The license is valid, but it was not activated because its offline limits would be wrong. Fix the system clock (turn on automatic time), then activate again.",
                    crate::decide::skew_sentence(offset)
                );
                return Ok(Verdict::local(Code::ClockSkew, message).with_source(crate::Source::Online));
            }
            after.high_water = payload.iat.max(now);
            after.newest_iat = newest_after_storing(after.newest_iat, &payload);
            let mut verdict = from_answer(&payload, now, inner.skew_tolerance);
            let store = if payload.result.valid {
                inner.key_store.set_key(&key).map_err(ActivateError::KeyStore)?;
                true
            } else {
                stored_hash.as_deref() == Some(key_hash.as_str())
            };
            if store {
                let notes = inner.persist(Some(&received), &key_hash, (file_marks, store_marks), after);
                append_notes(&mut verdict, &notes);
            } else {
                verdict.message.push_str(" Nothing was stored.");
            }
            Ok(verdict)
        })
        .await?
    }

    /// Removes the stored key and the lease. The marks stay: forgetting them would let
    /// deactivate, restore an old lease and roll back the clock undo their protection.
    pub fn deactivate(&self) -> Result<(), DeactivateError> {
        remove_activation(&*self.inner.key_store, &self.inner.paths)
    }

    /// Names the key store, e.g. "OS keyring (Secret Service)".
    pub fn key_store_description(&self) -> String {
        self.inner.key_store.describe()
    }

    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    async fn run(&self, mode: Mode) -> Verdict {
        let inner = Arc::clone(&self.inner);
        let pending = match blocking(move || inner.prepare(mode)).await {
            Ok(Step::Done(verdict)) => return verdict,
            Ok(Step::Online(pending)) => pending,
            Err(e) => return Verdict::local(Code::KeyStoreUnavailable, e.to_string()),
        };
        let answer = self.inner.ask(&pending.local.key).await;
        let inner = Arc::clone(&self.inner);
        match blocking(move || inner.finish(*pending, answer)).await {
            Ok(verdict) => verdict,
            Err(e) => Verdict::local(Code::KeyStoreUnavailable, e.to_string()),
        }
    }
}

/// [`LicenseClient::deactivate`] without a client, for tools that have no trusted keys
/// configured (removing a license needs none).
pub fn remove_activation(store: &dyn KeyStore, paths: &Paths) -> Result<(), DeactivateError> {
    let key = store.delete_key().map_err(DeactivateError::KeyStore);
    let lease = cache::remove(paths).map_err(|e| DeactivateError::Cache(e.to_string()));
    key.and(lease)
}

/// Runs blocking work (keyring, files) off the async executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ActivateError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ActivateError::Internal(format!("a background task failed: {e}")))
}

fn append_notes(verdict: &mut Verdict, notes: &[String]) {
    for note in notes {
        verdict.message.push_str(&format!(" Note: {note}."));
    }
}

/// `newest_iat` once the verified online answer `payload` is stored as the lease; it
/// never goes down. A deny also moves it past every allow accepted so far: a replica
/// whose clock is behind may sign a deny seconds "before" the allow it replaces, and
/// that allow must never be accepted from a file again.
fn newest_after_storing(newest_iat: i64, payload: &VerdictPayload) -> i64 {
    if !payload.result.valid && payload.iat <= newest_iat {
        newest_iat.saturating_add(1)
    } else {
        newest_iat.max(payload.iat)
    }
}

/// Persist a copy of the marks only when it moved: the newest `iat` changed, or the
/// high-water mark by a minute or more. Keeps a start-up from writing the keyring.
fn moved(old: Marks, new: Marks) -> bool {
    old.newest_iat != new.newest_iat || new.high_water.abs_diff(old.high_water) >= 60
}

impl Inner {
    fn request(
        &self,
        key: &LicenseKeyText,
        nonce: &str,
        fingerprint: &Fingerprint,
    ) -> ValidateRequest {
        ValidateRequest {
            license_key: key.expose().to_owned(),
            nonce: nonce.to_owned(),
            fingerprint: Some(fingerprint.as_str().to_owned()),
            app: Some(AppInfo {
                id: self.app_id.clone(),
                version: self.app_version.clone(),
            }),
        }
    }

    fn load_marks(&self) -> (Marks, Marks, Option<String>) {
        let (file_marks, _) = state::load(&self.paths);
        let store_marks = self
            .key_store
            .get_marks()
            .ok()
            .flatten()
            .unwrap_or_default();
        let stored_hash = self
            .key_store
            .get_key()
            .ok()
            .flatten()
            .map(|key| cache::key_hash(&key));
        (file_marks, store_marks, stored_hash)
    }

    fn load_local(&self) -> Result<Local, Verdict> {
        let key = match self.key_store.get_key() {
            Ok(Some(key)) => key,
            Ok(None) => return Err(Verdict::local(
                Code::NoLicense,
                "No license key is stored on this machine. Activate the app with your license key.",
            )),
            Err(e) => {
                return Err(Verdict::local(
                    Code::KeyStoreUnavailable,
                    format!("The license key could not be read from the {e}."),
                ))
            }
        };
        let Ok(parsed) = LicenseKey::parse(key.expose()) else {
            return Err(Verdict::local(
                Code::NoLicense,
                "The stored license key is damaged. Activate the app again with your license key.",
            ));
        };
        let mut notes = Vec::new();
        let (file_marks, note) = state::load(&self.paths);
        notes.extend(note);
        let store_marks = match self.key_store.get_marks() {
            Ok(marks) => marks.unwrap_or_default(),
            Err(e) => {
                notes.push(format!("the clock marks could not be read from the {e}"));
                Marks::default()
            }
        };
        Ok(Local {
            key_hash: cache::key_hash(&key),
            license_id: parsed.customer_id().as_str().to_owned(),
            key,
            file_marks,
            store_marks,
            cache: cache::load(&self.paths),
            notes,
        })
    }

    fn lease(&self, local: &Local, fingerprint: &Fingerprint, now: i64) -> Lease {
        match &local.cache {
            CacheRead::Missing => Lease::None(None),
            CacheRead::Corrupt(why) => Lease::None(Some(why.clone())),
            CacheRead::Present(lease) if lease.key_hash != local.key_hash => {
                Lease::None(Some("it belongs to a different license key".into()))
            }
            CacheRead::Present(lease) => {
                match verify_cached(
                    &lease.envelope,
                    &self.trusted_keys,
                    fingerprint,
                    &local.license_id,
                    local.marks().newest_iat,
                ) {
                    Ok(payload) => classify_lease(payload, now),
                    Err(untrusted) => Lease::None(Some(untrusted.to_string())),
                }
            }
        }
    }

    fn prepare(&self, mode: Mode) -> Step {
        let fingerprint = match &self.fingerprint {
            Ok(fp) => fp,
            Err(e) => {
                return Step::Done(Verdict::local(
                    Code::MachineIdUnavailable,
                    format!("{}.", capitalized(&e.to_string())),
                ))
            }
        };
        let local = match self.load_local() {
            Ok(local) => local,
            Err(verdict) => return Step::Done(verdict),
        };
        let now = self.clock.now();
        let high_water = local.marks().high_water;
        let rolled_back =
            (now < high_water.saturating_sub(self.rollback_tolerance)).then_some(high_water);
        let lease = self.lease(&local, fingerprint, now);
        let fresh = match &lease {
            Lease::Usable(payload) => rolled_back.is_none() && now < recheck_after(payload),
            _ => false,
        };
        let verdict = match (&lease, mode) {
            (_, Mode::Offline) => without_answer(&lease, &Failure::Offline, rolled_back, now),
            (Lease::Usable(payload), Mode::Auto) if fresh && self.use_fresh_lease => {
                from_fresh_lease(payload, now)
            }
            _ => {
                return Step::Online(Box::new(Pending {
                    local,
                    lease,
                    rolled_back,
                }))
            }
        };
        Step::Done(self.conclude(
            verdict,
            &local,
            None,
            local.marks().merge(Marks {
                high_water: now,
                newest_iat: 0,
            }),
        ))
    }

    async fn ask(&self, key: &LicenseKeyText) -> Result<(Received, String), TransportError> {
        let (Some(transport), Ok(fingerprint)) = (&self.transport, &self.fingerprint) else {
            return Err(TransportError::NoBrokerUrl);
        };
        let nonce = fresh_nonce();
        let received = transport
            .validate(&self.request(key, &nonce, fingerprint))
            .await?;
        Ok((received, nonce))
    }

    fn finish(
        &self,
        pending: Pending,
        answer: Result<(Received, String), TransportError>,
    ) -> Verdict {
        let Pending {
            local,
            lease,
            rolled_back,
        } = pending;
        let now = self.clock.now();
        let mut marks = local.marks();
        let (received, nonce) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let verdict = without_answer(&lease, &Failure::Transport(e), rolled_back, now);
                return self.conclude(
                    verdict,
                    &local,
                    None,
                    marks.merge(Marks {
                        high_water: now,
                        newest_iat: 0,
                    }),
                );
            }
        };
        let fingerprint = match &self.fingerprint {
            Ok(fp) => fp,
            Err(e) => return Verdict::local(Code::MachineIdUnavailable, e.to_string()),
        };
        let payload = match verify_online(
            &received.envelope,
            &self.trusted_keys,
            &nonce,
            fingerprint,
            &local.license_id,
        ) {
            Ok(payload) => payload,
            Err(untrusted) => {
                let verdict =
                    without_answer(&lease, &Failure::Untrusted(untrusted), rolled_back, now);
                return self.conclude(
                    verdict,
                    &local,
                    None,
                    marks.merge(Marks {
                        high_water: now,
                        newest_iat: 0,
                    }),
                );
            }
        };
        let offset = now.saturating_sub(payload.iat);
        let skewed = offset.saturating_abs() > self.skew_tolerance;
        if payload.result.valid && skewed {
            // Verified but our clock is wrong: keep the signed time, not our own. The
            // envelope is not stored, so `newest_iat` stays at the stored lease's `iat`:
            // raising it would make the next start refuse that lease as older.
            marks.high_water = marks.high_water.max(payload.iat);
            let verdict = without_answer(&lease, &Failure::Skew { offset }, rolled_back, now);
            return self.conclude(verdict, &local, None, marks);
        }
        marks.high_water = if skewed {
            marks.high_water.max(payload.iat)
        } else {
            // A fresh answer within the skew tolerance proves the clock right now, so
            // it re-anchors the mark (healing one pushed up by a clock that ran fast).
            payload.iat.max(now)
        };
        // The nonce proves the answer fresh even when its `iat` is a little before
        // `newest_iat` (replicas' clocks differ). A deny always replaces the lease; an
        // allow older than the lease answers this check but keeps the newer lease,
        // which the next start would otherwise refuse as older.
        let store = !payload.result.valid || payload.iat >= marks.newest_iat;
        if store {
            marks.newest_iat = newest_after_storing(marks.newest_iat, &payload);
        }
        let verdict = from_answer(&payload, now, self.skew_tolerance);
        self.conclude(verdict, &local, store.then_some(&received), marks)
    }

    /// Saves what changed and adds any notes to the message.
    fn conclude(
        &self,
        mut verdict: Verdict,
        local: &Local,
        lease: Option<&Received>,
        marks: Marks,
    ) -> Verdict {
        let mut notes = local.notes.clone();
        notes.extend(self.persist(
            lease,
            &local.key_hash,
            (local.file_marks, local.store_marks),
            marks,
        ));
        append_notes(&mut verdict, &notes);
        verdict
    }

    fn persist(
        &self,
        lease: Option<&Received>,
        key_hash: &str,
        (file_marks, store_marks): (Marks, Marks),
        marks: Marks,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(received) = lease {
            if let Err(e) = cache::save(&self.paths, &received.raw, key_hash) {
                notes.push(format!(
                    "the verdict could not be saved for offline use ({e})"
                ));
            }
        }
        if moved(file_marks, marks) {
            if let Err(e) = state::save(&self.paths, marks) {
                notes.push(format!(
                    "{} could not be written ({e})",
                    self.paths.state_file().display()
                ));
            }
        }
        if moved(store_marks, marks) {
            if let Err(e) = self.key_store.set_marks(marks) {
                notes.push(format!("the clock marks could not be saved in the {e}"));
            }
        }
        notes
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
