//! Where the license key lives: the OS keyring, a private file, or memory (tests).
//!
//! The key is the one secret on the client, so it sits behind [`KeyStore`] and travels
//! as [`LicenseKeyText`], whose `Debug` never shows it. The store also keeps a second
//! copy of the high-water mark (see `state`): an end user who restores an old data
//! directory does not restore the keyring with it.
//!
//! The keyring crate's Secret Service backend blocks on D-Bus internally, so every
//! method here is blocking; async callers go through `spawn_blocking`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

use super::fs::{probe_writable, read_small, remove_if_present, write_atomically};
use super::marks::Marks;

/// The license key text as stored. Redacted in `Debug` and never part of an error.
#[derive(Clone, PartialEq, Eq)]
pub struct LicenseKeyText(String);

impl LicenseKeyText {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The key itself; call only where it is sent or stored.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LicenseKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LicenseKeyText(<redacted>)")
    }
}

/// A key store could not be used. Never carries the key.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{store}: {reason}")]
pub struct KeyStoreError {
    /// Which store, as [`KeyStore::describe`] says.
    pub store: String,
    /// What went wrong, for a person.
    pub reason: String,
}

/// Storage for the license key and the copy of the high-water mark.
pub trait KeyStore: Send + Sync {
    /// Names the store for people, e.g. "OS keyring (Secret Service)".
    fn describe(&self) -> String;
    fn get_key(&self) -> Result<Option<LicenseKeyText>, KeyStoreError>;
    fn set_key(&self, key: &LicenseKeyText) -> Result<(), KeyStoreError>;
    /// Removes the key; a key that is not there is fine.
    fn delete_key(&self) -> Result<(), KeyStoreError>;
    fn get_marks(&self) -> Result<Option<Marks>, KeyStoreError>;
    fn set_marks(&self, marks: Marks) -> Result<(), KeyStoreError>;
    /// Whether the store can be used now, asked before an activation claims a seat:
    /// a seat claimed for a key that cannot then be kept would stay held, unusable,
    /// until it lapses. The default reads the key (a keyring that is not running or
    /// is locked fails here); a store that can tell more cheaply overrides it.
    fn ready(&self) -> Result<(), KeyStoreError> {
        self.get_key().map(|_| ())
    }
    /// True for a store that keeps its copy of the marks in plain files beside the
    /// data directory's own copy ([`FileKeyStore`]): the user can then reach both
    /// copies at once. A build with pinned keys refuses such a store unless the
    /// builder allows it explicitly
    /// ([`allow_file_key_store`](crate::LicenseClientBuilder::allow_file_key_store)).
    fn is_file_store(&self) -> bool {
        false
    }
}

/// A shared store is a store, so a test or an app can keep a handle on the one it
/// gives the client.
impl<T: KeyStore + ?Sized> KeyStore for std::sync::Arc<T> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn get_key(&self) -> Result<Option<LicenseKeyText>, KeyStoreError> {
        (**self).get_key()
    }
    fn set_key(&self, key: &LicenseKeyText) -> Result<(), KeyStoreError> {
        (**self).set_key(key)
    }
    fn delete_key(&self) -> Result<(), KeyStoreError> {
        (**self).delete_key()
    }
    fn get_marks(&self) -> Result<Option<Marks>, KeyStoreError> {
        (**self).get_marks()
    }
    fn set_marks(&self, marks: Marks) -> Result<(), KeyStoreError> {
        (**self).set_marks(marks)
    }
    fn ready(&self) -> Result<(), KeyStoreError> {
        (**self).ready()
    }
    fn is_file_store(&self) -> bool {
        (**self).is_file_store()
    }
}

/// A store that forgets everything when dropped; for tests.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    inner: Mutex<(Option<LicenseKeyText>, Option<Marks>)>,
}

impl MemoryKeyStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Option<LicenseKeyText>, Option<Marks>)> {
        // A panic elsewhere cannot leave this plain data half-written.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl KeyStore for MemoryKeyStore {
    fn describe(&self) -> String {
        "in-memory store".into()
    }
    fn get_key(&self) -> Result<Option<LicenseKeyText>, KeyStoreError> {
        Ok(self.lock().0.clone())
    }
    fn set_key(&self, key: &LicenseKeyText) -> Result<(), KeyStoreError> {
        self.lock().0 = Some(key.clone());
        Ok(())
    }
    fn delete_key(&self) -> Result<(), KeyStoreError> {
        self.lock().0 = None;
        Ok(())
    }
    fn get_marks(&self) -> Result<Option<Marks>, KeyStoreError> {
        Ok(self.lock().1)
    }
    fn set_marks(&self, marks: Marks) -> Result<(), KeyStoreError> {
        self.lock().1 = Some(marks);
        Ok(())
    }
}

