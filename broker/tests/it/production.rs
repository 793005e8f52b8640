//! ORDS as production meets it, through the emulator's faults and options: what a
//! load balancer in front of ORDS answers, chunked answers, a JVM not on UTC, and big
//! NUMBERs in exponent form. Each pins what the broker does about it.

use license_shared::VerdictCode;
use ords_emulator::{EmulatorOptions, Faults, License};

use super::helpers::{broker, error_body, nonce, spawn_app, start};

#[tokio::test]
async fn a_load_balancers_html_5xx_is_a_503_with_its_retry_after_never_a_verdict() {
    let app = spawn_app().await;
    assert_eq!(app.verdict("1").await.result.code, VerdictCode::Valid);
    for status in [502, 503, 504] {
        app.emulator().set_faults(Faults {
            resource_gateway_status: Some(status),
            ..Faults::default()
        });
        // A fresh customer, so no cached row answers for ORDS.
        let response = app.validate(&app.key("3"), &nonce()).await;
        error_body(response, 503, "upstream_unavailable").await;
    }
    // A gateway's 429 or 503 with Retry-After: the broker passes the wait on.
    for status in [429, 503] {
        app.emulator().set_faults(Faults {
            resource_gateway_status: Some(status),
            retry_after_secs: Some(30),
            ..Faults::default()
        });
        let response = app.validate(&app.key("2"), &nonce()).await;
        assert_eq!(response.headers()["retry-after"], "30", "{status}");
        error_body(response, 503, "upstream_unavailable").await;
    }
    app.emulator().clear_faults();
    assert_eq!(app.verdict("2").await.result.code, VerdictCode::Expired);
}

#[tokio::test]
async fn a_load_balancers_html_page_on_the_token_endpoint_is_unavailable_not_refused() {
    let app = start(broker().emulator_options(EmulatorOptions::default())).await;
    app.emulator().set_faults(Faults {
        token_gateway_status: Some(502),
        revoke_tokens: true,
        ..Faults::default()
    });
    let response = app.validate(&app.key("1"), &nonce()).await;
    let body = error_body(response, 503, "upstream_unavailable").await;
    assert!(
        !body["message"].as_str().unwrap().contains("credentials"),
        "{body}"
    );
    app.emulator().clear_faults();
    // The token manager backs off after the failure; the first answer after it heals
    // is a verdict again.
    let mut code = None;
    for _ in 0..40 {
        let response = app.validate(&app.key("1"), &nonce()).await;
        if response.status() == 200 {
            code = Some(());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(code.is_some(), "the broker recovers once the gateway does");
}

#[tokio::test]
async fn chunked_token_and_resource_answers_are_read_as_usual() {
    let app = spawn_app().await;
    app.emulator().set_faults(Faults {
        chunked: true,
        revoke_tokens: true,
        ..Faults::default()
    });
    let payload = app.verdict("1").await;
    assert_eq!(payload.result.code, VerdictCode::Valid);
    assert_eq!(payload.license.entitlements, ["export", "sync"]);
}

#[tokio::test]
async fn dates_from_an_ords_jvm_not_on_utc_arrive_shifted_as_printed() {
    // The broker reads DATE values as ORDS prints them (UTC with a Z). An ORDS JVM on
    // CEST prints them two hours early; the README says to run ORDS with
    // -Duser.timezone=UTC or use TIMESTAMP WITH TIME ZONE columns.
    let utc = spawn_app()
        .await
        .verdict("1")
        .await
        .license
        .expires_at
        .unwrap();
    let cest = start(broker().emulator_options(EmulatorOptions {
        jvm_utc_offset_minutes: 120,
        ..EmulatorOptions::default()
    }))
    .await;
    let shifted = cest.verdict("1").await.license.expires_at.unwrap();
    // Both emulators seeded "+365d" from their own start, a moment apart.
    let delta = utc - shifted;
    assert!(
        (7200 - 5..=7200 + 5).contains(&delta),
        "shifted by {delta} s"
    );
}

#[tokio::test]
async fn customer_ids_over_ten_digits_in_exponent_form_are_the_same_customer() {
    let app = start(broker().emulator_options(EmulatorOptions {
        numbers_in_exponent_form: true,
        ..EmulatorOptions::default()
    }))
    .await;
    app.emulator().upsert_license(License {
        customer_id: 12_345_678_901,
        product: None,
        license_status: "ACTIVE".into(),
        expires_at: None,
        updated_at: None,
    });
    let payload = app.verdict("12345678901").await;
    assert_eq!(payload.result.code, VerdictCode::Valid);
    assert_eq!(payload.license.id, "12345678901");
}
