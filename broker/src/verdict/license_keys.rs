//! Minting and checking license keys: the MAC is
//! `HMAC-SHA256(key_secret, "license-key/v1\0" || customer_id)` for serial 0 (every key
//! issued before serials), and
//! `HMAC-SHA256(key_secret, "license-key/v1\0" || customer_id || "\0" || serial)` (the
//! serial as 4 big-endian bytes) for a later one, truncated to 128 bits. A customer id
//! never holds a zero byte, so the two forms never meet. The serial is the license
//! row's `key_serial`: bumping it there replaces a leaked key, and a key whose serial
//! is not the row's licenses nothing (see `verdict::seats`).
//!
//! The broker needs no table of issued keys, and a key for one customer cannot be
//! turned into a key for another. The check runs before anything else touches the
//! request, in constant time, so a forged key costs one HMAC and never reaches ORDS.

use std::fmt;
use std::path::Path;

use hmac::{Hmac, Mac};
use license_shared::{CustomerId, LicenseKey, MAC_LEN};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::files::read_private_file;
use crate::config::ConfigError;

/// Domain separation, so this secret's MACs mean "license key" and nothing else.
const DOMAIN: &[u8] = b"license-key/v1\0";
/// Domain separation for machine hashes: the same secret, a different meaning.
const MACHINE_DOMAIN: &[u8] = b"seat-machine/v1\0";
/// Domain separation for trial keys: the same secret, a third meaning.
const TRIAL_DOMAIN: &[u8] = b"trial-machine/v1\0";
/// Fewest bytes a key secret may have: 256 bits, so the 128-bit MAC is the weak link.
pub(super) const MIN_SECRET_BYTES: usize = 32;

/// Holds the key secret. `Debug` never shows it.
#[derive(Clone)]
pub struct LicenseKeys {
    /// HMAC-SHA256 already keyed with the secret: cloning it per key saves hashing the
    /// secret into the inner and outer pads on every request.
    keyed: Hmac<Sha256>,
}

impl LicenseKeys {
    /// Refuses secrets shorter than [`MIN_SECRET_BYTES`] or made of very few distinct
    /// bytes (`aaaa…`), which would make every key guessable.
    pub fn new(secret: Vec<u8>) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the key secret has {} bytes, at least {MIN_SECRET_BYTES} random bytes are needed; create one with `head -c 32 /dev/urandom | base64 > FILE`",
                secret.len()
            ));
        }
        if let Some(why) = weakness(&secret) {
            return Err(format!(
                "the key secret is guessable ({why}), so every license key minted under it could be forged; create a random one with `head -c 32 /dev/urandom | base64 > FILE`"
            ));
        }
        let secret = SecretSlice::from(secret);
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret())
            .expect("HMAC accepts keys of any length");
        Ok(Self { keyed })
    }

    /// Reads the secret file; surrounding whitespace (a trailing newline) is not part of it.
    pub fn from_file(path: &Path, origin: &str) -> Result<Self, ConfigError> {
        let bytes = read_private_file(path, origin)?;
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
        let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace());
        let trimmed = match (start, end) {
            (Some(s), Some(e)) => bytes[s..=e].to_vec(),
            _ => Vec::new(),
        };
        Self::new(trimmed)
            .map_err(|problem| ConfigError::new(origin, format!("{}: {problem}", path.display())))
    }

    fn mac(&self, customer_id: &CustomerId, serial: u32) -> [u8; MAC_LEN] {
        let mut mac = self.keyed.clone();
        mac.update(DOMAIN);
        mac.update(customer_id.as_str().as_bytes());
        if serial != 0 {
            mac.update(b"\0");
            mac.update(&serial.to_be_bytes());
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The machine's identity in the vendor's database: `HMAC-SHA256(key_secret,
    /// "seat-machine/v1\0" || customer_id || "\0" || fingerprint)` in hex. Keyed, so
    /// the database never holds a value that maps back to a machine id; per license, so
    /// one machine's seats under two licenses cannot be linked.
    pub fn machine_hash(&self, customer_id: &CustomerId, fingerprint: &str) -> String {
        self.keyed_hex(MACHINE_DOMAIN, customer_id.as_str(), fingerprint)
    }

    /// The machine's key in the trials table: `HMAC-SHA256(key_secret,
    /// "trial-machine/v1\0" || product || "\0" || fingerprint)` in hex. Keyed, so the
    /// table holds nothing that maps back to a machine; the same for a reinstall (the
    /// fingerprint is derived from the OS machine id), so a trial is not reset by one.
    pub fn trial_key(&self, product: &str, fingerprint: &str) -> String {
        self.keyed_hex(TRIAL_DOMAIN, product, fingerprint)
    }

    fn keyed_hex(&self, domain: &[u8], scope: &str, fingerprint: &str) -> String {
        use std::fmt::Write as _;
        let mut mac = self.keyed.clone();
        mac.update(domain);
        mac.update(scope.as_bytes());
        mac.update(b"\0");
        mac.update(fingerprint.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .fold(String::with_capacity(64), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }

    /// The printed license key for `customer_id`, serial 0 (the first key).
    pub fn mint(&self, customer_id: &CustomerId) -> String {
        self.mint_serial(customer_id, 0)
    }

    /// The printed license key for `customer_id` and the row's `key_serial` `serial`.
    pub fn mint_serial(&self, customer_id: &CustomerId, serial: u32) -> String {
        let mac = self.mac(customer_id, serial);
        LicenseKey::with_serial(customer_id.clone(), serial, mac).encode()
    }

    /// True when the key's MAC is the one this secret gives its customer id and
    /// serial, compared in constant time so timing reveals nothing about how close a
    /// forgery came. (Whether the serial is the row's is decided after the lookup.)
    pub fn verify(&self, key: &LicenseKey) -> bool {
        self.mac(key.customer_id(), key.serial())
            .ct_eq(key.mac())
            .into()
    }
}

/// Why a secret of the right length is still guessable, if it is: a short block
/// repeated (`12345678` four times), a run (`0123…`, `abcd…`), or too little variety
/// to hold 128 bits. Any secret read from `/dev/urandom` passes: base64 or hex of 32
/// random bytes carries about 190 or 250 bits by this estimate.
fn weakness(secret: &[u8]) -> Option<&'static str> {
    let len = secret.len();
    if (1..=len / 2).any(|period| secret.iter().zip(&secret[period..]).all(|(a, b)| a == b)) {
        return Some("it repeats a shorter block");
    }
    let steps = secret
        .windows(2)
        .filter(|w| w[1].wrapping_sub(w[0]) <= 1 || w[0].wrapping_sub(w[1]) == 1)
        .count();
    if steps * 2 >= len {
        return Some("it is mostly a run of neighbouring characters");
    }
    let mut counts = [0usize; 256];
    secret.iter().for_each(|&b| counts[usize::from(b)] += 1);
    let bits: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len as f64;
            -p * p.log2() * len as f64
        })
        .sum();
    if bits < 128.0 {
        return Some("it uses too few distinct characters");
    }
    None
}

