//! Offline activation through the broker: request codes in, response codes out, the
//! same checks as `activate`, and the `/offline` page with its Content-Security-Policy.

use ed25519_dalek::SigningKey;
use license_shared::{
    AppInfo, OfflineDeactivation, OfflineRequest, OfflineResponse, VerdictCode, OFFLINE_NONCE_BYTES,
};
use serde_json::{json, Value};

use super::helpers::{error_body, spawn_app, spawn_app_env, TestApp};

const DAY: i64 = 86_400;

fn request_for(key: &str, fingerprint: &str, device: &SigningKey) -> OfflineRequest {
    OfflineRequest {
        license_key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        app: Some(AppInfo {
            id: "com.example.editor".into(),
            version: "1.0".into(),
        }),
        product: None,
        nonce: rand::random::<[u8; OFFLINE_NONCE_BYTES]>(),
        created_at: 0,
        device_key: device.verifying_key().to_bytes(),
    }
}

async fn offline(app: &TestApp, endpoint: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/v1/license/offline/{endpoint}")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_request_code_is_answered_with_a_verdict_bound_to_it_for_the_offline_term() {
    let app = spawn_app_env(&[("LICENSE_BROKER_OFFLINE_ACTIVATION_DAYS", "12")]).await;
    let device = SigningKey::from_bytes(&[4; 32]);
    let request = request_for(&app.key("1"), "fp-offline", &device);
    let response = offline(&app, "activate", json!({"request": request.to_code()})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (&body["code"], &body["licensed"]),
        (&json!("VALID"), &json!(true))
    );
    let code = body["response"].as_str().unwrap();
    let svg = body["qr_svg"].as_str().unwrap();
    assert!(
        svg.starts_with("<svg xmlns=") && svg.ends_with("</svg>"),
        "{svg}"
    );
    assert!(svg.len() < 50_000, "{} bytes", svg.len());
    let opened = OfflineResponse::from_code(code)
        .unwrap()
        .envelope
        .open_bound(&app.trusted)
        .expect("the ordinary signed verdict");
    let (payload, signed) = (opened.payload, opened.request.unwrap());
    assert_eq!(payload.nonce, request.nonce_text());
    assert_eq!(payload.fingerprint.as_deref(), Some("fp-offline"));
    assert_eq!(signed.op, "activate");
    assert_eq!(signed.device_key, Some(request.device_key_text()));
    assert_eq!(payload.policy.offline_until, payload.iat + 12 * DAY);
    assert_eq!(body["offline_until"], payload.policy.offline_until);
}

#[tokio::test]
async fn a_used_request_is_said_so_and_a_full_license_answers_machine_limit_with_the_machines() {
    let app = spawn_app().await;
    for machine in ["one", "two", "three"] {
        let device = SigningKey::from_bytes(&rand::random());
        let request = request_for(&app.key("4"), machine, &device);
        let response = offline(&app, "activate", json!({"request": request.to_code()})).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        if machine != "three" {
            assert_eq!(
                (&body["code"], &body["repeated"]),
                (&json!("VALID"), &json!(false))
            );
            // A used request: the same seat, the same activation, and the page says so.
            let again = offline(&app, "activate", json!({"request": request.to_code()})).await;
            let again: Value = again.json().await.unwrap();
            assert_eq!(
                (&again["code"], &again["repeated"]),
                (&json!("VALID"), &json!(true))
            );
            let message = again["message"].as_str().unwrap();
            assert!(message.contains("used request"), "{message}");
            continue;
        }
        assert_eq!(body["code"], "MACHINE_LIMIT", "{body}");
        assert_eq!(
            body["machines"]["list"].as_array().unwrap().len(),
            2,
            "{body}"
        );
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("MACHINE_LIMIT") && message.contains("deactivat"),
            "{message}"
        );
        let payload = OfflineResponse::from_code(body["response"].as_str().unwrap())
            .unwrap()
            .envelope
            .open(&app.trusted)
            .unwrap();
        assert_eq!(payload.result.code, VerdictCode::MachineLimit);
    }
}

#[tokio::test]
async fn bad_codes_get_a_400_that_says_what_to_do() {
    let app = spawn_app().await;
    let device = SigningKey::from_bytes(&[5; 32]);
    let request = request_for(&app.key("1"), "fp", &device).to_code();
    let deactivation =
        OfflineDeactivation::signed(&app.key("1"), "fp", None, [0; 16], 0, &device).to_code();
    let mut typo: Vec<char> = request.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    for (endpoint, body, says) in [
        ("activate", json!({"request": typo}), "group 1 of"),
        (
            "activate",
            json!({"request": deactivation}),
            "deactivation code",
        ),
        ("activate", json!({"request": ""}), "empty"),
        (
            "activate",
            json!({"request": request, "extra": 1}),
            "unknown field",
        ),
        ("deactivate", json!({"code": request}), "request code"),
        ("deactivate", json!({"code": "ZZZZZ-U"}), "no code uses"),
    ] {
        let response = offline(&app, endpoint, body).await;
        let error = error_body(response, 400, "invalid_request").await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{endpoint}: {message}");
        assert!(
            !message.contains(&app.key("1")),
            "the key leaked: {message}"
        );
    }
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_content_security_policy() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/offline", "text/html"),
        ("/offline/page.js", "text/javascript"),
        ("/offline/page.css", "text/css"),
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.starts_with("default-src 'none'; script-src 'self';"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(headers["content-type"].to_str().unwrap().starts_with(kind));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let text = response.text().await.unwrap();
        if path == "/offline" {
            // No inline script or style, and nothing from another site.
            assert!(
                !text.contains("<script>") && !text.contains("style="),
                "{text}"
            );
            assert!(!text.contains("http://") && !text.contains("https://"));
            for id in [r#"id="request""#, r#"id="submit""#, r#"id="response""#] {
                assert!(text.contains(id), "{id}");
            }
        }
    }
}
