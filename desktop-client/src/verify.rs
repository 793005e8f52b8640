//! Verification of an envelope, in this order; every step fails closed.
//!
//! 1–4. `Envelope::open`: version and algorithm, a pinned `kid`, the signature over
//!      the exact bytes received, then `typ` and the payload's coherence.
//! 5.   Online only: the nonce this request sent, compared in constant time.
//! 5a.  Online only: the signed `request` is this request's own: the same operation
//!      (endpoint), the same key (a digest of it, exactly as sent), the same product,
//!      and for an offline response the same device key (the pending request's).
//!      A nonce alone binds an answer to a moment, not to a question: someone who can
//!      rewrite the request in transit (a broken TLS, a hostile proxy) could keep the
//!      nonce and swap the key for a forged one with the same customer id (a signed
//!      `NOT_FOUND`), the product (`WRONG_PRODUCT`) or the endpoint (a validate
//!      answered `DEACTIVATED`, which also freed the seat). A verdict for another
//!      request, allow or deny, is untrusted, so the lease stays.
//!      A stored lease is not held to this: it answers no request now, it was held to
//!      it when it was accepted online, and leases stored before verdicts named their
//!      request have none. Steps 6, 7 and 7a bind it to this machine, key and product.
//! 6.   The fingerprint of this machine.
//! 7.   The license: `license.id` is the customer id the stored (or activated) key
//!      carries. The cache file's `key_hash` is not signed, so without this a lease for
//!      key A could be relabelled for key B.
//! 7a.  The product, when the app names one: a signed `license.product` that is
//!      another product's is refused, except in the `WRONG_PRODUCT` deny that says
//!      so. Nothing else about the lease (its file name, its directory) is evidence;
//!      a lease for `desktop-lite` copied into a `desktop-pro` app licenses nothing.
//!      A license for no product (an explicit `null`) licenses any. A verdict with
//!      no `license.product` member at all (signed by a broker from before products)
//!      says nothing about the product: for an app that names one, it grants nothing.
//! 8.   Cached only: not older than the newest envelope already accepted. An online
//!      answer needs no such rule: its nonce proves it fresh, and broker replicas'
//!      clocks may differ by seconds, so a fresh deny can carry an `iat` a little
//!      before the cached allow's. A cached deny is exempt too: an old deny can only
//!      lock, and the client pushes `newest_iat` past the allow a deny replaces. An
//!      allow is whatever licenses this build (`app::grants`), so an `EXPIRED`
//!      perpetual-fallback lease is held to this rule like a `VALID` one.
//!
//! Clock skew is not a trust question: a skewed answer is still the broker's, so
//! `decide` handles it. Every path into the client, online or cached, goes through one
//! of the two functions below; there is no other way to read a payload, and none that
//! skips verification when no key is configured (keygen-go verifies only when a public
//! key is set, <https://github.com/keygen-sh/keygen-go/blob/085cb618e98a9bd922f91203f0bc236c909cc781/client.go>).
//! The nonce is compared, not just sent: keygen-rs sends one and never checks the echo
//! (<https://github.com/ahonn/keygen-rs/blob/8dfe0eef327f1d047d0de0ac0e37f3ee902e9ebc/src/client.rs>).

use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

use license_shared::{
    Envelope, EnvelopeError, Keyset, Opened, ValidateRequest, VerdictCode, VerdictPayload,
    VerdictRequest,
};

use crate::app::{grants, ThisApp};
use crate::fingerprint::Fingerprint;
use crate::transport::Call;

/// Random bytes per request nonce.
const NONCE_BYTES: usize = 32;

/// 32 fresh random bytes from the OS, base64url: one per request, never reused.
pub(crate) fn fresh_nonce() -> String {
    let mut bytes = [0u8; NONCE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    license_shared::base64url_encode(&bytes)
}

/// Why an envelope is not trusted. The client treats each like a network failure
/// (fall back to the lease) and never lets one extend the lease.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// Shown cleaned: some of these quote the envelope (its `kid`, `alg`, or the
    /// payload's JSON error), which the answering server chose.
    #[error("{}", crate::text::clean_text(&.0.to_string()))]
    Envelope(#[from] EnvelopeError),
    #[error(
        "the answer does not echo this request's nonce, so it is a replayed or foreign answer"
    )]
    Nonce,
    /// The signed `request` is not the request this app sent (see [`RequestPart`]).
    #[error("the verdict answers another request than the one this app sent ({differs}), so something between this app and the license server changed the request or the answer")]
    Request { differs: RequestPart },
    #[error("the verdict is bound to another machine (its fingerprint does not match this one)")]
    Fingerprint,
    #[error("the verdict is about another license (its license id does not match the stored license key)")]
    License,
    /// The signed `license.product` is another product's than the app's own.
    #[error("the verdict is about a license for another product ({}), not this app's ({ours})", crate::text::clean_text(.theirs))]
    Product { theirs: String, ours: String },
    /// An allow with no `license.product` member (signed by a license server from
    /// before products), for an app that names its product.
    #[error("the verdict does not say which product the license is for (the license server that signed it predates products), so it does not license this app ({ours}); update the license server, then check again while connected")]
    NoProduct { ours: String },
    #[error("the verdict was signed at {iat}, before a verdict already accepted (signed at {newest}); an old verdict is never accepted again")]
    Older { iat: i64, newest: i64 },
}

