//! Verdicts bound to their request, against the real broker and the ORDS emulator:
//! an on-path attacker who can rewrite the client's requests (a broken TLS, a hostile
//! proxy) keeps the victim's nonce and fingerprint and changes the key, the product or
//! the endpoint. The broker signs a genuine answer to the rewritten request; the
//! client must refuse it, allow or deny, and keep its lease.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use license_client::{Code, Fingerprint, LicenseClient, MemoryKeyStore, Paths, Source};
use license_testkit::Stack;

/// What the attacker does to the next requests.
#[derive(Debug, Clone)]
enum Rewrite {
    /// Passes requests through unchanged.
    Nothing,
    /// Swaps the license key for this one.
    Key(String),
    /// Swaps the product for this one.
    Product(&'static str),
    /// Sends a validate to the deactivate endpoint instead.
    ValidateToDeactivate,
}

#[derive(Clone)]
struct Attacker {
    broker: String,
    rewrite: Arc<Mutex<Rewrite>>,
    http: reqwest::Client,
}

async fn forward(State(attacker): State<Attacker>, uri: Uri, body: Bytes) -> Response {
    let mut json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut path = uri.path().to_owned();
    match attacker.rewrite.lock().unwrap().clone() {
        Rewrite::Nothing => {}
        Rewrite::Key(key) => json["license_key"] = key.into(),
        Rewrite::Product(product) => json["product"] = product.into(),
        Rewrite::ValidateToDeactivate if path == "/v1/license/validate" => {
            path = "/v1/license/deactivate".into();
        }
        Rewrite::ValidateToDeactivate => {}
    }
    let answer = attacker
        .http
        .post(format!("{}{path}", attacker.broker.trim_end_matches('/')))
        .header("content-type", "application/json")
        .body(json.to_string())
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let body = answer.bytes().await.unwrap();
    (status, [("content-type", "application/json")], body).into_response()
}

struct OnPath {
    stack: Stack,
    rewrite: Arc<Mutex<Rewrite>>,
    url: String,
    dir: tempfile::TempDir,
    store: Arc<MemoryKeyStore>,
}

impl OnPath {
    async fn start() -> Self {
        let stack = Stack::start(&[]).await.expect("the stack starts");
        let rewrite = Arc::new(Mutex::new(Rewrite::Nothing));
        let attacker = Attacker {
            broker: stack.url().to_owned(),
            rewrite: Arc::clone(&rewrite),
            http: reqwest::Client::new(),
        };
        let app = axum::Router::new().fallback(forward).with_state(attacker);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            stack,
            rewrite,
            url: format!("http://{addr}/"),
            dir: tempfile::tempdir().unwrap(),
            store: Arc::new(MemoryKeyStore::new()),
        }
    }

    fn set(&self, rewrite: Rewrite) {
        *self.rewrite.lock().unwrap() = rewrite;
    }

    /// The victim's app, talking to the broker through the attacker.
    fn client(&self, product: Option<&str>) -> LicenseClient {
        let mut builder = self
            .stack
            .client()
            .broker_url(self.url.clone())
            .app_id("com.example.editor")
            .total_timeout(Duration::from_secs(5))
            .key_store(Box::new(Arc::clone(&self.store)))
            .paths(Paths::in_dir(self.dir.path()))
            .fingerprint(Fingerprint::from_machine_id(
                "machine-a",
                "com.example.editor",
            ));
        if let Some(product) = product {
            builder = builder.product(product);
        }
        builder.build().unwrap()
    }

    /// Activates `id`'s key, then lets the attacker rewrite the next check; the
    /// genuinely signed answer to the rewritten request must be refused and the lease
    /// kept, online and offline.
    async fn check_is_refused(&self, id: &str, product: Option<&str>, rewrite: Rewrite) {
        let client = self.client(product);
        let key = self.stack.issue_key(id).unwrap();
        let activated = client.activate(&key).await.unwrap();
        assert_eq!(activated.code, Code::Valid, "{activated:?}");
        self.set(rewrite.clone());
        let verdict = client.refresh().await;
        assert!(
            verdict.licensed && verdict.code == Code::OfflineGrace,
            "{rewrite:?}: the answer to a rewritten request was taken: {verdict:?}"
        );
        assert!(
            verdict.message.contains("another request"),
            "{rewrite:?}: {}",
            verdict.message
        );
        self.set(Rewrite::Nothing);
        let offline = client.check_offline();
        assert!(
            offline.licensed && offline.source == Source::Cache,
            "{rewrite:?}: the lease was not kept: {offline:?}"
        );
    }
}

#[tokio::test]
async fn a_not_found_for_a_swapped_forged_key_is_refused_and_the_lease_kept() {
    let on_path = OnPath::start().await;
    let forged = on_path.stack.forge_key("1").unwrap();
    on_path
        .check_is_refused("1", None, Rewrite::Key(forged))
        .await;
}

#[tokio::test]
async fn a_wrong_product_for_a_rewritten_product_is_refused_and_the_lease_kept() {
    let on_path = OnPath::start().await;
    on_path
        .check_is_refused("1", Some("desktop-pro"), Rewrite::Product("desktop-lite"))
        .await;
}

#[tokio::test]
async fn a_deactivated_for_a_validate_rerouted_to_deactivate_is_refused_and_the_lease_kept() {
    let on_path = OnPath::start().await;
    on_path
        .check_is_refused("4", None, Rewrite::ValidateToDeactivate)
        .await;
}
