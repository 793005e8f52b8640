//! The real `license-check` binary with machine seats: `activate --name`, the
//! `MACHINE_LIMIT` listing, `deactivate [--machine]`, `machines`, and
//! `LICENSE_CHECK_MACHINE_ID`. Every run here sets its own machine id.

use crate::cli::{Cli, Run};
use crate::support::{license_key, seat_id, Behaviour, Endpoint};
use license_client::{format_time, Fingerprint};

/// The app id `license-check` identifies as, which the fingerprint is keyed over.
const CLI_APP_ID: &str = "license-check";
const OTHER: &str = "0a1b2c3d4e5f";
const SEEN: i64 = 1_767_261_600;

fn on(cli: &Cli, machine: &str, args: &[&str]) -> Run {
    let mut command = cli.command(args);
    command.env("LICENSE_CHECK_MACHINE_ID", machine);
    Cli::finish(command.output().unwrap())
}

fn fingerprint(machine: &str) -> String {
    Fingerprint::from_machine_id(machine, CLI_APP_ID)
        .as_str()
        .to_owned()
}

/// A two-seat license (customer 4), this machine ("box-a") activated as "build box".
fn seated() -> Cli {
    let cli = Cli::new();
    cli.broker.limit_seats(2);
    let run = on(
        &cli,
        "box-a",
        &["activate", &license_key("4"), "--name", "build box"],
    );
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    cli
}

