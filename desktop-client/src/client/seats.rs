//! Seats: free this machine's seat (and then remove the key and the lease), free
//! another machine's seat, list the machines. Each is one round trip with the validate
//! body, verified like a check (signature, nonce, fingerprint, license id).
//!
//! None of them stores an allow: a seat call is not a check. But a verified deny of
//! the license itself (`REVOKED`, `EXPIRED`, `NOT_FOUND`, …) replaces the lease and
//! moves the marks exactly as a check's would, since a verified deny always replaces a
//! cached allow: otherwise `machines` could say `REVOKED` and the next offline start
//! still run on the old lease. Apart from that nothing local changes unless the
//! verified answer is the one asked for: a deactivation that cannot reach the server
//! must not leave the seat held by a machine that no longer has the key to free it.

use std::sync::Arc;

use license_shared::{LicenseKey, VerdictCode, VerdictPayload};

use super::{blocking, high_water_after, newest_after_storing, remove_activation, Inner};
use crate::app::grants;
use crate::decide::from_answer;
use crate::error::Error;
use crate::store::keystore::LicenseKeyText;
use crate::store::lease;
use crate::transport::{Call, Received};
use crate::verdict::{Code, Source, Verdict};
use crate::verify::{fresh_nonce, verify_online};

/// A verified answer to a seat call, and the notes of anything it could not save.
struct Answer {
    payload: VerdictPayload,
    notes: Vec<String>,
}

/// See [`LicenseClient::deactivate`](super::LicenseClient::deactivate).
pub(super) async fn deactivate(inner: &Arc<Inner>) -> Result<Verdict, Error> {
    let Answer { payload, notes } = ask(inner, Call::Deactivate, None, None).await?;
    expect_deactivated(inner, &payload, &notes)?;
    let remover = Arc::clone(inner);
    let removed = blocking(move || remove_activation(&*remover.key_store, &remover.paths)).await?;
    let message = match payload.license.machines {
        Some(_) => "This machine's seat was freed, and the license key and the saved license were removed from this machine.",
        // No seat to free: say what did happen.
        None => "The license was removed from this machine: its license key and the saved license are deleted. The license does not limit how many machines use it, so no seat was held.",
    };
    let freed = deactivated(&payload, message.into());
    match removed {
        Ok(()) => Ok(freed),
        // The seat is gone either way: the error carries the answer that says so.
        Err(e) => Err(e.with_verdict(freed)),
    }
}

/// See [`LicenseClient::checkin`](super::LicenseClient::checkin): frees this machine's
/// floating seat, then removes the lease (a verdict that no seat backs any more) and
/// keeps the key, which the next start checks a seat out with.
pub(super) async fn checkin(inner: &Arc<Inner>) -> Result<Verdict, Error> {
    let Answer { payload, notes } = ask(inner, Call::Checkin, None, None).await?;
    expect_deactivated(inner, &payload, &notes)?;
    let paths = inner.paths.clone();
    let removed = blocking(move || lease::remove(&paths)).await?;
    let freed = deactivated(
        &payload,
        "This machine's floating seat was returned; the license key stays for the next checkout."
            .into(),
    );
    match removed {
        Ok(()) => Ok(freed),
        Err(e) => Err(Error::cache(e).with_verdict(freed)),
    }
}

/// See [`LicenseClient::deactivate_machine`](super::LicenseClient::deactivate_machine).
pub(super) async fn deactivate_machine(
    inner: &Arc<Inner>,
    machine_id: &str,
) -> Result<Verdict, Error> {
    let Answer { payload, notes } = ask(inner, Call::Deactivate, Some(machine_id), None).await?;
    expect_deactivated(inner, &payload, &notes)?;
    Ok(deactivated(
        &payload,
        format!("The seat of machine {machine_id} was freed. This machine keeps its own seat and license."),
    ))
}

/// Frees the seat of machine `machine_id` for the license `key` given in hand (this
/// machine may hold no key yet): the first half of
/// [`LicenseClient::activate_replacing`](super::LicenseClient::activate_replacing).
/// Counted against the license's release budget like any freeing of another
/// machine's seat.
pub(super) async fn free_for_key(
    inner: &Arc<Inner>,
    machine_id: &str,
    key: &LicenseKeyText,
) -> Result<(), Error> {
    let Answer { payload, notes } =
        ask(inner, Call::Deactivate, Some(machine_id), Some(key.clone())).await?;
    expect_deactivated(inner, &payload, &notes)
}

/// Frees this machine's seat for `key` again after an activation that could not keep
/// the key or the lease. Best effort: `Err` says why the seat is still held.
pub(super) async fn release_claimed(
    inner: &Arc<Inner>,
    key: &LicenseKeyText,
) -> Result<(), String> {
    let answer = ask(inner, Call::Deactivate, None, Some(key.clone()))
        .await
        .map_err(|e| e.to_string())?;
    match answer.payload.result.code {
        VerdictCode::Deactivated => Ok(()),
        code => Err(format!("the license server answered {}", Code::from(code))),
    }
}

