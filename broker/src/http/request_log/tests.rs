//! Tests for `request_log`: one JSON line per request with the promised fields, the
//! license key only as a fingerprint, and the metrics updated.

use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use http::StatusCode;
use tower::ServiceExt;

use super::*;
use crate::guard::key_fingerprint;

const RAW_KEY: &str = "LB1-SENTINEL_LICENSE_KEY-0123456789";

fn app(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/v1/license/validate",
            post(|| async {
                let mut res = (StatusCode::OK, "signed").into_response();
                res.extensions_mut().insert(RequestFacts {
                    key: Some(crate::guard::KeyId::of(RAW_KEY).fingerprint()),
                    upstream_status: Some(200),
                    code: Some("VALID"),
                    client: Some("192.0.2.7".parse().unwrap()),
                });
                res
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            log_and_measure,
        ))
}

#[tokio::test(flavor = "current_thread")]
async fn each_request_logs_one_line_with_the_promised_fields() {
    let (captured, _guard) = license_testkit::LogCapture::json();
    let metrics = Arc::new(Metrics::new());

    let request = Request::post("/v1/license/validate")
        .body(Body::empty())
        .unwrap();
    let res = app(metrics.clone()).oneshot(request).await.unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()[&X_REQUEST_ID].to_str().unwrap().to_owned();
    assert_eq!(request_id.len(), 16);
    assert!(
        res.extensions().get::<RequestFacts>().is_none(),
        "stays inside the process"
    );
    let missing = Request::get("/nowhere/../etc/passwd")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app(metrics.clone())
            .oneshot(missing)
            .await
            .unwrap()
            .status(),
        404
    );

    let lines = captured.json_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["request_id"], request_id.as_str());
    assert_eq!(line["route"], "/v1/license/validate");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["status"], 200);
    assert_eq!(line["upstream_status"], 200);
    assert_eq!(line["code"], "VALID");
    assert_eq!(line["client"], "192.0.2.7");
    assert_eq!(line["key"], key_fingerprint(RAW_KEY).as_str());
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(lines[1]["route"], UNMATCHED);
    assert_eq!(lines[1]["status"], 404);
    let all = captured.text();
    assert!(!all.contains("SENTINEL"), "{all}");
    assert!(!all.contains("passwd"), "raw paths are not logged: {all}");

    let text = metrics.render();
    assert!(
        text.contains(r#"broker_requests_total{route="/v1/license/validate",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"broker_requests_total{route="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("broker_inflight 0"), "{text}");
    assert!(!text.contains("SENTINEL") && !text.contains("passwd"));
}

#[test]
fn the_fingerprint_is_eight_hex_digits_of_sha256() {
    // SHA-256("abc") = ba7816bf 8f01cfea…: bytes 4 to 7.
    assert_eq!(key_fingerprint("abc"), "8f01cfea");
    assert_ne!(key_fingerprint("abd"), key_fingerprint("abc"));
}

#[test]
fn request_ids_are_sixteen_hex_digits_and_differ() {
    let a = new_request_id();
    assert_eq!(a.len(), 16);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, new_request_id());
}

#[tokio::test(flavor = "current_thread")]
async fn an_error_answer_logs_its_error_code() {
    let (captured, _guard) = license_testkit::LogCapture::json();
    let metrics = Arc::new(Metrics::new());
    let app = Router::new()
        .route(
            "/v1/license/validate",
            post(|| async { crate::http::ApiError::InvalidRequest("nonce: too short".into()) }),
        )
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            log_and_measure,
        ));
    let request = Request::post("/v1/license/validate")
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(request).await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.extensions().get::<LoggedError>().is_none(),
        "stays inside the process"
    );
    let lines: Vec<_> = captured
        .json_lines()
        .into_iter()
        .filter(|l| l["msg"] == "request" || l["message"] == "request")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["error"], "invalid_request");
    assert_eq!(lines[0]["status"], 400);
    assert!(
        lines[0].get("code").is_none_or(|c| c.is_null()),
        "{:?}",
        lines[0]
    );
}

#[test]
fn the_client_address_is_shown_as_the_standard_display_shows_it() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut addresses: Vec<std::net::IpAddr> = [
        "0.0.0.0",
        "255.255.255.255",
        "10.0.0.1",
        "192.0.2.7",
        "100.64.9.99",
        "2001:db8::1",
        "::ffff:192.0.2.1",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    for _ in 0..2000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        addresses.push(std::net::Ipv4Addr::from(state as u32).into());
    }
    for ip in addresses {
        assert_eq!(ClientAddr(ip).to_string(), ip.to_string());
    }
}