/// The `file` store (`LICENSE_CHECK_KEYSTORE=file` in the CLI): the key in a 0600 file
/// in the data directory, for machines without a keyring. It protects the key only as
/// well as the user's account, and it puts the second copy of the clock marks next to
/// the first, so one user with their own files can delete or restore both: a build with
/// pinned keys takes it only when chosen explicitly
/// ([`allow_file_key_store`](crate::LicenseClientBuilder::allow_file_key_store)).
#[derive(Debug, Clone)]
pub struct FileKeyStore {
    dir: PathBuf,
    /// Why this store is used instead of the OS keyring, when the app's
    /// [`KeyStorePolicy::KeyringElseFile`] chose it: part of what [`KeyStore::describe`]
    /// says, so the choice is never silent.
    chosen_because: Option<String>,
}

pub(crate) const KEY_FILE: &str = "license-key";
pub(crate) const MARKS_FILE: &str = "keystore-marks.json";

impl FileKeyStore {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: data_dir.into(),
            chosen_because: None,
        }
    }

    /// Whether this store's directory holds a key file.
    fn holds_key(&self) -> bool {
        self.dir.join(KEY_FILE).exists()
    }

    fn error(&self, reason: impl fmt::Display) -> KeyStoreError {
        KeyStoreError {
            store: self.describe(),
            reason: reason.to_string(),
        }
    }
}

impl KeyStore for FileKeyStore {
    fn describe(&self) -> String {
        let file = format!("file {}", self.dir.join(KEY_FILE).display());
        match &self.chosen_because {
            Some(why) => format!("{file} (chosen because {why})"),
            None => file,
        }
    }
    fn get_key(&self) -> Result<Option<LicenseKeyText>, KeyStoreError> {
        let bytes = read_small(&self.dir.join(KEY_FILE), 4096).map_err(|e| self.error(e))?;
        Ok(bytes.and_then(|bytes| {
            let text = String::from_utf8_lossy(&bytes).trim().to_owned();
            (!text.is_empty()).then(|| LicenseKeyText::new(text))
        }))
    }
    fn set_key(&self, key: &LicenseKeyText) -> Result<(), KeyStoreError> {
        write_atomically(&self.dir.join(KEY_FILE), key.expose().as_bytes())
            .map_err(|e| self.error(e))
    }
    fn delete_key(&self) -> Result<(), KeyStoreError> {
        remove_if_present(&self.dir.join(KEY_FILE)).map_err(|e| self.error(e))
    }
    fn get_marks(&self) -> Result<Option<Marks>, KeyStoreError> {
        let bytes = read_small(&self.dir.join(MARKS_FILE), 4096).map_err(|e| self.error(e))?;
        // An unreadable copy is no copy: the other copy and the envelopes still count.
        Ok(bytes.and_then(|bytes| Marks::decode(&bytes)))
    }
    fn set_marks(&self, marks: Marks) -> Result<(), KeyStoreError> {
        write_atomically(&self.dir.join(MARKS_FILE), &marks.encode()).map_err(|e| self.error(e))
    }
    /// The directory can take a file now (and a key file there is not a directory).
    fn ready(&self) -> Result<(), KeyStoreError> {
        probe_writable(&self.dir).map_err(|e| self.error(e))?;
        self.get_key().map(|_| ())
    }
    fn is_file_store(&self) -> bool {
        true
    }
}

/// Where the client keeps the license key when the app gives it no store of its own
/// ([`LicenseClientBuilder::key_store_policy`](crate::LicenseClientBuilder::key_store_policy)).
/// The app chooses; the client never moves to another store by itself, and
/// [`LicenseClient::key_store_description`](crate::LicenseClient::key_store_description)
/// always names the one in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyStorePolicy {
    /// The OS keyring ([`OsKeyring::for_app`]); when it cannot be used, activation
    /// refuses before claiming a seat and a check says `KEY_STORE_UNAVAILABLE`.
    #[default]
    OsKeyring,
    /// A 0600 file in the data directory ([`FileKeyStore`]), for machines without a
    /// keyring. Choosing it is the explicit opt-in a build with pinned keys needs.
    File,
    /// The OS keyring when it answers as the client is built, else the file; a key
    /// already kept in the file stays there (so that a keyring that comes back later
    /// does not hide it). The description says which one and why. Choosing it is the
    /// explicit opt-in to the file store.
    KeyringElseFile,
}

