//! The offline lease: the last signed verdict, kept in `license.json`.
//!
//! The file holds the envelope exactly as the broker sent it (a raw JSON value, never
//! re-serialized) and a hash of the license key it answers for, never the key itself.
//! Nothing in it is trusted: every use re-verifies the signature, the fingerprint and
//! the signed times (see `verify` and `decide`). There is deliberately no unsigned
//! "cached at" time to edit.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use license_shared::Envelope;

use super::fs::{read_small, remove_if_present, write_atomically};
use super::keystore::LicenseKeyText;
use super::paths::Paths;

/// Envelopes are a few hundred bytes; a cache larger than this is not ours.
const CACHE_CAP: u64 = 64 * 1024;
const FORMAT: u8 = 1;

#[derive(Serialize)]
struct CacheFileOut<'a> {
    format: u8,
    key_hash: &'a str,
    envelope: &'a RawValue,
}

#[derive(Deserialize)]
struct CacheFileIn {
    format: u8,
    key_hash: String,
    envelope: Envelope,
}

/// A cache file that parsed; not yet verified.
#[derive(Debug, Clone)]
pub(crate) struct CachedLease {
    pub(crate) envelope: Envelope,
    pub(crate) key_hash: String,
}

/// What `license.json` held.
#[derive(Debug, Clone)]
pub(crate) enum CacheRead {
    Missing,
    /// Unreadable or not ours; treated as no cache, and the reason is shown.
    Corrupt(String),
    Present(CachedLease),
}

/// SHA-256 of the key with a domain prefix, base64url: ties the lease to the key
/// without writing the key next to it.
pub(crate) fn key_hash(key: &LicenseKeyText) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"license-check/key-hash/v1\0");
    hasher.update(key.expose().as_bytes());
    license_shared::base64url_encode(&hasher.finalize())
}

pub(crate) fn load(paths: &Paths) -> CacheRead {
    load_file(&paths.cache_file())
}

/// [`load`] from another file of the same format (a trial's saved verdict).
pub(crate) fn load_file(path: &std::path::Path) -> CacheRead {
    let bytes = match read_small(path, CACHE_CAP) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return CacheRead::Missing,
        Err(e) => return CacheRead::Corrupt(format!("{} could not be read: {e}", path.display())),
    };
    match serde_json::from_slice::<CacheFileIn>(&bytes) {
        Ok(file) if file.format == FORMAT => CacheRead::Present(CachedLease {
            envelope: file.envelope,
            key_hash: file.key_hash,
        }),
        Ok(file) => CacheRead::Corrupt(format!(
            "{} has unknown format {}",
            path.display(),
            file.format
        )),
        Err(e) => CacheRead::Corrupt(format!("{} is not a saved license ({e})", path.display())),
    }
}

/// Writes the envelope bytes as received. `raw` must be one JSON value (the caller has
/// already parsed it as an [`Envelope`]).
pub(crate) fn save(paths: &Paths, raw: &str, key_hash: &str) -> std::io::Result<()> {
    save_file(&paths.cache_file(), raw, key_hash)
}

/// [`save`] to another file of the same format (a trial's saved verdict).
pub(crate) fn save_file(path: &std::path::Path, raw: &str, key_hash: &str) -> std::io::Result<()> {
    let envelope: &RawValue = serde_json::from_str(raw)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let out = CacheFileOut {
        format: FORMAT,
        key_hash,
        envelope,
    };
    let bytes = serde_json::to_vec(&out)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    write_atomically(path, &bytes)
}

pub(crate) fn remove(paths: &Paths) -> std::io::Result<()> {
    remove_if_present(&paths.cache_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = r#"{ "v": 1, "kid": "k", "alg": "Ed25519", "payload": "cA", "sig": "cw" }"#;

    #[test]
    fn keeps_the_envelope_verbatim_and_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(dir.path());
        let key = LicenseKeyText::new("ABCDE-SECRET");
        save(&paths, RAW, &key_hash(&key)).unwrap();
        let text = std::fs::read_to_string(paths.cache_file()).unwrap();
        assert!(text.contains(RAW), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
        match load(&paths) {
            CacheRead::Present(lease) => {
                assert_eq!(lease.envelope.kid, "k");
                assert_eq!(lease.key_hash, key_hash(&key));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(dir.path());
        assert!(matches!(load(&paths), CacheRead::Missing));
        std::fs::create_dir_all(&paths.data_dir).unwrap();
        for junk in [&b"\xff\xfe"[..], b"{}", b"[1,2]", b"{\"format\":9,\"key_hash\":\"\",\"envelope\":{\"v\":1,\"kid\":\"\",\"alg\":\"\",\"payload\":\"\",\"sig\":\"\"}}"] {
            std::fs::write(paths.cache_file(), junk).unwrap();
            assert!(matches!(load(&paths), CacheRead::Corrupt(_)));
        }
    }
}
