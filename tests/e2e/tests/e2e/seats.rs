//! Seats over real HTTP against the real binaries: the `ords-emulator` (whose seat
//! handlers lock one row per license, like the `license_seats` package) and two
//! `license-broker` replicas sharing one signing key and key secret. Customer 4 of the
//! emulator's seed may be used on at most 2 machines.

use license_shared::{Envelope, Keyset, VerdictCode, VerdictPayload};

use super::processes::{broker_env, start_broker, start_emulator, BrokerKeys};

/// POSTs a body to `url` and opens the signed envelope, or returns the error status.
pub(super) async fn call(
    http: &reqwest::Client,
    url: &str,
    body: serde_json::Value,
    trusted: &Keyset,
) -> Result<VerdictPayload, (u16, String)> {
    let response = http.post(url).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    if status != 200 {
        return Err((status, text));
    }
    let envelope: Envelope = serde_json::from_str(&text).unwrap();
    Ok(envelope
        .open(trusted)
        .expect("a verdict signed by the broker"))
}

pub(super) fn body(key: &str, fingerprint: &str) -> serde_json::Value {
    serde_json::json!({
        "license_key": key,
        "nonce": nonce(),
        "fingerprint": fingerprint,
    })
}

pub(super) fn nonce() -> String {
    use base64::Engine as _;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn forty_machines_racing_over_two_replicas_get_exactly_two_seats() {
    let emulator = start_emulator();
    let keys = BrokerKeys::create();
    let mut env = broker_env(&keys, &emulator);
    // Forty activations from one address and one key are this test's load, not abuse.
    for limit in [
        "LICENSE_BROKER_ACTIVATIONS_PER_HOUR",
        "LICENSE_BROKER_RATE_PER_KEY",
        "LICENSE_BROKER_RATE_PER_IP",
    ] {
        env.insert(limit.into(), "0".into());
    }
    let replicas = [start_broker(&env), start_broker(&env)];
    let trusted = Keyset::parse(&keys.trusted).unwrap();
    let key = keys.issue_key("4");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let racing = (0..40).map(|i| {
            let url = format!("{}/v1/license/activate", replicas[i % 2].url);
            let request = body(&key, &format!("machine-{i:02}"));
            let (http, trusted) = (&http, &trusted);
            async move { call(http, &url, request, trusted).await }
        });
        let verdicts: Vec<VerdictPayload> = futures::future::join_all(racing)
            .await
            .into_iter()
            .map(|answer| answer.expect("every activation gets a signed verdict"))
            .collect();
        let count = |code| verdicts.iter().filter(|v| v.result.code == code).count();
        assert_eq!(
            (count(VerdictCode::Valid), count(VerdictCode::MachineLimit)),
            (2, 38),
            "exactly the license's two seats are taken"
        );
        for verdict in &verdicts {
            let machines = verdict
                .license
                .machines
                .as_ref()
                .expect("a seat-limited license says so");
            assert_eq!(machines.max, Some(2));
            assert!((1..=2).contains(&machines.used), "{machines:?}");
            if verdict.result.code == VerdictCode::MachineLimit {
                assert_eq!(machines.used, 2);
                assert_eq!(machines.list.len(), 2, "a refusal lists the seats");
                assert!(machines.list.iter().all(|m| !m.current));
            }
        }
        let seated: Vec<String> = verdicts
            .iter()
            .filter(|v| v.result.code == VerdictCode::Valid)
            .map(|v| v.fingerprint.clone().unwrap())
            .collect();

        // Activating a seated machine again, on either replica, never takes a second seat.
        for replica in &replicas {
            let again = call(
                &http,
                &format!("{}/v1/license/activate", replica.url),
                body(&key, &seated[0]),
                &trusted,
            )
            .await
            .unwrap();
            assert_eq!(again.result.code, VerdictCode::Valid);
            assert_eq!(again.license.machines.unwrap().used, 2);
        }

        // A third machine has no seat: validate says so, signed, and is not an error.
        let third = "machine-third";
        let validate = call(
            &http,
            &format!("{}/v1/license/validate", replicas[0].url),
            body(&key, third),
            &trusted,
        )
        .await
        .unwrap();
        assert_eq!(validate.result.code, VerdictCode::NotActivated);
        assert!(!validate.result.valid);
        let seated_validate = call(
            &http,
            &format!("{}/v1/license/validate", replicas[1].url),
            body(&key, &seated[1]),
            &trusted,
        )
        .await
        .unwrap();
        assert_eq!(seated_validate.result.code, VerdictCode::Valid);

        // The machine list marks the machine that asks.
        let listed = call(
            &http,
            &format!("{}/v1/license/machines", replicas[0].url),
            body(&key, &seated[1]),
            &trusted,
        )
        .await
        .unwrap();
        let list = listed.license.machines.unwrap().list;
        assert_eq!(list.len(), 2);
        assert_eq!(list.iter().filter(|m| m.current).count(), 1);

        // One seated machine leaves (on one replica); the third gets in (on the other).
        let freed = call(
            &http,
            &format!("{}/v1/license/deactivate", replicas[0].url),
            body(&key, &seated[0]),
            &trusted,
        )
        .await
        .unwrap();
        assert_eq!(freed.result.code, VerdictCode::Deactivated);
        assert_eq!(freed.license.machines.unwrap().used, 1);
        let gone = call(
            &http,
            &format!("{}/v1/license/validate", replicas[1].url),
            body(&key, &seated[0]),
            &trusted,
        )
        .await
        .unwrap();
        assert_eq!(
            gone.result.code,
            VerdictCode::NotActivated,
            "freed on every replica at once"
        );
        let joined = call(
            &http,
            &format!("{}/v1/license/activate", replicas[1].url),
            body(&key, third),
            &trusted,
        )
        .await
        .unwrap();
        assert_eq!(joined.result.code, VerdictCode::Valid);

        // An unlimited license (customer 1) needs no activation and carries no seats.
        let unlimited = call(
            &http,
            &format!("{}/v1/license/validate", replicas[0].url),
            body(&keys.issue_key("1"), "any-machine"),
            &trusted,
        )
        .await
        .unwrap();
        assert_eq!(unlimited.result.code, VerdictCode::Valid);
        assert_eq!(unlimited.license.machines, None);
    });
}
