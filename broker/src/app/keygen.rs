//! `license-broker keygen` and `pubkey`: a new verdict-signing key written to a file
//! that is private from the start, and the line both commands print; `issue-key`.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::verdict::Signer;

/// Why keygen wrote no key. One line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error("{}", .0)]
    Encode(String),
    #[error("{} is not a file name", .0.display())]
    NotAFileName(PathBuf),
    #[error("{} already exists; pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    /// `step` says which step failed when it was not the write itself.
    #[error("cannot write {}: {step}{error}", path.display())]
    Write {
        path: PathBuf,
        step: &'static str,
        error: io::Error,
    },
}

/// `license-broker issue-key`'s arguments.
#[derive(Debug, clap::Args)]
pub struct IssueKey {
    /// The ORDS customer id the key is for.
    #[arg(long, value_name = "ID")]
    pub customer_id: String,
    /// The license row's key_serial the key is for: 0, the first key, unless the serial
    /// was raised to replace a leaked key.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub serial: u32,
    /// TOML configuration; LICENSE_BROKER_* environment variables win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl IssueKey {
    /// The license key for the customer id and serial, under the key secret the
    /// configuration names.
    pub fn key(&self) -> anyhow::Result<String> {
        use anyhow::Context as _;
        let sources = crate::Sources::from_process(self.config.as_deref())?;
        let keys = crate::load_license_keys(&sources)?;
        let id =
            license_shared::CustomerId::parse(self.customer_id.trim()).context("--customer-id")?;
        Ok(keys.mint_serial(&id, self.serial))
    }
}

/// The one line keygen and pubkey print.
pub fn key_line(signer: &Signer) -> String {
    format!(
        "kid={} public_key={}",
        signer.kid(),
        signer.public_key_b64()
    )
}

/// Writes a new key to `out` with mode 0600 from the start, so it is never briefly
/// readable, and returns its [`key_line`].
///
/// The file is opened with `create_new` (`O_CREAT|O_EXCL`), and POSIX `open()` does not
/// follow a symlink in the last component then
/// (<https://pubs.opengroup.org/onlinepubs/9799919799/functions/open.html>): a symlink
/// planted at `out` cannot redirect the key. `force` writes a new file beside `out`
/// the same way and renames it over `out`; `rename` replaces a symlink, never its target.
pub fn keygen(out: &Path, force: bool) -> Result<String, KeygenError> {
    let signer = Signer::generate();
    let pem = signer.to_pem().map_err(KeygenError::Encode)?;
    if force {
        replace_private(out, pem.as_bytes())?;
    } else {
        write_new_private(out, pem.as_bytes()).map_err(|error| {
            if error.kind() == io::ErrorKind::AlreadyExists {
                KeygenError::Exists(out.to_owned())
            } else {
                KeygenError::Write {
                    path: out.to_owned(),
                    step: "",
                    error,
                }
            }
        })?;
    }
    Ok(key_line(&signer))
}

/// `--force`: a new private file beside `out`, renamed over it.
fn replace_private(out: &Path, bytes: &[u8]) -> Result<(), KeygenError> {
    let name = out
        .file_name()
        .ok_or_else(|| KeygenError::NotAFileName(out.to_owned()))?;
    let dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let temp = dir.join(format!(
        ".{}.{:016x}.tmp",
        name.to_string_lossy(),
        rand::random::<u64>()
    ));
    let written: Result<(), (io::Error, &'static str)> = match write_new_private(&temp, bytes) {
        Ok(()) => std::fs::rename(&temp, out).map_err(|e| (e, "cannot rename it into place: ")),
        Err(e) => Err((e, "")),
    };
    written.map_err(|(error, step)| {
        let _ = std::fs::remove_file(&temp);
        KeygenError::Write {
            path: out.to_owned(),
            step,
            error,
        }
    })
}

/// Creates `path` (never following a symlink there), mode 0600, and writes `bytes`.
fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // The umask can only narrow 0600; this makes it exact.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::keygen;

    /// A symlink planted at `--out` is never followed: without `--force` keygen refuses,
    /// with it the link itself is replaced by a 0600 key and its target is untouched.
    #[cfg(unix)]
    #[test]
    fn keygen_never_follows_a_symlink() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "precious").unwrap();
        let out = dir.path().join("signing.pem");
        std::os::unix::fs::symlink(&target, &out).unwrap();
        let err = keygen(&out, false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        // A dangling link is refused too (O_EXCL does not create through it).
        let dangling = dir.path().join("dangling.pem");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(keygen(&dangling, false).is_err());
        assert!(!dir.path().join("nowhere").exists());

        keygen(&out, true).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        let meta = std::fs::symlink_metadata(&out).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(std::fs::read_to_string(&out)
            .unwrap()
            .contains("PRIVATE KEY"));
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }
}
