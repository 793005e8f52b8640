//! Offline activation codes: what an air-gapped machine and the broker exchange by hand.
//!
//! Three codes, each typed, pasted or scanned (see [`text`] for the letters):
//! - a **request** ([`OfflineRequest`]): made by the machine with no network; the
//!   license key, the machine's fingerprint, the app and product, a fresh nonce, the
//!   time, and the public half of an Ed25519 key pair the machine makes for this one
//!   activation (its *device key*), whose private half it keeps with the pending
//!   request;
//! - a **response** ([`OfflineResponse`]): the broker's ordinary signed verdict
//!   envelope, bound to the request (its nonce, fingerprint and device key are
//!   signed in), carried back to the machine;
//! - a **deactivation** ([`OfflineDeactivation`]): made when the machine gives its
//!   license up without a network; signed with the device key, so the broker frees the
//!   seat only on proof from the machine that activated it.
//!
//! Every field is length-prefixed binary, so the codes stay short enough to type.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::envelope::{Envelope, ALG_ED25519, ENVELOPE_VERSION};
use crate::license_key::LicenseKey;
use crate::request::{AppInfo, ValidateRequest};

pub mod text;

/// The code format's version, the first byte of every code.
pub const CODE_VERSION: u8 = 1;
/// Random bytes in an offline request's or deactivation's nonce: the least a verdict
/// nonce may carry, since every byte is a character to type.
pub const OFFLINE_NONCE_BYTES: usize = 16;
/// Domain separation for the device key's signature over a deactivation.
pub const DEACTIVATION_CONTEXT: &[u8] = b"license-offline-deactivation/v1\0";
/// Bytes of SHA-256 over the device key that name an activation to the seat store.
const ACTIVATION_REF_BYTES: usize = 16;

/// Which code it is: the second byte, so a code pasted in the wrong place is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    Request = 1,
    Response = 2,
    Deactivation = 3,
}

impl CodeKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Request),
            2 => Some(Self::Response),
            3 => Some(Self::Deactivation),
            _ => None,
        }
    }

    /// What it is called, and where it belongs.
    fn described(self) -> &'static str {
        match self {
            Self::Request => "a request code (made by `license-check activate KEY --offline-request`; it goes to the license server)",
            Self::Response => "a response code (from the license server; it goes to `license-check activate --offline-response` on the offline machine)",
            Self::Deactivation => "a deactivation code (made by `license-check deactivate --offline`; it goes to the license server)",
        }
    }
}

/// What is wrong with a code, said so a person knows what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code is empty; paste the whole code")]
    Empty,
    #[error("group {group} has {ch:?}, which no code uses (codes are digits, letters and dashes); check that group against the original")]
    Character { ch: char, group: usize },
    /// The group's text is not repeated: a code carries the license key, and error
    /// messages reach logs.
    #[error("group {group} of {groups} (counting the dash-separated groups from the start) has a typo: its check character does not match; compare that group with the original and correct it")]
    Group { group: usize, groups: usize },
    #[error("the code is cut short or has a stray character in its last group (group {groups}); paste the whole code again")]
    Cut { groups: usize },
    #[error("the code does not read as a whole though each group checks (groups missing, doubled or swapped?); paste the whole code again")]
    Damaged,
    #[error("the code is longer than any code; paste one code only")]
    TooLong,
    #[error("the code is of format {0}, which this version does not read; update the software that reads it")]
    Version(u8),
    #[error("this is {}, but {} was expected here", .found.described(), .expected.described())]
    Kind { found: CodeKind, expected: CodeKind },
    #[error("the code's {0} is malformed; make a new code")]
    Malformed(&'static str),
    #[error("the deactivation code's signature does not verify: it was altered, or not made by the machine it names")]
    Signature,
}

/// The identity of one offline activation in the seat store: base64url of the first
/// 16 bytes of SHA-256 over the device key. Only the machine holding the device key's
/// private half can sign a deactivation that names it.
pub fn activation_ref(device_key: &[u8; 32]) -> String {
    crate::b64::encode(&Sha256::digest(device_key)[..ACTIVATION_REF_BYTES])
}

