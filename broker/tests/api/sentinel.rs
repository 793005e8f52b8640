//! Leak test: with a sentinel client secret and a sentinel access token, a run at
//! `trace` level through success, a 401 replay, a double 401, an unreadable answer and
//! a token response that fails to parse never shows either sentinel: not in log lines,
//! response bodies or headers, error messages, or `Debug` output.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use license_broker::env_vars as var;

use super::helpers::*;

const SECRET: &str = "SENTINEL_SECRET_5f1c0ffee";
const TOKEN: &str = "SENTINEL_TOKEN_";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Token calls: a good token, then (after the 401s) one whose `expires_in` does not
/// parse, then good ones. Resource calls: 200, 401+200, 401+401, garbage.
fn ords(_: usize, path: &str, _: &axum::http::HeaderMap) -> Answer {
    static TOKEN_CALLS: AtomicUsize = AtomicUsize::new(0);
    if path.ends_with("/oauth/token") {
        return match TOKEN_CALLS.fetch_add(1, Ordering::SeqCst) {
            1 => (
                200,
                r#"{"access_token":"SENTINEL_TOKEN_parse","token_type":"bearer","expires_in":"x"}"#,
            ),
            _ => (
                200,
                r#"{"access_token":"SENTINEL_TOKEN_aaaa","token_type":"bearer","expires_in":3600}"#,
            ),
        };
    }
    match path.rsplit('/').next().unwrap_or("") {
        "1" => (200, r#"{"license_status":"ACTIVE","expires_at":null}"#),
        "9" => (200, "<html>SENTINEL_TOKEN_in_a_body</html>"),
        _ => (
            401,
            r#"{"code":"Unauthorized","message":"SENTINEL_TOKEN_echo"}"#,
        ),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_and_tokens_never_leak_at_trace_level() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = FakeOrds::start(ords).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(dir.path(), &fake.base_url);
    env.insert(var::CLIENT_SECRET.into(), SECRET.into());
    let config = load_config(env);
    let tokens = license_broker::run::token_source(&config).unwrap();
    let app = spawn_app_with(config, Arc::clone(&tokens), dir).await;

    let mut seen = String::new();
    let keys: Vec<String> = ["1", "2", "9"].iter().map(|id| app.key(id)).collect();
    for key in &keys {
        let response = app.validate(key, &nonce()).await;
        seen.push_str(&format!("{} {:?}\n", response.status(), response.headers()));
        seen.push_str(&response.text().await.unwrap());
    }
    for path in ["/readyz", "/healthz", "/metrics"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().await.unwrap());
    }
    // The outgoing header used the real manager's token with a capital B.
    let auth = fake.seen.authorization.lock().unwrap().clone();
    assert!(
        auth.iter().any(|a| a == "Bearer SENTINEL_TOKEN_aaaa"),
        "{auth:?}"
    );
    assert!(auth
        .iter()
        .filter(|a| a.starts_with("Bearer "))
        .all(|a| a == "Bearer SENTINEL_TOKEN_aaaa"));

    // Debug and Display of everything that holds or met a secret.
    seen.push_str(&format!("{:?}", app.config));
    seen.push_str(&format!(
        "{:?}",
        license_broker::run::token_config(&app.config)
    ));
    let token = tokens.token().await;
    seen.push_str(&format!("{token:?}"));
    let err = license_broker::ords::UpstreamError::BadResponse("x".into());
    seen.push_str(&format!("{err} {err:?}"));
    let api_err: license_broker::api::ApiError = err.into();
    seen.push_str(&format!("{api_err:?}"));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("ORDS answered"),
        "the capture works at trace level:\n{logs}"
    );
    assert!(
        logs.contains("upstream_status=200") && logs.contains("request_id="),
        "one request line each:\n{logs}"
    );
    for (what, text) in [("logs", &logs), ("responses and debug", &seen)] {
        assert!(!text.contains(SECRET), "secret in {what}:\n{text}");
        assert!(!text.contains(TOKEN), "token in {what}:\n{text}");
        for key in &keys {
            assert!(
                !text.contains(key.as_str()),
                "license key in {what}:\n{text}"
            );
        }
    }
}
