//! Where the client keeps its files.
//!
//! Everything lives under `directories::ProjectDirs`, so the XDG variables are honoured
//! on Linux and the platform conventions elsewhere. Each app id has directories of its
//! own, named after the app id alone on every platform ([`Paths::for_app`]): two apps on
//! one machine must not replace each other's lease, and a user looking for an app's
//! files finds them under its own name. Before that, every app shared one location
//! ([`Paths::from_project_dirs`]), and then on macOS and Windows each app's folder was
//! still named after `license-broker` (`com.license-broker.<app id>`,
//! `license-broker\<app id>`); [`Paths::adopt_earlier`] (in `adopt`) moves an
//! activation found in either once into the app's own.
//! [`Paths`] is a plain value so that tests and embedding apps can point the client at
//! any directory.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

/// The organisation part of the `ProjectDirs` triple; it only matters on macOS and
/// Windows, where directories are named after the vendor.
const ORGANIZATION: &str = "license-broker";
/// The application part of the `ProjectDirs` triple.
const APPLICATION: &str = "license-check";

/// The cached signed verdict.
const CACHE_FILE: &str = "license.json";
/// The high-water mark and the newest verified `iat`.
pub(super) const STATE_FILE: &str = "state.json";

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

    /// The platform's directories for this app id alone, named after it: for
    /// `com.example.editor` the data directory is `$XDG_DATA_HOME/com.example.editor`
    /// on Linux, `~/Library/Application Support/com.example.editor` on macOS (an app's
    /// bundle id, as macOS names these folders) and `%APPDATA%\com.example.editor\data`
    /// on Windows. The lease, the state file and the `file` key store of one app never
    /// meet another's. The default of
    /// [`LicenseClientBuilder::paths`](crate::LicenseClientBuilder::paths).
    pub fn for_app(app_id: &str) -> Result<Self, NoHomeDir> {
        let dirs = ProjectDirs::from_path(PathBuf::from(app_segment(app_id))).ok_or(NoHomeDir)?;
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    /// Where [`for_app`](Self::for_app) pointed before its folders were named after the
    /// app alone: under `license-broker` on macOS and Windows (the same place as now
    /// on Linux).
    pub(crate) fn vendor_named_for_app(app_id: &str) -> Result<Self, NoHomeDir> {
        let dirs = ProjectDirs::from("com", ORGANIZATION, &app_segment(app_id)).ok_or(NoHomeDir)?;
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

    /// The saved verdict of this machine's trial of `product` (a product code: letters,
    /// digits, `.`, `_` and `-`, so one file name).
    pub fn trial_file(&self, product: &str) -> PathBuf {
        self.data_dir.join(format!("trial-{product}.json"))
    }

    pub fn state_file(&self) -> PathBuf {
        self.data_dir.join(STATE_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_apps_folders_are_named_after_it_and_not_after_the_vendor() {
        let paths = Paths::for_app("com.example.editor").unwrap();
        for dir in [&paths.data_dir, &paths.config_file] {
            let text = dir.display().to_string();
            assert!(text.contains("com.example.editor"), "{text}");
            assert!(!text.contains(ORGANIZATION), "{text}");
        }
        let other = Paths::for_app("com.example.viewer").unwrap();
        assert_ne!(paths.data_dir, other.data_dir);
        // On Linux the XDG location is what it always was.
        if cfg!(target_os = "linux") {
            let earlier = Paths::vendor_named_for_app("com.example.editor").unwrap();
            assert_eq!(paths, earlier);
        }
    }

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
}