/// A request code's content. `Debug` hides the license key.
#[derive(Clone, PartialEq, Eq)]
pub struct OfflineRequest {
    pub license_key: String,
    pub fingerprint: String,
    pub app: Option<AppInfo>,
    pub product: Option<String>,
    /// Fresh random bytes; the verdict must echo them (base64url).
    pub nonce: [u8; OFFLINE_NONCE_BYTES],
    /// When the machine made the request (its own clock; informative only).
    pub created_at: i64,
    /// The public half of this activation's device key.
    pub device_key: [u8; 32],
}

impl std::fmt::Debug for OfflineRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineRequest")
            .field("license_key", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .field("app", &self.app)
            .field("product", &self.product)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl OfflineRequest {
    pub fn to_code(&self) -> String {
        let mut w = Vec::new();
        put_key(&mut w, &self.license_key);
        put_fingerprint(&mut w, &self.fingerprint);
        put_text(&mut w, self.app.as_ref().map_or("", |a| a.id.as_str()));
        put_text(&mut w, self.app.as_ref().map_or("", |a| a.version.as_str()));
        put_text(&mut w, self.product.as_deref().unwrap_or(""));
        w.extend_from_slice(&self.nonce);
        w.extend_from_slice(&self.created_at.to_be_bytes());
        w.extend_from_slice(&self.device_key);
        text::encode(CodeKind::Request, &w)
    }

    pub fn from_code(code: &str) -> Result<Self, CodeError> {
        let body = text::decode(code, CodeKind::Request)?;
        let mut r = Reader(&body);
        let license_key = r.key()?;
        let fingerprint = r.fingerprint()?;
        let (app_id, app_version) = (r.text("app id")?, r.text("app version")?);
        let product = r.text("product")?;
        let request = Self {
            license_key,
            fingerprint,
            app: (!app_id.is_empty()).then_some(AppInfo {
                id: app_id,
                version: app_version,
            }),
            product: (!product.is_empty()).then_some(product),
            nonce: r.array("nonce")?,
            created_at: i64::from_be_bytes(r.array("time")?),
            device_key: r.array("device key")?,
        };
        r.end()?;
        Ok(request)
    }

    /// The nonce as a verdict echoes it.
    pub fn nonce_text(&self) -> String {
        crate::b64::encode(&self.nonce)
    }

    /// The device key as a verdict's `request.device_key` names it.
    pub fn device_key_text(&self) -> String {
        crate::b64::encode(&self.device_key)
    }

    /// The activation this request asks for, as an online client would have sent it.
    pub fn validate_request(&self) -> ValidateRequest {
        ValidateRequest {
            license_key: self.license_key.clone(),
            nonce: self.nonce_text(),
            fingerprint: Some(self.fingerprint.clone()),
            app: self.app.clone(),
            machine_name: None,
            machine_id: None,
            product: self.product.clone(),
            borrow_days: None,
        }
    }
}

/// A response code's content: the signed envelope, stored compactly (the signature's
/// 64 bytes and the payload's bytes, not their base64 in JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineResponse {
    pub envelope: Envelope,
}

impl OfflineResponse {
    /// The code for `envelope`; `None` when its fields are not base64url (only a
    /// broken signer could make one).
    pub fn to_code(&self) -> Option<String> {
        let sig = crate::b64::decode(&self.envelope.sig).ok()?;
        let payload = crate::b64::decode(&self.envelope.payload).ok()?;
        let mut w = Vec::new();
        put_text(&mut w, &self.envelope.kid);
        put_bytes(&mut w, &sig);
        w.extend_from_slice(&payload);
        Some(text::encode(CodeKind::Response, &w))
    }

