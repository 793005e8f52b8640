//! The `config_json` of `lc_client_new`: one JSON object, strictly read (an unknown
//! member is an error naming it, so a typo never silently changes behaviour), turned
//! into a [`LicenseClient`] with the library's builder.

use std::path::PathBuf;
use std::time::Duration;

use client::{KeyStorePolicy, Keyset, LicenseClient, MemoryKeyStore, Paths};
use serde::Deserialize;

use crate::boundary::Failure;

/// Where the license key is kept.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum KeyStoreChoice {
    /// The OS keyring (Keychain, Credential Manager, Secret Service).
    #[default]
    Os,
    /// A 0600 file in the data directory, for machines without a keyring; chosen
    /// by the app, never a silent fallback.
    File,
    /// The OS keyring when it works on this machine, else the file, chosen once when
    /// the client is made; the key store's description says which and why.
    OsElseFile,
    /// In memory only: gone when the process ends (tests, kiosks).
    Memory,
}

/// The members of `config_json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    broker_url: String,
    app_id: String,
    /// `kid:base64url[,…]`, the verdict-signing keys the app pins.
    trusted_keys: String,
    #[serde(default)]
    app_version: Option<String>,
    #[serde(default)]
    product: Option<String>,
    /// Unix seconds: when this build was made (for perpetual-fallback licenses).
    #[serde(default)]
    build_time: Option<i64>,
    #[serde(default)]
    data_dir: Option<PathBuf>,
    #[serde(default)]
    key_store: KeyStoreChoice,
    #[serde(default)]
    machine_id: Option<String>,
    /// The whole network exchange of one call, in milliseconds.
    #[serde(default)]
    timeout_ms: Option<u64>,
}

const MEMBERS: &str = "broker_url, app_id and trusted_keys (required); app_version, product, build_time, data_dir, key_store (\"os\", \"file\", \"os_else_file\" or \"memory\"), machine_id, timeout_ms";

/// Reads `json` and builds the client it describes.
pub(crate) fn client_from_json(json: &str) -> Result<LicenseClient, Failure> {
    let config: Config = serde_json::from_str(json)
        .map_err(|e| Failure::invalid(format!("config_json: {e}; its members are {MEMBERS}")))?;
    build(config)
}

fn build(config: Config) -> Result<LicenseClient, Failure> {
    let keys = Keyset::parse(&config.trusted_keys).map_err(|e| {
        Failure::invalid(format!(
            "config_json: trusted_keys is not a key list (kid:base64url[,…]): {e}"
        ))
    })?;
    let paths = match &config.data_dir {
        // The app's own data directory, as given: the lease, the marks, the key file.
        Some(dir) => Paths {
            config_file: dir.join("config.toml"),
            data_dir: dir.clone(),
        },
        None => Paths::for_app(&config.app_id).map_err(|e| Failure::invalid(e.to_string()))?,
    };
    let mut builder = LicenseClient::builder()
        .broker_url(config.broker_url)
        .app_id(config.app_id)
        .trusted_keys(keys)
        .paths(paths);
    builder = match config.key_store {
        KeyStoreChoice::Os => builder.key_store_policy(KeyStorePolicy::OsKeyring),
        // The app named it in its configuration: that is the explicit choice a file
        // store needs.
        KeyStoreChoice::File => builder
            .key_store_policy(KeyStorePolicy::File)
            .allow_file_key_store(true),
        KeyStoreChoice::OsElseFile => builder
            .key_store_policy(KeyStorePolicy::KeyringElseFile)
            .allow_file_key_store(true),
        KeyStoreChoice::Memory => builder.key_store(Box::new(MemoryKeyStore::new())),
    };
    if let Some(version) = config.app_version {
        builder = builder.app_version(version);
    }
    if let Some(product) = config.product {
        builder = builder.product(product);
    }
    if let Some(built) = config.build_time {
        builder = builder.build_time(built);
    }
    if let Some(id) = config.machine_id {
        builder = builder.machine_id(id);
    }
    if let Some(ms) = config.timeout_ms {
        builder = builder.total_timeout(Duration::from_millis(ms));
    }
    builder
        .build()
        .map_err(|e| Failure::invalid(format!("config_json: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::lc_status;

    // The Ed25519 base point: a valid public key, so only the other members are under test.
    const KEYS: &str = "k1:WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY";

    fn refused(json: &str) -> String {
        let failure = client_from_json(json).expect_err(json);
        assert_eq!(failure.status, lc_status::LC_INVALID_ARGUMENT);
        failure.message
    }

    #[test]
    fn an_unknown_member_is_named() {
        let json = format!(
            r#"{{"broker_url":"https://l.example.com","app_id":"a","trusted_keys":"{KEYS}","brokr":"x"}}"#
        );
        let message = refused(&json);
        assert!(message.contains("unknown field `brokr`"), "{message}");
        assert!(
            message.contains("broker_url, app_id and trusted_keys"),
            "{message}"
        );
    }

    #[test]
    fn required_members_wrong_types_and_bad_values_are_named() {
        assert!(refused(r#"{"app_id":"a"}"#).contains("broker_url"));
        assert!(refused("not json").contains("config_json"));
        let json = |extra: &str| {
            format!(
                r#"{{"broker_url":"https://l.example.com","app_id":"a","trusted_keys":"{KEYS}"{extra}}}"#
            )
        };
        assert!(refused(&json(r#","timeout_ms":"soon""#)).contains("timeout_ms"));
        assert!(refused(&json(r#","key_store":"cloud""#)).contains("cloud"));
        let bad_keys =
            r#"{"broker_url":"https://l.example.com","app_id":"a","trusted_keys":"k1:!!"}"#;
        assert!(refused(bad_keys).contains("trusted_keys"));
        let bad_url = format!(r#"{{"broker_url":"ftp://x","app_id":"a","trusted_keys":"{KEYS}"}}"#);
        assert!(refused(&bad_url).contains("ftp://x"));
    }

    #[test]
    fn a_full_config_builds_a_client() {
        let dir = tempfile::tempdir().unwrap();
        let json = serde_json::json!({
            "broker_url": "https://license.example.com",
            "app_id": "com.example.editor",
            "trusted_keys": KEYS,
            "app_version": "2.0.1",
            "product": "desktop-pro",
            "build_time": 1_767_261_600,
            "data_dir": dir.path(),
            "key_store": "file",
            "machine_id": "a-machine",
            "timeout_ms": 2500,
        });
        let client = client_from_json(&json.to_string()).unwrap();
        assert_eq!(client.paths().data_dir, dir.path());
        assert!(client.key_store_description().starts_with("file "));
    }
}
