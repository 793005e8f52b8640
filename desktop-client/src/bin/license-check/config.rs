//! The CLI's configuration: the environment variables it reads, the optional TOML
//! file, the key store it picks, and which verdict-signing keys are trusted. An
//! embedding app configures the client in code instead.
//!
//! Trust is the one setting that must not be overridable once a vendor has decided it:
//! when `LICENSE_CHECK_PINNED_KEYS` is set while compiling, those keys are the only
//! ones trusted and any runtime source of keys is refused (not ignored), so a user who
//! tries one learns immediately that it does not work.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use license_shared::{Keyset, KeysetError};

/// Broker address (the `--broker-url` flag wins over it).
pub const ENV_BROKER_URL: &str = "LICENSE_CHECK_BROKER_URL";
/// The app whose key, lease and seat a command works on (`--app-id` wins over it; it
/// wins over `app_id` in the config file).
pub const ENV_APP_ID: &str = "LICENSE_CHECK_APP_ID";
/// Trusted keys at run time: `kid:base64url[,kid:base64url…]`.
pub const ENV_TRUSTED_KEYS: &str = "LICENSE_CHECK_TRUSTED_KEYS";
/// `os` (default), `file` or `os_else_file`.
pub const ENV_KEYSTORE: &str = "LICENSE_CHECK_KEYSTORE";
/// A machine id used instead of the OS one (containers, cloned VMs, tests).
pub const ENV_MACHINE_ID: &str = "LICENSE_CHECK_MACHINE_ID";
/// The product code the CLI checks the license for (`product` in the file otherwise).
pub const ENV_PRODUCT: &str = "LICENSE_CHECK_PRODUCT";

/// This build's time, unix seconds: `LICENSE_CHECK_BUILD_TIME` while compiling (the
/// build sets it, e.g. to `$(date +%s)` or `SOURCE_DATE_EPOCH`), else none. Compiled
/// in, so nothing the user controls at run time moves it; a value that is not a
/// number of seconds fails the build.
pub const BUILD_TIME: Option<i64> = match option_env!("LICENSE_CHECK_BUILD_TIME") {
    Some(text) => Some(parse_unix_seconds(text)),
    None => None,
};

/// `text` as unix seconds, at compile time: only ASCII digits (at most 18), else the
/// build stops.
pub const fn parse_unix_seconds(text: &str) -> i64 {
    let bytes = text.as_bytes();
    assert!(
        !bytes.is_empty() && bytes.len() <= 18,
        "LICENSE_CHECK_BUILD_TIME must be unix seconds"
    );
    let mut value: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let digit = bytes[i];
        assert!(
            digit.is_ascii_digit(),
            "LICENSE_CHECK_BUILD_TIME must be unix seconds"
        );
        value = value * 10 + (digit - b'0') as i64;
        i += 1;
    }
    value
}

/// The keys pinned at build time, if any: `LICENSE_CHECK_PINNED_KEYS` while compiling.
pub const PINNED_KEYS: Option<&str> = option_env!("LICENSE_CHECK_PINNED_KEYS");

/// The optional TOML file at [`Paths::config_file`](license_client::Paths). Unknown members
/// are refused so a misspelt setting is not silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The broker's base URL, e.g. `https://license.example.com`.
    pub broker_url: Option<String>,
    /// Trusted verdict-signing keys, `kid:base64url[,…]`.
    pub trusted_keys: Option<String>,
    /// Connect timeout in milliseconds (default 2000).
    pub connect_timeout_ms: Option<u64>,
    /// Total timeout for the validation call in milliseconds (default 5000).
    pub total_timeout_ms: Option<u64>,
    /// The application id the fingerprint and the broker's logs use.
    pub app_id: Option<String>,
    /// The product code to check the license for, e.g. `desktop-pro`
    /// (`LICENSE_CHECK_PRODUCT` wins); none by default.
    pub product: Option<String>,
}

/// Where the trusted keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustSource {
    Pinned,
    Environment,
    ConfigFile,
}