impl KeyStorePolicy {
    /// The store this policy picks for the app `app_id` with its data directory
    /// `data_dir`. `KeyringElseFile` asks the keyring once here (blocking).
    pub fn store(self, app_id: &str, data_dir: &std::path::Path) -> Box<dyn KeyStore> {
        match self {
            Self::OsKeyring => Box::new(OsKeyring::for_app(app_id)),
            Self::File => Box::new(FileKeyStore::new(data_dir)),
            Self::KeyringElseFile => {
                let mut file = FileKeyStore::new(data_dir);
                if file.holds_key() {
                    file.chosen_because = Some("it holds this app's key".into());
                    return Box::new(file);
                }
                let keyring = OsKeyring::for_app(app_id);
                match keyring.ready() {
                    Ok(()) => Box::new(keyring),
                    Err(e) => {
                        file.chosen_because =
                            Some(format!("the OS keyring could not be used: {}", e.reason));
                        Box::new(file)
                    }
                }
            }
        }
    }

    /// Whether the policy is the app's explicit choice of the file store (outright,
    /// or as the fallback).
    pub(crate) fn opts_into_file(self) -> bool {
        matches!(self, Self::File | Self::KeyringElseFile)
    }
}

/// The OS keyring through the `keyring` crate: Secret Service on Linux, the Keychain on
/// macOS, the Credential Manager on Windows.
#[derive(Debug, Clone)]
pub struct OsKeyring {
    service: String,
    /// Where an earlier `license-check` CLI kept this app's entries (the bare app id):
    /// read once, moved to `service`, and deleted with the key.
    legacy: Option<String>,
    /// What else the user can do when the keyring cannot be reached, added to that
    /// error; none by default, since only the program can say (the CLI names its
    /// `LICENSE_CHECK_KEYSTORE=file`, which an app embedding the library does not read).
    unavailable_hint: Option<String>,
}

const KEY_USER: &str = "license-key";
const MARKS_USER: &str = "high-water-mark";

impl OsKeyring {
    /// Entries are stored under `service` exactly; see [`OsKeyring::for_app`] for the
    /// store an app and the `license-check` CLI share.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            legacy: None,
            unavailable_hint: None,
        }
    }

    /// The store of the app `app_id`: service `license-check:<app id>`. The library's
    /// builder and the `license-check` CLI both use it, so a key activated with the CLI
    /// (an installer, a support session) is the app's key, and `license-check
    /// deactivate` (an uninstaller) frees the app's seat. Entries that an earlier CLI
    /// kept under the bare app id are moved here the first time they are read.
    pub fn for_app(app_id: &str) -> Self {
        Self {
            service: format!("license-check:{app_id}"),
            legacy: Some(app_id.to_owned()),
            unavailable_hint: None,
        }
    }

    /// Adds `hint` (a sentence: what else the user can do) to the error of a keyring
    /// that is not running or is locked.
    pub fn with_unavailable_hint(mut self, hint: impl Into<String>) -> Self {
        self.unavailable_hint = Some(hint.into());
        self
    }

    fn entry(&self, user: &str) -> Result<keyring::Entry, KeyStoreError> {
        self.entry_in(&self.service, user)
    }

    fn entry_in(&self, service: &str, user: &str) -> Result<keyring::Entry, KeyStoreError> {
        keyring::Entry::new(service, user).map_err(|e| self.error(e))
    }

    /// Reads `user` from the legacy service and, when it is there, moves it to ours.
    /// A legacy entry that cannot be read counts as none: the app then behaves as it
    /// did before the move existed, rather than failing over an entry it never used.
    fn adopt_legacy(&self, user: &str) -> Result<Option<String>, KeyStoreError> {
        let Some(legacy) = &self.legacy else {
            return Ok(None);
        };
        let Ok(entry) = self.entry_in(legacy, user) else {
            return Ok(None);
        };
        let Ok(value) = entry.get_password() else {
            return Ok(None);
        };
        self.set(user, &value)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(Some(value)),
            Err(e) => Err(self.error(e)),
        }
    }

    fn delete(&self, service: &str, user: &str) -> Result<(), KeyStoreError> {
        match self.entry_in(service, user)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, error: keyring::Error) -> KeyStoreError {
        let hint = match error {
            keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => {
                match &self.unavailable_hint {
                    Some(more) => format!("; is the keyring running and unlocked? {more}"),
                    None => "; is the keyring running and unlocked?".to_owned(),
                }
            }
            _ => String::new(),
        };
        KeyStoreError {
            store: self.describe(),
            reason: format!("{error}{hint}"),
        }
    }

    fn get(&self, user: &str) -> Result<Option<String>, KeyStoreError> {
        match self.entry(user)?.get_password() {
            Ok(text) => Ok(Some(text)),
            Err(keyring::Error::NoEntry) => self.adopt_legacy(user),
            Err(e) => Err(self.error(e)),
        }
    }

    fn set(&self, user: &str, value: &str) -> Result<(), KeyStoreError> {
        self.entry(user)?
            .set_password(value)
            .map_err(|e| self.error(e))
    }
}

