//! The signed envelope: `{"v":1,"kid":…,"alg":"Ed25519","payload":…,"sig":…}`.
//!
//! The signature covers [`SIGNING_CONTEXT`] followed by the exact payload bytes. The
//! prefix keeps a signature made for a verdict from being valid for anything else the
//! same key might ever sign. A verifier checks the signature over the bytes it
//! received and only then parses them, so no parser ever sees unauthenticated input.

use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::keyset::Keyset;
use crate::verdict::VerdictPayload;

/// Domain separation: `license-broker/v1` and one zero byte.
pub const SIGNING_CONTEXT: &[u8] = b"license-broker/v1\0";
/// The only envelope version there is.
pub const ENVELOPE_VERSION: u8 = 1;
/// The only algorithm accepted; never taken from the envelope as a choice.
pub const ALG_ED25519: &str = "Ed25519";

/// A signed verdict as it travels and as the client caches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version, always [`ENVELOPE_VERSION`].
    pub v: u8,
    /// Which broker key signed it.
    pub kid: String,
    /// Always [`ALG_ED25519`].
    pub alg: String,
    /// Base64url (no padding) of the UTF-8 JSON [`VerdictPayload`].
    pub payload: String,
    /// Base64url (no padding) of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// Why an envelope was not accepted. None of these is a verdict: a client treats them
/// all as "the broker's answer cannot be trusted".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope version {0} is not supported (expected {ENVELOPE_VERSION})")]
    Version(u8),
    #[error("envelope algorithm {0:?} is not supported (expected {ALG_ED25519})")]
    Algorithm(String),
    #[error("envelope is signed by key {0:?}, which is not trusted")]
    UnknownKid(String),
    #[error("envelope field {0} is not valid base64url")]
    Encoding(&'static str),
    #[error("envelope signature does not verify")]
    BadSignature,
    #[error("signed payload is not a license verdict: {0}")]
    Payload(String),
}

/// The bytes an Ed25519 signature covers for this payload.
pub fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + payload.len());
    message.extend_from_slice(SIGNING_CONTEXT);
    message.extend_from_slice(payload);
    message
}

impl Envelope {
    /// Signs `payload` (already-serialized JSON) with `key`, labelled `kid`.
    pub fn sign(key: &SigningKey, kid: &str, payload: &[u8]) -> Self {
        let signature = key.sign(&signed_message(payload));
        Self {
            v: ENVELOPE_VERSION,
            kid: kid.to_owned(),
            alg: ALG_ED25519.to_owned(),
            payload: b64::encode(payload),
            sig: b64::encode(&signature.to_bytes()),
        }
    }

    /// Serializes `payload` and signs it.
    pub fn sign_verdict(key: &SigningKey, kid: &str, payload: &VerdictPayload) -> Self {
        let bytes = serde_json::to_vec(payload).expect("a verdict always serializes");
        Self::sign(key, kid, &bytes)
    }

    /// Checks version, algorithm, a trusted kid and the signature, in that order, and
    /// returns the exact payload bytes that were signed.
    pub fn verify(&self, trusted: &Keyset) -> Result<Vec<u8>, EnvelopeError> {
        if self.v != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(self.v));
        }
        if self.alg != ALG_ED25519 {
            return Err(EnvelopeError::Algorithm(self.alg.clone()));
        }
        let key = trusted
            .get(&self.kid)
            .ok_or_else(|| EnvelopeError::UnknownKid(self.kid.clone()))?;
        let payload = b64::decode(&self.payload).map_err(|_| EnvelopeError::Encoding("payload"))?;
        let sig: [u8; 64] = b64::decode(&self.sig)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(EnvelopeError::Encoding("sig"))?;
        key.verify_strict(&signed_message(&payload), &Signature::from_bytes(&sig))
            .map_err(|_| EnvelopeError::BadSignature)?;
        Ok(payload)
    }

    /// [`Envelope::verify`], then parses the verified bytes as a coherent verdict.
    pub fn open(&self, trusted: &Keyset) -> Result<VerdictPayload, EnvelopeError> {
        let bytes = self.verify(trusted)?;
        let payload: VerdictPayload =
            serde_json::from_slice(&bytes).map_err(|e| EnvelopeError::Payload(e.to_string()))?;
        if !payload.is_coherent() {
            return Err(EnvelopeError::Payload(
                "typ, result or policy times are inconsistent".into(),
            ));
        }
        Ok(payload)
    }
}