impl TrustSource {
    /// What the CLI prints (and puts in `status --json` as `trusted_keys_source`).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Pinned => "pinned at build time",
            Self::Environment => ENV_TRUSTED_KEYS,
            Self::ConfigFile => "config file",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration file {path} is invalid: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("this build trusts only the keys pinned into it, so {source_name} may not set trusted keys; remove it")]
    PinnedOverride { source_name: String },
    #[error("the trusted keys from {source_name} are invalid: {error}")]
    Keys {
        source_name: String,
        error: KeysetError,
    },
    #[error("no trusted verdict-signing keys are configured: set {ENV_TRUSTED_KEYS} or `trusted_keys` in {}", config_file.display())]
    NoTrustedKeys { config_file: PathBuf },
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let error = |reason: String| ConfigError::File {
            path: path.to_path_buf(),
            reason,
        };
        let Some(bytes) = read_capped(path, 64 * 1024).map_err(|e| error(e.to_string()))? else {
            return Ok(Self::default());
        };
        let text = String::from_utf8(bytes).map_err(|_| error("it is not UTF-8".into()))?;
        toml::from_str(&text).map_err(|e| error(e.message().to_owned()))
    }
}

/// Reads a configuration file of at most `cap` bytes; "not there" is `None`. Only a
/// regular file (or a symlink to one) is read: a FIFO would block the open and a
/// device such as `/dev/zero` never ends, so the opened handle is checked before the
/// read, which stops at `cap + 1` bytes whatever the file claims its size is.
fn read_capped(path: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::{Error, ErrorKind};
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("{} is not a regular file", path.display()),
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("{} is larger than {cap} bytes", path.display()),
        ));
    }
    Ok(Some(bytes))
}

/// Which store the environment asked for (`LICENSE_CHECK_KEYSTORE=os|file`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStoreKind {
    Os,
    File,
    /// The OS keyring when it answers, else the file (the library's
    /// `KeyStorePolicy::KeyringElseFile`); the store's name says which and why.
    OsElseFile,
}

impl KeyStoreKind {
    /// Reads the variable's value; `None` (unset) means the OS keyring.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") | Some("os") => Ok(Self::Os),
            Some("file") => Ok(Self::File),
            Some("os_else_file") => Ok(Self::OsElseFile),
            Some(other) => Err(format!(
                "{} must be `os`, `file` or `os_else_file`, not {other:?}",
                ENV_KEYSTORE
            )),
        }
    }
}

impl KeyStoreKind {
    /// What the CLI adds to the name of the store it uses. In a build with pinned keys
    /// the `file` store is taken only because `LICENSE_CHECK_KEYSTORE=file` asked for
    /// it (the CLI then allows it in the builder), and it says what that costs.
    pub fn warning(self, pinned: bool) -> Option<&'static str> {
        match (self, pinned) {
            (Self::File, true) => Some(
                "key store: the file store was chosen with LICENSE_CHECK_KEYSTORE=file; it keeps the second copy of the clock marks next to the first, so the clock-rollback check is only as strong as this directory (unset it to use the OS keyring)",
            ),
            (Self::OsElseFile, true) => Some(
                "key store: LICENSE_CHECK_KEYSTORE=os_else_file allows the file store when the OS keyring cannot be used; it keeps the second copy of the clock marks next to the first, so the clock-rollback check is then only as strong as this directory (unset it to use the OS keyring only)",
            ),
            _ => None,
        }
    }
}

