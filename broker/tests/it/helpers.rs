//! The broker's tests start it through the kit ([`license_testkit::Stack`]), with the
//! defaults these tests assume ([`DEFAULTS`]), and wrap it in a [`TestApp`] with the
//! requests they make. The ORDS stand-in [`FakeOrds`] (literal JSON) and the token
//! stand-in [`FakeTokens`] live here: only these tests use them. Every server binds
//! `127.0.0.1:0` and stops when the test drops its handle: no sleeps, no ports.

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use license_broker::token::{BearerToken, TokenError, TokenFuture, TokenSource};
use license_broker::vars as var;
use license_shared::{Envelope, Keyset, ValidateRequest, VerdictPayload};
pub use license_testkit::{
    nonce, BrokerEnv, Stack, StackBuilder, STAND_IN_CLIENT_ID, STAND_IN_CLIENT_SECRET,
};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::oneshot;

/// What these tests assume unless they say otherwise: no rate limits (tests hammer one
/// license from 127.0.0.1; the edge tests turn them back on) and a 2 s upstream timeout.
pub const DEFAULTS: [(&str, &str); 3] = [
    (var::UPSTREAM_TIMEOUT_SECS, "2"),
    (var::RATE_PER_IP, "0"),
    (var::RATE_PER_KEY, "0"),
];

/// A running broker and what the test needs to talk to it and check its answers.
pub struct TestApp {
    stack: Stack,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    /// The broker's verifying key, as a client would pin it.
    pub trusted: Keyset,
}

impl Deref for TestApp {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

impl DerefMut for TestApp {
    fn deref_mut(&mut self) -> &mut Stack {
        &mut self.stack
    }
}

/// The kit's builder with [`DEFAULTS`], against the emulator's article seed.
pub fn broker() -> StackBuilder {
    Stack::builder().settings(&DEFAULTS)
}

/// Starts what `builder` describes.
pub async fn start(builder: StackBuilder) -> TestApp {
    let stack = builder.start().await.expect("the stack starts");
    TestApp {
        addr: stack.addr(),
        trusted: stack.trusted().clone(),
        http: reqwest::Client::new(),
        stack,
    }
}

/// Settings with [`DEFAULTS`] for a broker process in front of `emulator`, with the
/// article client's credentials and fresh key files.
pub fn process_env(emulator: &ords_emulator::RunningEmulator) -> BrokerEnv {
    let (client_id, secret) = emulator
        .client_credentials(ords_emulator::ARTICLE_CLIENT)
        .expect("the article seed has its client");
    with_defaults(BrokerEnv::new(&emulator.schema_url, &client_id, &secret).unwrap())
}

fn with_defaults(mut env: BrokerEnv) -> BrokerEnv {
    for (name, value) in DEFAULTS {
        env.set(name, value);
    }
    env
}

/// Settings with [`DEFAULTS`] for a broker in front of the ORDS stand-in at `ords_base`.
pub fn stand_in_env(ords_base: &str) -> BrokerEnv {
    with_defaults(BrokerEnv::new(ords_base, STAND_IN_CLIENT_ID, STAND_IN_CLIENT_SECRET).unwrap())
}

/// A broker against the emulator's article seed, getting tokens from the real manager.
pub async fn spawn_app() -> TestApp {
    start(broker()).await
}

/// [`spawn_app`] with extra settings (they win over [`DEFAULTS`]).
pub async fn spawn_app_env(overrides: &[(&str, &str)]) -> TestApp {
    start(broker().settings(overrides)).await
}

/// [`spawn_app`] with settings computed from the emulator's schema URL (to point the
/// broker at a wrong alias or path on purpose).
pub async fn spawn_app_env_for(
    overrides: impl FnOnce(&str) -> Vec<(String, String)> + Send + 'static,
) -> TestApp {
    start(broker().settings_for(overrides)).await
}

/// The kit's builder with [`DEFAULTS`], against `ords` with `tokens`.
pub fn broker_with_fake(ords: &FakeOrds, tokens: &Arc<FakeTokens>) -> StackBuilder {
    broker()
        .ords_at(&ords.base_url)
        .tokens(Arc::clone(tokens) as Arc<dyn TokenSource>)
}

/// A broker against `ords` (a literal-JSON stand-in) with fake tokens.
pub async fn spawn_app_with_fake(ords: &FakeOrds, tokens: &Arc<FakeTokens>) -> TestApp {
    start(broker_with_fake(ords, tokens)).await
}

/// [`spawn_app_with_fake`] with extra settings.
pub async fn spawn_app_with_fake_env(
    ords: &FakeOrds,
    tokens: &Arc<FakeTokens>,
    overrides: &[(&str, &str)],
) -> TestApp {
    start(broker_with_fake(ords, tokens).settings(overrides)).await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        self.stack.url_for(path)
    }

    /// A real license key for `id`.
    pub fn key(&self, id: &str) -> String {
        self.stack.issue_key(id).unwrap()
    }

