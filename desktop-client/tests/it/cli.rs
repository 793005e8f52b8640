//! The real `license-check` binary: exit codes, `--json`, and what it tells people.
//! Each test gets its own XDG directories and the `file` key store.

use std::process::{Command, Output};
use std::sync::Arc;

use crate::support::{license_key, trusted, Behaviour, LicenseFacts, StandIn};
use license_client::SystemClock;

pub(crate) struct Cli {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) broker: StandIn,
    _runtime: tokio::runtime::Runtime,
}

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

impl Cli {
    pub(crate) fn new() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let broker = runtime.block_on(StandIn::start(Arc::new(SystemClock)));
        Self {
            dir: tempfile::tempdir().unwrap(),
            broker,
            _runtime: runtime,
        }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_license-check"));
        let home = self.dir.path();
        command
            .args(args)
            .env_clear()
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("LICENSE_CHECK_KEYSTORE", "file")
            .env("LICENSE_CHECK_TRUSTED_KEYS", trusted().to_text())
            .env("LICENSE_CHECK_BROKER_URL", &self.broker.url)
            .env("NO_PROXY", "127.0.0.1,localhost");
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Self::finish(self.command(args).output().unwrap())
    }

    pub(crate) fn finish(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub(crate) fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data").join("license-check")
    }
}