/// See [`LicenseClient::machines`](super::LicenseClient::machines) and
/// [`LicenseClient::machines_for_key`](super::LicenseClient::machines_for_key).
pub(super) async fn machines(
    inner: &Arc<Inner>,
    key: Option<LicenseKeyText>,
) -> Result<Verdict, Error> {
    let Answer { payload, notes } = ask(inner, Call::Machines, None, key).await?;
    let mut verdict = from_answer(
        &payload,
        inner.clock.now(),
        inner.skew_tolerance,
        &inner.app,
    );
    let seats_in_use = |seats: &license_shared::Machines| match seats.max {
        Some(max) => format!("Seats in use: {} of {max}", seats.used),
        None => format!("Seats in use: {}", seats.used),
    };
    if let (VerdictCode::NotActivated, Some(seats)) =
        (payload.result.code, &payload.license.machines)
    {
        // A listing for a key in hand, from a machine that holds no seat (yet).
        verdict.message = format!(
            "{} (confirmed online); this machine holds none of them.",
            seats_in_use(seats)
        );
    }
    if payload.result.valid {
        verdict.message = match &payload.license.machines {
            Some(seats) => format!("{} (confirmed online).", seats_in_use(seats)),
            None => {
                "The license does not limit how many machines may use it (confirmed online).".into()
            }
        };
    }
    verdict.append_notes(&notes);
    Ok(verdict)
}

/// One verified answer to `call` about `given` (a key in hand), or else the stored
/// license key; a verified deny of the license is kept as the lease when the key is
/// the stored one (see the module's doc).
async fn ask(
    inner: &Arc<Inner>,
    call: Call,
    machine_id: Option<&str>,
    given: Option<LicenseKeyText>,
) -> Result<Answer, Error> {
    let reader = Arc::clone(inner);
    let stored = blocking(move || reader.key_store.get_key()).await?;
    let (key, license_id) = match given {
        Some(key) => {
            let id = LicenseKey::parse(key.expose()).map_err(Error::invalid_key)?;
            let id = id.customer_id().as_str().to_owned();
            (key, id)
        }
        None => {
            let key = stored
                .as_ref()
                .map_err(|e| Error::key_store("read from", e.clone()))?
                .clone()
                .ok_or_else(Error::no_license)?;
            let id = LicenseKey::parse(key.expose()).map_err(|_| Error::damaged_key())?;
            let id = id.customer_id().as_str().to_owned();
            (key, id)
        }
    };
    // A deny is kept only as the lease of the key it is about.
    let is_stored = matches!(&stored, Ok(Some(held)) if *held == key);
    let fingerprint = inner.fingerprint.clone().map_err(Error::machine_id)?;
    let nonce = fresh_nonce();
    let mut request = inner.request(&key, &nonce, &fingerprint);
    request.machine_id = machine_id.map(str::to_owned);
    request.check().map_err(Error::invalid_argument)?;
    let transport = inner.transport.as_ref().ok_or_else(Error::no_broker_url)?;
    let received = transport
        .post(call, &request)
        .await
        .map_err(|e| Error::transport(e, machine_id))?;
    let payload = verify_online(
        &received.envelope,
        &inner.trusted_keys,
        call,
        &request,
        &fingerprint,
        &license_id,
        &inner.app,
    )
    .map_err(Error::untrusted_answer)?;
    if !is_stored || !denies_the_license(&payload, inner) {
        return Ok(Answer {
            payload,
            notes: Vec::new(),
        });
    }
    let keeper = Arc::clone(inner);
    blocking(move || {
        let notes = keeper.keep_deny(&received, &payload, &key);
        Answer { payload, notes }
    })
    .await
    .map_err(Error::from)
}

/// A verified answer that says the license itself licenses nothing here, as opposed
/// to an answer about a seat (`MACHINE_LIMIT`, `NOT_ACTIVATED`, `DEACTIVATED`), which
/// a seat call asks for or may get without the license changing.
fn denies_the_license(payload: &VerdictPayload, inner: &Inner) -> bool {
    let about_a_seat = matches!(
        payload.result.code,
        VerdictCode::MachineLimit
            | VerdictCode::NotActivated
            | VerdictCode::Deactivated
            | VerdictCode::SeatsInUse
            | VerdictCode::NotFloating
            | VerdictCode::CheckoutRequired
    );
    !about_a_seat && !grants(payload, &inner.app)
}

impl Inner {
    /// Stores the verified deny `received` as the lease of `key` and moves the marks as
    /// a check does; the notes say what could not be saved.
    fn keep_deny(
        &self,
        received: &Received,
        payload: &VerdictPayload,
        key: &LicenseKeyText,
    ) -> Vec<String> {
        // The key is in hand: no second read of it from the key store.
        let (file_marks, store_marks) = self.marks_copies();
        let now = self.clock.now();
        let skewed = now.saturating_sub(payload.iat).saturating_abs() > self.skew_tolerance;
        let mut marks = file_marks.merge(store_marks);
        marks.high_water = high_water_after(marks.high_water, payload.iat, now, skewed);
        marks.newest_iat = newest_after_storing(marks.newest_iat, payload, &self.app);
        self.persist(
            Some(received),
            &lease::key_hash(key),
            (file_marks, store_marks),
            marks,
        )
    }
}

/// Anything but a verified `DEACTIVATED` is a refusal, shown as the verdict it is.
fn expect_deactivated(
    inner: &Inner,
    payload: &VerdictPayload,
    notes: &[String],
) -> Result<(), Error> {
    if payload.result.code == VerdictCode::Deactivated {
        return Ok(());
    }
    let mut verdict = from_answer(payload, inner.clock.now(), inner.skew_tolerance, &inner.app);
    verdict.append_notes(notes);
    Err(Error::refused(verdict))
}

fn deactivated(payload: &VerdictPayload, message: String) -> Verdict {
    Verdict {
        licensed: false,
        code: Code::Deactivated,
        source: Source::Online,
        expires_at: payload.license.expires_at,
        offline_until: None,
        message,
        machines: crate::decide::clean_machines(payload.license.machines.as_ref()),
        product: payload
            .license
            .product
            .as_deref()
            .map(crate::text::clean_text),
        entitlements: Vec::new(),
        detail: None,
    }
}
