//! Floating licenses and trials over real HTTP against the real binaries: the
//! `ords-emulator` (the `license_seats` package's rules, its clock moved with
//! `POST /__emulator/clock`) and two `license-broker` replicas sharing one signing key
//! and key secret. Customer 7 of the emulator's seed is `FLOATING` with 2 seats and
//! `max_borrow_days` 7; product `desktop-pro` has a 14-day trial, `desktop-lite` none.

use std::collections::HashMap;

use license_shared::{Keyset, VerdictCode, VerdictPayload};

use super::processes::{
    broker_env, start_broker, start_emulator, text, BrokerKeys, Desktop, Emulator,
};
use super::seats::{body, call, nonce};

const DAY: i64 = 86_400;

/// The broker settings of these tests: a short floating lease (the broker's default
/// is 900 s) and no rate limits (forty requests from one address are this test's
/// load, not abuse).
fn floating_env(keys: &BrokerKeys, emulator: &Emulator) -> HashMap<String, String> {
    let mut env = broker_env(keys, emulator);
    for limit in [
        "LICENSE_BROKER_ACTIVATIONS_PER_HOUR",
        "LICENSE_BROKER_RATE_PER_KEY",
        "LICENSE_BROKER_RATE_PER_IP",
    ] {
        env.insert(limit.into(), "0".into());
    }
    env.insert("LICENSE_BROKER_FLOATING_LEASE_SECS".into(), "60".into());
    // The longest grace, so only the seat's lease (or borrow) caps a floating verdict.
    env.insert(
        "LICENSE_BROKER_OFFLINE_GRACE_SECS".into(),
        (30 * DAY).to_string(),
    );
    env
}

async fn advance_clock(http: &reqwest::Client, emulator: &Emulator, secs: u64) {
    let response = http
        .post(format!("{}/__emulator/clock", emulator.base_url))
        .json(&serde_json::json!({ "advance_secs": secs }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn forty_checkouts_over_two_replicas_get_exactly_two_floating_seats() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let env = floating_env(&keys, &emulator);
    let replicas = [start_broker(&env), start_broker(&env)];
    let trusted = Keyset::parse(&keys.trusted).unwrap();
    let key = keys.issue_key("7");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let checkout = |i: usize| format!("{}/v1/license/checkout", replicas[i % 2].url);
        let racing = (0..40).map(|i| {
            let url = checkout(i);
            let mut request = body(&key, &format!("machine-{i:02}"));
            request["machine_name"] = format!("Workstation {i:02}").into();
            let (http, trusted) = (&http, &trusted);
            async move { call(http, &url, request, trusted).await }
        });
        let verdicts: Vec<VerdictPayload> = futures::future::join_all(racing)
            .await
            .into_iter()
            .map(|answer| answer.expect("every checkout gets a signed verdict"))
            .collect();
        let count = |code| verdicts.iter().filter(|v| v.result.code == code).count();
        assert_eq!(
            (count(VerdictCode::Valid), count(VerdictCode::SeatsInUse)),
            (2, 38),
            "exactly the license's two floating seats are taken"
        );
        for verdict in &verdicts {
            let machines = verdict.license.machines.as_ref().unwrap();
            if verdict.result.code == VerdictCode::Valid {
                // The offline window never outlives the 60 s lease.
                let until = verdict.policy.offline_until;
                assert!(
                    until <= verdict.iat + 61 && until > verdict.iat,
                    "{verdict:?}"
                );
            } else {
                // Who holds the seats: name and since when.
                assert_eq!(machines.list.len(), 2, "{machines:?}");
                for holder in &machines.list {
                    assert!(holder.name.as_deref().unwrap().starts_with("Workstation "));
                    assert!(holder.since.is_some_and(|s| s <= verdict.iat));
                }
                assert_eq!(verdict.policy.offline_until, verdict.iat);
            }
        }
        let seated: Vec<String> = verdicts
            .iter()
            .filter(|v| v.result.code == VerdictCode::Valid)
            .map(|v| v.fingerprint.clone().unwrap())
            .collect();

        // Renewal is checking out again: the same seat, on either replica.
        for (i, machine) in seated.iter().enumerate() {
            let renewed = call(&http, &checkout(i + 1), body(&key, machine), &trusted).await;
            assert_eq!(renewed.unwrap().result.code, VerdictCode::Valid);
        }
        // A floating license is never activated (that would be a long node-locked
        // lease): the database says so, signed. A validation renews a held seat with
        // the floating lease and never takes one.
        let url = format!("{}/v1/license/activate", replicas[0].url);
        let refused = call(&http, &url, body(&key, "machine-third"), &trusted).await;
        assert_eq!(refused.unwrap().result.code, VerdictCode::CheckoutRequired);
        let validate = format!("{}/v1/license/validate", replicas[1].url);
        let held = call(&http, &validate, body(&key, &seated[0]), &trusted)
            .await
            .unwrap();
        assert_eq!(held.result.code, VerdictCode::Valid);
        assert!(held.policy.offline_until <= held.iat + 61, "{held:?}");
        let none = call(&http, &validate, body(&key, "machine-third"), &trusted).await;
        assert_eq!(none.unwrap().result.code, VerdictCode::NotActivated);

        // A third machine gets in after a checkin (on the other replica)…
        let third = "machine-third";
        let full = call(&http, &checkout(0), body(&key, third), &trusted).await;
        assert_eq!(full.unwrap().result.code, VerdictCode::SeatsInUse);
        let checkin = format!("{}/v1/license/checkin", replicas[1].url);
        let freed = call(&http, &checkin, body(&key, &seated[0]), &trusted).await;
        assert_eq!(freed.unwrap().result.code, VerdictCode::Deactivated);
        let joined = call(&http, &checkout(0), body(&key, third), &trusted).await;
        assert_eq!(joined.unwrap().result.code, VerdictCode::Valid);

        // …or after the leases run out on the emulator's clock (crashed apps).
        let fourth = "machine-fourth";
        let full = call(&http, &checkout(1), body(&key, fourth), &trusted).await;
        assert_eq!(full.unwrap().result.code, VerdictCode::SeatsInUse);
        advance_clock(&http, &emulator, 61).await;
        let joined = call(&http, &checkout(1), body(&key, fourth), &trusted).await;
        let joined = joined.unwrap();
        assert_eq!(joined.result.code, VerdictCode::Valid);
        assert_eq!(joined.license.machines.unwrap().used, 1);

        // A node-locked license has no floating seats.
        let node_locked = keys.issue_key("4");
        let refused = call(&http, &checkout(0), body(&node_locked, "m"), &trusted).await;
        assert_eq!(refused.unwrap().result.code, VerdictCode::NotFloating);
    });
}

