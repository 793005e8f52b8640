//! Seats: free this machine's seat (and then remove the key and the lease), free
//! another machine's seat, list the machines. Each is one round trip with the validate
//! body, verified like a check (signature, nonce, fingerprint, license id). None of
//! them stores a lease, and nothing local changes unless the verified answer is the
//! one asked for: a deactivation that cannot reach the server must not leave the seat
//! held by a machine that no longer has the key to free it.

use std::sync::Arc;

use license_shared::{LicenseKey, VerdictCode, VerdictPayload};

use super::{blocking, remove_activation, DeactivateError, Inner, SeatError};
use crate::decide::from_answer;
use crate::transport::{Call, TransportError};
use crate::verdict::{Code, Source, Verdict};
use crate::verify::{fresh_nonce, verify_online};

/// See [`LicenseClient::deactivate`](super::LicenseClient::deactivate).
pub(super) async fn deactivate(inner: &Arc<Inner>) -> Result<Verdict, DeactivateError> {
    let payload = ask(inner, Call::Deactivate, None).await?;
    expect_deactivated(inner, &payload)?;
    let remover = Arc::clone(inner);
    blocking(move || remove_activation(&*remover.key_store, &remover.paths))
        .await
        .map_err(SeatError::from)??;
    Ok(deactivated(
        &payload,
        "This machine's seat was freed, and the license key and the saved license were removed from this machine.".into(),
    ))
}

/// See [`LicenseClient::deactivate_machine`](super::LicenseClient::deactivate_machine).
pub(super) async fn deactivate_machine(
    inner: &Arc<Inner>,
    machine_id: &str,
) -> Result<Verdict, SeatError> {
    let payload = ask(inner, Call::Deactivate, Some(machine_id)).await?;
    expect_deactivated(inner, &payload)?;
    Ok(deactivated(
        &payload,
        format!("The seat of machine {machine_id} was freed. This machine keeps its own seat and license."),
    ))
}

/// See [`LicenseClient::machines`](super::LicenseClient::machines).
pub(super) async fn machines(inner: &Arc<Inner>) -> Result<Verdict, SeatError> {
    let payload = ask(inner, Call::Machines, None).await?;
    let mut verdict = from_answer(
        &payload,
        inner.clock.now(),
        inner.skew_tolerance,
        &inner.app,
    );
    if payload.result.valid {
        verdict.message = match &payload.license.machines {
            Some(seats) => match seats.max {
                Some(max) => format!("Seats in use: {} of {max} (confirmed online).", seats.used),
                None => format!("Seats in use: {} (confirmed online).", seats.used),
            },
            None => {
                "The license does not limit how many machines may use it (confirmed online).".into()
            }
        };
    }
    Ok(verdict)
}

/// One verified answer to `call` about the stored license key.
async fn ask(
    inner: &Arc<Inner>,
    call: Call,
    machine_id: Option<&str>,
) -> Result<VerdictPayload, SeatError> {
    let reader = Arc::clone(inner);
    let key = blocking(move || reader.key_store.get_key())
        .await?
        .map_err(SeatError::KeyStore)?
        .ok_or(SeatError::NoLicense)?;
    let license_id = LicenseKey::parse(key.expose())
        .map_err(|_| SeatError::DamagedKey)?
        .customer_id()
        .as_str()
        .to_owned();
    let fingerprint = inner.fingerprint.clone().map_err(SeatError::MachineId)?;
    let nonce = fresh_nonce();
    let mut request = inner.request(&key, &nonce, &fingerprint);
    request.machine_id = machine_id.map(str::to_owned);
    request.check().map_err(SeatError::InvalidRequest)?;
    let transport = inner.transport.as_ref().ok_or(SeatError::NoBrokerUrl)?;
    let received = transport
        .post(call, &request)
        .await
        .map_err(|e| match (e, machine_id) {
            (
                TransportError::Status {
                    status: 429,
                    message,
                },
                _,
            ) => SeatError::RateLimited(message),
            (TransportError::Status { status: 400, .. }, Some(id)) => {
                SeatError::UnknownMachine(id.to_owned())
            }
            (e, _) => SeatError::Unreachable(e),
        })?;
    verify_online(
        &received.envelope,
        &inner.trusted_keys,
        &nonce,
        &fingerprint,
        &license_id,
        &inner.app,
    )
    .map_err(SeatError::Untrusted)
}

/// Anything but a verified `DEACTIVATED` is a refusal, shown as the verdict it is.
fn expect_deactivated(inner: &Inner, payload: &VerdictPayload) -> Result<(), SeatError> {
    if payload.result.code == VerdictCode::Deactivated {
        return Ok(());
    }
    let verdict = from_answer(payload, inner.clock.now(), inner.skew_tolerance, &inner.app);
    Err(SeatError::Refused(Box::new(verdict)))
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
        product: payload.license.product.as_deref().map(crate::clean_text),
        entitlements: Vec::new(),
    }
}
