//! The real `license-check` binary against the real broker and the ORDS emulator
//! (customer 4: at most 2 machines): the way out of `MACHINE_LIMIT` with only the key
//! (`activate KEY --replace ID`, `machines --key KEY`), apps kept apart by `--app-id`
//! and `LICENSE_CHECK_APP_ID`, one JSON object on every exit, and a broker `429` as
//! `RATE_LIMITED` on every command. Each machine is a HOME of its own (its own data
//! directory and `file` key store) with its own `LICENSE_CHECK_MACHINE_ID`.

use std::path::Path;
use std::process::Command;

use license_testkit::Stack;

use crate::cli::{Cli, Run};

struct Real {
    stack: Stack,
    dir: tempfile::TempDir,
    key: String,
    _runtime: tokio::runtime::Runtime,
}

impl Real {
    fn start(settings: &[(&str, &str)]) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let stack = runtime
            .block_on(Stack::start(settings))
            .expect("the stack starts");
        let key = stack.issue_key("4").unwrap();
        Self {
            stack,
            dir: tempfile::tempdir().unwrap(),
            key,
            _runtime: runtime,
        }
    }

    fn home(&self, machine: &str) -> std::path::PathBuf {
        self.dir.path().join(machine)
    }

    /// `license-check` on `machine` (its own HOME and machine id).
    fn command(&self, machine: &str, args: &[&str]) -> Command {
        let home = self.home(machine);
        let mut command = Command::new(env!("CARGO_BIN_EXE_license-check"));
        command
            .args(args)
            .env_clear()
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("LICENSE_CHECK_KEYSTORE", "file")
            .env("LICENSE_CHECK_TRUSTED_KEYS", self.stack.trusted().to_text())
            .env("LICENSE_CHECK_BROKER_URL", self.stack.url())
            .env("LICENSE_CHECK_MACHINE_ID", machine)
            .env("NO_PROXY", "127.0.0.1,localhost");
        command
    }

    fn on(&self, machine: &str, args: &[&str]) -> Run {
        Cli::finish(self.command(machine, args).output().unwrap())
    }

    /// This machine's seat id, from its own `machines` listing.
    fn own_id(&self, machine: &str) -> String {
        let json = self.on(machine, &["machines", "--json"]).json();
        let list = json["machines"]["list"].as_array().unwrap();
        let mine = list.iter().find(|m| m["current"] == true).unwrap();
        mine["id"].as_str().unwrap().to_owned()
    }
}

/// Exactly one JSON object on stdout, with the members every exit has.
fn one_object(run: &Run) -> serde_json::Value {
    let json = run.json();
    for member in ["licensed", "code", "message", "exit_code"] {
        assert!(json.get(member).is_some(), "{member}: {}", run.stdout);
    }
    assert_eq!(
        json["exit_code"].as_i64(),
        Some(i64::from(run.code)),
        "{}",
        run.stdout
    );
    json
}

