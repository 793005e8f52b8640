//! Operations over real HTTP: `/metrics`, the broker's own deadline, the header-read
//! timeout, and TLS termination.

use std::sync::Arc;
use std::time::{Duration, Instant};

use license_broker::token::{TokenFuture, TokenSource};
use license_broker::vars as var;
use license_shared::{Envelope, VerdictCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::helpers::*;

const NAMED_SERIES: [&str; 8] = [
    "broker_requests_total{",
    "broker_request_duration_seconds_bucket{",
    "broker_upstream_duration_seconds_bucket{",
    "broker_token_fetch_total{",
    "broker_token_seconds_to_expiry ",
    "broker_token_generation ",
    "broker_ratelimited_total{",
    "broker_inflight ",
];

#[tokio::test]
async fn metrics_show_the_named_series_and_the_token_manager_state() {
    let app = spawn_app().await;
    let key = app.key("1");
    let nonce = nonce();
    assert_eq!(app.validate(&key, &nonce).await.status(), 200);
    let text = app.metrics().await;
    for series in NAMED_SERIES {
        assert!(text.contains(series), "{series} missing from\n{text}");
    }
    assert_eq!(
        metric(&text, r#"broker_token_fetch_total{result="ok"}"#),
        1.0
    );
    assert_eq!(
        metric(&text, r#"broker_token_fetch_total{result="permanent"}"#),
        0.0
    );
    assert_eq!(metric(&text, "broker_token_generation"), 1.0);
    let left = metric(&text, "broker_token_seconds_to_expiry");
    assert!(left > 60.0, "a fresh emulator token: {left}");
    assert_eq!(
        metric(
            &text,
            r#"broker_requests_total{route="/v1/license/validate",status="200"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            r#"broker_upstream_duration_seconds_count{status="200"}"#
        ),
        1.0
    );
    assert_eq!(metric(&text, r#"broker_verdicts_total{code="VALID"}"#), 1.0);
    assert_eq!(metric(&text, "broker_inflight"), 1.0, "the scrape itself");
    // Numbers and our own labels only: nothing the caller sent, nothing secret.
    let secret = app
        .emulator()
        .client_credentials(ords_emulator::ARTICLE_CLIENT)
        .unwrap()
        .1;
    for sentinel in [
        key.as_str(),
        nonce.as_str(),
        secret.as_str(),
        "Bearer",
        "SENTINEL",
    ] {
        assert!(!text.contains(sentinel), "{sentinel} in\n{text}");
    }
}

#[tokio::test]
async fn with_a_stalled_ords_the_broker_answers_504_within_its_deadline() {
    let app = spawn_app_env(&[
        (var::REQUEST_TIMEOUT_SECS, "2"),
        (var::UPSTREAM_TIMEOUT_SECS, "1"),
    ])
    .await;
    app.verdict("1").await;
    app.emulator().set_faults(ords_emulator::Faults {
        stall: true,
        ..Default::default()
    });
    let started = Instant::now();
    let response = app.validate(&app.key("2"), &nonce()).await;
    let took = started.elapsed();
    error_body(response, 504, "upstream_timeout").await;
    eprintln!("stalled ORDS: 504 after {took:?} (deadline 2 s, upstream timeout 1 s)");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    app.emulator().clear_faults();
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, r#"broker_upstream_requests_total{status="timeout"}"#),
        1.0
    );
}

/// Never hands out a token: the request can only end by the broker's own deadline.
struct StalledTokens;

impl TokenSource for StalledTokens {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(std::future::pending())
    }
    fn invalidate(&self, _generation: u64) {}
}

#[tokio::test]
async fn the_request_deadline_holds_even_when_the_wait_is_not_on_ords() {
    let ords = FakeOrds::answering(200, "{}").await;
    let app = start(
        broker()
            .ords_at(&ords.base_url)
            .tokens(Arc::new(StalledTokens))
            .settings(&[
                (var::REQUEST_TIMEOUT_SECS, "2"),
                (var::UPSTREAM_TIMEOUT_SECS, "1"),
            ]),
    )
    .await;
    let started = Instant::now();
    let response = app.validate(&app.key("1"), &nonce()).await;
    let took = started.elapsed();
    error_body(response, 504, "upstream_timeout").await;
    eprintln!("stalled token source: 504 after {took:?} (deadline 2 s)");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    assert_eq!(ords.calls(), 0);
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected() {
    let ords = FakeOrds::answering(200, "{}").await;
    let tokens = FakeTokens::new();
    let app =
        spawn_app_with_fake_env(&ords, &tokens, &[(var::HEADER_READ_TIMEOUT_SECS, "1")]).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /v1/license/validate HTTP/1.1\r\nHost: broker\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    let took = started.elapsed();
    assert!(read.is_ok(), "still connected after 5 s");
    eprintln!(
        "slow headers: connection closed after {took:?} ({} bytes)",
        buf.len()
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    // The broker itself is fine.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn over_tls_a_client_trusting_the_certificate_gets_a_signed_verdict() {
    let ords = FakeOrds::answering(200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#).await;
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let mut app = spawn_app_with_fake_env(
        &ords,
        &FakeTokens::new(),
        &[
            (var::TLS_CERT_FILE, cert.to_str().unwrap()),
            (var::TLS_KEY_FILE, key.to_str().unwrap()),
        ],
    )
    .await;
    assert!(app.config().edge.tls.is_some(), "TLS configured");
    let addr = app.addr;

    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .resolve("localhost", addr)
        .https_only(true)
        .build()
        .unwrap();
    let license_key = app.key("1");
    let body = serde_json::json!({"license_key": license_key, "nonce": nonce()});
    let response = client
        .post(format!(
            "https://localhost:{}/v1/license/validate",
            addr.port()
        ))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let envelope: Envelope = response.json().await.unwrap();
    assert_eq!(
        envelope.open(&app.trusted).unwrap().result.code,
        VerdictCode::Valid
    );
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    // And the TLS server drains like the plain one.
    app.stop_within(Duration::from_secs(5))
        .await
        .expect("the TLS server stops");
}