impl fmt::Debug for LicenseKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LicenseKeys(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(seed: u8) -> LicenseKeys {
        LicenseKeys::new(
            (0..32u8)
                .map(|i| i.wrapping_mul(7).wrapping_add(seed))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn minted_keys_verify_and_forgeries_do_not() {
        let keys = keys(1);
        let id = CustomerId::parse("1").unwrap();
        let key = LicenseKey::parse(&keys.mint(&id)).unwrap();
        assert_eq!(key.customer_id(), &id);
        assert!(keys.verify(&key));
        // The same MAC moved to another customer id, a flipped bit, another secret.
        let moved = LicenseKey::new(CustomerId::parse("2").unwrap(), *key.mac());
        assert!(!keys.verify(&moved));
        let mut mac = *key.mac();
        mac[15] ^= 1;
        assert!(!keys.verify(&LicenseKey::new(id.clone(), mac)));
        assert!(!self::keys(2).verify(&key));
    }

    #[test]
    fn serial_0_keys_are_the_keys_issued_before_serials_and_serials_are_signed() {
        let keys = keys(1);
        let id = CustomerId::parse("42").unwrap();
        // Today's key, computed by hand: HMAC over the domain and the id only.
        let mut mac = keys.keyed.clone();
        mac.update(DOMAIN);
        mac.update(b"42");
        let full = mac.finalize().into_bytes();
        let before = LicenseKey::new(id.clone(), full[..MAC_LEN].try_into().unwrap());
        assert_eq!(keys.mint(&id), before.encode());
        assert_eq!(keys.mint_serial(&id, 0), before.encode());
        let second = LicenseKey::parse(&keys.mint_serial(&id, 1)).unwrap();
        assert_eq!(second.serial(), 1);
        assert!(keys.verify(&second));
        assert_ne!(second.mac(), before.mac());
        // A serial moved onto another key's MAC does not verify.
        let moved = LicenseKey::with_serial(id.clone(), 2, *second.mac());
        assert!(!keys.verify(&moved));
        let moved = LicenseKey::with_serial(id, 1, *before.mac());
        assert!(!keys.verify(&moved));
    }

    #[test]
    fn weak_secrets_are_refused_with_a_fix() {
        let short = LicenseKeys::new(vec![1; 31]).unwrap_err();
        assert!(
            short.contains("31 bytes") && short.contains("/dev/urandom"),
            "{short}"
        );
        assert!(LicenseKeys::new(vec![b'a'; 64])
            .unwrap_err()
            .contains("guessable"));
        for guessable in [
            "12345678".repeat(4),
            "0123456789abcdefghijklmnopqrstuv".to_owned(),
            "abababababababababababababababab".to_owned(),
            "passwordpasswordpasswordpassword".to_owned(),
            "aaaaaaaabbbbbbbbccccccccdddddddd".to_owned(),
        ] {
            let err = LicenseKeys::new(guessable.clone().into_bytes()).unwrap_err();
            assert!(
                err.contains("guessable") && err.contains("/dev/urandom"),
                "{guessable}: {err}"
            );
        }
        // What the documented command makes, and hex of random bytes, pass.
        for random in [
            "q2Xb7Tn0rVwLk9Pz4Hs1Yc8Dm3Fg6Ja5Ue2Ri7Wo0Ql",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ] {
            assert!(
                LicenseKeys::new(random.as_bytes().to_vec()).is_ok(),
                "{random}"
            );
        }
        assert_eq!(format!("{:?}", keys(1)), "LicenseKeys(<redacted>)");
    }

    #[test]
    fn file_secret_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "Zx8Qm3Vt6Wp1Ls4Kd9Hf2Jr7Bn5Cg0Ye\n").unwrap();
        let a = LicenseKeys::from_file(&path, "X").unwrap();
        let b = LicenseKeys::new(b"Zx8Qm3Vt6Wp1Ls4Kd9Hf2Jr7Bn5Cg0Ye".to_vec()).unwrap();
        let id = CustomerId::parse("7").unwrap();
        assert_eq!(a.mint(&id), b.mint(&id));
        std::fs::write(&path, "short\n").unwrap();
        let err = LicenseKeys::from_file(&path, "X").unwrap_err().to_string();
        assert!(err.starts_with("X: ") && err.contains("5 bytes"), "{err}");
    }
}
