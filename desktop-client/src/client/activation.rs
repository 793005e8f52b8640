//! Activation: claim a seat for this machine online (`POST /v1/license/activate`; for
//! a license that does not limit machines it is a plain validation), and on a verified
//! `VALID` store the key and the lease. A refused seat (`MACHINE_LIMIT`) stores nothing.

use std::sync::Arc;

use license_shared::{LicenseKey, VerdictCode};

use super::{blocking, high_water_after, newest_after_storing, Inner};
use crate::decide::from_answer;
use crate::error::Error;
use crate::store::keystore::LicenseKeyText;
use crate::store::lease;
use crate::transport::Call;
use crate::verdict::{Code, Source, Verdict};
use crate::verify::{fresh_nonce, verify_online};

/// See [`LicenseClient::activate`](super::LicenseClient::activate).
pub(super) async fn activate(
    inner: &Arc<Inner>,
    key: &str,
    machine_name: Option<&str>,
) -> Result<Verdict, Error> {
    let parsed = LicenseKey::parse(key).map_err(Error::invalid_key)?;
    let key = LicenseKeyText::new(parsed.encode());
    let license_id = parsed.customer_id().as_str().to_owned();
    let fingerprint = inner.fingerprint.clone().map_err(Error::machine_id)?;
    let nonce = fresh_nonce();
    let mut request = inner.request(&key, &nonce, &fingerprint);
    request.machine_name = machine_name.map(str::to_owned);
    request.check().map_err(Error::invalid_argument)?;
    let transport = inner.transport.as_ref().ok_or_else(Error::no_broker_url)?;
    let reader = Arc::clone(inner);
    let (file_marks, store_marks, stored_hash) = blocking(move || reader.load_marks()).await?;
    let received = transport
        .post(Call::Activate, &request)
        .await
        .map_err(|e| Error::transport(e, None))?;
    let marks = file_marks.merge(store_marks);
    let payload = verify_online(
        &received.envelope,
        &inner.trusted_keys,
        &nonce,
        &fingerprint,
        &license_id,
        &inner.app,
    )
    .map_err(Error::untrusted_answer)?;
    let inner = Arc::clone(inner);
    blocking(move || {
        let now = inner.clock.now();
        let offset = now.saturating_sub(payload.iat);
        let key_hash = lease::key_hash(&key);
        let mut after = marks;
        let grants = crate::app::grants(&payload, &inner.app);
        let skewed = offset.saturating_abs() > inner.skew_tolerance;
        if grants && skewed {
            let message = format!(
                "{}. The license is valid, but it was not activated because its offline limits would be wrong. Fix the system clock (turn on automatic time), then activate again.",
                crate::decide::skew_sentence(offset)
            );
            return Ok(Verdict::local(Code::ClockSkew, message).with_source(Source::Online));
        }
        after.high_water = high_water_after(after.high_water, payload.iat, now, skewed);
        after.newest_iat = newest_after_storing(after.newest_iat, &payload, &inner.app);
        let mut verdict = from_answer(&payload, now, inner.skew_tolerance, &inner.app);
        let store = if grants {
            inner.key_store.set_key(&key).map_err(|e| Error::key_store("stored in", e))?;
            true
        } else if payload.result.code == VerdictCode::MachineLimit {
            // Not a verdict on the license but on this one attempt: a seat may be
            // freed a minute from now, and a stored lease stays as it was.
            false
        } else {
            stored_hash.as_deref() == Some(key_hash.as_str())
        };
        if store {
            let notes = inner.persist(Some(&received), &key_hash, (file_marks, store_marks), after);
            verdict.append_notes(&notes);
        } else {
            verdict.message.push_str(" Nothing was stored.");
        }
        Ok(verdict)
    })
    .await?
}
