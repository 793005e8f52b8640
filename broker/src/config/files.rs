//! Private files (keys and secrets): read with the one warning about their permissions.

use std::path::Path;

use super::ConfigError;

/// Reads a private file (key or secret) and warns when others may read it too.
pub fn read_private_file(path: &Path, origin: &str) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigError::new(origin, format!("cannot read {}: {e}", path.display())))?;
    warn_if_readable_by_others(path, origin);
    Ok(bytes)
}

/// Secret files should be 0600 or tighter; wider is allowed (containers often mount
/// secrets 0644) but said out loud.
pub fn warn_if_readable_by_others(path: &Path, origin: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    setting = origin,
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "secret file is readable by group or others; chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, origin);
}
