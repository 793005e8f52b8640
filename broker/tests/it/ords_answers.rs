//! Reading ORDS's two answer shapes, mapping them to verdicts, and refusing to guess.
//! The stand-in serves literal JSON, so a serde mismatch in the broker fails here.

use std::sync::atomic::Ordering;

use license_shared::{Envelope, VerdictCode};

use super::helpers::*;

/// `json/item`: one flat row with links; no row is a 404.
fn item(_: usize, path: &str, _: &axum::http::HeaderMap) -> Answer {
    match path.rsplit('/').next().unwrap_or("") {
        "1" => (
            200,
            r#"{"customer_id":1,"product":"desktop-pro","max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":"2999-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00.000Z","links":[{"rel":"self","href":"http://ords-internal.example/ords/page/customers/validation/1"}]}"#,
        ),
        "2" => (
            200,
            r#"{"customer_id":2,"product":"desktop-pro","max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":"2001-01-01T00:00:00Z","updated_at":null,"links":[]}"#,
        ),
        "3" => (
            200,
            r#"{"customer_id":3,"product":null,"max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"SUSPENDED","expires_at":"2999-01-01T00:00:00Z","updated_at":null,"links":[]}"#,
        ),
        "5" => (
            200,
            r#"{"customer_id":5,"product":null,"max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"REVOKED","expires_at":null,"updated_at":null,"links":[]}"#,
        ),
        "6" => (
            200,
            r#"{"customer_id":6,"product":null,"max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null,"updated_at":null,"links":[]}"#,
        ),
        "7" => (
            200,
            r#"{"customer_id":7,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":"2999-01-01T00:00:00.000Z"}"#,
        ),
        _ => (
            404,
            r#"{"code":"NotFound","message":"Not Found","type":"tag:oracle.com,2020:error/NotFound","instance":"tag:oracle.com,2020:ecid/x"}"#,
        ),
    }
}

/// `json/collection`: `items` with zero or one row.
fn collection(_: usize, path: &str, _: &axum::http::HeaderMap) -> Answer {
    match path.rsplit('/').next().unwrap_or("") {
        "1" => (
            200,
            r#"{"items":[{"customer_id":1,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":"2999-01-01T00:00:00Z"}],"hasMore":false,"limit":25,"offset":0,"count":1,"links":[{"rel":"self","href":"http://ords-internal.example/ords/page/customers/validation/1"}]}"#,
        ),
        "2" => (
            200,
            r#"{"items":[{"customer_id":2,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":"2001-01-01T00:00:00Z"}],"hasMore":false,"limit":25,"offset":0,"count":1,"links":[]}"#,
        ),
        "3" => (
            200,
            r#"{"items":[{"customer_id":3,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"SUSPENDED","expires_at":null}],"hasMore":false,"limit":25,"offset":0,"count":1,"links":[]}"#,
        ),
        "5" => (
            200,
            r#"{"items":[{"customer_id":5,"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"REVOKED","expires_at":null}],"hasMore":false,"limit":25,"offset":0,"count":1,"links":[]}"#,
        ),
        _ => (
            200,
            r#"{"items":[],"hasMore":false,"limit":25,"offset":0,"count":0,"links":[]}"#,
        ),
    }
}

#[tokio::test]
async fn both_shapes_map_to_the_right_codes() {
    for (shape, script) in [
        ("item", item as fn(_, &_, &_) -> _),
        ("collection", collection),
    ] {
        let ords = FakeOrds::start(script).await;
        let tokens = FakeTokens::new();
        let app = spawn_app_with_fake(&ords, &tokens).await;
        let expected = [
            ("1", VerdictCode::Valid),
            ("2", VerdictCode::Expired),
            ("3", VerdictCode::Suspended),
            ("5", VerdictCode::Revoked),
            ("4", VerdictCode::NotFound),
        ];
        for (id, code) in expected {
            let payload = app.verdict(id).await;
            assert_eq!(payload.result.code, code, "{shape} id {id}");
            assert_eq!(payload.result.valid, code == VerdictCode::Valid);
            assert_eq!(payload.license.id, id);
            if code == VerdictCode::Valid {
                assert_eq!(payload.license.expires_at, Some(32_472_144_000));
                assert_eq!(payload.policy.offline_until, payload.iat + 7 * 86_400);
                assert_eq!(payload.policy.recheck_after, payload.iat + 86_400);
            } else {
                assert_eq!(payload.policy.offline_until, payload.iat);
            }
        }
        let paths = ords.seen.paths.lock().unwrap().clone();
        assert!(
            paths
                .iter()
                .all(|p| p.starts_with("/ords/page/customers/validation/")),
            "{paths:?}"
        );
    }
}