#[test]
fn a_third_machine_replaces_one_with_only_the_key() {
    let real = Real::start(&[]);
    let key = real.key.as_str();
    for machine in ["box-a", "box-b"] {
        let run = real.on(machine, &["activate", key]);
        assert_eq!(run.code, 0, "{machine}: {} {}", run.stdout, run.stderr);
    }
    let a = real.own_id("box-a");

    // box-c holds no key: the limit, and the command that works from here.
    let run = real.on("box-c", &["activate", key]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(run.stdout.contains("MACHINE_LIMIT"), "{}", run.stdout);
    assert!(run.stdout.contains(&a), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("`license-check activate KEY --replace "),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("deactivate --machine"),
        "{}",
        run.stdout
    );
    let json = one_object(&real.on("box-c", &["activate", key, "--json"]));
    let command = json["replace_command"].as_str().unwrap();
    assert!(
        command.starts_with("license-check activate KEY --replace "),
        "{command}"
    );
    assert!(!real
        .home("box-c")
        .join("data/license-check/license-key")
        .exists());

    // The seats, listed with only the key.
    let run = real.on("box-c", &["machines", "--key", key, "--json"]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    let json = one_object(&run);
    assert_eq!(json["code"], "NOT_ACTIVATED", "{}", run.stdout);
    assert_eq!(json["machines"]["used"], 2, "{}", run.stdout);
    let message = json["message"].as_str().unwrap();
    assert!(message.contains("holds none of them"), "{message}");
    let ids: Vec<&str> = json["machines"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&a.as_str()), "{ids:?}");

    // box-c replaces box-a, with only the key.
    let run = real.on("box-c", &["activate", key, "--replace", &a, "--json"]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    let json = one_object(&run);
    assert_eq!(json["code"], "VALID", "{}", run.stdout);
    let message = json["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("The seat of machine {a} was freed.")),
        "{message}"
    );
    assert!(real
        .home("box-c")
        .join("data/license-check/license-key")
        .exists());

    // box-a no longer holds a seat; box-b keeps its own.
    let run = real.on("box-a", &["status", "--refresh", "--json"]);
    assert_eq!(
        (run.code, one_object(&run)["code"].as_str()),
        (1, Some("NOT_ACTIVATED")),
        "{} {}",
        run.stdout,
        run.stderr
    );
    let run = real.on("box-b", &["status", "--refresh", "--json"]);
    assert_eq!(
        (run.code, run.json()["code"].as_str()),
        (0, Some("VALID")),
        "{}",
        run.stdout
    );

    // An id that holds no seat frees nothing and activates nothing.
    let run = real.on(
        "box-a",
        &["activate", key, "--replace", "ffffffffffff", "--json"],
    );
    assert_eq!(
        (run.code, one_object(&run)["code"].as_str()),
        (1, Some("UNKNOWN_MACHINE")),
        "{}",
        run.stdout
    );
}

/// The data directory of `app` on `machine`.
fn app_dir(real: &Real, machine: &str, app: &str) -> std::path::PathBuf {
    real.home(machine).join("data").join(app)
}

fn with_app_env(mut command: Command, app: &str) -> Run {
    command.env("LICENSE_CHECK_APP_ID", app);
    Cli::finish(command.output().unwrap())
}

#[test]
fn two_apps_named_by_flag_and_by_variable_keep_their_own_key_lease_and_seat() {
    let real = Real::start(&[]);
    let key = real.key.as_str();
    let (editor, viewer) = ("com.example.editor", "com.example.viewer");
    let by_flag = |args: &[&str]| {
        let mut all = vec!["--app-id", editor];
        all.extend_from_slice(args);
        real.on("desk", &all)
    };
    let by_env = |args: &[&str]| with_app_env(real.command("desk", args), viewer);

    assert_eq!(by_flag(&["activate", key]).code, 0);
    assert_eq!(by_env(&["activate", key]).code, 0);
    // One machine, two apps: two seats, two keys, two leases.
    let json = one_object(&by_env(&["machines", "--json"]));
    assert_eq!(json["machines"]["used"], 2, "{json}");
    for app in [editor, viewer] {
        assert!(
            app_dir(&real, "desk", app).join("license-key").exists(),
            "{app}"
        );
        assert!(
            app_dir(&real, "desk", app).join("license.json").exists(),
            "{app}"
        );
    }

    // The editor leaves; the viewer keeps its key, lease and seat.
    assert_eq!(by_flag(&["deactivate"]).code, 0);
    assert!(!app_dir(&real, "desk", editor).join("license-key").exists());
    let run = by_env(&["status", "--refresh", "--json"]);
    assert_eq!(
        (run.code, run.json()["code"].as_str()),
        (0, Some("VALID")),
        "{}",
        run.stdout
    );
    let json = one_object(&by_env(&["machines", "--json"]));
    assert_eq!(json["machines"]["used"], 1, "{json}");
    assert_eq!(
        by_flag(&["status", "--offline", "--json"]).json()["code"],
        "NO_LICENSE"
    );

    // --app-id wins over the variable, and the variable over the config file.
    let mut both = real.command(
        "desk",
        &["--app-id", editor, "status", "--offline", "--json"],
    );
    both.env("LICENSE_CHECK_APP_ID", viewer);
    let run = Cli::finish(both.output().unwrap());
    assert_eq!(run.json()["code"], "NO_LICENSE", "{}", run.stdout);
    let config = real.home("desk").join("config").join("license-check");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!("app_id = \"{editor}\"\n"),
    )
    .unwrap();
    let run = by_env(&["status", "--offline", "--json"]);
    assert_eq!(
        (run.code, run.json()["code"].as_str()),
        (0, Some("VALID")),
        "{}",
        run.stdout
    );
    let run = real.on("desk", &["status", "--offline", "--json"]);
    assert_eq!(
        run.json()["code"],
        "NO_LICENSE",
        "the config file's app: {}",
        run.stdout
    );
}

#[test]
fn every_usage_error_is_one_json_object_with_usage_error() {
    let real = Real::start(&[]);
    let empty_app = |args: &[&str]| with_app_env(real.command("desk", args), "");
    let mut vault = real.command("desk", &["status", "--json"]);
    vault.env("LICENSE_CHECK_KEYSTORE", "vault");
    let runs = [
        ("no command", real.on("desk", &["--json"])),
        (
            "unknown command",
            real.on("desk", &["--json", "frobnicate"]),
        ),
        (
            "unknown flag",
            real.on("desk", &["status", "--json", "--bogus"]),
        ),
        (
            "bad key",
            real.on("desk", &["activate", "ABCDE-FGHJK", "--json"]),
        ),
        (
            "bad machine id",
            real.on(
                "desk",
                &["--json", "activate", &real.key, "--replace", "XYZ"],
            ),
        ),
        (
            "empty --app-id",
            real.on("desk", &["--app-id", "", "status", "--json"]),
        ),
        ("empty variable", empty_app(&["status", "--json"])),
        ("bad key store", Cli::finish(vault.output().unwrap())),
    ];
    for (case, run) in runs {
        assert_eq!(run.code, 64, "{case}: {} {}", run.stdout, run.stderr);
        assert_eq!(
            run.stdout.trim().lines().count(),
            1,
            "{case}: {}",
            run.stdout
        );
        let json = one_object(&run);
        assert_eq!(json["code"], "USAGE_ERROR", "{case}: {}", run.stdout);
        assert_eq!(json["licensed"], false, "{case}");
        assert!(!json["message"].as_str().unwrap().is_empty(), "{case}");
    }
}

#[test]
fn a_broker_429_is_rate_limited_on_every_command() {
    // One request per key per minute: the activation spends it.
    let real = Real::start(&[("LICENSE_BROKER_RATE_PER_KEY", "1")]);
    let key = real.key.as_str();
    assert_eq!(real.on("box-a", &["activate", key]).code, 0);
    // Without its lease, a status must ask the broker.
    let lease = app_dir(&real, "box-a", "license-check").join("license.json");
    std::fs::remove_file(Path::new(&lease)).unwrap();
    let replace: [&str; 5] = ["activate", key, "--replace", "0a1b2c3d4e5f", "--json"];
    let commands: [(&str, &[&str]); 6] = [
        ("box-a", &["status", "--json"]),
        ("box-a", &["machines", "--json"]),
        ("box-a", &["deactivate", "--json"]),
        ("box-b", &["activate", key, "--json"]),
        ("box-b", &["machines", "--key", key, "--json"]),
        ("box-b", &replace),
    ];
    for (machine, args) in commands {
        let run = real.on(machine, args);
        let json = one_object(&run);
        assert_eq!(
            (run.code, json["code"].as_str()),
            (2, Some("RATE_LIMITED")),
            "{args:?}: {} {}",
            run.stdout,
            run.stderr
        );
        let message = json["message"].as_str().unwrap();
        assert!(message.contains("retry in"), "{args:?}: {message}");
        assert!(!message.contains("unreachable"), "{args:?}: {message}");
    }
    // The deactivation changed nothing: the key is still there.
    assert!(app_dir(&real, "box-a", "license-check")
        .join("license-key")
        .exists());
}

#[test]
fn os_else_file_names_the_store_it_chose_and_activates_there() {
    let real = Real::start(&[]);
    let mut command = real.command("desk", &["activate", &real.key, "--json"]);
    command.env("LICENSE_CHECK_KEYSTORE", "os_else_file");
    // No D-Bus session here: the keyring cannot answer, so the file is chosen.
    command.env_remove("DBUS_SESSION_BUS_ADDRESS");
    let run = Cli::finish(command.output().unwrap());
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    let store = one_object(&run)["key_store"].as_str().unwrap().to_owned();
    assert!(store.starts_with("file "), "{store}");
    assert!(
        store.contains("chosen because the OS keyring could not be used"),
        "{store}"
    );
    assert!(
        run.stderr.contains(&format!("key store: {store}")),
        "{}",
        run.stderr
    );
    assert!(app_dir(&real, "desk", "license-check")
        .join("license-key")
        .exists());
}
