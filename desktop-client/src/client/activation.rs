//! Activation: claim a seat for this machine online (`POST /v1/license/activate`; for
//! a license that does not limit machines it is a plain validation), and on a verified
//! `VALID` store the key and the lease. A refused seat (`MACHINE_LIMIT`) stores nothing.
//!
//! No seat without a place to keep it: the key store and the data directory are
//! checked before the seat is claimed, and when the key or the lease still cannot be
//! stored afterwards, the seat just claimed is freed again (best effort; the error
//! says which happened). Otherwise the seat would stay held, by a machine that cannot
//! use it, until it lapses.

use std::sync::Arc;

use license_shared::{LicenseKey, VerdictCode, VerdictPayload};

use super::{blocking, high_water_after, newest_after_storing, seats, Inner};
use crate::decide::from_answer;
use crate::error::Error;
use crate::store::fs::probe_writable;
use crate::store::keystore::LicenseKeyText;
use crate::store::lease;
use crate::store::marks::Marks;
use crate::transport::{Call, Received};
use crate::verdict::{Code, Source, Verdict};
use crate::verify::{fresh_nonce, verify_online};

/// What [`activate`] does besides claiming this machine's seat.
#[derive(Default, Clone, Copy)]
pub(super) struct Options<'a> {
    /// A name for this machine in machine lists.
    pub(super) machine_name: Option<&'a str>,
    /// Free this machine's seat first (the key in hand is enough).
    pub(super) replace: Option<&'a str>,
    /// A floating license's checkout (`POST /v1/license/checkout`) instead of an
    /// activation: the same claim, for a seat held while the app runs.
    pub(super) checkout: bool,
    /// Checkout only: hold the seat this many days for offline use.
    pub(super) borrow_days: Option<u32>,
}

impl Options<'_> {
    fn call(&self) -> Call {
        if self.checkout {
            Call::Checkout
        } else {
            Call::Activate
        }
    }
}

/// What was on this machine before the activation: the two copies of the marks and
/// the hash of the stored key.
pub(super) struct Before {
    file_marks: Marks,
    store_marks: Marks,
    stored_hash: Option<String>,
}

/// What became of a verified answer on this machine.
pub(super) struct Kept {
    /// The verdict, or why the key or the lease could not be kept.
    pub(super) outcome: Result<Verdict, Error>,
    /// Whether the seat the answer gave this machine, one it did not hold before,
    /// is not used (not kept, or not trusted to start with) and so is freed again.
    free_seat: bool,
    /// This machine's seat, when it is not freed.
    seat: Seat,
}

/// See [`LicenseClient::activate`](super::LicenseClient::activate) and
/// [`LicenseClient::activate_replacing`](super::LicenseClient::activate_replacing).
pub(super) async fn activate(
    inner: &Arc<Inner>,
    key: &str,
    options: Options<'_>,
) -> Result<Verdict, Error> {
    let parsed = LicenseKey::parse(key).map_err(Error::invalid_key)?;
    let key = LicenseKeyText::new(parsed.encode());
    let license_id = parsed.customer_id().as_str().to_owned();
    let fingerprint = inner.fingerprint.clone().map_err(Error::machine_id)?;
    let nonce = fresh_nonce();
    let mut request = inner.request(&key, &nonce, &fingerprint);
    request.machine_name = options.machine_name.map(str::to_owned);
    request.machine_id = options.replace.map(str::to_owned);
    request.borrow_days = options.borrow_days;
    request.check().map_err(Error::invalid_argument)?;
    request.machine_id = None;
    let transport = inner.transport.as_ref().ok_or_else(Error::no_broker_url)?;
    let reader = Arc::clone(inner);
    let before = blocking(move || reader.ready_to_store()).await??;
    if let Some(machine_id) = options.replace {
        seats::free_for_key(inner, machine_id, &key)
            .await
            .map_err(|e| e.prefixed(&format!("the seat of machine {machine_id} was not freed, and this machine was not activated")))?;
    }
    let received = transport
        .post(options.call(), &request)
        .await
        .map_err(|e| Error::transport(e, None))?;
    let payload = verify_online(
        &received.envelope,
        &inner.trusted_keys,
        options.call(),
        &request,
        &fingerprint,
        &license_id,
        &inner.app,
    )
    .map_err(Error::untrusted_answer)?;
    let keeper = Arc::clone(inner);
    let stored_key = key.clone();
    let kept = blocking(move || keeper.keep(&received, &payload, &stored_key, before)).await?;
    let seat = match kept.free_seat {
        true => Seat::Freed(seats::release_claimed(inner, &key).await),
        false => kept.seat,
    };
    let mut verdict = match kept.outcome {
        Ok(verdict) => verdict,
        Err(error) => {
            let error = error.prefixed("the license was not activated");
            return Err(match seat.sentence() {
                Some(sentence) => error.suffixed(&sentence),
                None => error,
            });
        }
    };
    if let (true, Some(sentence)) = (kept.free_seat, seat.sentence()) {
        verdict.message = format!("{} {sentence}", verdict.message);
    }
    if let Some(machine_id) = options.replace {
        verdict.message = format!(
            "The seat of machine {machine_id} was freed. {}",
            verdict.message
        );
    }
    Ok(verdict)
}

