//! Against the ORDS emulator's article seed, with the real token manager: customer 1
//! valid, 2 expired, 3 suspended, anything else unknown.

use std::time::Duration;

use license_broker::vars as var;
use license_shared::{Envelope, VerdictCode};

use super::helpers::*;

#[tokio::test]
async fn article_customers_get_the_right_signed_verdicts() {
    let app = spawn_app().await;
    let cases = [
        ("1", VerdictCode::Valid),
        ("2", VerdictCode::Expired),
        ("3", VerdictCode::Suspended),
        ("99", VerdictCode::NotFound),
    ];
    for (id, code) in cases {
        let payload = app.verdict(id).await;
        assert_eq!(payload.result.code, code, "customer {id}");
        assert_eq!(payload.license.id, id);
        if code == VerdictCode::Valid {
            let expires = payload
                .license
                .expires_at
                .expect("customer 1 expires in a year");
            assert!(expires > payload.iat + 300 * 86_400);
            assert_eq!(payload.policy.offline_until, payload.iat + 7 * 86_400);
        } else {
            assert_eq!(payload.policy.offline_until, payload.iat);
        }
    }
    let stats = app.emulator().stats();
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.resource_requests, 4);
}

#[tokio::test]
async fn hostile_and_forged_keys_never_reach_the_emulator() {
    let app = spawn_app().await;
    for id in ["..", "%2e%2e", "%2F", "?", "#", "\r\n", &"9".repeat(10_000)] {
        let response = app.validate(id, &nonce()).await;
        error_body(response, 400, "invalid_request").await;
    }
    let forged = license_broker::LicenseKeys::new(
        b"not the broker secret: 7Kq2Vx9Lm4Tz0Pw8Rn3Jd6Hb".to_vec(),
    )
    .unwrap()
    .mint(&license_shared::CustomerId::parse("1").unwrap());
    let response = app.validate(&forged, &nonce()).await;
    let envelope: Envelope = response.json().await.unwrap();
    assert_eq!(
        envelope.open(&app.trusted).unwrap().result.code,
        VerdictCode::NotFound
    );
    let stats = app.emulator().stats();
    assert_eq!(stats.resource_requests, 0);
    // The token manager may fetch its first token eagerly at start-up, never per request.
    assert!(stats.token_requests <= 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_validations_on_a_cold_start_need_one_token() {
    // Rate limits are off in `test_env`; the concurrency limit must admit all 1000.
    let app = spawn_app_env(&[(license_broker::vars::MAX_CONCURRENT, "2000")]).await;
    // Slow the token endpoint so every request piles up on the cold cache.
    app.emulator().set_faults(ords_emulator::Faults {
        latency_ms: Some(200),
        times: Some(1),
        ..Default::default()
    });
    // Customers 4 and 7 limit machines (their validations also make a seat call): left
    // out here.
    let ids: Vec<String> = (1..=12)
        .filter(|&i| i != 4 && i != 7)
        .map(|i| i.to_string())
        .collect();
    let keys: Vec<String> = ids.iter().map(|id| app.key(id)).collect();
    let started = std::time::Instant::now();
    let requests = (0..1000).map(|i| {
        let app = &app;
        let key = &keys[i % keys.len()];
        async move { app.validate(key, &nonce()).await.status().as_u16() }
    });
    let statuses = futures::future::join_all(requests).await;
    let elapsed = started.elapsed();
    assert!(
        statuses.iter().all(|&s| s == 200),
        "{:?}",
        statuses.iter().filter(|&&s| s != 200).count()
    );
    let stats = app.emulator().stats();
    assert_eq!(stats.token_requests, 1, "exactly one token request");
    assert_eq!(stats.resource_requests, 10, "one ORDS call per license");
    eprintln!(
        "1000 cold validations over 10 licenses: {elapsed:?}, 1 token request, 10 resource calls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_cost_one_refresh_for_a_hundred_requests() {
    let app = spawn_app().await;
    app.verdict("1").await;
    assert_eq!(app.emulator().stats().token_requests, 1);
    app.emulator().revoke_all_tokens();
    // 100 requests over 100 distinct (uncached) licenses, all holding the revoked token.
    let keys: Vec<String> = (100..200).map(|i| app.key(&i.to_string())).collect();
    let requests = keys.iter().map(|key| {
        let app = &app;
        async move { app.validate(key, &nonce()).await.status().as_u16() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|&s| s == 200));
    let stats = app.emulator().stats();
    assert_eq!(stats.token_requests, 2, "one refresh after the revocation");
}

#[tokio::test]
async fn emulator_outages_map_to_contract_errors() {
    let app = spawn_app().await;
    app.verdict("1").await;
    app.emulator().set_faults(ords_emulator::Faults {
        resource_status: Some(503),
        ..Default::default()
    });
    let response = app.validate(&app.key("2"), &nonce()).await;
    assert!(response.headers().contains_key("retry-after"));
    error_body(response, 503, "upstream_unavailable").await;
    app.emulator().set_faults(ords_emulator::Faults {
        stall: true,
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let response = app.validate(&app.key("3"), &nonce()).await;
    error_body(response, 504, "upstream_timeout").await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    app.emulator().clear_faults();
    // The cached answer for customer 1 never needed ORDS.
    assert_eq!(app.verdict("1").await.result.code, VerdictCode::Valid);
}

/// The emulator answers a URL under no schema alias with ORDS's "could not be mapped"
/// 404 (as JSON, because the broker sends `Accept: application/json`): a renamed alias
/// must be a 503 for everyone, not a signed NOT_FOUND.
#[tokio::test]
async fn an_unmapped_schema_alias_is_an_upstream_error_not_not_found() {
    let app = spawn_app_env_for(|schema_url| {
        let token_url = format!("{schema_url}/oauth/token");
        let renamed = format!("{}_renamed", schema_url.trim_end_matches('/'));
        vec![
            (var::TOKEN_URL.into(), token_url),
            (var::ORDS_BASE_URL.into(), renamed),
        ]
    })
    .await;
    for id in ["1", "99"] {
        let response = app.validate(&app.key(id), &nonce()).await;
        error_body(response, 503, "upstream_unavailable").await;
    }
    assert_eq!(
        app.emulator().stats().token_requests,
        1,
        "the token was fine"
    );
}

/// A mistyped validation path under the right alias answers ORDS's plain NotFound,
/// which an item handler's "no row" looks exactly like; with collection handlers
/// `LICENSE_BROKER_ITEM_404_IS_NOT_FOUND=false` turns it into a 503.
#[tokio::test]
async fn a_wrong_validation_path_is_an_upstream_error_with_item_404_off() {
    let app = spawn_app_env(&[
        (var::VALIDATION_PATH, "customers/validatoin/{id}"),
        (var::ITEM_404_IS_NOT_FOUND, "false"),
    ])
    .await;
    let response = app.validate(&app.key("1"), &nonce()).await;
    error_body(response, 503, "upstream_unavailable").await;
}

/// The broker asks for JSON errors, so the emulator's item-handler 404 for an unknown
/// customer is ORDS's NotFound problem JSON and still a signed NOT_FOUND; an ORDS set
/// to `error.responseFormat=html` gives HTML 404s, which prove nothing: a 503.
#[tokio::test]
async fn item_no_row_is_not_found_only_as_problem_json() {
    let app = spawn_app().await;
    assert_eq!(app.verdict("99").await.result.code, VerdictCode::NotFound);

    let app = start(broker().emulator_options(ords_emulator::EmulatorOptions {
        error_response_format: ords_emulator::ResponseFormat::Html,
        ..Default::default()
    }))
    .await;
    assert_eq!(app.verdict("1").await.result.code, VerdictCode::Valid);
    let response = app.validate(&app.key("99"), &nonce()).await;
    error_body(response, 503, "upstream_unavailable").await;
}
