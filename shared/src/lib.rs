//! The wire between the desktop client and the license broker.
//!
//! # Layout
//!
//! This crate ships inside every copy of the desktop app, so it holds only what both
//! sides must agree on byte for byte, and no HTTP, keyring or runtime code:
//!
//! - [`request`]: the body of `POST /v1/license/validate` and its input limits.
//! - [`error`]: the broker's error body, one status per error code.
//! - [`verdict`]: the signed payload, the answer a client acts on.
//! - [`envelope`]: Ed25519 signing with a domain prefix, and the verifier that
//!   checks a signature over the exact bytes received before parsing anything.
//! - [`keyset`]: the trusted verifying keys by `kid`, and how `kid`s are derived.
//! - [`offline`]: the codes an air-gapped machine and the broker exchange by hand
//!   (request, response, deactivation) and their typing-safe text.
//! - [`license_key`]: the human-friendly license key format and its typo checksum.
//!   The key's MAC is checked only by the broker, which alone holds the key secret.

pub mod envelope;
pub mod error;
pub mod keyset;
pub mod license_key;
pub mod offline;
pub mod request;
mod unicode_tables;
pub mod verdict;

pub use envelope::{
    Envelope, EnvelopeError, Opened, ALG_ED25519, ENVELOPE_VERSION, SIGNING_CONTEXT,
};
pub use error::{ErrorBody, ErrorCode};
pub use keyset::{kid_for, parse_public_key, Keyset, KeysetError};
pub use license_key::{CustomerId, LicenseKey, LicenseKeyError, MAC_LEN};
pub use offline::{
    activation_ref, CodeError, CodeKind, OfflineDeactivation, OfflineRequest, OfflineResponse,
    OFFLINE_NONCE_BYTES,
};
pub use request::{
    check_machine_name, is_product_code, AppInfo, MachineNameProblem, RequestError, TrialRequest,
    ValidateRequest, BORROW_DAYS_MAX, TRIAL_KEY,
};
pub use verdict::{
    BoundVerdict, ExpiryStrategy, LicenseInfo, MachineEntry, Machines, Policy, VerdictCode,
    VerdictPayload, VerdictRequest, VerdictResult, VERDICT_TYP,
};

/// Base64url without padding, the encoding of every binary field on the wire.
pub(crate) mod b64 {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    pub fn encode(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Appends the encoding of `bytes` to `out`, with no string of its own.
    pub fn encode_into(bytes: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + encoded_len(bytes.len()), 0);
        let written = URL_SAFE_NO_PAD
            .encode_slice(bytes, &mut out[start..])
            .expect("the buffer was sized by encoded_len");
        out.truncate(start + written);
    }

    /// How many characters the encoding of `len` bytes takes.
    pub fn encoded_len(len: usize) -> usize {
        base64::encoded_len(len, false).expect("a length that fits in memory encodes")
    }

    pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
        URL_SAFE_NO_PAD.decode(text)
    }

    /// The decoded length of `text`, decoding into a buffer of `N` on the stack (the
    /// broker checks a nonce on every request); a text longer than that is decoded
    /// once more on the heap, only to say how long it is.
    pub fn decoded_len<const N: usize>(text: &str) -> Result<usize, base64::DecodeError> {
        let mut out = [0u8; N];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
            Ok(len) => Ok(len),
            Err(base64::DecodeSliceError::DecodeError(e)) => Err(e),
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => decode(text).map(|v| v.len()),
        }
    }
}

pub use b64::{decode as base64url_decode, encode as base64url_encode};
