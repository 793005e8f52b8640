//! Offline activation over real HTTP against the real binaries: a request code made by
//! `license-check` with no license server reachable, answered by the broker's
//! `POST /v1/license/offline/activate` (the seat claimed in the emulator's seat store),
//! installed by `license-check` on that machine and on no other; and the deactivation
//! code, which frees the seat once and only when the machine signed it. Customer 4 of
//! the emulator's seed may be used on at most 2 machines.

use license_shared::{
    Envelope, Keyset, OfflineDeactivation, OfflineRequest, VerdictCode, VerdictPayload,
};

use super::processes::{broker_env, start_broker, start_emulator, text, BrokerKeys, Desktop};

/// Nothing listens here: the machine is offline as far as the client can tell.
const NO_NETWORK: &str = "http://127.0.0.1:9";
const DAY: i64 = 86_400;

fn machine(keys: &BrokerKeys, id: &str) -> Desktop {
    let mut desktop = Desktop::new(&keys.trusted, NO_NETWORK);
    desktop.machine_id = Some(id.to_owned());
    desktop
}

/// `code` with the first character of its group `group` (from 0) replaced.
fn typo(code: &str, group: usize) -> String {
    let mut groups: Vec<String> = code.split('-').map(str::to_owned).collect();
    let wrong = if groups[group].starts_with('A') {
        "B"
    } else {
        "A"
    };
    groups[group].replace_range(0..1, wrong);
    groups.join("-")
}

/// `activate KEY --offline-request`: the code on stdout, exit 0.
fn offline_request(desktop: &Desktop, key: &str) -> String {
    let out = desktop.run(&["activate", key, "--offline-request"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// POSTs JSON and reads the JSON answer, on a runtime of its own.
fn post(url: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    })
}

/// The seats the license holds now, as the broker signs them for a listing.
fn seats_used(url: &str, key: &str, trusted: &Keyset) -> u32 {
    let nonce = license_shared::base64url_encode(&rand::random::<[u8; 16]>());
    let (status, body) = post(
        &format!("{url}/v1/license/machines"),
        serde_json::json!({"license_key": key, "nonce": nonce, "fingerprint": "lister"}),
    );
    assert_eq!(status, 200, "{body}");
    let envelope: Envelope = serde_json::from_value(body).unwrap();
    let payload: VerdictPayload = envelope.open(trusted).unwrap();
    payload.license.machines.expect("seat-limited").used
}

#[test]
fn an_offline_request_licenses_its_machine_alone_and_its_deactivation_code_frees_the_seat_once() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let mut env = broker_env(&keys, &emulator);
    env.insert("LICENSE_BROKER_OFFLINE_ACTIVATION_DAYS".into(), "20".into());
    let broker = start_broker(&env);
    let trusted = Keyset::parse(&keys.trusted).unwrap();
    let key = keys.issue_key("4");
    let activate_url = format!("{}/v1/license/offline/activate", broker.url);
    let deactivate_url = format!("{}/v1/license/offline/deactivate", broker.url);

    // Made with no license server reachable.
    let air_gapped = machine(&keys, "air-gapped-1");
    let request = offline_request(&air_gapped, &key);
    assert!(request
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'));

    // A one-character typo is caught by its group's check character.
    let (status, body) = post(
        &activate_url,
        serde_json::json!({"request": typo(&request, 1)}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("group 2 of"),
        "{body}"
    );

    // Answered through the endpoint: a seat taken, a response code back.
    let (status, answer) = post(&activate_url, serde_json::json!({"request": request}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["code"], "VALID", "{answer}");
    let response = answer["response"].as_str().unwrap().to_owned();
    assert_eq!(seats_used(&broker.url, &key, &trusted), 1);

    // The same response on another machine licenses nothing: with no pending request,
    // and with a pending request of its own.
    let other = machine(&keys, "another-machine");
    let out = other.run(&["activate", "--offline-response", &response]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    offline_request(&other, &key);
    let out = other.run(&["activate", "--offline-response", &response]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    assert_eq!(other.status_json(&["--offline"]).0, 1);

    // Every code catches a one-character typo by its group's check character: the
    // response on the machine, the deactivation code at the broker (below).
    let out = air_gapped.run(&["activate", "--offline-response", &typo(&response, 3)]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("group 4 of"),
        "{}",
        text(&out.stderr)
    );

    // On its own machine it licenses it offline for the configured days.
    let out = air_gapped.run(&["activate", "--offline-response", &response, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (exit, status) = air_gapped.status_json(&["--offline"]);
    assert_eq!(exit, 0, "{status}");
    assert_eq!(status["licensed"], true);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let until = status["offline_until"].as_i64().unwrap();
    assert!((until - (now + 20 * DAY)).abs() < 120, "{status}");
    // Installed once: the pending request is used up.
    let again = air_gapped.run(&["activate", "--offline-response", &response]);
    assert_eq!(again.status.code(), Some(64), "{}", text(&again.stderr));

    // Deactivation: the code is printed and the license is gone from the machine.
    let out = air_gapped.run(&["deactivate", "--offline"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let real = text(&out.stdout).trim().to_owned();
    assert_eq!(air_gapped.status_json(&["--offline"]).0, 1);

    // A forged code (naming this activation's device key, signed by another key) and
    // an altered one (a field changed, check characters recomputed) free nothing.
    let asked = OfflineRequest::from_code(&request).unwrap();
    let stranger = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let own_forgery = OfflineDeactivation::signed(
        &key,
        &asked.fingerprint,
        Some("desktop-pro"),
        [1; 16],
        now,
        &stranger,
    );
    let mut forged = own_forgery.clone();
    forged.device_key = asked.device_key;
    let mut altered = OfflineDeactivation::from_code(&real).unwrap();
    altered.nonce = [2; 16];
    for code in [forged.to_code(), altered.to_code()] {
        let (status, body) = post(&deactivate_url, serde_json::json!({"code": code}));
        assert_eq!(status, 400, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("signature"),
            "{body}"
        );
    }
    // A code consistently signed by a key of its own names no activation that holds a
    // seat: answered, and frees nothing.
    let (status, _) = post(
        &deactivate_url,
        serde_json::json!({"code": own_forgery.to_code()}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        seats_used(&broker.url, &key, &trusted),
        1,
        "a forgery frees nothing"
    );

    let (status, body) = post(&deactivate_url, serde_json::json!({"code": typo(&real, 0)}));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("group 1 of"),
        "{body}"
    );

    // The real code frees the seat.
    let (status, body) = post(&deactivate_url, serde_json::json!({"code": real}));
    assert_eq!(status, 200, "{body}");
    let envelope: Envelope = serde_json::from_value(body).unwrap();
    assert_eq!(
        envelope.open(&trusted).unwrap().result.code,
        VerdictCode::Deactivated
    );
    assert_eq!(seats_used(&broker.url, &key, &trusted), 0);

    // Activated offline again, the old code frees the new seat no more.
    let request = offline_request(&air_gapped, &key);
    let (status, answer) = post(&activate_url, serde_json::json!({"request": request}));
    assert_eq!(
        (status, &answer["code"]),
        (200, &serde_json::json!("VALID"))
    );
    assert_eq!(seats_used(&broker.url, &key, &trusted), 1);
    let (status, _) = post(&deactivate_url, serde_json::json!({"code": real}));
    assert_eq!(status, 200);
    assert_eq!(
        seats_used(&broker.url, &key, &trusted),
        1,
        "a replayed code frees nothing"
    );
}