/// Picks the trusted keys: pinned (and then nothing else may be given), else the
/// environment, else the configuration file. There is no "no keys" fallback.
pub fn resolve_trusted_keys(
    pinned: Option<&str>,
    env: Option<&str>,
    file: Option<&str>,
    config_file: &Path,
) -> Result<(Keyset, TrustSource), ConfigError> {
    let env = env.filter(|text| !text.trim().is_empty());
    let file = file.filter(|text| !text.trim().is_empty());
    let parse = |text: &str, source_name: String| {
        Keyset::parse(text).map_err(|error| ConfigError::Keys { source_name, error })
    };
    if let Some(pinned) = pinned {
        if env.is_some() {
            return Err(ConfigError::PinnedOverride {
                source_name: ENV_TRUSTED_KEYS.into(),
            });
        }
        if file.is_some() {
            return Err(ConfigError::PinnedOverride {
                source_name: format!("`trusted_keys` in {}", config_file.display()),
            });
        }
        return Ok((
            parse(pinned, "the build (pinned keys)".into())?,
            TrustSource::Pinned,
        ));
    }
    if let Some(env) = env {
        return Ok((
            parse(env, ENV_TRUSTED_KEYS.into())?,
            TrustSource::Environment,
        ));
    }
    if let Some(file) = file {
        let name = format!("`trusted_keys` in {}", config_file.display());
        return Ok((parse(file, name)?, TrustSource::ConfigFile));
    }
    Err(ConfigError::NoTrustedKeys {
        config_file: config_file.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key();
        Keyset::new().with_key(key).to_text()
    }

    #[test]
    fn pinned_keys_refuse_every_override() {
        let path = Path::new("/cfg/config.toml");
        let keys = keys();
        let keys_text = keys.as_str();
        let (set, source) = resolve_trusted_keys(Some(keys_text), None, None, path).unwrap();
        assert_eq!((set.len(), source), (1, TrustSource::Pinned));
        let env = resolve_trusted_keys(Some(keys_text), Some(keys_text), None, path).unwrap_err();
        assert!(env.to_string().contains(ENV_TRUSTED_KEYS), "{env}");
        let file = resolve_trusted_keys(Some(keys_text), None, Some(keys_text), path).unwrap_err();
        assert!(matches!(file, ConfigError::PinnedOverride { .. }));
    }

    #[test]
    fn runtime_keys_env_first_and_never_none() {
        let path = Path::new("/cfg/config.toml");
        let keys = keys();
        let keys_text = keys.as_str();
        let (_, source) = resolve_trusted_keys(None, Some(keys_text), Some("junk"), path).unwrap();
        assert_eq!(source, TrustSource::Environment);
        let (_, source) = resolve_trusted_keys(None, Some(" "), Some(keys_text), path).unwrap();
        assert_eq!(source, TrustSource::ConfigFile);
        let none = resolve_trusted_keys(None, None, None, path).unwrap_err();
        assert!(none.to_string().contains("/cfg/config.toml"), "{none}");
        assert!(matches!(
            resolve_trusted_keys(None, Some("k:bad"), None, path),
            Err(ConfigError::Keys { .. })
        ));
    }

    #[test]
    fn a_pinned_build_says_what_the_file_store_costs() {
        let warning = KeyStoreKind::File.warning(true).unwrap();
        assert!(warning.contains("LICENSE_CHECK_KEYSTORE=file"), "{warning}");
        assert!(warning.contains("clock marks"), "{warning}");
        assert_eq!(KeyStoreKind::File.warning(false), None);
        assert_eq!(KeyStoreKind::Os.warning(true), None);
    }

    #[test]
    fn build_times_are_plain_seconds() {
        assert_eq!(parse_unix_seconds("1767261600"), 1_767_261_600);
        assert_eq!(parse_unix_seconds("0"), 0);
        for bad in ["", "-1", "17e8", " 1", "1234567890123456789"] {
            assert!(
                std::panic::catch_unwind(|| parse_unix_seconds(bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn kind_reads_the_variable() {
        assert_eq!(KeyStoreKind::parse(None), Ok(KeyStoreKind::Os));
        assert_eq!(KeyStoreKind::parse(Some("file")), Ok(KeyStoreKind::File));
        assert_eq!(
            KeyStoreKind::parse(Some("os_else_file")),
            Ok(KeyStoreKind::OsElseFile)
        );
        assert!(KeyStoreKind::parse(Some("vault"))
            .unwrap_err()
            .contains("os"));
    }

    #[test]
    fn config_file_is_strict_and_optional() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(ConfigFile::load(&path).unwrap(), ConfigFile::default());
        std::fs::write(
            &path,
            "broker_url = \"https://b.example\"\ntotal_timeout_ms = 3000\n",
        )
        .unwrap();
        let config = ConfigFile::load(&path).unwrap();
        assert_eq!(config.broker_url.as_deref(), Some("https://b.example"));
        assert_eq!(config.total_timeout_ms, Some(3000));
        std::fs::write(&path, "product = \"desktop-pro\"\n").unwrap();
        let config = ConfigFile::load(&path).unwrap();
        assert_eq!(config.product.as_deref(), Some("desktop-pro"));
        std::fs::write(&path, "brokr_url = 1").unwrap();
        let error = ConfigFile::load(&path).unwrap_err();
        assert!(error.to_string().contains("brokr_url"), "{error}");
    }
}