/// Which part of the signed `request` is not this request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestPart {
    /// The verdict names no request (a license server from before verdicts did).
    Missing,
    /// Another endpoint (`validate`, `activate`, `deactivate`, `machines`).
    Operation,
    /// Another license key.
    Key,
    /// Another product, or none where this app named one (or the other way round).
    Product,
    /// Another offline request's device key, or none (an online answer) where an
    /// offline one was expected, or the other way round.
    DeviceKey,
}

impl std::fmt::Display for RequestPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Missing => "it names no request; a license server that old must be updated",
            Self::Operation => "it answers another operation",
            Self::Key => "it answers another license key",
            Self::Product => "it answers another product",
            Self::DeviceKey => "it answers another offline request, or an online one",
        })
    }
}

/// The request as the verdict must name it: `call`'s endpoint, with the key and
/// product of `sent` exactly as they went out.
fn asked(call: Call, sent: &ValidateRequest) -> VerdictRequest {
    let op = match call {
        Call::Validate => "validate",
        Call::Activate => "activate",
        Call::Deactivate => "deactivate",
        Call::Machines => "machines",
        Call::Checkout => "checkout",
        Call::Checkin => "checkin",
        Call::Trial => "start",
    };
    VerdictRequest::new(op, &sent.license_key, sent.product.as_deref())
}

/// Verifies an answer to `sent` (the request that carried its nonce), sent to `call`.
pub(crate) fn verify_online(
    envelope: &Envelope,
    trusted: &Keyset,
    call: Call,
    sent: &ValidateRequest,
    fingerprint: &Fingerprint,
    license_id: &str,
    app: &ThisApp,
) -> Result<VerdictPayload, Untrusted> {
    let ours = asked(call, sent);
    let binding = Binding {
        fingerprint,
        license_id,
        app,
    };
    verify_answer(envelope, trusted, &sent.nonce, &ours, binding)
}

/// What a verdict must be bound to on this machine.
#[derive(Clone, Copy)]
pub(crate) struct Binding<'a> {
    pub(crate) fingerprint: &'a Fingerprint,
    pub(crate) license_id: &'a str,
    pub(crate) app: &'a ThisApp,
}

/// Verifies an answer to the request `ours` that carried `nonce`: an online answer, or
/// an offline response code (whose request went by hand, and names its device key).
/// Steps 1 to 7a; the one verifier of every answer.
pub(crate) fn verify_answer(
    envelope: &Envelope,
    trusted: &Keyset,
    nonce: &str,
    ours: &VerdictRequest,
    binding: Binding<'_>,
) -> Result<VerdictPayload, Untrusted> {
    let opened = envelope.open_bound(trusted)?;
    let (payload, request) = (&opened.payload, &opened.request);
    let nonce_matches: bool = payload.nonce.as_bytes().ct_eq(nonce.as_bytes()).into();
    if !nonce_matches {
        return Err(Untrusted::Nonce);
    }
    let differs = match request {
        None => Some(RequestPart::Missing),
        Some(theirs) if theirs.op != ours.op => Some(RequestPart::Operation),
        Some(theirs) if theirs.key != ours.key => Some(RequestPart::Key),
        Some(theirs) if theirs.product != ours.product => Some(RequestPart::Product),
        Some(theirs) if theirs.device_key != ours.device_key => Some(RequestPart::DeviceKey),
        Some(_) => None,
    };
    if let Some(differs) = differs {
        return Err(Untrusted::Request { differs });
    }
    check_binding(opened, binding.fingerprint, binding.license_id, binding.app)
}

/// Verifies a cached envelope. Its nonce answered an earlier request, so it proves
/// nothing now; the monotonic `iat` check is what stops an old allow coming back.
pub(crate) fn verify_cached(
    envelope: &Envelope,
    trusted: &Keyset,
    fingerprint: &Fingerprint,
    license_id: &str,
    newest_iat: i64,
    app: &ThisApp,
) -> Result<VerdictPayload, Untrusted> {
    let payload = check_binding(envelope.open_bound(trusted)?, fingerprint, license_id, app)?;
    if grants(&payload, app) && payload.iat < newest_iat {
        return Err(Untrusted::Older {
            iat: payload.iat,
            newest: newest_iat,
        });
    }
    Ok(payload)
}

fn check_binding(
    opened: Opened,
    fingerprint: &Fingerprint,
    license_id: &str,
    app: &ThisApp,
) -> Result<VerdictPayload, Untrusted> {
    let Opened {
        payload,
        names_product,
        ..
    } = opened;
    let echoed = payload.fingerprint.as_deref().unwrap_or("");
    let matches: bool = echoed
        .as_bytes()
        .ct_eq(fingerprint.as_str().as_bytes())
        .into();
    if !matches {
        return Err(Untrusted::Fingerprint);
    }
    if payload.license.id != license_id {
        return Err(Untrusted::License);
    }
    if let (Some(ours), false) = (&app.product, names_product) {
        if grants(&payload, app) {
            return Err(Untrusted::NoProduct { ours: ours.clone() });
        }
    }
    if let (Some(ours), Some(theirs)) = (&app.product, &payload.license.product) {
        if ours != theirs && payload.result.code != VerdictCode::WrongProduct {
            return Err(Untrusted::Product {
                theirs: theirs.clone(),
                ours: ours.clone(),
            });
        }
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_32_fresh_bytes() {
        let a = fresh_nonce();
        assert_ne!(a, fresh_nonce());
        assert_eq!(
            license_shared::base64url_decode(&a).unwrap().len(),
            NONCE_BYTES
        );
    }
}
