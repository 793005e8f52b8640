//! Leak test: with a sentinel client secret and a sentinel access token, a run at
//! `trace` level through success, a 401 replay, a double 401, an unreadable answer and
//! a token response that fails to parse never shows either sentinel: not in log lines,
//! response bodies or headers, error messages, or `Debug` output.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use license_broker::token::{TokenHandle, TokenManager, TokenSource as _};

use super::helpers::*;

const SECRET: &str = "SENTINEL_SECRET_5f1c0ffee";
const TOKEN: &str = "SENTINEL_TOKEN_";

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
        "1" => (
            200,
            r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#,
        ),
        "9" => (200, "<html>SENTINEL_TOKEN_in_a_body</html>"),
        _ => (
            401,
            r#"{"code":"Unauthorized","message":"SENTINEL_TOKEN_echo"}"#,
        ),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_and_tokens_never_leak_at_trace_level() {
    let (capture, _guard) = LogCapture::trace();

    let fake = FakeOrds::start(ords).await;
    // The real token manager, held here too so its token can be shown below.
    let manager: Arc<Mutex<Option<TokenHandle>>> = Arc::default();
    let app = start(
        broker()
            .ords_at_as(&fake.base_url, STAND_IN_CLIENT_ID, SECRET)
            .tokens_from({
                let manager = Arc::clone(&manager);
                move |config| {
                    let handle = TokenManager::spawn(config.token_config()).unwrap();
                    *manager.lock().unwrap() = Some(handle.clone());
                    Arc::new(handle)
                }
            }),
    )
    .await;
    let tokens = manager.lock().unwrap().clone().unwrap();

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
    seen.push_str(&format!("{:?}", app.config()));
    seen.push_str(&format!("{:?}", app.config().token_config()));
    let token = tokens.token().await;
    seen.push_str(&format!("{token:?}"));
    // What an unreadable ORDS answer becomes (key "9" above went through it for real;
    // its detail reached the log, checked below).
    let api_err = license_broker::ApiError::UpstreamUnavailable {
        retry_after: std::time::Duration::from_secs(30),
        detail: "x".into(),
        bad_answer: true,
    };
    seen.push_str(&format!("{api_err:?}"));

    let logs = capture.text();
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
