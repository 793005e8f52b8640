//! The one way tests start a broker: [`spawn_app`] (against the ORDS emulator, with the
//! real token manager) or [`spawn_app_with`] (against any ORDS stand-in and token
//! source, such as [`FakeOrds`] serving literal JSON and [`FakeTokens`]). Every server
//! binds `127.0.0.1:0` and stops when the test drops its handle: no sleeps, no ports.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use license_broker::api::{self, AppState};
use license_broker::config::Config;
use license_broker::config_sources::Sources;
use license_broker::env_vars as var;
use license_broker::signer::Signer;
use license_broker::token_source::{BearerToken, TokenError, TokenFuture, TokenSource};
use license_shared::{
    base64url_encode, CustomerId, Envelope, Keyset, ValidateRequest, VerdictPayload,
};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::oneshot;

/// A running broker and what the test needs to talk to it and check its answers.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub config: Config,
    /// The broker's verifying key, as a client would pin it.
    pub trusted: Keyset,
    pub emulator: Option<ords_emulator::RunningEmulator>,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

/// Environment for a broker pointed at `ords_base`, with fresh key files in `dir`.
pub fn test_env(dir: &std::path::Path, ords_base: &str) -> HashMap<String, String> {
    let key = dir.join("signing.pem");
    std::fs::write(&key, Signer::generate().to_pem().unwrap()).unwrap();
    let secret = dir.join("key-secret");
    std::fs::write(&secret, "Zx8Qm3Vt6Wp1Ls4Kd9Hf2Jr7Bn5Cg0Ye\n").unwrap();
    #[cfg(unix)]
    for file in [&key, &secret] {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    HashMap::from([
        (var::ORDS_BASE_URL.into(), ords_base.into()),
        (var::CLIENT_ID.into(), "license_backend_client".into()),
        (var::CLIENT_SECRET.into(), "SENTINEL_SECRET_test".into()),
        (var::SIGNING_KEY_FILE.into(), key.display().to_string()),
        (var::KEY_SECRET_FILE.into(), secret.display().to_string()),
        (var::UPSTREAM_TIMEOUT_SECS.into(), "2".into()),
        // Tests hammer one license from 127.0.0.1; the edge tests turn limits back on.
        (var::RATE_PER_IP.into(), "0".into()),
        (var::RATE_PER_KEY.into(), "0".into()),
    ])
}

pub fn load_config(env: HashMap<String, String>) -> Config {
    let sources = Sources::new(None, move |name| env.get(name).cloned()).unwrap();
    Config::from_sources(&sources).unwrap()
}

/// A broker against the emulator's article seed, getting tokens from the real manager.
pub async fn spawn_app() -> TestApp {
    spawn_app_env(&[]).await
}

/// [`spawn_app`] with extra environment settings (they win over [`test_env`]).
pub async fn spawn_app_env(overrides: &[(&str, &str)]) -> TestApp {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    spawn_app_env_for(move |_| overrides).await
}

/// [`spawn_app`] with settings computed from the emulator's schema URL (to point the
/// broker at a wrong alias or path on purpose).
pub async fn spawn_app_env_for(overrides: impl FnOnce(&str) -> Vec<(String, String)>) -> TestApp {
    let clock = Arc::new(ords_emulator::SystemClock);
    let emulator = ords_emulator::spawn(
        ords_emulator::Seed::article_default(),
        ords_emulator::EmulatorOptions::default(),
        clock,
    )
    .await;
    let (client_id, secret) = emulator
        .client_credentials(ords_emulator::ARTICLE_CLIENT)
        .expect("the article seed has its client");
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(dir.path(), &emulator.schema_url);
    env.insert(var::CLIENT_ID.into(), client_id);
    env.insert(var::CLIENT_SECRET.into(), secret);
    env.extend(overrides(&emulator.schema_url));
    let config = load_config(env);
    let tokens = license_broker::run::token_source(&config).expect("token manager starts");
    let mut app = spawn_app_with(config, tokens, dir).await;
    app.emulator = Some(emulator);
    app
}

/// A broker with the given configuration and token source.
pub async fn spawn_app_with(
    config: Config,
    tokens: Arc<dyn TokenSource>,
    dir: tempfile::TempDir,
) -> TestApp {
    let state = AppState::from_config(&config, tokens).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(api::serve(listener, state, async move {
        let _ = rx.await;
    }));
    let trusted = Keyset::new().with_key(config.signer.verifying_key());
    TestApp {
        addr,
        http: reqwest::Client::new(),
        config,
        trusted,
        emulator: None,
        _dir: dir,
        _shutdown: tx,
    }
}

/// A broker against `ords` (a literal-JSON stand-in) with fake tokens.
pub async fn spawn_app_with_fake(ords: &FakeOrds, tokens: &Arc<FakeTokens>) -> TestApp {
    spawn_app_with_fake_env(ords, tokens, &[]).await
}

/// [`spawn_app_with_fake`] with extra environment settings.
pub async fn spawn_app_with_fake_env(
    ords: &FakeOrds,
    tokens: &Arc<FakeTokens>,
    overrides: &[(&str, &str)],
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(dir.path(), &ords.base_url);
    override_env(&mut env, overrides);
    let config = load_config(env);
    spawn_app_with(config, Arc::clone(tokens) as Arc<dyn TokenSource>, dir).await
}

pub fn override_env(env: &mut HashMap<String, String>, overrides: &[(&str, &str)]) {
    for (name, value) in overrides {
        env.insert((*name).to_owned(), (*value).to_owned());
    }
}

/// A fresh random nonce, as a client sends it.
pub fn nonce() -> String {
    base64url_encode(&rand::random::<[u8; 32]>())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A real license key for `id`.
    pub fn key(&self, id: &str) -> String {
        self.config
            .license_keys
            .mint(&CustomerId::parse(id).unwrap())
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

    pub fn emulator(&self) -> &ords_emulator::RunningEmulator {
        self.emulator.as_ref().expect("started with spawn_app")
    }
}

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

/// Reads an error body and checks its shape.
pub async fn error_body(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}
