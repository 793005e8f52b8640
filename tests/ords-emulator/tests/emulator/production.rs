//! ORDS as production meets it: a gateway's HTML pages, `Retry-After`, chunked
//! answers, DATE values shifted by the JVM's time zone, NUMBERs in exponent form.

use ords_emulator::seed::config_from_toml_str;
use ords_emulator::{EmulatorOptions, Seed, SeedError};
use reqwest::header::ACCEPT;

use crate::{start, start_with, Answer, Env};

async fn post_faults(env: &Env, json: &str) -> Answer {
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

async fn token_answer(env: &Env) -> Answer {
    let (id, secret) = env.creds();
    let response = env
        .http
        .post(env.ords.token_url())
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    Answer::from(response).await
}

const BAD_GATEWAY: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const UNAVAILABLE: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const TIMEOUT: &str = "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const TOO_MANY: &str = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

#[tokio::test]
async fn a_gateway_answers_html_pages_on_the_token_endpoint_and_on_resources() {
    let env = start().await;
    let token = env.token().await;

    assert_eq!(
        post_faults(&env, r#"{"gateway_status":502}"#).await.status,
        200
    );
    for answer in [
        token_answer(&env).await,
        env.get("customers/validation/1", Some(&token)).await,
    ] {
        assert_eq!(answer.status, 502);
        assert_eq!(answer.header("content-type"), Some("text/html"));
        assert_eq!(answer.body, BAD_GATEWAY);
        assert_eq!(answer.header("retry-after"), None);
    }

    // The token endpoint alone; resources still answer (a gateway wins over an ORDS
    // status fault for the same request).
    post_faults(&env, r#"{"token_gateway_status":504,"token_status":500}"#).await;
    let answer = token_answer(&env).await;
    assert_eq!(
        (
            answer.status,
            answer.header("content-type"),
            answer.body.as_str()
        ),
        (504, Some("text/html"), TIMEOUT)
    );
    assert_eq!(
        env.get("customers/validation/1", Some(&token)).await.status,
        200
    );

    // Resources alone, the specific member winning over gateway_status.
    post_faults(
        &env,
        r#"{"gateway_status":502,"resource_gateway_status":503}"#,
    )
    .await;
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!((answer.status, answer.body.as_str()), (503, UNAVAILABLE));
    assert_eq!(token_answer(&env).await.body, BAD_GATEWAY);

    // Not a gateway status.
    let refused = post_faults(&env, r#"{"gateway_status":302}"#).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (
            400,
            r#"{"error":"invalid_request","message":"faults.gateway_status: 302 is not a 4xx or 5xx status"}"#
        )
    );
}

#[tokio::test]
async fn retry_after_goes_on_faulted_429_and_503_answers_only() {
    let env = start().await;
    let token = env.token().await;
    post_faults(
        &env,
        r#"{"token_gateway_status":429,"resource_gateway_status":503,"retry_after_secs":30}"#,
    )
    .await;
    let answer = token_answer(&env).await;
    assert_eq!(
        (
            answer.status,
            answer.header("retry-after"),
            answer.body.as_str()
        ),
        (429, Some("30"), TOO_MANY)
    );
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!(
        (
            answer.status,
            answer.header("retry-after"),
            answer.body.as_str()
        ),
        (503, Some("30"), UNAVAILABLE)
    );

    // ORDS's own 503 (pool exhausted) gets it too, with its problem body.
    post_faults(&env, r#"{"resource_status":503,"retry_after_secs":5}"#).await;
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!(
        (answer.status, answer.header("retry-after")),
        (503, Some("5"))
    );
    assert_eq!(
        answer.masked(),
        r#"{
    "code": "ServiceUnavailable",
    "message": "Service Unavailable",
    "type": "tag:oracle.com,2020:error/ServiceUnavailable",
    "instance": "tag:oracle.com,2020:ecid/ECID"
}
"#
    );

    // Other statuses, and answers nothing faulted, do not.
    post_faults(
        &env,
        r#"{"resource_gateway_status":504,"retry_after_secs":5}"#,
    )
    .await;
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!((answer.status, answer.header("retry-after")), (504, None));
    let answer = token_answer(&env).await;
    assert_eq!((answer.status, answer.header("retry-after")), (200, None));
}

#[tokio::test]
async fn chunked_answers_have_no_content_length() {
    let env = start().await;
    let token = env.token().await;

    // Without the fault, a length.
    let plain = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!(plain.header("transfer-encoding"), None);
    assert_eq!(
        plain.header("content-length"),
        Some(plain.body.len().to_string().as_str())
    );

    post_faults(&env, r#"{"chunked":true}"#).await;
    let answer = token_answer(&env).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
    assert_eq!(answer.header("content-length"), None);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        answer.body,
        format!(r#"{{"access_token":"{access}","token_type":"bearer","expires_in":3600}}"#)
    );

    let resource = env.get("customers/validation/1", Some(access)).await;
    assert_eq!(resource.status, 200);
    assert_eq!(resource.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resource.header("content-length"), None);
    assert_eq!(resource.body, plain.body);

    // Errors too, and together with a gateway page.
    let missing = env.get("customers/validation/99", Some(access)).await;
    assert_eq!(
        (missing.status, missing.header("transfer-encoding")),
        (404, Some("chunked"))
    );
    post_faults(&env, r#"{"chunked":true,"gateway_status":502}"#).await;
    let page = env.get("customers/validation/1", Some(access)).await;
    assert_eq!(
        (
            page.status,
            page.header("transfer-encoding"),
            page.body.as_str()
        ),
        (502, Some("chunked"), BAD_GATEWAY)
    );
}

#[tokio::test]
async fn dates_shift_by_the_ords_jvm_time_zone() {
    // An ORDS JVM in CEST (UTC+2) reads the stored midnight as 00:00 CEST.
    let cest = EmulatorOptions {
        jvm_utc_offset_minutes: 120,
        ..EmulatorOptions::default()
    };
    let env = start_with(Seed::article_default(), cest).await;
    let token = env.token().await;
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!(
        answer.body,
        format!(
            r#"{{"customer_id":1,"product":"desktop-pro","license_status":"ACTIVE","expires_at":"2025-12-31T22:00:00Z","updated_at":"2024-12-31T22:00:00.000Z","max_machines":null,"entitlements":"export,sync","expiry_strategy":null,"key_serial":null,"links":[{{"rel":"collection","href":"{}/ords/page/customers/validation/"}}]}}"#,
            env.ords.base_url
        )
    );
    // West of UTC the other way; the stored value is unchanged.
    let new_york = EmulatorOptions {
        jvm_utc_offset_minutes: -300,
        ..EmulatorOptions::default()
    };
    let env = start_with(Seed::article_default(), new_york).await;
    let token = env.token().await;
    let answer = env.get("customers/validation/2", Some(&token)).await;
    assert!(
        answer.body.contains(
            r#""expires_at":"2024-12-02T05:00:00Z","updated_at":"2025-01-01T05:00:00.000Z""#
        ),
        "{}",
        answer.body
    );
    assert_eq!(
        env.ords.license(2).unwrap().expires_at,
        Some(time::macros::datetime!(2024-12-02 00:00 UTC))
    );
    // At most 18 hours, like a Java ZoneOffset.
    let bad = config_from_toml_str("[options]\njvm_utc_offset_minutes = 1200\n").unwrap_err();
    assert!(
        matches!(&bad, SeedError::Invalid { field, .. } if field == "options.jvm_utc_offset_minutes"),
        "{bad}"
    );
}

#[tokio::test]
async fn numbers_of_more_than_10_digits_print_in_exponent_form() {
    let exponent = EmulatorOptions {
        numbers_in_exponent_form: true,
        ..EmulatorOptions::default()
    };
    // A seed can hold such a customer id ...
    let seed = Seed::from_toml_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/article.toml"))
            .unwrap()
            .replace("customer_id = 5\n", "customer_id = 12345678901\n"),
    )
    .unwrap();
    let env = start_with(seed, exponent).await;
    let token = env.token().await;
    let base = &env.ords.base_url;
    let answer = env
        .get("customers/validation/12345678901", Some(&token))
        .await;
    assert_eq!(
        answer.body,
        format!(
            r#"{{"customer_id":1.2345678901e10,"product":"desktop-lite","license_status":"ACTIVE","expires_at":"2026-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00.000Z","max_machines":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"links":[{{"rel":"collection","href":"{base}/ords/page/customers/validation/"}}]}}"#
        )
    );
    // ... and so can a row put over HTTP. Ten digits stay plain.
    let put = env
        .http
        .put(format!("{base}/__emulator/licenses/10000000000"))
        .body(r#"{"license_status":"ACTIVE","max_machines":1234567890}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.text().await.unwrap(),
        r#"{"customer_id":1.0e10,"product":null,"license_status":"ACTIVE","expires_at":null,"updated_at":null,"max_machines":1234567890,"entitlements":null,"expiry_strategy":null,"key_serial":null}"#
    );
    let answer = env
        .get("customers/validation/10000000000", Some(&token))
        .await;
    assert!(
        answer.body.starts_with(r#"{"customer_id":1.0e10,"#),
        "{}",
        answer.body
    );
    // Small numbers are untouched; JSON parsers read the exponent form as a number.
    let one = env.get("customers/validation/1", Some(&token)).await;
    assert!(one.body.starts_with(r#"{"customer_id":1,"#), "{}", one.body);
    let parsed: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(parsed["customer_id"].as_f64(), Some(1e10));

    // Without the option, plain digits.
    let env = start().await;
    let token = env.token().await;
    env.http
        .put(format!(
            "{}/__emulator/licenses/12345678901",
            env.ords.base_url
        ))
        .body(r#"{"license_status":"ACTIVE"}"#)
        .send()
        .await
        .unwrap();
    let answer = env
        .http
        .get(env.ords.url("customers/validation/12345678901"))
        .header(ACCEPT, "application/json")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        answer.starts_with(r#"{"customer_id":12345678901,"#),
        "{answer}"
    );
}
