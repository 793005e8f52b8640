//! Where the client keeps its files.
//!
//! Everything lives under `directories::ProjectDirs`, so the XDG variables are honoured
//! on Linux and the platform conventions elsewhere. [`Paths`] is a plain value so that
//! tests and embedding apps can point the client at any directory.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use directories::ProjectDirs;

/// The organisation part of the `ProjectDirs` triple; it only matters on macOS and
/// Windows, where directories are named after the vendor.
pub const ORGANIZATION: &str = "license-broker";
/// The application part of the `ProjectDirs` triple.
pub const APPLICATION: &str = "license-check";

/// The cached signed verdict.
pub const CACHE_FILE: &str = "license.json";
/// The high-water mark and the newest verified `iat`.
pub const STATE_FILE: &str = "state.json";

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

impl Paths {
    /// The platform's directories for `license-check`, e.g. on Linux
    /// `$XDG_CONFIG_HOME/license-check/config.toml` and `$XDG_DATA_HOME/license-check`.
    pub fn from_project_dirs() -> Result<Self, NoHomeDir> {
        let dirs = ProjectDirs::from("com", ORGANIZATION, APPLICATION).ok_or(NoHomeDir)?;
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
        })
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

/// Creates `dir` (private to the user on Unix) if it does not exist.
pub(crate) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
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
pub(crate) fn read_small(path: &Path, cap: u64) -> io::Result<Option<Vec<u8>>> {
    match fs::metadata(path) {
        Ok(meta) if meta.len() > cap => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {cap} bytes", path.display()),
        )),
        Ok(_) => fs::read(path).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
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
}
