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
use crate::verdict::{VerdictPayload, VerdictRequest};

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

/// Room for a typical verdict after [`SIGNING_CONTEXT`], so serializing one into the
/// signed buffer does not grow it.
const PAYLOAD_CAPACITY: usize = 512;

/// The envelope's JSON around its four string values (`kid`, `alg`, `payload`, `sig`),
/// in order, with `v` spelled in the first piece: what
/// [`Envelope::sign_verdict_json_with`] writes, and what sizes its buffer.
const FRAME: [&str; 5] = [
    r#"{"v":1,"kid":""#,
    r#"","alg":""#,
    r#"","payload":""#,
    r#"","sig":""#,
    r#""}"#,
];
const _: () = assert!(ENVELOPE_VERSION == 1, "FRAME spells the version");
const FRAME_LEN: usize = {
    let mut len = 0;
    let mut i = 0;
    while i < FRAME.len() {
        len += FRAME[i].len();
        i += 1;
    }
    len
};

/// The signed message ([`SIGNING_CONTEXT`] and the payload's JSON, serialized in place)
/// and `sign`'s signature over it.
fn sign_in_place<P: Serialize + ?Sized>(
    payload: &P,
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) -> (Vec<u8>, [u8; 64]) {
    let mut message = Vec::with_capacity(SIGNING_CONTEXT.len() + PAYLOAD_CAPACITY);
    message.extend_from_slice(SIGNING_CONTEXT);
    serde_json::to_writer(&mut message, payload).expect("a verdict always serializes");
    let signature = sign(&message);
    (message, signature)
}

/// True when `text` is a JSON string's content as it stands: base64url and the
/// characters of a kid, nothing that needs escaping. Checked without an early exit,
/// so the compiler checks many bytes at a time.
fn is_plain(text: &str) -> bool {
    text.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.') | (b == b':'))
    })
}

impl Envelope {
    /// Signs `payload` (already-serialized JSON) with `key`, labelled `kid`.
    pub fn sign(key: &SigningKey, kid: &str, payload: &[u8]) -> Self {
        let signature = key.sign(&signed_message(payload));
        Self::assemble(kid, payload, &signature.to_bytes())
    }

    /// Serializes `payload` (a [`VerdictPayload`], or a
    /// [`BoundVerdict`](crate::verdict::BoundVerdict) that names its request too) and
    /// signs it.
    pub fn sign_verdict<P: Serialize + ?Sized>(key: &SigningKey, kid: &str, payload: &P) -> Self {
        Self::sign_verdict_with(kid, payload, |message| key.sign(message).to_bytes())
    }

    /// Serializes `payload` straight into the buffer that is signed (right after
    /// [`SIGNING_CONTEXT`], so the message is never copied), signs that buffer with
    /// `sign` (any Ed25519 signer over the whole message), and encodes the envelope.
    /// The bytes signed are exactly [`signed_message`] of the payload's JSON.
    pub fn sign_verdict_with<P: Serialize + ?Sized>(
        kid: &str,
        payload: &P,
        sign: impl FnOnce(&[u8]) -> [u8; 64],
    ) -> Self {
        let (message, signature) = sign_in_place(payload, sign);
        Self::assemble(kid, &message[SIGNING_CONTEXT.len()..], &signature)
    }

    /// [`Envelope::sign_verdict_with`], returned as the JSON the broker sends: the
    /// same bytes `serde_json` makes of that envelope (same members, same order), with
    /// the base64url of the payload and of the signature written straight into the
    /// one buffer of the answer, so neither is held in a string of its own and then
    /// copied. Only a `kid` that needs JSON escaping goes through `serde_json`.
    pub fn sign_verdict_json_with<P: Serialize + ?Sized>(
        kid: &str,
        payload: &P,
        sign: impl FnOnce(&[u8]) -> [u8; 64],
    ) -> Vec<u8> {
        let (message, signature) = sign_in_place(payload, sign);
        let payload = &message[SIGNING_CONTEXT.len()..];
        if !is_plain(kid) {
            return serde_json::to_vec(&Self::assemble(kid, payload, &signature))
                .expect("an envelope always serializes");
        }
        // Sized exactly, so the body becomes `Bytes` without a second allocation.
        let mut out = Vec::with_capacity(
            FRAME_LEN
                + kid.len()
                + ALG_ED25519.len()
                + b64::encoded_len(payload.len())
                + b64::encoded_len(signature.len()),
        );
        out.extend_from_slice(FRAME[0].as_bytes());
        out.extend_from_slice(kid.as_bytes());
        out.extend_from_slice(FRAME[1].as_bytes());
        out.extend_from_slice(ALG_ED25519.as_bytes());
        out.extend_from_slice(FRAME[2].as_bytes());
        b64::encode_into(payload, &mut out);
        out.extend_from_slice(FRAME[3].as_bytes());
        b64::encode_into(&signature, &mut out);
        out.extend_from_slice(FRAME[4].as_bytes());
        debug_assert_eq!(out.len(), out.capacity());
        out
    }

