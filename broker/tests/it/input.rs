//! What the broker refuses before any upstream call.

use super::helpers::*;

/// Keys that would carry a hostile id cannot even be parsed: 400, no token, no ORDS.
#[tokio::test]
async fn hostile_ids_get_400_with_zero_upstream_calls() {
    let ords = FakeOrds::answering(200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    let long = "9".repeat(10_000);
    let hostile = [
        "..",
        ".",
        "%2e%2e",
        "%2F",
        "?",
        "#",
        "\r\n",
        "1\r\nX-Evil: 1",
        "..;",
        "\0",
        "é",
        &long,
    ];
    for id in hostile {
        let response = app.validate(id, &nonce()).await;
        let body = error_body(response, 400, "invalid_request").await;
        assert!(
            body["message"].as_str().unwrap().contains("license_key"),
            "{id:?}: {body}"
        );
    }
    // A real key for a customer id the key format refuses cannot be minted at all.
    for id in ["..", "%2F", "a/b", "?", "#", "\r\n", &long] {
        assert!(license_shared::CustomerId::parse(id).is_err(), "{id:?}");
    }
    assert_eq!(ords.calls(), 0);
    assert_eq!(
        tokens.token_calls.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn forged_key_gets_a_signed_not_found_without_reaching_ords() {
    let ords = FakeOrds::answering(200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    // Right format and checksum, MAC under another secret.
    let other =
        license_broker::LicenseKeys::new(b"another-secret-another-secret-0123456789".to_vec())
            .unwrap();
    let forged = other.mint(&license_shared::CustomerId::parse("1").unwrap());
    let nonce = nonce();
    let response = app.validate(&forged, &nonce).await;
    assert_eq!(response.status(), 200);
    let envelope: license_shared::Envelope = response.json().await.unwrap();
    let payload = envelope.open(&app.trusted).unwrap();
    assert_eq!(payload.result.code, license_shared::VerdictCode::NotFound);
    assert!(!payload.result.valid);
    assert_eq!(payload.nonce, nonce);
    assert_eq!(payload.license.id, "1");
    assert_eq!(payload.policy.offline_until, payload.iat);
    assert_eq!(ords.calls(), 0);
    assert_eq!(
        tokens.token_calls.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn strict_request_handling() {
    let ords = FakeOrds::answering(404, ORDS_NOT_FOUND).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    let url = app.url("/v1/license/validate");
    let good = format!(
        r#"{{"license_key":"{}","nonce":"{}"}}"#,
        app.key("4"),
        nonce()
    );

    let response = app.http.post(&url).body(good.clone()).send().await.unwrap();
    error_body(response, 415, "unsupported_media_type").await;
    let response = app
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    error_body(response, 415, "unsupported_media_type").await;
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let response = app.post_raw(vec![b' '; 17 * 1024]).await;
    error_body(response, 413, "payload_too_large").await;

    let cases = [
        ("{", "request body"),
        (r#"{"nonce":"AAAAAAAAAAAAAAAAAAAAAA"}"#, "license_key"),
        (r#"{"license_key":"K"}"#, "nonce"),
        (
            r#"{"license_key":"K","nonce":"AAAAAAAAAAAAAAAAAAAAAA","x":1}"#,
            "unknown field",
        ),
        (r#"{"license_key":"K","nonce":"AAAA"}"#, "nonce"),
        (
            r#"{"license_key":"K","nonce":"AAAAAAAAAAAAAAAAAAAAAA","fingerprint":"a b"}"#,
            "fingerprint",
        ),
        (
            r#"{"license_key":"0000-0000-0000","nonce":"AAAAAAAAAAAAAAAAAAAAAA"}"#,
            "license_key",
        ),
    ];
    for (body, names) in cases {
        let response = app.post_raw(body).await;
        let error = error_body(response, 400, "invalid_request").await;
        assert!(
            error["message"].as_str().unwrap().contains(names),
            "{body}: {error}"
        );
    }
    assert_eq!(
        ords.calls(),
        1,
        "only the one well-formed request reached ORDS"
    );
}

#[tokio::test]
async fn healthz_is_always_up_and_readyz_follows_the_token_source() {
    let ords = FakeOrds::answering(404, ORDS_NOT_FOUND).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    *tokens.fail.lock().unwrap() = Some(license_broker::token::TokenError::Unavailable {
        retry_after: Some(std::time::Duration::from_secs(9)),
    });
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.headers()["retry-after"], "9");
    error_body(ready, 503, "upstream_unavailable").await;
    assert_eq!(ords.calls(), 0);
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_at_once_not_awaited() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let ords = FakeOrds::answering(200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#).await;
    let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
    // Headers announcing 10 GB, then nothing: before, the broker waited for the body
    // until its 4 s deadline and answered 504.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/license/validate HTTP/1.1\r\nHost: broker\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut answer))
        .await
        .expect("an answer well before the request deadline")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..read]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    // The body stays unread, so the connection closes after the answer, and says so:
    // a pooling client must not send its next request on it.
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{text}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(ords.calls(), 0);
}
