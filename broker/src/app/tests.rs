//! The router as `app` wires it from a whole configuration: the broker's own 404 and
//! 405 are the `{"error","message"}` JSON every other error is, and a separate metrics
//! listener takes `/metrics` off the public router.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use axum::Router;

use super::{build_state, Config};
use crate::config::vars as var;
use crate::config::Sources;
use crate::http::{app, metrics_app, AppState};
use crate::ords::token::{TokenError, TokenFuture, TokenSource};
use crate::verdict::Signer;

struct NoTokens;

impl TokenSource for NoTokens {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async { Err(TokenError::Stopped) })
    }
    fn invalidate(&self, _generation: u64) {}
}

fn state() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.pem");
    std::fs::write(&key, Signer::generate().to_pem().unwrap()).unwrap();
    let secret = dir.path().join("key-secret");
    std::fs::write(&secret, "k7Qp2vX9mR4tL8wZ3nB6cF1hJ5sD0gYe\n").unwrap();
    let env: HashMap<String, String> = [
        (
            var::ORDS_BASE_URL,
            "https://ords.example/ords/page".to_owned(),
        ),
        (var::CLIENT_ID, "c".to_owned()),
        (var::CLIENT_SECRET, "s".to_owned()),
        (var::SIGNING_KEY_FILE, key.display().to_string()),
        (var::KEY_SECRET_FILE, secret.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let sources = Sources::new(None, move |name| env.get(name).cloned()).unwrap();
    let config = Config::from_sources(&sources).unwrap();
    let state = build_state(&config, Arc::new(NoTokens), crate::verdict::system_clock()).unwrap();
    (dir, state)
}

async fn call(router: Router, method: &str, path: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_json() {
    let (_dir, state) = state();
    let (status, body) = call(app(state.clone(), true), "GET", "/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "not_found");
    assert!(body["message"].is_string());
    let (status, body) = call(app(state, true), "GET", "/v1/license/validate").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "method_not_allowed");
}

#[tokio::test]
async fn a_separate_metrics_listener_takes_metrics_off_the_public_router() {
    let (_dir, state) = state();
    let (status, body) = call(app(state.clone(), true), "GET", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("broker_build_info"), "{body}");
    let (status, _) = call(app(state.clone(), false), "GET", "/metrics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(metrics_app(state.clone()), "GET", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("process_start_time_seconds"), "{body}");
    let (status, _) = call(metrics_app(state), "GET", "/healthz").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