    pub fn from_code(code: &str) -> Result<Self, CodeError> {
        let body = text::decode(code, CodeKind::Response)?;
        let mut r = Reader(&body);
        let kid = r.text("key id")?;
        let sig = r.bytes("signature")?.to_vec();
        let payload = r.rest();
        Ok(Self {
            envelope: Envelope {
                v: ENVELOPE_VERSION,
                kid,
                alg: ALG_ED25519.to_owned(),
                payload: crate::b64::encode(payload),
                sig: crate::b64::encode(&sig),
            },
        })
    }
}

/// A deactivation code's content. `Debug` hides the license key.
#[derive(Clone, PartialEq, Eq)]
pub struct OfflineDeactivation {
    pub license_key: String,
    pub fingerprint: String,
    pub product: Option<String>,
    /// The public half of the device key of the activation being given up.
    pub device_key: [u8; 32],
    /// Fresh random bytes, echoed by the broker's verdict.
    pub nonce: [u8; OFFLINE_NONCE_BYTES],
    /// When the machine gave the license up (its own clock; informative only).
    pub created_at: i64,
    /// The device key's signature over [`DEACTIVATION_CONTEXT`] and every field above.
    pub signature: [u8; 64],
}

impl std::fmt::Debug for OfflineDeactivation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineDeactivation")
            .field("license_key", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .field("product", &self.product)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl OfflineDeactivation {
    /// A deactivation signed by `device` (whose public half is the activation's
    /// device key).
    pub fn signed(
        license_key: &str,
        fingerprint: &str,
        product: Option<&str>,
        nonce: [u8; OFFLINE_NONCE_BYTES],
        created_at: i64,
        device: &SigningKey,
    ) -> Self {
        let mut unsigned = Self {
            license_key: license_key.to_owned(),
            fingerprint: fingerprint.to_owned(),
            product: product.map(str::to_owned),
            device_key: device.verifying_key().to_bytes(),
            nonce,
            created_at,
            signature: [0; 64],
        };
        let message = unsigned.signed_message();
        unsigned.signature = device.sign(&message).to_bytes();
        unsigned
    }

    /// The fields, in code order, without the signature.
    fn fields(&self) -> Vec<u8> {
        let mut w = Vec::new();
        put_key(&mut w, &self.license_key);
        put_fingerprint(&mut w, &self.fingerprint);
        put_text(&mut w, self.product.as_deref().unwrap_or(""));
        w.extend_from_slice(&self.device_key);
        w.extend_from_slice(&self.nonce);
        w.extend_from_slice(&self.created_at.to_be_bytes());
        w
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut message = DEACTIVATION_CONTEXT.to_vec();
        message.extend_from_slice(&self.fields());
        message
    }

    /// Whether the device key signed every field.
    pub fn verify(&self) -> Result<(), CodeError> {
        let key = VerifyingKey::from_bytes(&self.device_key).map_err(|_| CodeError::Signature)?;
        let signature = Signature::from_bytes(&self.signature);
        key.verify(&self.signed_message(), &signature)
            .map_err(|_| CodeError::Signature)
    }

    pub fn to_code(&self) -> String {
        let mut w = self.fields();
        w.extend_from_slice(&self.signature);
        text::encode(CodeKind::Deactivation, &w)
    }

    /// Reads a code; its signature is checked by [`OfflineDeactivation::verify`].
    pub fn from_code(code: &str) -> Result<Self, CodeError> {
        let body = text::decode(code, CodeKind::Deactivation)?;
        let mut r = Reader(&body);
        let license_key = r.key()?;
        let fingerprint = r.fingerprint()?;
        let product = r.text("product")?;
        let code = Self {
            license_key,
            fingerprint,
            product: (!product.is_empty()).then_some(product),
            device_key: r.array("device key")?,
            nonce: r.array("nonce")?,
            created_at: i64::from_be_bytes(r.array("time")?),
            signature: r.array("signature")?,
        };
        r.end()?;
        Ok(code)
    }

    pub fn nonce_text(&self) -> String {
        crate::b64::encode(&self.nonce)
    }

    pub fn device_key_text(&self) -> String {
        crate::b64::encode(&self.device_key)
    }

    /// The deactivation this code asks for, as an online client would have sent it.
    pub fn validate_request(&self) -> ValidateRequest {
        ValidateRequest {
            license_key: self.license_key.clone(),
            nonce: self.nonce_text(),
            fingerprint: Some(self.fingerprint.clone()),
            app: None,
            machine_name: None,
            machine_id: None,
            product: self.product.clone(),
            borrow_days: None,
        }
    }
}

/// How a compact field is written: as bytes (the short form), or as the text it was
/// given (a value that has no short form, passed on for the broker to judge).
const AS_BYTES: u8 = 0;
const AS_TEXT: u8 = 1;
/// Bytes of a fingerprint in its short form (an HMAC-SHA-256, base64url).
const FINGERPRINT_BYTES: usize = 32;

/// A license key: its data bytes when it parses (half the characters of its text).
fn put_key(w: &mut Vec<u8>, key: &str) {
    match LicenseKey::parse(key) {
        Ok(parsed) => {
            w.push(AS_BYTES);
            put_bytes(w, &parsed.to_data());
        }
        Err(_) => {
            w.push(AS_TEXT);
            put_text(w, key);
        }
    }
}

/// A fingerprint: its 32 bytes when it is the base64url of 32 bytes, as this
/// library's fingerprints are.
fn put_fingerprint(w: &mut Vec<u8>, fingerprint: &str) {
    match crate::b64::decode(fingerprint) {
        Ok(bytes)
            if bytes.len() == FINGERPRINT_BYTES && crate::b64::encode(&bytes) == fingerprint =>
        {
            w.push(AS_BYTES);
            w.extend_from_slice(&bytes);
        }
        _ => {
            w.push(AS_TEXT);
            put_text(w, fingerprint);
        }
    }
}

/// A text field: one length byte, then UTF-8 (every field is at most 128 bytes).
fn put_text(w: &mut Vec<u8>, text: &str) {
    put_bytes(w, text.as_bytes());
}

fn put_bytes(w: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len().min(usize::from(u8::MAX));
    w.push(len as u8);
    w.extend_from_slice(&bytes[..len]);
}

/// Reads fields front to back; every shortfall names the field.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CodeError> {
        if self.0.len() < n {
            return Err(CodeError::Malformed(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], CodeError> {
        let len = self.take(1, what)?[0];
        self.take(usize::from(len), what)
    }

    fn text(&mut self, what: &'static str) -> Result<String, CodeError> {
        let bytes = self.bytes(what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| CodeError::Malformed(what))
    }

    /// A license key as [`put_key`] wrote it, in its printed form.
    fn key(&mut self) -> Result<String, CodeError> {
        match self.take(1, "license key")?[0] {
            AS_BYTES => LicenseKey::from_data(self.bytes("license key")?)
                .map(|key| key.encode())
                .map_err(|_| CodeError::Malformed("license key")),
            AS_TEXT => self.text("license key"),
            _ => Err(CodeError::Malformed("license key")),
        }
    }

    /// A fingerprint as [`put_fingerprint`] wrote it.
    fn fingerprint(&mut self) -> Result<String, CodeError> {
        match self.take(1, "fingerprint")?[0] {
            AS_BYTES => Ok(crate::b64::encode(
                &self.array::<FINGERPRINT_BYTES>("fingerprint")?,
            )),
            AS_TEXT => self.text("fingerprint"),
            _ => Err(CodeError::Malformed("fingerprint")),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodeError> {
        let bytes = self.take(N, what)?;
        Ok(bytes.try_into().expect("take returned N bytes"))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }

    fn end(&self) -> Result<(), CodeError> {
        match self.0.is_empty() {
            true => Ok(()),
            false => Err(CodeError::Malformed("length")),
        }
    }
}

#[cfg(test)]
mod tests;
