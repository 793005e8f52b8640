//! Offline activation, for a machine that never reaches the license server.
//!
//! 1. [`request`]: a request code (key, fingerprint, app, product, a fresh nonce, the
//!    time, and the public half of a device key made for this activation), made with
//!    no network; the nonce and the device key's private half are kept as the pending
//!    request (`store::offline`).
//! 2. [`install`]: the response code, carried back by hand, is the broker's ordinary
//!    signed verdict; it goes through the same verifier as an online answer
//!    (`verify::verify_answer`), held to the pending request (its nonce, its key, this
//!    app's product, its device key), and is kept as activation keeps an online one.
//!    Without the pending request (another machine, a reformat, a second install) it
//!    licenses nothing.
//! 3. [`deactivate`]: removes the key and the lease and signs a deactivation code
//!    with the activation's device key, which the broker checks before it frees the
//!    seat of that activation, once.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use license_shared::{
    LicenseKey, OfflineDeactivation, OfflineRequest, OfflineResponse, VerdictRequest,
    OFFLINE_NONCE_BYTES,
};
use rand::RngCore as _;

use super::{remove_activation, Inner};
use crate::error::{Error, ErrorKind};
use crate::store::keystore::LicenseKeyText;
use crate::store::offline::{self as kept, OfflineActivation, PendingRequest};
use crate::transport::Received;
use crate::verdict::Verdict;
use crate::verify::{verify_answer, Binding};

/// See [`LicenseClient::offline_request`](super::LicenseClient::offline_request).
pub(super) fn request(inner: &Arc<Inner>, key: &str) -> Result<String, Error> {
    let parsed = LicenseKey::parse(key).map_err(Error::invalid_key)?;
    let key = LicenseKeyText::new(parsed.encode());
    let fingerprint = inner.fingerprint.clone().map_err(Error::machine_id)?;
    let mut nonce = [0u8; OFFLINE_NONCE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let device = SigningKey::generate(&mut rand::rngs::OsRng);
    let online = inner.request(&key, "", &fingerprint);
    let request = OfflineRequest {
        license_key: key.expose().to_owned(),
        fingerprint: fingerprint.as_str().to_owned(),
        app: online.app,
        product: online.product,
        nonce,
        created_at: inner.clock.now(),
        device_key: device.verifying_key().to_bytes(),
    };
    request
        .validate_request()
        .check()
        .map_err(Error::invalid_argument)?;
    let pending = PendingRequest {
        key: key.expose().to_owned(),
        nonce: request.nonce_text(),
        device_secret: license_shared::base64url_encode(device.as_bytes()),
    };
    kept::save_pending(&inner.paths, &pending)
        .map_err(|e| Error::cache_write(&inner.paths.data_dir, e))?;
    Ok(request.to_code())
}

/// See [`LicenseClient::install_offline_response`](super::LicenseClient::install_offline_response).
pub(super) fn install(inner: &Arc<Inner>, code: &str) -> Result<Verdict, Error> {
    let response = OfflineResponse::from_code(code).map_err(not_an_answer)?;
    let pending = kept::pending(&inner.paths)
        .map_err(unreadable)?
        .ok_or_else(|| not_an_answer("this machine has no pending offline request (it was made on another machine, already answered, or lost with a reinstall); make a new one with `license-check activate KEY --offline-request`"))?;
    let device = device_key(&pending.device_secret)?;
    let key = LicenseKeyText::new(pending.key.clone());
    let license_id = LicenseKey::parse(key.expose())
        .map_err(Error::invalid_key)?
        .customer_id()
        .as_str()
        .to_owned();
    let fingerprint = inner.fingerprint.clone().map_err(Error::machine_id)?;
    let ours = VerdictRequest::new("activate", key.expose(), inner.app.product.as_deref())
        .with_device_key(license_shared::base64url_encode(
            device.verifying_key().as_bytes(),
        ));
    let binding = Binding {
        fingerprint: &fingerprint,
        license_id: &license_id,
        app: &inner.app,
    };
    let envelope = response.envelope;
    let payload = verify_answer(
        &envelope,
        &inner.trusted_keys,
        &pending.nonce,
        &ours,
        binding,
    )
    .map_err(|why| match why {
        crate::verify::Untrusted::Nonce | crate::verify::Untrusted::Request { .. } => {
            not_an_answer(format!("the response code does not answer this machine's pending request ({why}); bring the request code this machine made to the license server again"))
        }
        why => Error::untrusted_answer(why),
    })?;
    let raw = serde_json::to_string(&envelope).map_err(Error::internal)?;
    let received = Received { envelope, raw };
    let before = inner.ready_to_store()?;
    let kept = inner.keep(&received, &payload, &key, before);
    let mut verdict = kept.outcome?;
    // The decision's words are an online answer's; this one came by hand.
    verdict.message = verdict.message.replacen(
        "(confirmed online)",
        "(confirmed by the license server's offline response code)",
        1,
    );
    if verdict.licensed {
        let activation = OfflineActivation {
            device_secret: pending.device_secret,
        };
        kept::installed(&inner.paths, &activation)
            .map_err(|e| Error::cache_write(&inner.paths.data_dir, e))?;
    }
    Ok(verdict)
}

/// See [`LicenseClient::deactivate_offline`](super::LicenseClient::deactivate_offline).
pub(super) fn deactivate(inner: &Arc<Inner>) -> Result<String, Error> {
    let activation = kept::activation(&inner.paths)
        .map_err(unreadable)?
        .ok_or_else(|| Error::new(ErrorKind::NoLicense, "this machine was not activated offline, so there is nothing to deactivate offline; deactivate it online with `license-check deactivate`"))?;
    let device = device_key(&activation.device_secret)?;
    let key = inner
        .key_store
        .get_key()
        .map_err(|e| Error::key_store("read from", e))?
        .ok_or_else(Error::no_license)?;
    let fingerprint = inner.fingerprint.clone().map_err(Error::machine_id)?;
    let mut nonce = [0u8; OFFLINE_NONCE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let code = OfflineDeactivation::signed(
        key.expose(),
        fingerprint.as_str(),
        inner.app.product.as_deref(),
        nonce,
        inner.clock.now(),
        &device,
    )
    .to_code();
    remove_activation(inner.key_store.as_ref(), &inner.paths)?;
    kept::forget(&inner.paths).map_err(Error::cache)?;
    Ok(code)
}

fn device_key(secret: &str) -> Result<SigningKey, Error> {
    let bytes = license_shared::base64url_decode(secret)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| unreadable("the offline activation's device key is damaged"))?;
    Ok(SigningKey::from_bytes(&bytes))
}

fn unreadable(e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::CacheUnavailable,
        format!("the offline activation kept in the data directory cannot be read: {e}"),
    )
}

/// A code that is not a response, or not to this machine's pending request: a usage
/// error (exit 64), never a verdict.
fn not_an_answer(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        crate::text::end_sentence(&format!("the response code was not installed: {why}")),
    )
}