#[tokio::test]
async fn timestamps_and_null_expiry_are_read() {
    let ords = FakeOrds::start(item).await;
    let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
    let perpetual = app.verdict("6").await;
    assert_eq!(perpetual.result.code, VerdictCode::Valid);
    assert_eq!(perpetual.license.expires_at, None);
    let timestamp = app.verdict("7").await;
    assert_eq!(timestamp.license.expires_at, Some(32_472_144_000));
}

#[tokio::test]
async fn what_cannot_be_read_is_an_upstream_error_not_a_verdict() {
    let cases: [(u16, &str, u16, &str); 9] = [
        (
            200,
            "<html><body>maintenance</body></html>",
            503,
            "upstream_unavailable",
        ),
        (
            200,
            r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"PENDING","expires_at":null}"#,
            503,
            "upstream_unavailable",
        ),
        (
            200,
            r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":"soon"}"#,
            503,
            "upstream_unavailable",
        ),
        (
            200,
            r#"{"items":[{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null},{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}]}"#,
            503,
            "upstream_unavailable",
        ),
        (200, r#"{"customer_id":1}"#, 503, "upstream_unavailable"),
        (403, r#"{"code":"Forbidden"}"#, 503, "upstream_unavailable"),
        (
            500,
            r#"{"code":"InternalServerError"}"#,
            503,
            "upstream_unavailable",
        ),
        (503, "Service Unavailable", 503, "upstream_unavailable"),
        (302, "", 503, "upstream_unavailable"),
    ];
    for (status, body, want_status, want_code) in cases {
        let ords = FakeOrds::answering(status, body).await;
        let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
        let response = app.validate(&app.key("1"), &nonce()).await;
        assert!(
            response.headers().contains_key("retry-after"),
            "{status} {body}"
        );
        assert!(!response.headers().contains_key("set-cookie"));
        assert!(!response.headers().contains_key("x-ords-internal"));
        let error = error_body(response, want_status, want_code).await;
        let text = error.to_string();
        assert!(
            !text.contains("maintenance") && !text.contains("PENDING"),
            "{text}"
        );
        assert_eq!(ords.calls(), 1, "{status} {body}");
    }
}

#[tokio::test]
async fn the_answer_carries_nothing_of_ords() {
    let ords = FakeOrds::start(item).await;
    let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
    let response = app.validate(&app.key("1"), &nonce()).await;
    assert_eq!(response.status(), 200);
    for header in ["set-cookie", "x-ords-internal"] {
        assert!(!response.headers().contains_key(header), "{header}");
    }
    let text = response.text().await.unwrap();
    let envelope: Envelope = serde_json::from_str(&text).unwrap();
    let payload = envelope.verify(&app.trusted).unwrap();
    let payload = String::from_utf8(payload).unwrap();
    for leak in ["ords-internal", "links", "href"] {
        assert!(
            !payload.contains(leak) && !text.contains(leak),
            "{leak}: {payload}"
        );
    }
    // The row's product is signed in on purpose (the app checks it); nothing else is.
    let license: serde_json::Value =
        serde_json::from_str::<serde_json::Value>(&payload).unwrap()["license"].clone();
    assert_eq!(
        license,
        serde_json::json!({"id": "1", "expires_at": license["expires_at"], "product": "desktop-pro",
            "entitlements": [], "expiry_strategy": "REVOKE_ACCESS"})
    );
}

#[tokio::test]
async fn outgoing_authorization_is_exactly_bearer_and_accept_is_json() {
    let ords = FakeOrds::start(|_, _, headers| {
        assert_eq!(headers["accept"], "application/json");
        (200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#)
    })
    .await;
    let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
    app.verdict("1").await;
    let seen = ords.seen.authorization.lock().unwrap().clone();
    assert_eq!(seen, ["Bearer SENTINEL_TOKEN_1"]);
}

#[tokio::test]
async fn one_401_means_one_refresh_and_one_replay() {
    // The stand-in accepts only generation 2.
    let ords = FakeOrds::start(|_, _, headers| {
        if headers["authorization"] == "Bearer SENTINEL_TOKEN_2" {
            (200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#)
        } else {
            (401, r#"{"code":"Unauthorized","message":"Unauthorized"}"#)
        }
    })
    .await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    assert_eq!(app.verdict("1").await.result.code, VerdictCode::Valid);
    assert_eq!(ords.calls(), 2);
    assert_eq!(tokens.invalidations.load(Ordering::SeqCst), 1);
    assert_eq!(tokens.token_calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        *ords.seen.authorization.lock().unwrap(),
        ["Bearer SENTINEL_TOKEN_1", "Bearer SENTINEL_TOKEN_2"]
    );
}

#[tokio::test]
async fn a_second_401_is_an_upstream_error_never_a_loop() {
    let ords = FakeOrds::answering(401, r#"{"code":"Unauthorized"}"#).await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    let response = app.validate(&app.key("1"), &nonce()).await;
    error_body(response, 503, "upstream_unavailable").await;
    assert_eq!(ords.calls(), 2);
    assert_eq!(tokens.invalidations.load(Ordering::SeqCst), 1);
    assert_eq!(tokens.token_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn slow_ords_is_a_504_and_token_outage_a_503_with_retry_after() {
    let delay = std::time::Duration::from_millis(2500);
    let ords = FakeOrds::start_with_delay(delay, |_, _, _| {
        (200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#)
    })
    .await;
    let tokens = FakeTokens::new();
    let app = spawn_app_with_fake(&ords, &tokens).await;
    let started = std::time::Instant::now();
    let response = app.validate(&app.key("1"), &nonce()).await;
    error_body(response, 504, "upstream_timeout").await;
    assert!(started.elapsed() < std::time::Duration::from_millis(2500 + 500));

    *tokens.fail.lock().unwrap() = Some(license_broker::token::TokenError::Rejected {
        retry_after: Some(std::time::Duration::from_secs(60)),
    });
    let response = app.validate(&app.key("2"), &nonce()).await;
    assert_eq!(response.headers()["retry-after"], "60");
    let body = error_body(response, 503, "upstream_unavailable").await;
    assert!(!body.to_string().contains("credentials"), "{body}");
}

/// A 404 that is not ORDS's "no row" answer (an HTML page from a proxy or another
/// server, the "could not be mapped" 404 of a renamed alias, JSON that is not ORDS's
/// problem) means the URL reaches no handler: a 503, never a signed NOT_FOUND, and the
/// cached VALID of a customer is left alone.
#[tokio::test]
async fn a_404_that_is_not_ords_no_row_is_an_upstream_error() {
    let not_ords: [&'static str; 4] = [
        "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
        r#"{"code":"NotFound","message":"The request could not be mapped to any database. Check the request URL is correct, and that URL to database mappings have been correctly configured","type":"tag:oracle.com,2020:error/NotFound","instance":"tag:oracle.com,2020:ecid/x"}"#,
        "{}",
        r#"{"code":"Unauthorized","message":"Unauthorized"}"#,
    ];
    for body in not_ords {
        let ords = FakeOrds::answering(404, body).await;
        let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
        let response = app.validate(&app.key("1"), &nonce()).await;
        assert!(response.headers().contains_key("retry-after"), "{body}");
        let error = error_body(response, 503, "upstream_unavailable").await;
        assert!(!error.to_string().contains("mapped"), "{error}");
        assert_eq!(ords.calls(), 1, "{body}");
    }

    // A customer whose VALID is cached keeps it while ORDS's route is broken.
    let ords = FakeOrds::start(|index, _, _| {
        if index == 0 {
            (200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#)
        } else {
            (404, "<html><body>404 Not Found</body></html>")
        }
    })
    .await;
    let app = spawn_app_with_fake_env(
        &ords,
        &FakeTokens::new(),
        &[(license_broker::vars::VERDICT_TTL_SECS, "0")],
    )
    .await;
    assert_eq!(app.verdict("1").await.result.code, VerdictCode::Valid);
    let response = app.validate(&app.key("1"), &nonce()).await;
    error_body(response, 503, "upstream_unavailable").await;
}

/// With `LICENSE_BROKER_ITEM_404_IS_NOT_FOUND=false` (for collection handlers) only an
/// empty collection is NOT_FOUND; every 404, even ORDS's NotFound problem, is a 503.
#[tokio::test]
async fn with_item_404_off_only_an_empty_collection_is_not_found() {
    let off = [(license_broker::vars::ITEM_404_IS_NOT_FOUND, "false")];
    let ords = FakeOrds::start(collection).await;
    let app = spawn_app_with_fake_env(&ords, &FakeTokens::new(), &off).await;
    assert_eq!(app.verdict("1").await.result.code, VerdictCode::Valid);
    assert_eq!(app.verdict("4").await.result.code, VerdictCode::NotFound);

    let ords = FakeOrds::start(item).await;
    let app = spawn_app_with_fake_env(&ords, &FakeTokens::new(), &off).await;
    assert_eq!(app.verdict("1").await.result.code, VerdictCode::Valid);
    let response = app.validate(&app.key("4"), &nonce()).await;
    error_body(response, 503, "upstream_unavailable").await;
}