#[test]
fn a_borrowed_seat_is_capped_at_max_borrow_days_and_can_be_returned() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let broker = start_broker(&floating_env(&keys, &emulator));
    let trusted = Keyset::parse(&keys.trusted).unwrap();
    let key = keys.issue_key("7");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let checkout = format!("{}/v1/license/checkout", broker.url);
        let mut request = body(&key, "laptop");
        request["borrow_days"] = 30.into();
        let borrowed = call(&http, &checkout, request, &trusted).await.unwrap();
        assert_eq!(borrowed.result.code, VerdictCode::Valid);
        // 30 days asked, the license's 7 given (the grace allows 30).
        let until = borrowed.policy.offline_until;
        assert!(
            (borrowed.iat + 7 * DAY - 5..=borrowed.iat + 7 * DAY + 5).contains(&until),
            "{} days",
            (until - borrowed.iat) as f64 / DAY as f64
        );
        // Checking out again without a borrow never cuts it short.
        let again = call(&http, &checkout, body(&key, "laptop"), &trusted).await;
        assert!(again.unwrap().policy.offline_until >= until - 5);
        // Returned early when back online: the seat is free for another machine.
        let checkin = format!("{}/v1/license/checkin", broker.url);
        let back = call(&http, &checkin, body(&key, "laptop"), &trusted).await;
        assert_eq!(back.unwrap().result.code, VerdictCode::Deactivated);
        let list = format!("{}/v1/license/machines", broker.url);
        let listed = call(&http, &list, body(&key, "desk"), &trusted)
            .await
            .unwrap();
        assert_eq!(listed.license.machines.unwrap().used, 0);
        // A borrow that is not a whole number of days, or too long, is a clear 400.
        let mut bad = body(&key, "laptop");
        bad["borrow_days"] = 0.into();
        let (status, text) = call(&http, &checkout, bad, &trusted).await.unwrap_err();
        assert_eq!(status, 400);
        assert!(text.contains("borrow_days"), "{text}");
    });
}

fn trial(product: &str, fingerprint: &str) -> serde_json::Value {
    serde_json::json!({
        "product": product,
        "nonce": nonce(),
        "fingerprint": fingerprint,
        "app": {"id": "com.example.cad", "version": "1.0"},
    })
}