/// This machine's seat after an activation that did not keep its answer.
enum Seat {
    /// The license does not limit machines.
    None,
    /// This machine held the seat before (its stored key is this one): it stays.
    HeldBefore,
    /// Claimed by this activation, and kept.
    Claimed,
    /// Claimed by this activation and freed again, or why freeing it failed.
    Freed(Result<(), String>),
}

impl Seat {
    /// What a person needs to know about it.
    fn sentence(&self) -> Option<String> {
        match self {
            Self::None | Self::Claimed => None,
            Self::HeldBefore => Some("This machine's seat, which it held before, stays.".into()),
            Self::Freed(Ok(())) => Some("The seat it had just claimed was freed again, so it does not count against the license.".into()),
            Self::Freed(Err(why)) => Some(format!("The seat it had just claimed could not be freed again ({why}); it lapses by itself after its lease period, or free it by its id from the machine list.")),
        }
    }
}

impl Inner {
    /// Checks that the key and the lease can be kept before any seat is claimed, and
    /// reads what is on this machine now.
    pub(super) fn ready_to_store(&self) -> Result<Before, Error> {
        let not_activated = "the license was not activated and no seat was claimed";
        self.key_store
            .ready()
            .map_err(|e| Error::key_store("stored in", e).prefixed(not_activated))?;
        probe_writable(&self.paths.data_dir)
            .map_err(|e| Error::cache_write(&self.paths.data_dir, e).prefixed(not_activated))?;
        let (file_marks, store_marks, stored_hash) = self.load_marks();
        Ok(Before {
            file_marks,
            store_marks,
            stored_hash,
        })
    }

    /// Decides from the verified answer and keeps what it allows: on an allow the key,
    /// then the lease (the key stored before is put back when the lease cannot be
    /// written); a deny for the stored key replaces its lease.
    pub(super) fn keep(
        &self,
        received: &Received,
        payload: &VerdictPayload,
        key: &LicenseKeyText,
        before: Before,
    ) -> Kept {
        let now = self.clock.now();
        let offset = now.saturating_sub(payload.iat);
        let key_hash = lease::key_hash(key);
        let grants = crate::app::grants(payload, &self.app);
        let skewed = offset.saturating_abs() > self.skew_tolerance;
        let held_before = before.stored_hash.as_deref() == Some(key_hash.as_str());
        let seat = match (&payload.license.machines, held_before) {
            (None, _) => Seat::None,
            (Some(_), true) => Seat::HeldBefore,
            (Some(_), false) => Seat::Claimed,
        };
        // Only a seat this activation claimed is freed; one held before stays.
        let free_seat = matches!(seat, Seat::Claimed);
        if grants && skewed {
            let message = format!(
                "{}. The license is valid, but it was not activated because its offline limits would be wrong. Fix the system clock (turn on automatic time), then activate again.",
                crate::decide::skew_sentence(offset)
            );
            return Kept {
                outcome: Ok(Verdict::local(Code::ClockSkew, message).with_source(Source::Online)),
                free_seat,
                seat,
            };
        }
        let mut after = before.file_marks.merge(before.store_marks);
        after.high_water = high_water_after(after.high_water, payload.iat, now, skewed);
        after.newest_iat = newest_after_storing(after.newest_iat, payload, &self.app);
        let mut verdict = from_answer(payload, now, self.skew_tolerance, &self.app);
        let store = if grants {
            if let Err(error) = self.store_key_and_lease(received, key, &key_hash) {
                return Kept {
                    outcome: Err(error),
                    free_seat,
                    seat,
                };
            }
            true
        } else if matches!(
            payload.result.code,
            VerdictCode::MachineLimit | VerdictCode::SeatsInUse
        ) {
            // Not a verdict on the license but on this one attempt: a seat may be
            // freed a minute from now, and a stored lease stays as it was.
            false
        } else {
            held_before
        };
        if store {
            let lease = (!grants).then_some(received);
            let copies = (before.file_marks, before.store_marks);
            let notes = self.persist(lease, &key_hash, copies, after);
            verdict.append_notes(&notes);
        } else {
            verdict.message.push_str(" Nothing was stored.");
        }
        Kept {
            outcome: Ok(verdict),
            free_seat: false,
            seat,
        }
    }

    /// The key, then the lease; when the lease cannot be written, the key stored
    /// before (or none) is put back, so that key and lease never disagree.
    fn store_key_and_lease(
        &self,
        received: &Received,
        key: &LicenseKeyText,
        key_hash: &str,
    ) -> Result<(), Error> {
        let previous = self.key_store.get_key().ok().flatten();
        // The same key again (a floating seat's renewal every few minutes, a repeated
        // activation) is not written to the key store again.
        if previous.as_ref() != Some(key) {
            self.key_store
                .set_key(key)
                .map_err(|e| Error::key_store("stored in", e))?;
        }
        if let Err(e) = lease::save(&self.paths, &received.raw, key_hash) {
            let _ = match &previous {
                Some(previous) => self.key_store.set_key(previous),
                None => self.key_store.delete_key(),
            };
            return Err(Error::cache_write(&self.paths.data_dir, e));
        }
        Ok(())
    }
}
