//! The `/__emulator/` faults and counters.

use std::time::{Duration, Instant};

use ords_emulator::Faults;
use reqwest::header::ACCEPT;

use crate::{start, Answer};

async fn post_faults(env: &crate::Env, json: &str) -> Answer {
    let response = env
        .http
        .post(format!("{}/__emulator/faults", env.ords.base_url))
        .header("content-type", "application/json")
        .body(json.to_owned())
        .send()
        .await
        .unwrap();
    Answer::from(response).await
}

async fn clear(env: &crate::Env) {
    let r = env
        .http
        .delete(format!("{}/__emulator/faults", env.ords.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn status_faults_answer_with_the_problem_body_then_clear() {
    let env = start().await;
    let token = env.token().await;
    assert_eq!(
        post_faults(&env, r#"{"resource_status":503,"token_status":500}"#)
            .await
            .status,
        200
    );
    let resource = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!(resource.status, 503);
    assert_eq!(
        resource.masked(),
        r#"{
    "code": "ServiceUnavailable",
    "message": "Service Unavailable",
    "type": "tag:oracle.com,2020:error/ServiceUnavailable",
    "instance": "tag:oracle.com,2020:ecid/ECID"
}
"#
    );
    let (id, secret) = env.creds();
    let token_answer = env
        .http
        .post(env.ords.token_url())
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token_answer.status(), 500);
    clear(&env).await;
    assert_eq!(
        env.get("customers/validation/1", Some(&token)).await.status,
        200
    );
}

#[tokio::test]
async fn times_limits_a_fault_to_the_next_requests() {
    let env = start().await;
    let token = env.token().await;
    post_faults(&env, r#"{"resource_status":502,"times":2}"#).await;
    let statuses = [
        env.get("customers/validation/1", Some(&token)).await.status,
        env.get("customers/validation/1", Some(&token)).await.status,
        env.get("customers/validation/1", Some(&token)).await.status,
    ];
    assert_eq!(statuses, [502, 502, 200]);
    let faults: serde_json::Value = env
        .http
        .get(format!("{}/__emulator/faults", env.ords.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["resource_status"], serde_json::Value::Null);
}

#[tokio::test]
async fn latency_delays_answers() {
    let env = start().await;
    post_faults(&env, r#"{"latency_ms":300}"#).await;
    let began = Instant::now();
    assert_eq!(env.get("customers/validation/1", None).await.status, 401);
    assert!(began.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn dropped_connections_get_no_answer_at_all() {
    let env = start().await;
    let token = env.token().await;
    post_faults(&env, r#"{"drop_connections":true}"#).await;
    let error = env
        .http
        .get(env.ords.url("customers/validation/1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("the connection must close without a response");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    // The test surface stays reachable, so the fault can be cleared.
    clear(&env).await;
    assert_eq!(
        env.get("customers/validation/1", Some(&token)).await.status,
        200
    );
    assert_eq!(env.ords.stats().dropped_connections, 1);
}

#[tokio::test]
async fn the_token_endpoint_alone_can_be_down() {
    let env = start().await;
    let token = env.token().await;
    post_faults(&env, r#"{"drop_token_connections":true}"#).await;
    let (id, secret) = env.creds();
    let refused = env
        .http
        .post(env.ords.token_url())
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert!(refused.is_err());
    assert_eq!(
        env.get("customers/validation/1", Some(&token)).await.status,
        200
    );
}

#[tokio::test]
async fn stall_holds_requests_until_cleared() {
    let env = start().await;
    post_faults(&env, r#"{"stall":true}"#).await;
    let url = env.ords.url("customers/validation/1");
    let http = env.http.clone();
    let pending = tokio::spawn(async move {
        http.get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    // Wait until the emulator has the request, without sleeping.
    tokio::time::timeout(Duration::from_secs(10), async {
        while env.ords.stats().resource_requests == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the request arrives");
    assert!(!pending.is_finished());
    clear(&env).await;
    assert_eq!(pending.await.unwrap().unwrap(), 401);
}

#[tokio::test]
async fn revoke_tokens_invalidates_every_token_once() {
    let env = start().await;
    let old = env.token().await;
    let answer = post_faults(&env, r#"{"revoke_tokens":true}"#).await;
    // It acted and is not kept.
    assert_eq!(
        answer.body,
        r#"{"latency_ms":null,"resource_status":null,"token_status":null,"drop_connections":false,"drop_token_connections":false,"drop_resource_connections":false,"stall":false,"revoke_tokens":false,"seats_status":null,"seats_cause":null,"seats_busy":false,"gateway_status":null,"token_gateway_status":null,"resource_gateway_status":null,"retry_after_secs":null,"chunked":false,"times":null}"#
    );
    assert_eq!(
        env.get("customers/validation/1", Some(&old)).await.status,
        401
    );
    let new = env.token().await;
    assert_eq!(
        env.get("customers/validation/1", Some(&new)).await.status,
        200
    );
    env.ords.set_faults(Faults {
        revoke_tokens: true,
        ..Faults::default()
    });
    assert_eq!(
        env.get("customers/validation/1", Some(&new)).await.status,
        401
    );
}

#[tokio::test]
async fn bad_fault_documents_are_refused_naming_the_member() {
    let env = start().await;
    let unknown = post_faults(&env, r#"{"latency":5}"#).await;
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.body.contains("unknown field `latency`"),
        "{}",
        unknown.body
    );
    let status = post_faults(&env, r#"{"token_status":42}"#).await;
    assert_eq!(status.status, 400);
    assert!(status.body.contains("token_status"), "{}", status.body);
}

#[tokio::test]
async fn stats_count_every_request_per_endpoint() {
    let env = start().await;
    let token = env.token().await;
    env.get("customers/validation/1", None).await;
    env.get("customers/validation/1", Some(&token)).await;
    env.get("customers/validation/99", Some(&token)).await;
    env.get("customers/elsewhere", Some(&token)).await;
    env.http.get(env.ords.token_url()).send().await.unwrap();
    let stats: serde_json::Value = env
        .http
        .get(format!("{}/__emulator/stats", env.ords.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        r#"{"dropped_connections":0,"endpoints":{"GET /ords/page/ (no template)":{"requests":1,"responses":{"404":1}},"GET /ords/page/customers/validation/:id":{"requests":3,"responses":{"200":1,"401":1,"404":1}},"GET /ords/page/oauth/token":{"requests":1,"responses":{"405":1}},"POST /ords/page/oauth/token":{"requests":1,"responses":{"200":1}}},"resource_requests":4,"seat_requests":0,"token_requests":2,"tokens_issued":1}"#,
    )
    .unwrap();
    assert_eq!(stats, expected);
    let r = env
        .http
        .delete(format!("{}/__emulator/stats", env.ords.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(env.ords.stats().token_requests, 0);
}

#[tokio::test]
async fn licenses_can_be_changed_over_http() {
    let env = start().await;
    let base = format!("{}/__emulator/licenses", env.ords.base_url);
    let put = env
        .http
        .put(format!("{base}/3"))
        .body(r#"{"license_status":"ACTIVE","product":"desktop-pro","expires_at":"2030-01-01T00:00:00Z","updated_at":"now"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.text().await.unwrap(),
        r#"{"customer_id":3,"product":"desktop-pro","license_status":"ACTIVE","expires_at":"2030-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00.000Z","max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#
    );
    let bad = env
        .http
        .put(format!("{base}/3"))
        .body(r#"{"license_status":"ACTIVE","expires_at":"soon"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        env.http
            .delete(format!("{base}/1"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let token = env.token().await;
    assert_eq!(
        env.get("customers/validation/1", Some(&token)).await.status,
        404
    );
    let all = env
        .http
        .get(&base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(all.starts_with(r#"[{"customer_id":2,"#), "{all}");
}
