//! Floating licenses and trials.
//!
//! A floating license limits how many machines run the app at once: [`checkout`] takes
//! a seat for this run (a short lease, signed as a verdict whose offline window never
//! outlives it unless the seat is borrowed), [`SeatKeeper`] renews it in the
//! background and says when it is lost, and [`checkin`] returns it at exit. A crashed
//! app's seat comes back by itself when its lease runs out.
//!
//! The renewal is checking out again, one request per renewal, at about a third of
//! the remaining lease with ±20% jitter: a fleet of apps started together (or waking
//! together from sleep) spreads its renewals instead of arriving as one storm, and a
//! renewal that fails is retried while the lease still holds. A renewal that finds the
//! seat gone (freed by an administrator, lapsed while the laptop slept, taken by
//! another machine) reports the loss on the watch channel and stops; a seat taken anew
//! by that renewal (the holder's `since` changed) is a loss too, and is returned.
//!
//! [`checkout`]: super::LicenseClient::checkout
//! [`checkin`]: super::LicenseClient::checkin

use std::time::Duration;

use license_shared::{AppInfo, TrialRequest, ValidateRequest, TRIAL_KEY};
use tokio::sync::watch;

use super::activation::{self, Options};
use super::{blocking, seats, LicenseClient};
use crate::decide::{classify_lease, from_answer, without_answer, Failure};
use crate::error::{Error, ErrorKind};
use crate::store::keystore::LicenseKeyText;
use crate::store::lease;
use crate::transport::Call;
use crate::verdict::{Code, Verdict};
use crate::verify::{fresh_nonce, verify_cached, verify_online};

/// The `license.id` a trial's verdict names: a trial is no customer's license.
const TRIAL_LICENSE_ID: &str = "trial";

/// How to check a floating seat out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkout<'a> {
    /// A name for this machine in the list of holders others see.
    pub machine_name: Option<&'a str>,
    /// Hold the seat this many days for offline use (a borrow), up to the license's
    /// own limit; `None` for a seat held while the app runs.
    pub borrow_days: Option<u32>,
}

/// This machine's floating seat, as the background renewal knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatState {
    /// Held; it lapses at `until` (unix seconds) unless renewed before.
    Held { until: i64 },
    /// Lost: freed, lapsed, or the license no longer licenses this machine. The code
    /// and message say why; the renewal has stopped.
    Lost { code: Code, message: String },
}

/// Keeps a floating seat while the app runs (see the module's doc). Dropping it stops
/// the renewal and, inside a Tokio runtime, returns the seat in the background (best
/// effort: at process exit the runtime may stop first, and the seat then lapses at the
/// end of its lease); [`SeatKeeper::checkin`] returns it and waits for the answer.
pub struct SeatKeeper {
    state: watch::Receiver<SeatState>,
    task: tokio::task::JoinHandle<()>,
    client: LicenseClient,
    returned: bool,
}

impl std::fmt::Debug for SeatKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeatKeeper")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl SeatKeeper {
    /// A receiver that sees every change of the seat's state; `changed().await` wakes
    /// when the seat is renewed or lost.
    pub fn watch(&self) -> watch::Receiver<SeatState> {
        self.state.clone()
    }

    /// The seat's state now.
    pub fn state(&self) -> SeatState {
        self.state.borrow().clone()
    }

    /// Stops the renewal without returning the seat: it lapses at the end of its lease
    /// (for a caller that returns it another way, or keeps it to the lease's end).
    pub fn stop(mut self) {
        self.task.abort();
        self.returned = true;
    }

    /// Stops the renewal and returns the seat (`DEACTIVATED` once it is free).
    pub async fn checkin(mut self) -> Result<Verdict, Error> {
        self.task.abort();
        self.returned = true;
        self.client.checkin().await
    }
}

impl Drop for SeatKeeper {
    fn drop(&mut self) {
        self.task.abort();
        if self.returned {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            runtime.spawn(async move {
                let _ = client.checkin().await;
            });
        }
    }
}

impl LicenseClient {
    /// Checks a seat of a floating license out for this run of the app
    /// (`POST /v1/license/checkout`): `VALID` with the seat (stored as the lease, and
    /// the key in the key store, as an activation does), `SEATS_IN_USE` with the
    /// machines holding the seats and since when (nothing stored), `NOT_FLOATING` for
    /// a license to activate instead. Checking out again renews the seat; a borrow is
    /// capped by the license. Keep the seat with [`keep_seat`](Self::keep_seat).
    pub async fn checkout(&self, key: &str, how: Checkout<'_>) -> Result<Verdict, Error> {
        let options = Options {
            machine_name: how.machine_name,
            checkout: true,
            borrow_days: how.borrow_days,
            ..Options::default()
        };
        activation::activate(&self.inner, key, options).await
    }

