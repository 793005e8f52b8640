//! Where the OAuth client secret comes from: a file (preferred, so it can be rotated
//! without a restart) or an environment variable. Never the command line.

use std::path::PathBuf;

use secrecy::SecretString;

/// The configured origin of the client secret. `Debug` shows the path, never a value.
#[derive(Clone)]
pub enum SecretSource {
    /// Read from this file; re-read after ORDS rejects the credentials, so a rotated
    /// secret heals itself.
    File(PathBuf),
    /// Given in the environment; cannot change while the broker runs.
    Value(SecretString),
}

/// Why the secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the client secret file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the client secret file {0} is empty")]
    Empty(PathBuf),
}

impl SecretSource {
    /// The current secret, with surrounding whitespace (a trailing newline) removed.
    pub fn read(&self) -> Result<SecretString, SecretError> {
        match self {
            Self::Value(secret) => Ok(secret.clone()),
            Self::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read {
                    path: path.clone(),
                    source,
                })?;
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    return Err(SecretError::Empty(path.clone()));
                }
                Ok(SecretString::from(trimmed.to_owned()))
            }
        }
    }
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn reads_trimmed_file_and_never_debugs_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "SENTINEL_SECRET_x..\n").unwrap();
        let source = SecretSource::File(path.clone());
        assert_eq!(
            source.read().unwrap().expose_secret(),
            "SENTINEL_SECRET_x.."
        );
        std::fs::write(&path, " \n").unwrap();
        assert!(matches!(source.read(), Err(SecretError::Empty(_))));
        let value = SecretSource::Value(SecretString::from("SENTINEL_SECRET_y"));
        assert!(!format!("{value:?}").contains("SENTINEL"));
    }
}