    fn assemble(kid: &str, payload: &[u8], signature: &[u8; 64]) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            kid: kid.to_owned(),
            alg: ALG_ED25519.to_owned(),
            payload: b64::encode(payload),
            sig: b64::encode(signature),
        }
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
        parse_verdict(&self.verify(trusted)?)
    }

    /// [`Envelope::open`], with what the verdict's type leaves out: the signed
    /// `request` member and whether `license.product` is a member at all.
    pub fn open_bound(&self, trusted: &Keyset) -> Result<Opened, EnvelopeError> {
        #[derive(Deserialize)]
        struct Members {
            #[serde(default)]
            request: Option<VerdictRequest>,
            license: serde_json::Map<String, serde_json::Value>,
        }
        let bytes = self.verify(trusted)?;
        let payload = parse_verdict(&bytes)?;
        let members: Members =
            serde_json::from_slice(&bytes).map_err(|e| EnvelopeError::Payload(e.to_string()))?;
        Ok(Opened {
            payload,
            request: members.request,
            names_product: members.license.contains_key("product"),
        })
    }
}

/// A verified verdict, and what its type leaves out ([`Envelope::open_bound`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub payload: VerdictPayload,
    /// The request the verdict answers; `None` when the payload names none (a broker
    /// from before verdicts named their request, or a lease it signed).
    pub request: Option<VerdictRequest>,
    /// Whether `license.product` is a member, null or not. A broker from before
    /// products left it out, and its verdicts say nothing about the product; a
    /// license for no product in particular is an explicit null.
    pub names_product: bool,
}

/// The verified bytes as a coherent verdict.
fn parse_verdict(bytes: &[u8]) -> Result<VerdictPayload, EnvelopeError> {
    let payload: VerdictPayload =
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Payload(e.to_string()))?;
    if !payload.is_coherent() {
        return Err(EnvelopeError::Payload(
            "typ, result or policy times are inconsistent".into(),
        ));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict() -> VerdictPayload {
        serde_json::from_str(
            r#"{"typ":"license.validation","iat":1,"nonce":"bm9uY2Vub25jZW5vbmNlMQ","fingerprint":null,
                "result":{"valid":true,"code":"VALID"},
                "license":{"id":"1","expires_at":null,"product":null,"entitlements":[],"expiry_strategy":"REVOKE_ACCESS"},
                "policy":{"recheck_after":2,"offline_until":3}}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_wire_json_is_what_serde_makes_of_the_envelope() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let payload = verdict();
        let sign = |message: &[u8]| key.sign(message).to_bytes();
        for kid in ["k1d_-.:", "a\"b\\c\u{1}", "kid with spaces", ""] {
            let envelope = Envelope::sign_verdict_with(kid, &payload, sign);
            let json = Envelope::sign_verdict_json_with(kid, &payload, sign);
            assert_eq!(json, serde_json::to_vec(&envelope).unwrap(), "kid {kid:?}");
            let back: Envelope = serde_json::from_slice(&json).unwrap();
            assert_eq!(back, envelope);
        }
    }

    #[test]
    fn a_bound_verdict_opens_with_its_request() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let keys = Keyset::new().with_key(key.verifying_key());
        let kid = crate::kid_for(&key.verifying_key());
        let payload = verdict();
        let asked = VerdictRequest::new("activate", "KEY", None);
        let bound = crate::verdict::BoundVerdict {
            verdict: &payload,
            request: &asked,
        };
        let envelope = Envelope::sign_verdict(&key, &kid, &bound);
        let opened = envelope.open_bound(&keys).unwrap();
        assert_eq!((&opened.payload, opened.request), (&payload, Some(asked)));
        assert!(opened.names_product);
        assert_eq!(envelope.open(&keys).unwrap(), payload);
        let plain = Envelope::sign_verdict(&key, &kid, &payload);
        assert_eq!(plain.open_bound(&keys).unwrap().request, None);
        let mut old: serde_json::Value =
            serde_json::from_slice(&plain.verify(&keys).unwrap()).unwrap();
        old["license"].as_object_mut().unwrap().remove("product");
        let old = Envelope::sign(&key, &kid, old.to_string().as_bytes());
        let opened = old.open_bound(&keys).unwrap();
        assert!(!opened.names_product && opened.payload.license.product.is_none());
        let mut odd: serde_json::Value =
            serde_json::from_slice(&plain.verify(&keys).unwrap()).unwrap();
        odd["request"] = "validate".into();
        let odd = Envelope::sign(&key, &kid, odd.to_string().as_bytes());
        assert!(matches!(
            odd.open_bound(&keys),
            Err(EnvelopeError::Payload(_))
        ));
    }

    #[test]
    fn signing_into_the_buffer_signs_the_signed_message() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let payload = verdict();
        let bytes = serde_json::to_vec(&payload).unwrap();
        let mut seen = Vec::new();
        let envelope = Envelope::sign_verdict_with("kid", &payload, |message| {
            seen = message.to_vec();
            key.sign(message).to_bytes()
        });
        assert_eq!(seen, signed_message(&bytes));
        assert_eq!(envelope, Envelope::sign(&key, "kid", &bytes));
    }
}