    /// Returns this machine's floating seat (`POST /v1/license/checkin`) and removes
    /// the lease; the key stays for the next checkout. A borrowed seat returned early
    /// counts against the license's budget of freed seats.
    pub async fn checkin(&self) -> Result<Verdict, Error> {
        seats::checkin(&self.inner).await
    }

    /// Renews the seat that `checked_out` (a licensed answer of
    /// [`checkout`](Self::checkout)) holds, in the background on the current Tokio
    /// runtime, until the seat is lost or the keeper is dropped or checked in.
    pub fn keep_seat(&self, checked_out: &Verdict) -> Result<SeatKeeper, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                "keep_seat renews the seat in the background: call it inside a Tokio runtime",
            )
        })?;
        let until = match (checked_out.licensed, checked_out.offline_until) {
            (true, Some(until)) => until,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "keep_seat needs a checkout that holds a seat; this one is {}",
                        checked_out.code
                    ),
                ))
            }
        };
        let (tx, rx) = watch::channel(SeatState::Held { until });
        let renewal = Renewal {
            client: self.clone(),
            since: holder_since(checked_out),
            until,
            state: tx,
        };
        Ok(SeatKeeper {
            state: rx,
            task: runtime.spawn(renewal.run()),
            client: self.clone(),
            returned: false,
        })
    }

    /// Starts this machine's trial of the app's product (`POST /v1/trial/start`), or
    /// finds the one it started before: a signed `TRIAL` (licensed until
    /// [`Verdict::expires_at`]), `TRIAL_EXPIRED` once it has ended (never a second
    /// one), or `NO_TRIAL`. The app's product is required (the builder's `product`).
    ///
    /// A verified `TRIAL` is saved in the data directory: when the license server
    /// cannot be reached, the saved trial answers within its signed offline window (and
    /// never past the trial's end), as a license's lease does.
    pub async fn start_trial(&self) -> Result<Verdict, Error> {
        let inner = &self.inner;
        let product = inner.app.product.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "a trial is per product: set the app's product (LICENSE_CHECK_PRODUCT, or product in the builder)",
            )
        })?;
        let fingerprint = inner.fingerprint.clone().map_err(Error::machine_id)?;
        let app = AppInfo {
            id: inner.app_id.clone(),
            version: inner.app_version.clone(),
        };
        let request = TrialRequest {
            product: product.clone(),
            nonce: fresh_nonce(),
            fingerprint: fingerprint.as_str().to_owned(),
            app: Some(app.clone()),
        };
        request.check().map_err(Error::invalid_argument)?;
        let transport = inner.transport.as_ref().ok_or_else(Error::no_broker_url)?;
        let received = match transport.post(Call::Trial, &request).await {
            Ok(received) => received,
            Err(e) => return self.saved_trial(&product, &fingerprint, e).await,
        };
        // The request as the verdict names it: a trial carries no license key.
        let sent = ValidateRequest {
            license_key: TRIAL_KEY.to_owned(),
            nonce: request.nonce,
            fingerprint: Some(request.fingerprint),
            app: Some(app),
            machine_name: None,
            machine_id: None,
            product: Some(product.clone()),
            borrow_days: None,
        };
        let payload = verify_online(
            &received.envelope,
            &inner.trusted_keys,
            Call::Trial,
            &sent,
            &fingerprint,
            TRIAL_LICENSE_ID,
            &inner.app,
        )
        .map_err(Error::untrusted_answer)?;
        let mut verdict = from_answer(
            &payload,
            inner.clock.now(),
            inner.skew_tolerance,
            &inner.app,
        );
        let path = inner.paths.trial_file(&product);
        let saved = blocking(move || match payload.result.code {
            license_shared::VerdictCode::Trial => {
                lease::save_file(&path, &received.raw, TRIAL_LICENSE_ID)
            }
            // An ended trial (or none) leaves nothing to use offline.
            _ => crate::store::fs::remove_if_present(&path),
        })
        .await?;
        if let Err(e) = saved {
            verdict.append_notes(&[format!(
                "The trial could not be saved for offline use: {e}."
            )]);
        }
        Ok(verdict)
    }

    /// The trial saved for `product`, when the license server could not be asked: its
    /// offline window as for a lease, or the transport's error without one.
    async fn saved_trial(
        &self,
        product: &str,
        fingerprint: &crate::fingerprint::Fingerprint,
        failure: crate::transport::TransportError,
    ) -> Result<Verdict, Error> {
        let path = self.inner.paths.trial_file(product);
        let read = blocking(move || lease::load_file(&path)).await?;
        let lease::CacheRead::Present(saved) = read else {
            return Err(Error::transport(failure, None));
        };
        let inner = &self.inner;
        let Ok(payload) = verify_cached(
            &saved.envelope,
            &inner.trusted_keys,
            fingerprint,
            TRIAL_LICENSE_ID,
            0,
            &inner.app,
        ) else {
            return Err(Error::transport(failure, None));
        };
        let now = inner.clock.now();
        // The saved trial was signed at `iat`: a clock before that has been turned back.
        let rolled_back =
            (now < payload.iat.saturating_sub(inner.rollback_tolerance)).then_some(payload.iat);
        let saved = classify_lease(payload, now, &inner.app);
        Ok(without_answer(
            &saved,
            &Failure::Transport(failure),
            rolled_back,
            now,
            &inner.app,
        ))
    }
}

