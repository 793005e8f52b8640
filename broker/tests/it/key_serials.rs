//! Key serials against the ORDS emulator over HTTP: the vendor replaces a leaked key
//! by raising the license row's `key_serial` (here through the emulator's
//! `PUT /__emulator/licenses/{id}`) and issuing the key for the new serial. The old key
//! then licenses nothing (a signed deny), and never takes, renews or frees a seat.

use license_broker::vars as var;
use license_shared::{CustomerId, Envelope, VerdictCode, VerdictPayload};
use license_testkit::nonce;
use serde_json::{json, Value};

use super::helpers::{broker, start, TestApp};

async fn signed(app: &TestApp, endpoint: &str, key: &str, fingerprint: &str) -> VerdictPayload {
    let body = json!({"license_key": key, "nonce": nonce(), "fingerprint": fingerprint});
    let response = app
        .http
        .post(app.url(&format!("/v1/license/{endpoint}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let envelope: Envelope = response.json().await.unwrap();
    envelope
        .open(&app.trusted)
        .expect("a verdict the broker signed")
}

/// Customer 4 (two seats) as the seed has it, with `key_serial` set to `serial`.
async fn set_serial(app: &TestApp, serial: Value) -> reqwest::Response {
    let emulator = app.emulator();
    let row = json!({
        "product": "desktop-pro",
        "license_status": "ACTIVE",
        "expires_at": "+365d",
        "updated_at": "now",
        "max_machines": 2,
        "key_serial": serial,
    });
    app.http
        .put(format!("{}/__emulator/licenses/4", emulator.base_url))
        .json(&row)
        .send()
        .await
        .unwrap()
}

fn used(payload: &VerdictPayload) -> Option<u32> {
    payload.license.machines.as_ref().map(|m| m.used)
}

#[tokio::test]
async fn a_replaced_key_is_denied_and_takes_or_frees_no_seat_and_the_new_key_activates() {
    // No cached row: the serial is read on every request.
    let app = start(broker().settings(&[(var::VERDICT_TTL_SECS, "0")])).await;
    let old = app.key("4");
    let seated = signed(&app, "activate", &old, "laptop-a").await;
    assert_eq!(
        (seated.result.code, used(&seated)),
        (VerdictCode::Valid, Some(1))
    );

    // The key leaked: the vendor raises the serial and issues the key for it.
    let put = set_serial(&app, json!(1)).await;
    assert_eq!(put.status(), 200, "{:?}", put.text().await);
    assert_eq!(put.json::<Value>().await.unwrap()["key_serial"], 1);
    let new = app
        .config()
        .license_keys
        .mint_serial(&CustomerId::parse("4").unwrap(), 1);
    assert_ne!(new, old);

    // The old key licenses nothing, on the machine that held a seat with it or any
    // other, and its deactivation frees nothing.
    for (endpoint, machine) in [
        ("validate", "laptop-a"),
        ("activate", "laptop-c"),
        ("deactivate", "laptop-a"),
        ("machines", "laptop-a"),
    ] {
        let denied = signed(&app, endpoint, &old, machine).await;
        assert_eq!(
            denied.result.code,
            VerdictCode::Revoked,
            "{endpoint} with the old key: {denied:?}"
        );
        assert!(!denied.result.valid && denied.license.machines.is_none());
    }
    // laptop-c took no seat (else the second seat would be gone) and laptop-a's seat
    // was not freed: the new key gets the second seat, the first still held.
    let activated = signed(&app, "activate", &new, "laptop-b").await;
    assert_eq!(
        (activated.result.code, used(&activated)),
        (VerdictCode::Valid, Some(2)),
        "{activated:?}"
    );
    let validated = signed(&app, "validate", &new, "laptop-b").await;
    assert_eq!(validated.result.code, VerdictCode::Valid);

    // A serial outside what the column holds is refused, naming the constraint.
    let refused = set_serial(&app, json!(-1)).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("license.key_serial"));
}
