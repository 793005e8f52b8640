//! The verdict-signing key: an Ed25519 key read from PKCS#8 PEM, and its derived `kid`.
//!
//! Every response is signed afresh, so a nonce can never be answered with a signature
//! that was made for another request.
//!
//! The key is read and kept with ed25519-dalek (PKCS#8, the kid, the public key); the
//! signatures are made by ed25519-compact, the fastest Ed25519 measured on this CPU
//! (`bench-sign`, BENCHMARKS.md), from a key pair expanded once from the same seed.
//! Ed25519 is deterministic, so the signatures are byte for byte the ones
//! ed25519-dalek makes (a test holds them to it). ed25519-compact wipes its secret key
//! when the last clone of the signer is dropped, as ed25519-dalek zeroizes the seed.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{SigningKey, VerifyingKey};
use license_shared::{base64url_encode, kid_for, Envelope};
use serde::Serialize;

use crate::config::files::read_private_file;
use crate::config::ConfigError;

/// Signs verdicts. `Debug` shows the kid, never key material.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
    /// The same key for ed25519-compact, expanded once; shared by clones.
    fast: Arc<ed25519_compact::KeyPair>,
    verifying: VerifyingKey,
    kid: String,
}

impl Signer {
    pub fn new(key: SigningKey) -> Self {
        let verifying = key.verifying_key();
        let kid = kid_for(&verifying);
        let fast = Arc::new(ed25519_compact::KeyPair::from_seed(
            ed25519_compact::Seed::new(*key.as_bytes()),
        ));
        Self {
            key,
            fast,
            verifying,
            kid,
        }
    }

    /// A fresh random key (for `keygen` and tests).
    pub fn generate() -> Self {
        Self::new(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// Reads an Ed25519 PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        SigningKey::from_pkcs8_pem(pem).map(Self::new).map_err(|_| {
            "is not an Ed25519 private key in PKCS#8 PEM; create one with `license-broker keygen --out FILE`"
                .to_owned()
        })
    }

    /// Reads the key file named by `origin` (a variable name, for the error message).
    pub fn from_file(path: &Path, origin: &str) -> Result<Self, ConfigError> {
        let bytes = read_private_file(path, origin)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            ConfigError::new(origin, format!("{} is not a PEM text file", path.display()))
        })?;
        Self::from_pem(&text)
            .map_err(|problem| ConfigError::new(origin, format!("{}: {problem}", path.display())))
    }

    /// The PKCS#8 PEM text of the private key, for `keygen`.
    pub fn to_pem(&self) -> Result<String, String> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| format!("cannot encode the key as PKCS#8 PEM: {e}"))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying
    }

    /// Base64url of the raw 32-byte public key, the form clients pin.
    pub fn public_key_b64(&self) -> String {
        base64url_encode(self.verifying_key().as_bytes())
    }

    /// Signs one payload (a verdict, bound to its request as the broker sends it) under
    /// this key's kid: serialized straight into the signed
    /// buffer, signed by ed25519-compact (no per-signature noise: plain RFC 8032).
    pub fn sign<P: Serialize + ?Sized>(&self, payload: &P) -> Envelope {
        Envelope::sign_verdict_with(&self.kid, payload, |message| self.signature(message))
    }

    /// [`Signer::sign`] as the JSON body of the answer, the broker's whole work for
    /// one signed response: the base64url goes straight into the body's buffer.
    pub fn sign_json<P: Serialize + ?Sized>(&self, payload: &P) -> Vec<u8> {
        Envelope::sign_verdict_json_with(&self.kid, payload, |message| self.signature(message))
    }

    fn signature(&self, message: &[u8]) -> [u8; 64] {
        *self.fast.sk.sign(message, None)
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use license_shared::Keyset;

    #[test]
    fn pem_round_trips_and_debug_hides_the_key() {
        let signer = Signer::generate();
        let pem = signer.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        let back = Signer::from_pem(&pem).unwrap();
        assert_eq!(back.kid(), signer.kid());
        assert_eq!(back.public_key_b64(), signer.public_key_b64());
        let shown = format!("{signer:?}");
        assert!(shown.contains(signer.kid()) && shown.contains("redacted"));
        assert!(Signer::from_pem("not a key")
            .unwrap_err()
            .contains("keygen"));
    }

    #[test]
    fn signed_envelopes_open_with_the_public_key() {
        let signer = Signer::generate();
        let payload = crate::verdict::tests_support::payload();
        let envelope = signer.sign(&payload);
        assert_eq!(envelope.kid, signer.kid());
        let keys = Keyset::new().with_key(signer.verifying_key());
        assert_eq!(envelope.open(&keys).unwrap(), payload);
        // ed25519-compact signs exactly what ed25519-dalek's `SigningKey::sign` would.
        assert_eq!(
            envelope,
            Envelope::sign_verdict(&signer.key, signer.kid(), &payload)
        );
        // The body the broker sends is that same envelope.
        let body: Envelope = serde_json::from_slice(&signer.sign_json(&payload)).unwrap();
        assert_eq!(body, envelope);
    }
}