/// Since when this machine holds the seat a verdict lists (the `current` holder).
fn holder_since(verdict: &Verdict) -> Option<i64> {
    verdict
        .machines
        .as_ref()?
        .list
        .iter()
        .find(|m| m.current)?
        .since
}

/// The background renewal of one seat.
struct Renewal {
    client: LicenseClient,
    /// Since when this machine holds the seat; a renewal answering another time took
    /// a new seat, so the first was lost.
    since: Option<i64>,
    /// When the seat lapses unless renewed.
    until: i64,
    state: watch::Sender<SeatState>,
}

impl Renewal {
    async fn run(mut self) {
        let key = match self.stored_key().await {
            Ok(key) => key,
            Err(message) => return self.lost(Code::NoLicense, message),
        };
        loop {
            let now = self.client.inner.clock.now();
            tokio::time::sleep(renewal_delay(self.until - now)).await;
            let options = Options {
                checkout: true,
                ..Options::default()
            };
            let renewed = activation::activate(&self.client.inner, key.expose(), options).await;
            match renewed {
                Ok(verdict) if verdict.licensed && holder_since(&verdict) == self.since => {
                    self.until = verdict.offline_until.unwrap_or(self.until);
                    self.state
                        .send_replace(SeatState::Held { until: self.until });
                }
                Ok(verdict) if verdict.licensed => {
                    let _ = self.client.checkin().await;
                    return self.lost(
                        Code::Deactivated,
                        "The floating seat was lost: it was freed or lapsed since the last renewal (the seat taken again meanwhile was returned). Check a seat out again to keep working.".into(),
                    );
                }
                Ok(verdict) => return self.lost(verdict.code, verdict.message),
                Err(error) if self.client.inner.clock.now() >= self.until => {
                    return self.lost(
                        Code::BrokerUnreachable,
                        format!("The floating seat's lease ran out while it could not be renewed: {error}"),
                    );
                }
                // Not renewed this time, but the lease still holds: try again sooner.
                Err(_) => {}
            }
        }
    }

    async fn stored_key(&self) -> Result<LicenseKeyText, String> {
        let inner = std::sync::Arc::clone(&self.client.inner);
        match blocking(move || inner.key_store.get_key()).await {
            Ok(Ok(Some(key))) => Ok(key),
            Ok(Ok(None)) => Err("no license key is stored to renew the seat with".into()),
            Ok(Err(e)) => Err(format!("the license key could not be read: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }

    fn lost(&self, code: Code, message: String) {
        self.state.send_replace(SeatState::Lost { code, message });
    }
}

/// About a third of what is left of the lease, with ±20% jitter, at least half a
/// second: three tries before it runs out, spread over a fleet.
fn renewal_delay(left_secs: i64) -> Duration {
    let third = Duration::from_secs_f64(left_secs.max(0) as f64 / 3.0);
    let jitter = 0.8 + 0.4 * rand::random::<f64>();
    third.mul_f64(jitter).max(Duration::from_millis(500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_come_at_about_a_third_of_the_lease_left_with_jitter() {
        for _ in 0..100 {
            let delay = renewal_delay(900).as_secs_f64();
            assert!((240.0..=360.0).contains(&delay), "{delay}");
        }
        assert_eq!(renewal_delay(0), Duration::from_millis(500));
        assert_eq!(renewal_delay(-5), Duration::from_millis(500));
    }
}
