//! What an operator sees for the usual first-hour mistakes: each is one line naming
//! the variable (or TOML key) to fix, before anything listens.

use std::collections::HashMap;
use std::path::Path;

use crate::config::vars as var;
use crate::config::{unknown_variables, ConfigError, Sources};
use crate::Config;

/// A signing key made for these tests only (`openssl genpkey -algorithm ed25519`): a
/// fixed file keeps the settings tests off the verdict module, which sits above config.
const TEST_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGJwSKVGXTy7/1/TmDBD/PnkIwXZKQdmLom8fhznE/at
-----END PRIVATE KEY-----
";

fn write_keys(dir: &Path) {
    std::fs::write(dir.join("signing.pem"), TEST_SIGNING_KEY).unwrap();
    std::fs::write(dir.join("key-secret"), "k7Qp2vX9mR4tL8wZ3nB6cF1hJ5sD0gYe\n").unwrap();
    std::fs::write(dir.join("client-secret"), "SENTINEL_SECRET_ops\n").unwrap();
}

fn load(file: Option<&Path>, env: &[(&str, String)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let sources = Sources::new(file, move |name| env.get(name).cloned())?;
    Config::from_sources(&sources)
}

fn base_env(dir: &Path) -> Vec<(&'static str, String)> {
    let at = |name: &str| dir.join(name).display().to_string();
    vec![
        (var::ORDS_BASE_URL, "https://ords.example/ords/page".into()),
        (var::CLIENT_ID, "license_backend_client".into()),
        (var::CLIENT_SECRET_FILE, at("client-secret")),
        (var::SIGNING_KEY_FILE, at("signing.pem")),
        (var::KEY_SECRET_FILE, at("key-secret")),
    ]
}

#[test]
fn a_missing_client_secret_file_stops_the_load_naming_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    write_keys(dir.path());
    assert!(load(None, &base_env(dir.path())).is_ok());
    std::fs::remove_file(dir.path().join("client-secret")).unwrap();
    let err = load(None, &base_env(dir.path())).unwrap_err().to_string();
    assert!(
        err.starts_with("LICENSE_BROKER_CLIENT_SECRET_FILE: cannot read"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    // An empty file is as useless as a missing one.
    std::fs::write(dir.path().join("client-secret"), "\n").unwrap();
    let err = load(None, &base_env(dir.path())).unwrap_err();
    assert_eq!(err.name, var::CLIENT_SECRET_FILE);
    assert!(err.problem.contains("empty"), "{err}");
}

#[test]
fn tls_files_are_read_and_parsed_at_load() {
    let dir = tempfile::tempdir().unwrap();
    write_keys(dir.path());
    let mut env = base_env(dir.path());
    env.push((var::TLS_CERT_FILE, "/nonexist".into()));
    env.push((
        var::TLS_KEY_FILE,
        dir.path().join("key-secret").display().to_string(),
    ));
    let err = load(None, &env).unwrap_err();
    assert_eq!(err.name, var::TLS_CERT_FILE, "{err}");
    assert!(err.problem.contains("/nonexist"), "{err}");

    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    let mut env = base_env(dir.path());
    env.push((
        var::TLS_CERT_FILE,
        dir.path().join("cert.pem").display().to_string(),
    ));
    env.push((
        var::TLS_KEY_FILE,
        dir.path().join("key-secret").display().to_string(),
    ));
    let err = load(None, &env).unwrap_err();
    assert_eq!(err.name, var::TLS_KEY_FILE, "{err}");

    std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let mut env = base_env(dir.path());
    env.push((
        var::TLS_CERT_FILE,
        dir.path().join("cert.pem").display().to_string(),
    ));
    env.push((
        var::TLS_KEY_FILE,
        dir.path().join("key.pem").display().to_string(),
    ));
    assert!(load(None, &env).unwrap().edge.tls.is_some());
}

#[test]
fn relative_paths_in_the_file_resolve_against_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    write_keys(&conf);
    let file = conf.join("broker.toml");
    std::fs::write(
        &file,
        "ords_base_url = \"https://ords.example/ords/page\"\nclient_id = \"c\"\nclient_secret_file = \"client-secret\"\nsigning_key_file = \"./signing.pem\"\nkey_secret_file = \"key-secret\"\n",
    )
    .unwrap();
    // The working directory is not `conf`, and the load still finds every file.
    let config = load(Some(&file), &[]).unwrap();
    assert_eq!(
        format!("{:?}", config.client_secret),
        format!("File({:?})", conf.join("client-secret"))
    );
    // A relative path from the environment stays relative to the working directory.
    let err = load(
        Some(&file),
        &[(var::SIGNING_KEY_FILE, "signing.pem".to_owned())],
    )
    .unwrap_err();
    assert_eq!(err.name, var::SIGNING_KEY_FILE, "{err}");
}

#[test]
fn a_typo_in_a_variable_is_named_with_the_closest_setting() {
    let warnings = unknown_variables([
        "LICENSE_BROKER_CLIENTID",
        "LICENSE_BROKER_CLIENT_ID",
        "LICENSE_BROKER_ORDS_BASEURL",
        "PATH",
    ]);
    assert_eq!(
        warnings,
        [
            "LICENSE_BROKER_CLIENTID is not a setting and is ignored; did you mean LICENSE_BROKER_CLIENT_ID?",
            "LICENSE_BROKER_ORDS_BASEURL is not a setting and is ignored; did you mean LICENSE_BROKER_ORDS_BASE_URL?",
        ]
    );
}

#[test]
fn the_metrics_listener_is_an_address() {
    let dir = tempfile::tempdir().unwrap();
    write_keys(dir.path());
    let mut env = base_env(dir.path());
    env.push((var::METRICS_LISTEN, "127.0.0.1:9090".into()));
    let config = load(None, &env).unwrap();
    assert_eq!(
        config.metrics_listen,
        Some("127.0.0.1:9090".parse().unwrap())
    );
    let mut env = base_env(dir.path());
    env.push((var::METRICS_LISTEN, "9090".into()));
    assert_eq!(load(None, &env).unwrap_err().name, var::METRICS_LISTEN);
}

/// `deploy/broker.toml` is [`super::example_toml`]: rewrite it with
/// `WRITE_DEPLOY_EXAMPLE=1 cargo test -p license-broker --lib example_toml`.
#[test]
fn example_toml_matches_the_table_and_parses_once_uncommented() {
    let expected = super::example_toml();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/broker.toml");
    if std::env::var_os("WRITE_DEPLOY_EXAMPLE").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    if actual != expected {
        println!("{expected}");
        panic!("deploy/broker.toml differs from config::vars::TABLE (printed above)");
    }
    // Every commented setting, uncommented, is valid TOML the loader accepts.
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials").tap_mkdir();
    write_keys(&credentials);
    for (from, to) in [
        ("client-secret", "client_secret"),
        ("signing.pem", "signing_key.pem"),
        ("key-secret", "key_secret"),
    ] {
        std::fs::rename(credentials.join(from), credentials.join(to)).unwrap();
    }
    let uncommented: String = expected
        .lines()
        .filter_map(|l| l.strip_prefix('#').filter(|l| l.contains(" = ")))
        .filter(|l| !l.starts_with("tls_") && !l.starts_with("token_url"))
        .map(|l| format!("{l}\n"))
        .collect();
    let file = dir.path().join("broker.toml");
    std::fs::write(&file, uncommented).unwrap();
    let config = load(Some(&file), &[]).unwrap();
    assert_eq!(config.client_id, "license_backend_client");
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn a_seat_setting_the_seats_package_would_refuse_names_its_toml_key() {
    let dir = tempfile::tempdir().unwrap();
    write_keys(dir.path());
    let file = dir.path().join("broker.toml");
    std::fs::write(&file, "release_budget = 2000000\n").unwrap();
    let err = load(Some(&file), &base_env(dir.path())).unwrap_err();
    assert!(err.name.starts_with("release_budget in "), "{err}");
    assert!(err.problem.contains("0 to 1000000"), "{err}");
}
