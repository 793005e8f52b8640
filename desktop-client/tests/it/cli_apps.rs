//! The real `license-check` binary for several apps on one machine (one HOME, one set
//! of XDG directories), the one-time move out of the directory all apps once shared,
//! and broker text on the terminal.

use crate::cli::{Cli, Run};
use crate::hardening::assert_clean;
use crate::support::license_key;

/// `license-check` run as the app `app_id` (its `app_id` in the configuration file).
fn as_app(cli: &Cli, app_id: &str, args: &[&str]) -> Run {
    let config_dir = cli.dir.path().join("config").join("license-check");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        format!("app_id = \"{app_id}\"\n"),
    )
    .unwrap();
    let mut command = cli.command(args);
    command.env("LICENSE_CHECK_MACHINE_ID", "one-machine");
    Cli::finish(command.output().unwrap())
}

/// The data directory all apps shared before each got its own.
fn shared_dir(cli: &Cli) -> std::path::PathBuf {
    cli.dir.path().join("data").join("license-check")
}

fn app_dir(cli: &Cli, app_id: &str) -> std::path::PathBuf {
    cli.dir.path().join("data").join(app_id)
}

#[test]
fn two_apps_on_one_machine_keep_their_own_leases() {
    let cli = Cli::new();
    let a = "com.example.editor";
    let b = "com.example.viewer";
    let run = as_app(&cli, a, &["activate", &license_key("1")]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    let run = as_app(&cli, b, &["activate", &license_key("2")]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    for app in [a, b] {
        let run = as_app(&cli, app, &["status", "--offline", "--json"]);
        assert_eq!(
            (run.code, run.json()["code"].as_str()),
            (0, Some("VALID")),
            "{app}: {} {}",
            run.stdout,
            run.stderr
        );
        assert!(app_dir(&cli, app).join("license.json").exists(), "{app}");
    }
    assert_ne!(
        std::fs::read(app_dir(&cli, a).join("license-key")).unwrap(),
        std::fs::read(app_dir(&cli, b).join("license-key")).unwrap()
    );
}

#[test]
fn a_lease_in_the_shared_directory_moves_once_to_its_own_app() {
    let cli = Cli::new();
    let a = "com.example.editor";
    let run = as_app(&cli, a, &["activate", &license_key("1")]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    // Put the activation where a client before per-app directories left it.
    let shared = shared_dir(&cli);
    std::fs::create_dir_all(&shared).unwrap();
    for entry in std::fs::read_dir(app_dir(&cli, a)).unwrap() {
        let entry = entry.unwrap();
        std::fs::rename(entry.path(), shared.join(entry.file_name())).unwrap();
    }
    std::fs::remove_dir(app_dir(&cli, a)).unwrap();

    // Another app does not take it: the lease is bound to app A's fingerprint.
    let run = as_app(
        &cli,
        "com.example.viewer",
        &["status", "--offline", "--json"],
    );
    assert_eq!(run.json()["code"], "NO_LICENSE", "{}", run.stdout);
    assert!(shared.join("license.json").exists());

    // App A finds it, moves it into its own directory, and is licensed.
    let run = as_app(&cli, a, &["status", "--offline", "--json"]);
    assert_eq!(
        (run.code, run.json()["code"].as_str()),
        (0, Some("VALID")),
        "{} {}",
        run.stdout,
        run.stderr
    );
    assert!(app_dir(&cli, a).join("license.json").exists());
    assert!(app_dir(&cli, a).join("license-key").exists());
    assert!(!shared.join("license.json").exists());
    assert!(!shared.join("license-key").exists());
    let run = as_app(&cli, a, &["status", "--offline", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn machine_names_and_broker_messages_reach_the_terminal_cleaned() {
    let cli = Cli::new();
    cli.broker.limit_seats(1);
    cli.broker.seat_other(
        "0a1b2c3d4e5f",
        Some("Anna\u{202e}spotpal\u{202c}\u{1b}]0;pwned\u{7}"),
        1_767_261_600,
    );
    let run = as_app(&cli, "license-check", &["activate", &license_key("4")]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(run.stdout.contains("0a1b2c3d4e5f"), "{}", run.stdout);
    assert!(run.stdout.contains("Anna"), "{}", run.stdout);
    for line in run.stdout.lines() {
        assert_clean(line);
    }
}
