//! Where the client keeps its files.
//!
//! Everything lives under `directories::ProjectDirs`, so the XDG variables are honoured
//! on Linux and the platform conventions elsewhere. Each app id has directories of its
//! own ([`Paths::for_app`]): two apps on one machine must not replace each other's
//! lease. Before that, every app shared one location ([`Paths::from_project_dirs`]);
//! [`Paths::adopt_from`] moves an activation found there once into the app's own.
//! [`Paths`] is a plain value so that tests and embedding apps can point the client at
//! any directory.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use directories::ProjectDirs;

use crate::fingerprint::Fingerprint;
use crate::keystore::{LicenseKeyText, KEY_FILE, MARKS_FILE};

/// The organisation part of the `ProjectDirs` triple; it only matters on macOS and
/// Windows, where directories are named after the vendor.
const ORGANIZATION: &str = "license-broker";
/// The application part of the `ProjectDirs` triple.
const APPLICATION: &str = "license-check";

/// The cached signed verdict.
const CACHE_FILE: &str = "license.json";
/// The high-water mark and the newest verified `iat`.
const STATE_FILE: &str = "state.json";

/// The two locations the client uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The TOML configuration file (it need not exist).
    pub config_file: PathBuf,
    /// The directory for the cached verdict, the state file and the `file` key store.
    pub data_dir: PathBuf,
}

/// The platform gave no home directory to derive the paths from.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot find a home directory for the configuration and data files: set HOME (or XDG_CONFIG_HOME and XDG_DATA_HOME)")]
pub struct NoHomeDir;

/// The path segment of an app id: `a`–`z`, `0`–`9`, `.` and `-` as they are, every
/// other byte (upper case, `/`, `\`, `:`, `_`, …, and a leading `.`) as `_` and two
/// hex digits. Distinct ids never share a directory, also on case-insensitive file
/// systems, and no id leaves the platform's data directory. `license-check` (the CLI's
/// default id) keeps the directory it always had.
pub(crate) fn app_segment(app_id: &str) -> String {
    let mut segment = String::with_capacity(app_id.len());
    for (i, byte) in app_id.bytes().enumerate() {
        let plain = byte.is_ascii_lowercase()
            || byte.is_ascii_digit()
            || byte == b'-'
            || (byte == b'.' && i > 0);
        if plain {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("_{byte:02x}"));
        }
    }
    segment
}

impl Paths {
    /// The location every app shared before each had its own: the platform's
    /// directories for `license-check`, e.g. on Linux
    /// `$XDG_CONFIG_HOME/license-check/config.toml` and `$XDG_DATA_HOME/license-check`.
    /// The CLI reads its configuration file here; an app reads it only to move an old
    /// activation out ([`adopt_from`](Self::adopt_from)). For an app's own files use
    /// [`for_app`](Self::for_app).
    pub fn from_project_dirs() -> Result<Self, NoHomeDir> {
        let dirs = ProjectDirs::from("com", ORGANIZATION, APPLICATION).ok_or(NoHomeDir)?;
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    /// The platform's directories for this app id alone, e.g. on Linux
    /// `$XDG_DATA_HOME/com.example.editor`: the lease, the state file and the `file`
    /// key store of one app never meet another's. The default of
    /// [`LicenseClientBuilder::paths`](crate::LicenseClientBuilder::paths).
    pub fn for_app(app_id: &str) -> Result<Self, NoHomeDir> {
        let dirs = ProjectDirs::from("com", ORGANIZATION, &app_segment(app_id)).ok_or(NoHomeDir)?;
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
        })
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
            crate::cache::key_hash(&LicenseKeyText::new(text)) == key_hash
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

    /// Both files under one directory; convenient for tests and portable installs.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            config_file: dir.join("config.toml"),
            data_dir: dir.join("data"),
        }
    }

    pub fn cache_file(&self) -> PathBuf {
        self.data_dir.join(CACHE_FILE)
    }

    pub fn state_file(&self) -> PathBuf {
        self.data_dir.join(STATE_FILE)
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

/// Creates `dir` (private to the user on Unix) if it does not exist.
fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file,
/// never a torn one: a temporary file in the same directory (mode 0600), fsync, rename,
/// then fsync of the directory so the rename itself survives a power cut.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no directory"))?;
    ensure_private_dir(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Reads a small file, treating "not there" as `None`. Anything larger than `cap` is an
/// error: our files are a few hundred bytes, and a huge one is not ours.
///
/// Only a regular file (or a symlink to one) is read. A FIFO would block the open and
/// the read, and a device such as `/dev/zero` never ends, so both are refused before
/// opening; the opened handle is checked again (the path may have changed in between),
/// and the read itself stops at `cap + 1` bytes whatever the file claims its size is.
pub(crate) fn read_small(path: &Path, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let not_regular = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a regular file", path.display()),
        )
    };
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return Err(not_regular()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {cap} bytes", path.display()),
        ));
    }
    Ok(Some(bytes))
}

/// Removes a file; a file that is already gone is fine.
pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_app_id_has_a_segment_of_its_own() {
        assert_eq!(app_segment("license-check"), APPLICATION);
        assert_eq!(app_segment("com.example.editor"), "com.example.editor");
        let ids = [
            "com.example.Editor",
            "com.example.editor",
            "../../etc",
            ".hidden",
            "a/b",
            "a_2fb",
            "a\\b",
            "C:x",
        ];
        let segments: Vec<String> = ids.iter().map(|id| app_segment(id)).collect();
        for (i, a) in segments.iter().enumerate() {
            assert!(!a.contains(['/', '\\', ':']) && !a.starts_with('.'), "{a}");
            assert_eq!(a, &a.to_lowercase(), "{a}");
            for b in &segments[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn atomic_write_replaces_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(read_small(&path, 10).unwrap().unwrap(), b"two");
        assert!(read_small(&path, 2).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Only the target is left behind: no stray temporary files.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
        remove_if_present(&path).unwrap();
        remove_if_present(&path).unwrap();
        assert!(read_small(&path, 10).unwrap().is_none());
    }

    /// Runs `read_small` on another thread and gives up after a few seconds, so that
    /// a read that blocks fails the test instead of hanging it.
    #[cfg(unix)]
    fn read_with_deadline(path: &Path) -> io::Result<Option<Vec<u8>>> {
        let (tx, rx) = std::sync::mpsc::channel();
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            let _ = tx.send(read_small(&path, 4096));
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("read_small blocked")
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("state.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let error = read_with_deadline(&fifo).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_a_device_is_refused_and_reads_stay_capped() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("license.json");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let error = read_with_deadline(&link).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");

        // A symlink to a regular file is read, within the cap.
        let target = dir.path().join("target");
        fs::write(&target, vec![b'x'; 5000]).unwrap();
        let link = dir.path().join("state.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(read_with_deadline(&link).is_err(), "over the cap");
        fs::write(&target, b"{}").unwrap();
        assert_eq!(read_with_deadline(&link).unwrap().unwrap(), b"{}");
    }
}