impl KeyStore for OsKeyring {
    fn describe(&self) -> String {
        let backend = if cfg!(target_os = "macos") {
            "macOS Keychain"
        } else if cfg!(windows) {
            "Windows Credential Manager"
        } else {
            "Secret Service"
        };
        format!("OS keyring ({backend})")
    }
    fn get_key(&self) -> Result<Option<LicenseKeyText>, KeyStoreError> {
        Ok(self.get(KEY_USER)?.map(LicenseKeyText::new))
    }
    fn set_key(&self, key: &LicenseKeyText) -> Result<(), KeyStoreError> {
        self.set(KEY_USER, key.expose())
    }
    fn delete_key(&self) -> Result<(), KeyStoreError> {
        // The app's own key first, whatever happens to the legacy copy; then the legacy
        // copy, which left behind would come back at the next read (an error says so).
        self.delete(&self.service, KEY_USER)?;
        match &self.legacy {
            Some(legacy) => self.delete(legacy, KEY_USER),
            None => Ok(()),
        }
    }
    fn get_marks(&self) -> Result<Option<Marks>, KeyStoreError> {
        Ok(self
            .get(MARKS_USER)?
            .and_then(|text| Marks::decode(text.as_bytes())))
    }
    fn set_marks(&self, marks: Marks) -> Result<(), KeyStoreError> {
        let text = String::from_utf8_lossy(&marks.encode()).into_owned();
        self.set(MARKS_USER, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_key() {
        let key = LicenseKeyText::new("SECRET-KEY-123");
        assert!(!format!("{key:?}").contains("SECRET"));
    }

    #[test]
    fn an_unreachable_keyring_names_only_the_remedy_the_program_offers() {
        let unreachable = || keyring::Error::NoStorageAccess("no secret service".into());
        let library = OsKeyring::for_app("com.example.app").error(unreachable());
        assert!(
            library
                .reason
                .ends_with("is the keyring running and unlocked?"),
            "{}",
            library.reason
        );
        assert!(
            !library.reason.contains("LICENSE_CHECK"),
            "{}",
            library.reason
        );
        let cli = OsKeyring::for_app("com.example.app")
            .with_unavailable_hint("Set LICENSE_CHECK_KEYSTORE=file instead")
            .error(unreachable());
        assert!(
            cli.reason.ends_with(
                "is the keyring running and unlocked? Set LICENSE_CHECK_KEYSTORE=file instead"
            ),
            "{}",
            cli.reason
        );
        // Other failures are not about reaching the keyring: no hint.
        let other = OsKeyring::for_app("a")
            .with_unavailable_hint("X")
            .error(keyring::Error::NoEntry);
        assert!(
            !other.reason.contains('?') && !other.reason.contains('X'),
            "{}",
            other.reason
        );
    }

    #[test]
    fn file_store_round_trips_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyStore::new(dir.path().join("data"));
        assert!(store.get_key().unwrap().is_none());
        store.set_key(&LicenseKeyText::new("K-1")).unwrap();
        assert_eq!(store.get_key().unwrap().unwrap().expose(), "K-1");
        let marks = Marks {
            high_water: 10,
            newest_iat: 9,
        };
        store.set_marks(marks).unwrap();
        assert_eq!(store.get_marks().unwrap(), Some(marks));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(dir.path().join("data").join(KEY_FILE)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        store.delete_key().unwrap();
        store.delete_key().unwrap();
        assert!(store.get_key().unwrap().is_none());
    }
}