#[test]
fn a_trial_starts_once_per_machine_and_product_and_ends_by_the_databases_clock() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let env = floating_env(&keys, &emulator);
    let replicas = [start_broker(&env), start_broker(&env)];
    let trusted = Keyset::parse(&keys.trusted).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let start = |i: usize| format!("{}/v1/trial/start", replicas[i % 2].url);
        let first = call(&http, &start(0), trial("desktop-pro", "pc-1"), &trusted)
            .await
            .unwrap();
        assert_eq!(first.result.code, VerdictCode::Trial);
        assert!(first.result.valid);
        assert_eq!(first.license.product.as_deref(), Some("desktop-pro"));
        let expires = first.license.expires_at.expect("a trial ends");
        assert!((first.iat + 14 * DAY - 5..=first.iat + 14 * DAY + 5).contains(&expires));
        // Usable offline within the grace, never past its end.
        assert!(first.policy.offline_until <= expires);
        assert!(first.policy.offline_until > first.iat);

        // Asking again (a reinstall, another replica, a day later) repeats its end.
        advance_clock(&http, &emulator, DAY as u64).await;
        let again = call(&http, &start(1), trial("desktop-pro", "pc-1"), &trusted)
            .await
            .unwrap();
        assert_eq!(
            (again.result.code, again.license.expires_at),
            (VerdictCode::Trial, Some(expires))
        );
        // Another machine gets its own; another product without trials gets none.
        let other = call(&http, &start(0), trial("desktop-pro", "pc-2"), &trusted)
            .await
            .unwrap();
        assert_eq!(other.result.code, VerdictCode::Trial);
        assert!(other.license.expires_at > Some(expires));
        let lite = call(&http, &start(1), trial("desktop-lite", "pc-1"), &trusted)
            .await
            .unwrap();
        assert_eq!(lite.result.code, VerdictCode::NoTrial);
        assert!(!lite.result.valid);

        // The database's clock ends it (the brokers' own clocks have not moved), and
        // it never starts again.
        advance_clock(&http, &emulator, 14 * DAY as u64).await;
        for i in 0..2 {
            let over = call(&http, &start(i), trial("desktop-pro", "pc-1"), &trusted)
                .await
                .unwrap();
            assert_eq!(
                (over.result.code, over.license.expires_at),
                (VerdictCode::TrialExpired, Some(expires))
            );
            assert_eq!(over.policy.offline_until, over.iat);
        }
        // A trial needs a fingerprint: a clear 400.
        let mut bad = trial("desktop-pro", "pc-1");
        bad.as_object_mut().unwrap().remove("fingerprint");
        let (status, text) = call(&http, &start(0), bad, &trusted).await.unwrap_err();
        assert_eq!(status, 400);
        assert!(text.contains("fingerprint"), "{text}");
    });
}

/// `license-check --json …` on `desktop`: the exit code and the parsed object.
fn json_run(desktop: &Desktop, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = desktop.run(&all);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", text(&out.stdout)));
    (out.status.code().expect("an exit code"), json)
}

#[test]
fn the_cli_checks_a_floating_seat_out_and_in_and_starts_a_trial() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let broker = start_broker(&floating_env(&keys, &emulator));
    let key = keys.issue_key("7");
    let machines: Vec<Desktop> = (0..3)
        .map(|i| Desktop::machine(&keys.trusted, &broker.url, &format!("cli-machine-{i}")))
        .collect();
    for (i, desktop) in machines.iter().take(2).enumerate() {
        let name = format!("bench {i}");
        let (code, json) = json_run(desktop, &["checkout", &key, "--name", &name]);
        assert_eq!((code, json["code"].as_str()), (0, Some("VALID")), "{json}");
    }
    let (code, json) = json_run(&machines[2], &["checkout", &key]);
    assert_eq!(
        (code, json["code"].as_str()),
        (1, Some("SEATS_IN_USE")),
        "{json}"
    );
    assert!(
        json["message"].as_str().unwrap().contains("bench 0"),
        "{json}"
    );
    let (code, json) = json_run(&machines[0], &["checkin"]);
    assert_eq!(
        (code, json["code"].as_str()),
        (0, Some("DEACTIVATED")),
        "{json}"
    );
    let (code, json) = json_run(&machines[2], &["checkout", &key, "--borrow", "30"]);
    assert_eq!((code, json["code"].as_str()), (0, Some("VALID")), "{json}");
    let borrowed = json["offline_until"].as_i64().unwrap();
    let now = time_now();
    assert!(
        borrowed <= now + 7 * DAY + 5 && borrowed > now + 6 * DAY,
        "{json}"
    );

    let (code, json) = json_run(&machines[0], &["trial", "--product", "desktop-pro"]);
    assert_eq!((code, json["code"].as_str()), (0, Some("TRIAL")), "{json}");
    let (code, json) = json_run(&machines[0], &["trial", "--product", "desktop-lite"]);
    assert_eq!(
        (code, json["code"].as_str()),
        (1, Some("NO_TRIAL")),
        "{json}"
    );
    let (code, json) = json_run(&machines[0], &["trial"]);
    assert_eq!(
        (code, json["code"].as_str()),
        (64, Some("USAGE_ERROR")),
        "{json}"
    );
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
