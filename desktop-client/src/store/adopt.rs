//! The one-time adoption of an activation from the location every app once shared
//! ([`Paths::from_project_dirs`]) into an app's own ([`Paths::for_app`]). It sits above
//! the stores because it must know each of their files.

use std::io;

use super::fs::{read_small, remove_if_present, write_atomically};
use super::keystore::{LicenseKeyText, KEY_FILE, MARKS_FILE};
use super::lease;
use super::paths::{Paths, STATE_FILE};
use crate::fingerprint::Fingerprint;

impl Paths {
    /// Moves this app's activation, once, into these paths (its own, [`for_app`]) from
    /// where earlier versions kept it: first the app's folder named after
    /// `license-broker` on macOS and Windows, then the location all apps once shared
    /// (see [`adopt_from`](Self::adopt_from) for what moves and when). `Ok(true)` when
    /// something moved.
    ///
    /// [`for_app`]: Self::for_app
    pub fn adopt_earlier(&self, app_id: &str, fingerprint: &Fingerprint) -> io::Result<bool> {
        if let Ok(vendor_named) = Paths::vendor_named_for_app(app_id) {
            if self.adopt_from(&vendor_named, fingerprint)? {
                return Ok(true);
            }
        }
        match Paths::from_project_dirs() {
            Ok(shared) => self.adopt_from(&shared, fingerprint),
            Err(_) => Ok(false),
        }
    }

    /// Moves this app's activation from `shared` (the location all apps once shared,
    /// [`from_project_dirs`](Self::from_project_dirs)) into these paths, once: only
    /// when nothing of this app is here yet, and only a lease whose signed payload is
    /// bound to `fingerprint` (which is keyed over the app id, so another app's lease
    /// stays where it is). With it go the `file` key store's key (when it is the key
    /// the lease was saved for) and copies of the clock marks. The lease is verified
    /// at every use as always; this only decides whose it is. `Ok(true)` when
    /// something moved. A lease that is not this app's is looked at once: a marker
    /// file records it.
    pub fn adopt_from(&self, shared: &Paths, fingerprint: &Fingerprint) -> io::Result<bool> {
        if shared.data_dir == self.data_dir
            || [
                self.cache_file(),
                self.state_file(),
                self.data_dir.join(ADOPTION_CHECKED),
                self.data_dir.join(KEY_FILE),
            ]
            .iter()
            .any(|path| path.exists())
        {
            return Ok(false);
        }
        let Some(lease) = read_small(&shared.cache_file(), 64 * 1024)? else {
            return Ok(false);
        };
        let Some(key_hash) = lease_for(&lease, fingerprint) else {
            write_atomically(&self.data_dir.join(ADOPTION_CHECKED), b"")?;
            return Ok(false);
        };
        for name in [STATE_FILE, MARKS_FILE] {
            if let Some(bytes) = read_small(&shared.data_dir.join(name), 4096)? {
                write_atomically(&self.data_dir.join(name), &bytes)?;
            }
        }
        let key_file = shared.data_dir.join(KEY_FILE);
        let key = read_small(&key_file, 4096)?.filter(|bytes| {
            let text = String::from_utf8_lossy(bytes).trim().to_owned();
            lease::key_hash(&LicenseKeyText::new(text)) == key_hash
        });
        if let Some(key) = &key {
            write_atomically(&self.data_dir.join(KEY_FILE), key)?;
        }
        write_atomically(&self.cache_file(), &lease)?;
        remove_if_present(&shared.cache_file())?;
        if key.is_some() {
            remove_if_present(&key_file)?;
        }
        Ok(true)
    }
}

/// Left in an app's own data directory once the shared location held a lease that is
/// not this app's, so that it is not looked at again.
const ADOPTION_CHECKED: &str = "shared-location-checked";

/// The key hash a cache file was saved under, when its envelope's payload is bound to
/// `fingerprint`. Read, not verified: every use of a lease verifies it anyway.
fn lease_for(bytes: &[u8], fingerprint: &Fingerprint) -> Option<String> {
    let file: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let payload = file.pointer("/envelope/payload")?.as_str()?;
    let payload: serde_json::Value =
        serde_json::from_slice(&license_shared::base64url_decode(payload).ok()?).ok()?;
    (payload.get("fingerprint")?.as_str()? == fingerprint.as_str())
        .then(|| file.get("key_hash")?.as_str().map(str::to_owned))
        .flatten()
}