#[test]
fn usage_errors_exit_64_with_a_reason() {
    let cli = Cli::new();
    let cases: Vec<(Command, &str)> = vec![
        (cli.command(&[]), "Usage"),
        (cli.command(&["frobnicate"]), "unrecognized"),
        (cli.command(&["activate", "ABCDE-FGHJK"]), "license key"),
        (
            {
                let mut c = cli.command(&["status"]);
                c.env("LICENSE_CHECK_KEYSTORE", "vault");
                c
            },
            "LICENSE_CHECK_KEYSTORE",
        ),
        (
            {
                let mut c = cli.command(&["status"]);
                c.env_remove("LICENSE_CHECK_TRUSTED_KEYS");
                c
            },
            "LICENSE_CHECK_TRUSTED_KEYS",
        ),
        (
            {
                let mut c = cli.command(&["status"]);
                c.env("LICENSE_CHECK_TRUSTED_KEYS", "kid:nope");
                c
            },
            "invalid",
        ),
        (
            {
                let mut c = cli.command(&["status"]);
                c.env_remove("LICENSE_CHECK_BROKER_URL");
                c
            },
            "--broker-url",
        ),
        (
            cli.command(&["--broker-url", "http://license.example.com", "status"]),
            "https://",
        ),
    ];
    for (mut command, needle) in cases {
        let run = Cli::finish(command.output().unwrap());
        assert_eq!(run.code, 64, "{needle}: {} {}", run.stdout, run.stderr);
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    let run = cli.run(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("LICENSE_CHECK_PRODUCT"),
        "{}",
        run.stdout
    );
    for bad in ["", "desktop pro"] {
        let mut command = cli.command(&["status"]);
        command.env("LICENSE_CHECK_PRODUCT", bad);
        let run = Cli::finish(command.output().unwrap());
        assert_eq!(run.code, 64, "{bad:?}: {}", run.stderr);
        assert!(run.stderr.contains("product"), "{bad:?}: {}", run.stderr);
    }
}

#[test]
fn without_activation_status_is_not_licensed_and_names_the_store() {
    let cli = Cli::new();
    let run = cli.run(&["status", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("key store: file "), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("trusted keys: LICENSE_CHECK_TRUSTED_KEYS"),
        "{}",
        run.stderr
    );
    let mut json = run.json();
    assert!(json["key_store"].as_str().unwrap().starts_with("file "));
    json["key_store"] = "[file store]".into();
    insta::assert_json_snapshot!(json, @r#"
    {
      "code": "NO_LICENSE",
      "detail": null,
      "entitlements": [],
      "exit_code": 1,
      "expires_at": null,
      "key_store": "[file store]",
      "licensed": false,
      "machines": null,
      "message": "No license key is stored on this machine. Activate the app with your license key.",
      "offline_until": null,
      "product": null,
      "source": "cache",
      "trusted_keys_source": "LICENSE_CHECK_TRUSTED_KEYS"
    }
    "#);
    let run = cli.run(&["status"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with("Not licensed (NO_LICENSE"),
        "{}",
        run.stdout
    );
}

#[test]
fn activate_status_offline_and_deactivate() {
    let cli = Cli::new();
    let key = license_key("1");
    let run = cli.run(&["activate", &key]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with("Licensed (VALID, checked online)"),
        "{}",
        run.stdout
    );
    assert!(!format!("{}{}", run.stdout, run.stderr).contains(&key));

    // The key file is private; the lease holds no key.
    let key_file = cli.data_dir().join("license-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let lease = std::fs::read_to_string(cli.data_dir().join("license.json")).unwrap();
    assert!(!lease.contains(&key));

    let run = cli.run(&["status", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    assert_eq!(
        (json["code"].as_str(), json["source"].as_str()),
        (Some("VALID"), Some("cache"))
    );
    assert!(
        json["offline_until"].as_i64().unwrap()
            > json["expires_at"].as_i64().unwrap_or(0) - 400 * 86_400
    );

    let run = cli.run(&["status", "--refresh", "--json"]);
    assert_eq!(
        (run.code, run.json()["source"].as_str()),
        (0, Some("online")),
        "{}",
        run.stdout
    );

    let requests = cli.broker.requests();
    let run = cli.run(&["status", "--offline", "--json"]);
    assert_eq!((run.code, run.json()["code"].as_str()), (0, Some("VALID")));
    assert_eq!(
        cli.broker.requests(),
        requests,
        "--offline never touches the network"
    );

    // The broker goes away: the lease carries the app.
    let run = cli.run(&["--broker-url", "http://127.0.0.1:9", "status", "--refresh"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("Licensed (OFFLINE_GRACE, from the saved license)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("proxy"), "{}", run.stdout);

    let run = cli.run(&["deactivate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!key_file.exists());
    assert!(!cli.data_dir().join("license.json").exists());
    assert_eq!(cli.run(&["status", "--json"]).json()["code"], "NO_LICENSE");
}

#[test]
fn activation_reads_the_key_from_stdin() {
    use std::io::Write as _;
    let cli = Cli::new();
    let mut child = cli
        .command(&["activate", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", license_key("1")).as_bytes())
        .unwrap();
    let run = Cli::finish(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
}

#[test]
fn a_deny_exits_1_and_stores_nothing() {
    let cli = Cli::new();
    cli.broker.set(Behaviour::deny("EXPIRED"));
    let run = cli.run(&["activate", &license_key("2")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("Renew"), "{}", run.stdout);
    assert!(!cli.data_dir().join("license-key").exists());
    assert_eq!(cli.run(&["status"]).code, 1);
}

#[test]
fn an_untrusted_or_missing_answer_without_a_lease_exits_2() {
    let cli = Cli::new();
    assert_eq!(cli.run(&["activate", &license_key("1")]).code, 0);
    std::fs::remove_file(cli.data_dir().join("license.json")).unwrap();

    let run = cli.run(&["--broker-url", "http://127.0.0.1:9", "status", "--json"]);
    assert_eq!(
        (run.code, run.json()["code"].as_str()),
        (2, Some("BROKER_UNREACHABLE")),
        "{}",
        run.stdout
    );

    cli.broker.set(Behaviour::ForeignKey);
    let run = cli.run(&["status", "--json"]);
    assert_eq!(
        (run.code, run.json()["code"].as_str()),
        (2, Some("RESPONSE_UNTRUSTED")),
        "{}",
        run.stdout
    );

    let run = cli.run(&["status", "--offline", "--json"]);
    assert_eq!(
        (run.code, run.json()["code"].as_str()),
        (2, Some("NO_LEASE")),
        "{}",
        run.stdout
    );

    cli.broker.set(Behaviour::ForeignKey);
    let run = cli.run(&["activate", &license_key("1")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not trusted"), "{}", run.stderr);
}

#[test]
fn the_trust_source_is_named_for_a_config_file() {
    let cli = Cli::new();
    let config_dir = cli.dir.path().join("config").join("license-check");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config_file = config_dir.join("config.toml");
    std::fs::write(
        &config_file,
        format!("trusted_keys = \"{}\"\n", trusted().to_text()),
    )
    .unwrap();
    let mut command = cli.command(&["status", "--json"]);
    command.env_remove("LICENSE_CHECK_TRUSTED_KEYS");
    let run = Cli::finish(command.output().unwrap());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["trusted_keys_source"], "config file");
    assert!(
        run.stderr.contains(&format!(
            "trusted keys: config file ({})",
            config_file.display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn the_product_comes_from_the_environment_or_the_config_file() {
    let cli = Cli::new();
    cli.broker.license(LicenseFacts {
        entitlements: vec!["export", "sync"],
        ..LicenseFacts::for_product("desktop-pro")
    });
    let mut command = cli.command(&["activate", &license_key("1")]);
    command.env("LICENSE_CHECK_PRODUCT", "desktop-pro");
    let run = Cli::finish(command.output().unwrap());
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Product: desktop-pro\nEntitlements: export, sync\n"),
        "{}",
        run.stdout
    );
    let mut command = cli.command(&["status", "--json"]);
    command.env("LICENSE_CHECK_PRODUCT", "desktop-pro");
    let json = Cli::finish(command.output().unwrap()).json();
    assert_eq!(
        (&json["code"], &json["product"], &json["entitlements"]),
        (
            &"VALID".into(),
            &"desktop-pro".into(),
            &serde_json::json!(["export", "sync"])
        ),
        "{json}"
    );
    assert_eq!(cli.broker.calls()[0].1["product"], "desktop-pro");

    // From the configuration file, the variable unset: the broker says the key is
    // for another product, and the CLI exits 1 without entitlements.
    let config_dir = cli.dir.path().join("config").join("license-check");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        "product = \"desktop-lite\"\n",
    )
    .unwrap();
    let run = cli.run(&["status", "--refresh", "--json"]);
    let json = run.json();
    assert_eq!(run.code, 1, "{json}");
    assert_eq!(json["code"], "WRONG_PRODUCT", "{json}");
    assert_eq!(json["product"], "desktop-pro", "{json}");
    assert_eq!(json["entitlements"], serde_json::json!([]), "{json}");
    assert_eq!(
        cli.broker.calls().last().unwrap().1["product"],
        "desktop-lite"
    );
}

#[test]
fn without_a_compiled_in_build_time_an_expired_license_is_expired() {
    let cli = Cli::new();
    cli.broker.license(LicenseFacts {
        expiry_strategy: "MAINTAIN_ACCESS",
        ..LicenseFacts::for_product("desktop-pro")
    });
    cli.broker.set(Behaviour::Sign {
        code: "EXPIRED",
        offline: 7 * 86_400,
        recheck: 86_400,
    });
    let run = cli.run(&["activate", &license_key("6"), "--json"]);
    let json = run.json();
    if option_env!("LICENSE_CHECK_BUILD_TIME").is_some() {
        // A build with a build time: it is older than the stand-in's expiry (a day
        // ago) unless it was built within the last day.
        assert!(
            ["PERPETUAL_FALLBACK", "EXPIRED"].contains(&json["code"].as_str().unwrap()),
            "{json}"
        );
        return;
    }
    assert_eq!((run.code, &json["code"]), (1, &"EXPIRED".into()), "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("does not say when it was built"),
        "{json}"
    );
}
