//! Small private files: replaced atomically, read with a cap. A leaf: it knows no
//! file of ours, only how to read and write one safely.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::Path;

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

/// Whether files can be written in `dir` now: creates it (private, as
/// [`write_atomically`] does) and a temporary file in it, which is removed again.
pub(crate) fn probe_writable(dir: &Path) -> io::Result<()> {
    ensure_private_dir(dir)?;
    tempfile::NamedTempFile::new_in(dir)?.close()
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