    /// Posts a raw body with a JSON content type.
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url("/v1/license/validate"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Validates `license_key` as if forwarded for `client` (`X-Forwarded-For`).
    pub async fn validate_from(&self, client: &str, license_key: &str) -> reqwest::Response {
        let body = serde_json::json!({"license_key": license_key, "nonce": nonce()});
        self.http
            .post(self.url("/v1/license/validate"))
            .header("content-type", "application/json")
            .header("x-forwarded-for", client)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// `GET /metrics` as text, checking the content type.
    pub async fn metrics(&self) -> String {
        let response = self.http.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        response.text().await.unwrap()
    }

    pub async fn validate(&self, license_key: &str, nonce: &str) -> reqwest::Response {
        let request = ValidateRequest {
            license_key: license_key.into(),
            nonce: nonce.into(),
            fingerprint: Some("fp-test".into()),
            app: None,
            machine_name: None,
            machine_id: None,
            product: None,
            borrow_days: None,
        };
        self.post_raw(serde_json::to_vec(&request).unwrap()).await
    }

    /// Validates and opens the verdict, checking it echoes the nonce and fingerprint.
    pub async fn verdict(&self, id: &str) -> VerdictPayload {
        let nonce = nonce();
        let response = self.validate(&self.key(id), &nonce).await;
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        let envelope: Envelope = response.json().await.unwrap();
        let payload = envelope.open(&self.trusted).expect("the envelope verifies");
        assert_eq!(payload.nonce, nonce);
        assert_eq!(payload.fingerprint.as_deref(), Some("fp-test"));
        payload
    }
}

pub use license_testkit::LogCapture;

/// A token source that hands out `SENTINEL_TOKEN_<generation>` and counts calls.
#[derive(Default)]
pub struct FakeTokens {
    generation: AtomicU64,
    pub token_calls: AtomicUsize,
    pub invalidations: AtomicUsize,
    pub fail: Mutex<Option<TokenError>>,
}

impl FakeTokens {
    pub fn new() -> Arc<Self> {
        let tokens = Self::default();
        tokens.generation.store(1, Ordering::SeqCst);
        Arc::new(tokens)
    }
}

impl TokenSource for FakeTokens {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            self.token_calls.fetch_add(1, Ordering::SeqCst);
            if let Some(err) = self.fail.lock().unwrap().clone() {
                return Err(err);
            }
            let generation = self.generation.load(Ordering::SeqCst);
            let token = SecretString::from(format!("SENTINEL_TOKEN_{generation}"));
            Ok(BearerToken::new(generation, token))
        })
    }

    fn invalidate(&self, generation: u64) {
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        let _ = self.generation.compare_exchange(
            generation,
            generation + 1,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

/// ORDS's 404 problem JSON for a handler that found no row (what an item handler answers
/// for an unknown customer), byte for byte as ORDS 22.1 writes it.
pub const ORDS_NOT_FOUND: &str = "{\n    \"code\": \"NotFound\",\n    \"message\": \"Not Found\",\n    \"type\": \"tag:oracle.com,2020:error/NotFound\",\n    \"instance\": \"tag:oracle.com,2020:ecid/w4UbuYdZgYcyPtP86tRUrg\"\n}\n";

/// The answer a [`FakeOrds`] gives: status and literal body.
pub type Answer = (u16, &'static str);
type Script = dyn Fn(usize, &str, &HeaderMap) -> Answer + Send + Sync;

/// What a [`FakeOrds`] saw.
#[derive(Default)]
pub struct Seen {
    pub calls: AtomicUsize,
    pub authorization: Mutex<Vec<String>>,
    pub paths: Mutex<Vec<String>>,
}

/// An ORDS stand-in serving literal JSON chosen by a script `(call index, path,
/// headers) -> (status, body)`, counting every request. A body starting with `<` is
/// served as `text/html` (a proxy's or an HTML-configured ORDS's page), anything else
/// as `application/json`.
pub struct FakeOrds {
    pub base_url: String,
    pub seen: Arc<Seen>,
    _shutdown: oneshot::Sender<()>,
}

impl FakeOrds {
    pub async fn start(
        script: impl Fn(usize, &str, &HeaderMap) -> Answer + Send + Sync + 'static,
    ) -> Self {
        Self::start_with_delay(std::time::Duration::ZERO, script).await
    }

    /// Like [`FakeOrds::start`], answering only after `delay`.
    pub async fn start_with_delay(
        delay: std::time::Duration,
        script: impl Fn(usize, &str, &HeaderMap) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let seen = Arc::new(Seen::default());
        let script: Arc<Script> = Arc::new(script);
        let router = {
            let seen = Arc::clone(&seen);
            Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
                let seen = Arc::clone(&seen);
                let script = Arc::clone(&script);
                async move {
                    let index = seen.calls.fetch_add(1, Ordering::SeqCst);
                    if let Some(auth) = headers.get("authorization") {
                        let auth = auth.to_str().unwrap_or("<not text>").to_owned();
                        seen.authorization.lock().unwrap().push(auth);
                    }
                    seen.paths.lock().unwrap().push(uri.path().to_owned());
                    let (status, body) = script(index, uri.path(), &headers);
                    tokio::time::sleep(delay).await;
                    let content_type = if body.starts_with('<') {
                        "text/html"
                    } else {
                        "application/json"
                    };
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [
                            ("content-type", content_type),
                            ("set-cookie", "ORDS_SESSION=internal"),
                            ("x-ords-internal", "secret-host"),
                        ],
                        body,
                    )
                        .into_response()
                }
            })
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        Self {
            base_url: format!("http://{addr}/ords/page"),
            seen,
            _shutdown: tx,
        }
    }

    /// Always the same answer.
    pub async fn answering(status: u16, body: &'static str) -> Self {
        Self::start(move |_, _, _| (status, body)).await
    }

    pub fn calls(&self) -> usize {
        self.seen.calls.load(Ordering::SeqCst)
    }
}

/// The value of `series` (name and labels, as `/metrics` prints them) in `text`.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} missing from\n{text}"))
        .parse()
        .unwrap()
}

/// Reads an error body and checks its shape.
pub async fn error_body(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}