#[test]
fn activate_names_the_machine_and_a_full_license_lists_the_seats() {
    let cli = seated();
    let (endpoint, request) = cli.broker.calls().pop().unwrap();
    assert_eq!(endpoint, Endpoint::Activate);
    assert_eq!(request["machine_name"], "build box");
    assert!(cli.data_dir().join("license-key").exists());

    cli.broker.seat_other(OTHER, Some("old desktop"), SEEN);
    let key = license_key("4");
    let run = on(&cli, "box-b", &["activate", &key]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with("Not licensed (MACHINE_LIMIT, checked online)."),
        "{}",
        run.stdout
    );
    let a = seat_id(&fingerprint("box-a"));
    for needle in [
        format!("  {a}  last seen "),
        "build box".into(),
        format!("  {OTHER}  last seen {}  old desktop", format_time(SEEN)),
        // The machine seen longest ago, in the command that works without a stored key.
        format!("`license-check activate KEY --replace {OTHER}`"),
    ] {
        assert!(run.stdout.contains(&needle), "{needle}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("(this machine)"), "{}", run.stdout);

    let run = on(&cli, "box-b", &["activate", &key, "--json"]);
    assert_eq!(run.code, 1);
    let json = run.json();
    assert_eq!(
        (json["code"].as_str(), json["exit_code"].as_i64()),
        (Some("MACHINE_LIMIT"), Some(1))
    );
    assert_eq!(
        (
            json["machines"]["used"].as_i64(),
            json["machines"]["max"].as_i64()
        ),
        (Some(2), Some(2))
    );
    let ids: Vec<&str> = json["machines"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str(), OTHER]);
    // box-b stored nothing: this data dir still holds box-a's activation, untouched.
    assert_eq!(on(&cli, "box-a", &["status", "--offline"]).code, 0);
}

#[test]
fn machines_lists_the_seats_and_marks_this_machine() {
    let cli = seated();
    cli.broker.seat_other(OTHER, None, SEEN);
    let run = on(&cli, "box-a", &["machines"]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    let a = seat_id(&fingerprint("box-a"));
    let mine = run.stdout.lines().find(|l| l.contains(&a)).unwrap();
    assert!(mine.ends_with("build box (this machine)"), "{}", run.stdout);
    let other = run.stdout.lines().find(|l| l.contains(OTHER)).unwrap();
    assert_eq!(
        other,
        format!("  {OTHER}  last seen {}  (no name)", format_time(SEEN))
    );
    assert!(
        run.stdout
            .starts_with("Seats in use: 2 of 2 (confirmed online).\n"),
        "{}",
        run.stdout
    );

    let json = on(&cli, "box-a", &["machines", "--json"]).json();
    assert_eq!(json["code"], "VALID");
    assert_eq!(json["machines"]["used"], 2);
    assert_eq!(json["machines"]["max"], 2);
    let list = json["machines"]["list"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], a.as_str());
    assert_eq!(
        (list[0]["current"].as_bool(), list[1]["current"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(list[1]["last_seen"], SEEN);
}

#[test]
fn a_revoked_license_heard_by_machines_exits_1_and_stays_locked() {
    let cli = seated();
    cli.broker.set(Behaviour::deny("REVOKED"));
    let run = on(&cli, "box-a", &["machines"]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with("Not licensed (REVOKED, checked online)."),
        "{}",
        run.stdout
    );
    let json = on(&cli, "box-a", &["machines", "--json"]);
    assert_eq!(json.code, 1);
    let json = json.json();
    assert_eq!(
        (json["code"].as_str(), json["exit_code"].as_u64()),
        (Some("REVOKED"), Some(1))
    );
    // The deny replaced the lease: offline, the license stays locked.
    let run = on(&cli, "box-a", &["status", "--offline", "--json"]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert_eq!(run.json()["code"], "REVOKED");
    // A deactivation the server refuses keeps the key, and says so.
    let run = on(&cli, "box-a", &["deactivate"]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("its key stays on this machine"),
        "{}",
        run.stderr
    );
    assert!(cli.data_dir().join("license-key").exists());
}

#[test]
fn deactivate_with_the_broker_down_changes_nothing_and_exits_2() {
    let cli = seated();
    let lease = std::fs::read_to_string(cli.data_dir().join("license.json")).unwrap();
    let down = ["--broker-url", "http://127.0.0.1:9", "deactivate"];
    let run = on(&cli, "box-a", &down);
    assert_eq!(run.code, 2, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("nothing on this machine was changed"),
        "{}",
        run.stderr
    );
    let run = on(&cli, "box-a", &[&down[..], &["--json"]].concat());
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["code"], "BROKER_UNREACHABLE");
    assert!(cli.data_dir().join("license-key").exists());
    assert_eq!(
        std::fs::read_to_string(cli.data_dir().join("license.json")).unwrap(),
        lease
    );
    assert_eq!(cli.broker.held().len(), 1, "the seat is still held");
    assert_eq!(on(&cli, "box-a", &["status", "--offline"]).code, 0);

    // Reachable again: the seat is freed, then the key and the lease go.
    let run = on(&cli, "box-a", &["deactivate", "--json"]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    let json = run.json();
    assert_eq!(
        (json["code"].as_str(), json["removed_locally"].as_bool()),
        (Some("DEACTIVATED"), Some(true))
    );
    assert!(cli.broker.held().is_empty());
    assert!(!cli.data_dir().join("license-key").exists());
    assert!(!cli.data_dir().join("license.json").exists());
}

#[test]
fn a_saved_license_that_cannot_be_removed_is_named_as_such() {
    let cli = seated();
    // The seat is freed and the key removed, but the saved license cannot be (here: a
    // directory where the file should be).
    let lease = cli.data_dir().join("license.json");
    std::fs::remove_file(&lease).unwrap();
    std::fs::create_dir(&lease).unwrap();
    let run = on(&cli, "box-a", &["deactivate", "--json"]);
    assert_eq!(run.code, 2, "{} {}", run.stdout, run.stderr);
    let json = run.json();
    assert_eq!(json["code"], "CACHE_UNAVAILABLE", "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("the saved license could not be removed"),
        "{json}"
    );
    assert!(cli.broker.held().is_empty(), "the seat was freed");
}

#[test]
fn deactivate_machine_frees_that_seat_and_keeps_this_one() {
    let cli = seated();
    cli.broker.seat_other(OTHER, Some("dead laptop"), SEEN);
    let lease = std::fs::read_to_string(cli.data_dir().join("license.json")).unwrap();
    let run = on(&cli, "box-a", &["deactivate", "--machine", "ffffffffffff"]);
    assert_eq!(run.code, 1, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no machine of this license has the id ffffffffffff"),
        "{}",
        run.stderr
    );
    let run = on(&cli, "box-a", &["deactivate", "--machine", "NOT-HEX"]);
    assert_eq!(run.code, 64, "{}", run.stderr);

    let run = on(&cli, "box-a", &["deactivate", "--machine", OTHER]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("The seat of machine {OTHER} was freed")),
        "{}",
        run.stdout
    );
    assert_eq!(cli.broker.held(), vec![seat_id(&fingerprint("box-a"))]);
    assert!(cli.data_dir().join("license-key").exists());
    assert_eq!(
        std::fs::read_to_string(cli.data_dir().join("license.json")).unwrap(),
        lease
    );
    assert_eq!(on(&cli, "box-a", &["status", "--offline"]).code, 0);
}

#[test]
fn the_machine_id_variable_changes_the_fingerprint() {
    let cli = seated();
    let sent = cli.broker.calls().pop().unwrap().1["fingerprint"].clone();
    assert_eq!(sent.as_str(), Some(fingerprint("box-a").as_str()));
    // The lease is bound to box-a: under another id it does not count.
    let run = on(&cli, "box-z", &["status", "--offline", "--json"]);
    assert_eq!(
        (run.code, run.json()["code"].as_str()),
        (2, Some("NO_LEASE")),
        "{}",
        run.stdout
    );
    // Online, box-z holds no seat: a signed NOT_ACTIVATED, exit 1, telling it to activate.
    let run = on(&cli, "box-z", &["status", "--refresh"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("Not licensed (NOT_ACTIVATED, checked online)."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("license-check activate"),
        "{}",
        run.stdout
    );
    let json = on(&cli, "box-z", &["status", "--json"]).json();
    assert_eq!(json["code"], "NOT_ACTIVATED");
    let run = on(&cli, " ", &["status"]);
    assert_eq!(run.code, 64);
    assert!(
        run.stderr.contains("LICENSE_CHECK_MACHINE_ID"),
        "{}",
        run.stderr
    );
}

#[test]
fn help_names_the_variables_and_exit_codes() {
    let cli = Cli::new();
    for args in [
        &["--help"][..],
        &["deactivate", "--help"],
        &["machines", "--help"],
    ] {
        let run = cli.run(args);
        assert_eq!(run.code, 0);
        for needle in [
            "LICENSE_CHECK_MACHINE_ID",
            "LICENSE_CHECK_BROKER_URL",
            "Exit codes",
            "64",
        ] {
            assert!(
                run.stdout.contains(needle),
                "{args:?} {needle}: {}",
                run.stdout
            );
        }
    }
    let run = cli.run(&["activate", "--help"]);
    assert!(run.stdout.contains("--name"), "{}", run.stdout);
}
