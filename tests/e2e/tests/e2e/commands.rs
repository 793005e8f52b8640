//! The contract's commands, exit codes and `--json` output, process against process.

use super::processes::{
    broker, broker_env, start_broker, start_emulator, text, BrokerKeys, Desktop,
};

#[test]
fn broker_check_obtains_a_token_or_says_why_in_one_line() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let mut env = broker_env(&keys, &emulator);
    let ok = broker(&["check"], None, &env);
    assert_eq!(ok.status.code(), Some(0), "check: {}", text(&ok.stderr));

    std::fs::write(
        keys.dir.path().join("client-secret"),
        "wrongSecret000000000000..",
    )
    .unwrap();
    let refused = broker(&["check"], None, &env);
    assert_ne!(refused.status.code(), Some(0));
    let reason = text(&refused.stderr);
    assert_eq!(reason.trim().lines().count(), 1, "one line: {reason}");
    assert!(
        !reason.contains("wrongSecret"),
        "the secret leaked: {reason}"
    );

    env.insert(
        "LICENSE_BROKER_ORDS_BASE_URL".into(),
        "http://ords.example.com/ords/page".into(),
    );
    let plain_http = broker(&["check"], None, &env);
    assert_ne!(plain_http.status.code(), Some(0));
    assert!(text(&plain_http.stderr).contains("LICENSE_BROKER_ORDS_BASE_URL"));
}

#[test]
fn activate_status_offline_and_deactivate_with_the_contracts_exit_codes() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let mut broker = start_broker(&broker_env(&keys, &emulator));
    let desktop = Desktop::new(&keys.trusted, &broker.url);

    // Nothing stored yet: not licensed.
    let (code, json) = desktop.status_json(&[]);
    assert_eq!(
        (code, json["code"].as_str()),
        (1, Some("NO_LICENSE")),
        "{json}"
    );

    // Usage errors are 64, and a typo never reaches the network.
    assert_eq!(desktop.run(&["frobnicate"]).status.code(), Some(64));
    assert_eq!(
        desktop.run(&["activate", "NOT-A-KEY"]).status.code(),
        Some(64)
    );

    let out = desktop.run(&["activate", &keys.issue_key("1")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "activate: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("key store: file"),
        "it says which store it used"
    );

    let (code, json) = desktop.status_json(&["--refresh"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["licensed"], true);
    assert_eq!(json["code"], "VALID");
    assert_eq!(json["source"], "online");
    assert!(json["expires_at"].as_i64().is_some(), "{json}");
    assert!(json["offline_until"].as_i64().is_some(), "{json}");
    assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));

    let (code, json) = desktop.status_json(&["--offline"]);
    assert_eq!(
        (code, json["source"].as_str()),
        (0, Some("cache")),
        "{json}"
    );

    // The broker goes away: the signed lease carries the app through.
    drop(broker.process);
    let (code, json) = desktop.status_json(&["--refresh"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        (json["code"].as_str(), json["source"].as_str()),
        (Some("OFFLINE_GRACE"), Some("cache"))
    );

    // Deactivate frees the seat online first: with the broker down it changes
    // nothing and exits 2, and the lease still carries the app.
    let out = desktop.run(&["deactivate"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let (code, json) = desktop.status_json(&["--offline"]);
    assert_eq!(
        (code, json["source"].as_str()),
        (0, Some("cache")),
        "{json}"
    );

    // With a broker again it deactivates, and then there is nothing to go on.
    broker = start_broker(&broker_env(&keys, &emulator));
    let out = desktop.run(&["--broker-url", &broker.url, "deactivate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (code, json) = desktop.status_json(&["--offline"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["code"], "NO_LICENSE");
}

#[test]
fn denies_exit_1_and_an_unreachable_broker_without_a_lease_exits_2() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let broker = start_broker(&broker_env(&keys, &emulator));
    for (customer, expected) in [("2", "EXPIRED"), ("3", "SUSPENDED"), ("99", "NOT_FOUND")] {
        let desktop = Desktop::new(&keys.trusted, &broker.url);
        let out = desktop.run(&["activate", &keys.issue_key(customer)]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "customer {customer}: {}",
            text(&out.stdout)
        );
        assert!(text(&out.stdout).contains(expected) || text(&out.stderr).contains(expected));
    }
    let nowhere = Desktop::new(&keys.trusted, "http://127.0.0.1:9");
    let out = nowhere.run(&["activate", &keys.issue_key("1")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
