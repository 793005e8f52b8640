use std::collections::HashMap;
use std::path::PathBuf;

use super::*;
use crate::config::vars as var;
use crate::verdict::{MAX_OFFLINE_GRACE, MAX_RELEASE_BUDGET, MAX_SEAT_SECS, MIN_SEAT_LEASE_SECS};
use std::time::Duration;

/// A temp dir holding a signing key and a key secret, plus an env map naming them.
struct Fixture {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("signing.pem");
        std::fs::write(&key, Signer::generate().to_pem().unwrap()).unwrap();
        let secret = dir.path().join("key-secret");
        std::fs::write(&secret, "k7Qp2vX9mR4tL8wZ3nB6cF1hJ5sD0gYe\n").unwrap();
        let mut env = HashMap::new();
        env.insert(
            var::ORDS_BASE_URL.into(),
            "https://ords.example/ords/page".into(),
        );
        env.insert(var::CLIENT_ID.into(), "license_backend_client".into());
        env.insert(var::CLIENT_SECRET.into(), "SENTINEL_SECRET_config".into());
        env.insert(var::SIGNING_KEY_FILE.into(), key.display().to_string());
        env.insert(var::KEY_SECRET_FILE.into(), secret.display().to_string());
        Self { dir, env }
    }

    fn set(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }

    fn unset(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    fn file(&self, toml: &str) -> PathBuf {
        let path = self.dir.path().join("broker.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }

    fn load_with(&self, file: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        let env = self.env.clone();
        let sources = Sources::new(file, move |name| env.get(name).cloned())?;
        Config::from_sources(&sources)
    }

    fn load(&self) -> Result<Config, ConfigError> {
        self.load_with(None)
    }
}

#[test]
fn defaults_follow_the_contract_and_debug_hides_the_secret() {
    let config = Fixture::new().load().unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        config.ords.token_url.as_str(),
        "https://ords.example/ords/page/oauth/token"
    );
    assert_eq!(config.ords.columns.expiry, "expires_at");
    assert_eq!(config.ords.columns.status, "license_status");
    assert_eq!(config.policy, PolicyConfig::default());
    assert_eq!(config.cache, CacheConfig::default());
    assert_eq!(
        config.rate,
        RateConfig {
            per_ip: 60,
            per_key: 20
        }
    );
    let shown = format!("{config:?}");
    assert!(!shown.contains("SENTINEL"), "{shown}");
    assert!(!shown.contains("k7Qp2"), "{shown}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
}

#[test]
fn missing_required_settings_are_named() {
    for name in [
        var::ORDS_BASE_URL,
        var::CLIENT_ID,
        var::SIGNING_KEY_FILE,
        var::KEY_SECRET_FILE,
    ] {
        let err = Fixture::new().unset(name).load().unwrap_err().to_string();
        assert!(err.starts_with(&format!("{name}: is required")), "{err}");
        assert!(!err.contains('\n'));
    }
    let err = Fixture::new().unset(var::CLIENT_SECRET).load().unwrap_err();
    assert_eq!(err.name, var::CLIENT_SECRET_FILE);
    let err = Fixture::new()
        .set(var::CLIENT_SECRET_FILE, "/run/secret")
        .load()
        .unwrap_err();
    assert!(err.problem.contains("only one"), "{err}");
}

#[test]
fn plain_http_is_only_for_loopback() {
    for ok in [
        "http://127.0.0.1:8181/ords/page",
        "http://127.8.0.1/ords/page",
        "http://[::1]:1/ords/page",
        "http://LOCALHOST/ords/page",
    ] {
        let config = Fixture::new().set(var::ORDS_BASE_URL, ok).load();
        assert!(config.is_ok(), "{ok}: {:?}", config.err());
    }
    for bad in [
        "http://ords.example/ords/page",
        "http://10.0.0.1/ords/page",
        "http://localhost.evil.example/ords",
    ] {
        let err = Fixture::new()
            .set(var::ORDS_BASE_URL, bad)
            .load()
            .unwrap_err();
        assert_eq!(err.name, var::ORDS_BASE_URL);
        assert!(err.problem.contains("loopback"), "{err}");
    }
    let err = Fixture::new()
        .set(var::ORDS_BASE_URL, "https://h/ords/page?q=1")
        .load()
        .unwrap_err();
    assert!(err.problem.contains("query"), "{err}");
}

#[test]
fn environment_wins_over_the_file_and_the_file_is_strict() {
    let fixture = Fixture::new().unset(var::CLIENT_ID);
    let file = fixture.file(
        "client_id = \"from_file\"\nlisten = \"127.0.0.1:9000\"\nrate_per_ip = 5\nstatus_active = [\"ACTIVE\", \"OK\"]\n",
    );
    let config = fixture.load_with(Some(&file)).unwrap();
    assert_eq!(config.client_id, "from_file");
    assert_eq!(config.rate.per_ip, 5);
    assert_eq!(config.ords.statuses.active, ["ACTIVE", "OK"]);
    let fixture = fixture.set(var::LISTEN, "127.0.0.1:9001");
    let config = fixture.load_with(Some(&file)).unwrap();
    assert_eq!(config.listen.port(), 9001);

    let file = fixture.file("client_secret = \"SENTINEL_SECRET_file\"\n");
    let err = fixture.load_with(Some(&file)).unwrap_err().to_string();
    assert!(
        err.contains("client_secret_file") && !err.contains("SENTINEL"),
        "{err}"
    );
    let file = fixture.file("ords_bsae_url = \"x\"\n");
    let err = fixture.load_with(Some(&file)).unwrap_err().to_string();
    assert!(err.starts_with("ords_bsae_url in "), "{err}");
    let file = fixture.file("client_id = \"c\"\nrate_per_ip = \"lots\"\n");
    let err = fixture.load_with(Some(&file)).unwrap_err().to_string();
    assert!(
        err.contains("rate_per_ip in ") && err.contains("\"lots\""),
        "{err}"
    );
}

#[test]
fn grace_is_capped_and_bad_values_are_named() {
    let config = Fixture::new()
        .set(var::OFFLINE_GRACE_SECS, "99999999")
        .load()
        .unwrap();
    assert_eq!(config.policy.offline_grace, MAX_OFFLINE_GRACE);
    let err = Fixture::new()
        .set(var::RATE_PER_KEY, "-1")
        .load()
        .unwrap_err();
    assert_eq!(err.name, var::RATE_PER_KEY);
    let err = Fixture::new()
        .set(var::VALIDATION_PATH, "customers/{id}/{id}")
        .load()
        .unwrap_err();
    assert_eq!(err.name, var::VALIDATION_PATH);
    let err = Fixture::new()
        .set(var::UPSTREAM_TIMEOUT_SECS, "0")
        .load()
        .unwrap_err();
    assert_eq!(err.name, var::UPSTREAM_TIMEOUT_SECS);
    let err = Fixture::new()
        .set(var::STATUS_COLUMN, "a b")
        .load()
        .unwrap_err();
    assert_eq!(err.name, var::STATUS_COLUMN);
}

#[test]
fn key_files_must_hold_real_keys() {
    let fixture = Fixture::new();
    let weak = fixture.dir.path().join("weak");
    std::fs::write(&weak, "0123456789").unwrap();
    let err = fixture
        .load_with(None)
        .and(
            Fixture::new()
                .set(var::KEY_SECRET_FILE, weak.to_str().unwrap())
                .load(),
        )
        .unwrap_err();
    assert_eq!(err.name, var::KEY_SECRET_FILE);
    assert!(err.problem.contains("at least 32"), "{err}");
    let err = Fixture::new()
        .set(var::SIGNING_KEY_FILE, weak.to_str().unwrap())
        .load()
        .unwrap_err();
    assert_eq!(err.name, var::SIGNING_KEY_FILE);
    assert!(err.problem.contains("PKCS#8"), "{err}");
}

#[test]
fn item_404_reading_is_on_by_default_and_set_in_env_or_toml() {
    let fixture = Fixture::new();
    assert!(fixture.load().unwrap().ords.item_404_is_not_found);
    let file = fixture.file("item_404_is_not_found = false\n");
    assert!(
        !fixture
            .load_with(Some(&file))
            .unwrap()
            .ords
            .item_404_is_not_found
    );
    let file = fixture.file("item_404_is_not_found = \"false\"\n");
    assert!(
        !fixture
            .load_with(Some(&file))
            .unwrap()
            .ords
            .item_404_is_not_found
    );
    let fixture = fixture.set(var::ITEM_404_IS_NOT_FOUND, "TRUE");
    assert!(
        fixture
            .load_with(Some(&file))
            .unwrap()
            .ords
            .item_404_is_not_found,
        "the environment wins"
    );
    let err = fixture
        .set(var::ITEM_404_IS_NOT_FOUND, "maybe")
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(var::ITEM_404_IS_NOT_FOUND) && err.contains("\"maybe\""),
        "{err}"
    );
}

#[test]
fn the_token_call_gets_the_same_outbound_limits_as_the_resource_call() {
    let config = Fixture::new()
        .set(var::UPSTREAM_TIMEOUT_SECS, "2")
        .set(var::UPSTREAM_CONNECT_TIMEOUT_SECS, "1")
        .set(var::UPSTREAM_BODY_LIMIT_BYTES, "4096")
        .load()
        .unwrap();
    let token = config.token_config();
    assert_eq!(token.limits, config.ords.limits);
    assert_eq!(
        token.limits.total_timeout,
        std::time::Duration::from_secs(2)
    );
    assert_eq!(
        token.limits.connect_timeout,
        std::time::Duration::from_secs(1)
    );
    assert_eq!(token.limits.max_body_bytes, 4096);
}

/// The load error for `settings`, which must be refused.
fn refused(settings: &[(&str, &str)]) -> ConfigError {
    let fixture = settings
        .iter()
        .fold(Fixture::new(), |fixture, (name, value)| {
            fixture.set(name, value)
        });
    let err = fixture
        .load()
        .expect_err("the seats package would answer every seat call with HTTP 400");
    assert!(!err.to_string().contains('\n'), "{err}");
    assert!(err.problem.contains("deploy/ords/seats.sql"), "{err}");
    err
}

#[test]
fn a_seat_lease_below_the_packages_minimum_is_refused_naming_it() {
    let err = refused(&[
        (var::OFFLINE_GRACE_SECS, "30"),
        (var::SEAT_LEASE_SECS, "59"),
    ]);
    assert_eq!(err.name, var::SEAT_LEASE_SECS, "{err}");
    assert!(err.problem.contains("60 to 315360000"), "{err}");
    let config = Fixture::new()
        .set(var::OFFLINE_GRACE_SECS, "30")
        .set(var::SEAT_LEASE_SECS, "60")
        .load()
        .unwrap();
    assert_eq!(config.seats.lease, Duration::from_secs(60));
}

#[test]
fn a_short_offline_grace_gives_the_shortest_seat_lease_the_package_accepts() {
    // Unset, the lease is the grace, brought within the package's range rather than
    // sent as a value every seat call would have refused.
    for grace in ["30", "0", "59"] {
        let config = Fixture::new()
            .set(var::OFFLINE_GRACE_SECS, grace)
            .load()
            .unwrap();
        assert_eq!(config.seats.lease, Duration::from_secs(60), "grace {grace}");
    }
    let config = Fixture::new()
        .set(var::OFFLINE_GRACE_SECS, "61")
        .load()
        .unwrap();
    assert_eq!(config.seats.lease, Duration::from_secs(61));
}

#[test]
fn a_seat_lease_above_the_packages_maximum_is_refused_naming_it() {
    let err = refused(&[(var::SEAT_LEASE_SECS, "315360001")]);
    assert_eq!(err.name, var::SEAT_LEASE_SECS, "{err}");
    assert!(err.problem.contains("60 to 315360000"), "{err}");
    let config = Fixture::new()
        .set(var::SEAT_LEASE_SECS, "315360000")
        .load()
        .unwrap();
    assert_eq!(config.seats.lease, Duration::from_secs(315_360_000));
}

#[test]
fn a_release_window_above_the_packages_maximum_is_refused_naming_it() {
    let err = refused(&[(var::RELEASE_WINDOW_SECS, "315360001")]);
    assert_eq!(err.name, var::RELEASE_WINDOW_SECS, "{err}");
    assert!(err.problem.contains("1 to 315360000"), "{err}");
    let config = Fixture::new()
        .set(var::RELEASE_WINDOW_SECS, "315360000")
        .load()
        .unwrap();
    assert_eq!(
        config.seats.release_window,
        Duration::from_secs(315_360_000)
    );
}

#[test]
fn a_release_budget_above_the_packages_maximum_is_refused_naming_it() {
    let err = refused(&[(var::RELEASE_BUDGET, "1000001")]);
    assert_eq!(err.name, var::RELEASE_BUDGET, "{err}");
    assert!(err.problem.contains("0 to 1000000"), "{err}");
    for edge in ["0", "1000000"] {
        let config = Fixture::new()
            .set(var::RELEASE_BUDGET, edge)
            .load()
            .unwrap();
        assert_eq!(config.seats.release_budget.to_string(), edge);
    }
}

#[test]
fn the_seat_bounds_are_the_seats_packages_own() {
    let sql = include_str!("../../../../deploy/ords/seats.sql");
    for line in [
        format!("c_min_lease_seconds CONSTANT PLS_INTEGER := {MIN_SEAT_LEASE_SECS};"),
        format!("c_max_seconds CONSTANT PLS_INTEGER := {MAX_SEAT_SECS};"),
        format!("c_max_release_budget CONSTANT PLS_INTEGER := {MAX_RELEASE_BUDGET};"),
        "int_member(l_body, 'lease_seconds', c_min_lease_seconds, c_max_seconds)".into(),
        "int_member(l_body, 'release_budget', 0, c_max_release_budget)".into(),
        "int_member(l_body, 'release_window_seconds', 1, c_max_seconds)".into(),
    ] {
        assert!(
            sql.contains(&line),
            "deploy/ords/seats.sql no longer has {line}"
        );
    }
}

/// Every default the settings table documents as a literal (`` `60` ``, `` `ACTIVE` ``,
/// …) is the one the loader uses: setting the variable to that literal changes nothing
/// in the loaded configuration. The documentation (README, deploy/broker.toml) is
/// rendered from the table, so this holds the docs to the code, not the code to itself.
#[test]
fn every_documented_literal_default_is_the_loaded_default() {
    // One fixture: its signing key is part of the configuration compared.
    let fixture = Fixture::new();
    let load = |setting: Option<(&str, &str)>| {
        let mut env = fixture.env.clone();
        if let Some((name, value)) = setting {
            env.insert(name.into(), value.into());
        }
        let sources = Sources::new(None, move |name| env.get(name).cloned())?;
        Config::from_sources(&sources)
    };
    let defaults = format!("{:?}", load(None).unwrap());
    let mut checked = 0;
    for setting in var::TABLE.iter().filter(|v| v.in_file) {
        let Some(literal) = setting
            .default
            .strip_prefix('`')
            .and_then(|rest| rest.split_once('`'))
            .map(|(literal, _)| literal)
            .filter(|literal| !literal.contains('<'))
        else {
            // "required", "none", "the offline grace", `<base>/oauth/token`: not literals.
            continue;
        };
        let config = load(Some((setting.name, literal)));
        let config = config.unwrap_or_else(|e| panic!("{}={literal}: {e}", setting.name));
        assert_eq!(
            format!("{config:?}"),
            defaults,
            "{} is documented with the default {literal}, but setting it to that changes the configuration",
            setting.name
        );
        checked += 1;
    }
    assert!(
        checked >= 25,
        "only {checked} documented defaults were literals"
    );
}
