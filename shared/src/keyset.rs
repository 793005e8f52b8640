//! The verifying keys a client trusts, each under its `kid`.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::b64;

/// The `kid` of a verifying key: base64url of the first 9 bytes of SHA-256 of the raw
/// 32-byte key (12 characters). Deriving it means a kid can never name the wrong key.
pub fn kid_for(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    b64::encode(&digest[..9])
}

/// Trusted Ed25519 verifying keys by `kid`. Holding two lets the broker rotate keys
/// without locking out apps that already shipped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Keyset {
    keys: BTreeMap<String, VerifyingKey>,
}

/// Why a keyset text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysetError {
    #[error("trusted key entry {0} is not of the form kid:base64url-public-key")]
    Shape(usize),
    #[error("trusted key {kid:?} is not base64url of a 32-byte Ed25519 public key")]
    Key { kid: String },
    #[error("trusted key {kid:?} is listed twice")]
    Duplicate { kid: String },
    #[error("no trusted keys were given")]
    Empty,
}

impl Keyset {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key under the given kid, replacing any key already there.
    pub fn insert(&mut self, kid: impl Into<String>, key: VerifyingKey) {
        self.keys.insert(kid.into(), key);
    }

    /// Adds a key under its derived [`kid_for`].
    pub fn with_key(mut self, key: VerifyingKey) -> Self {
        self.insert(kid_for(&key), key);
        self
    }

    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Parses `kid:base64url[,kid:base64url…]`, the form of `LICENSE_CHECK_TRUSTED_KEYS`
    /// and of the line `license-broker keygen` prints. Whitespace around entries is ignored.
    pub fn parse(text: &str) -> Result<Self, KeysetError> {
        let mut set = Self::new();
        for (index, entry) in text.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let (kid, key) = entry.split_once(':').ok_or(KeysetError::Shape(index + 1))?;
            let (kid, key) = (kid.trim(), key.trim());
            if kid.is_empty() || key.is_empty() {
                return Err(KeysetError::Shape(index + 1));
            }
            let key = parse_public_key(key).ok_or_else(|| KeysetError::Key { kid: kid.into() })?;
            if set.keys.contains_key(kid) {
                return Err(KeysetError::Duplicate { kid: kid.into() });
            }
            set.insert(kid, key);
        }
        if set.is_empty() {
            return Err(KeysetError::Empty);
        }
        Ok(set)
    }

    /// The inverse of [`Keyset::parse`].
    pub fn to_text(&self) -> String {
        self.keys
            .iter()
            .map(|(kid, key)| format!("{kid}:{}", b64::encode(key.as_bytes())))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Reads base64url (no padding) of a 32-byte Ed25519 public key.
pub fn parse_public_key(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = b64::decode(text).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

impl fmt::Debug for Keyset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.keys.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> VerifyingKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key()
    }

    #[test]
    fn parses_what_it_prints() {
        let set = Keyset::new().with_key(key(1)).with_key(key(2));
        let text = set.to_text();
        assert_eq!(Keyset::parse(&text).unwrap(), set);
        assert_eq!(Keyset::parse(&format!(" {text} ,")).unwrap(), set);
        assert_eq!(kid_for(&key(1)).len(), 12);
        assert_ne!(kid_for(&key(1)), kid_for(&key(2)));
    }

    #[test]
    fn names_the_bad_entry() {
        assert_eq!(Keyset::parse(""), Err(KeysetError::Empty));
        assert_eq!(Keyset::parse("nocolon"), Err(KeysetError::Shape(1)));
        let good = Keyset::new().with_key(key(1)).to_text();
        assert_eq!(
            Keyset::parse(&format!("{good},k2:AAAA")),
            Err(KeysetError::Key { kid: "k2".into() })
        );
        let kid = kid_for(&key(1));
        assert_eq!(
            Keyset::parse(&format!("{good},{good}")),
            Err(KeysetError::Duplicate { kid })
        );
    }
}
