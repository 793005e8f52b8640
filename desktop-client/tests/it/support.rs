//! A broker stand-in and a fixture for driving the real client against it.
//!
//! The stand-in serves literal JSON (not our own structs) signed with a test key, and
//! can misbehave on demand: deny, replay an old envelope, sign with a foreign key,
//! tamper with the payload, answer an error status, hang, redirect. It signs with its
//! own clock, so a test can move the client's clock without moving the broker's.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use ed25519_dalek::SigningKey;
use serde_json::json;

use license_client::{Clock, Fingerprint, LicenseClient, ManualClock, MemoryKeyStore, Paths};
use license_shared::{kid_for, CustomerId, Envelope, Keyset, LicenseKey, MAC_LEN};

pub const T0: i64 = 1_767_261_600;
pub const DAY: i64 = 86_400;
pub const APP_ID: &str = "com.example.editor";

pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

pub fn foreign_key() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}

pub fn trusted() -> Keyset {
    Keyset::new().with_key(signing_key().verifying_key())
}

pub fn license_key(id: &str) -> String {
    LicenseKey::new(CustomerId::parse(id).unwrap(), [0x5A; MAC_LEN]).encode()
}

/// What the stand-in does with the next request.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Sign `code` for the request, with these policy offsets from `iat`.
    Sign {
        code: &'static str,
        offline: i64,
        recheck: i64,
    },
    /// Sign a VALID verdict (30 days offline) about this license id, whatever the
    /// request's key says.
    ForLicense(&'static str),
    /// Serve this exact body again (a recorded envelope).
    Replay(String),
    /// Sign a VALID verdict with a key the client does not trust, under its own kid.
    ForeignKey,
    /// Sign a VALID verdict, then swap the payload for an edited one.
    Tamper,
    /// Answer with this status and body.
    Status(u16, &'static str),
    /// Never answer.
    Hang,
    /// Redirect elsewhere.
    Redirect,
    /// A body far beyond the client's cap.
    Huge,
}

impl Behaviour {
    pub fn valid() -> Self {
        Self::Sign {
            code: "VALID",
            offline: 7 * DAY,
            recheck: DAY,
        }
    }
    pub fn deny(code: &'static str) -> Self {
        Self::Sign {
            code,
            offline: 0,
            recheck: 0,
        }
    }
}

pub struct Shared {
    pub behaviour: Mutex<Behaviour>,
    pub clock: Arc<dyn Clock>,
    pub requests: AtomicUsize,
    /// Every 200 body served, in order.
    pub served: Mutex<Vec<String>>,
}

pub struct StandIn {
    pub url: String,
    pub shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl StandIn {
    pub async fn start(clock: Arc<dyn Clock>) -> Self {
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(Behaviour::valid()),
            clock,
            requests: AtomicUsize::new(0),
            served: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/license/validate", post(validate))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            url: format!("http://{addr}"),
            shared,
            shutdown: Some(tx),
        }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = behaviour;
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn last_served(&self) -> String {
        self.shared
            .served
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("nothing served yet")
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The customer id the request's license key carries, as the broker reads it.
fn license_id(request: &serde_json::Value) -> String {
    request["license_key"]
        .as_str()
        .and_then(|key| LicenseKey::parse(key).ok())
        .map(|key| key.customer_id().as_str().to_owned())
        .unwrap_or_default()
}

fn payload(
    request: &serde_json::Value,
    code: &str,
    iat: i64,
    offline: i64,
    recheck: i64,
) -> Vec<u8> {
    let valid = code == "VALID";
    let expires_at = if code == "EXPIRED" {
        iat - DAY
    } else {
        iat + 365 * DAY
    };
    serde_json::to_vec(&json!({
        "typ": "license.validation",
        "iat": iat,
        "nonce": request["nonce"],
        "fingerprint": request["fingerprint"],
        "result": {"valid": valid, "code": code},
        "license": {"id": license_id(request), "expires_at": expires_at},
        "policy": {"recheck_after": iat + recheck, "offline_until": iat + offline},
        "extra": "unknown members are ignored"
    }))
    .unwrap()
}

async fn validate(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let request: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_request","message":"bad json"}"#,
            )
                .into_response()
        }
    };
    let behaviour = shared.behaviour.lock().unwrap().clone();
    let iat = shared.clock.now();
    let body = match behaviour {
        Behaviour::Sign {
            code,
            offline,
            recheck,
        } => {
            let key = signing_key();
            let envelope = Envelope::sign(
                &key,
                &kid_for(&key.verifying_key()),
                &payload(&request, code, iat, offline, recheck),
            );
            serde_json::to_string_pretty(&envelope).unwrap()
        }
        Behaviour::ForLicense(id) => {
            let key = signing_key();
            let mut json: serde_json::Value =
                serde_json::from_slice(&payload(&request, "VALID", iat, 30 * DAY, 30 * DAY))
                    .unwrap();
            json["license"]["id"] = id.into();
            let envelope = Envelope::sign(
                &key,
                &kid_for(&key.verifying_key()),
                &serde_json::to_vec(&json).unwrap(),
            );
            serde_json::to_string(&envelope).unwrap()
        }
        Behaviour::Replay(body) => body,
        Behaviour::ForeignKey => {
            let key = foreign_key();
            let envelope = Envelope::sign(
                &key,
                &kid_for(&key.verifying_key()),
                &payload(&request, "VALID", iat, 7 * DAY, DAY),
            );
            serde_json::to_string(&envelope).unwrap()
        }
        Behaviour::Tamper => {
            let key = signing_key();
            let mut envelope = Envelope::sign(
                &key,
                &kid_for(&key.verifying_key()),
                &payload(&request, "VALID", iat, 7 * DAY, DAY),
            );
            let edited = payload(&request, "VALID", iat, 30 * DAY, 30 * DAY);
            envelope.payload = license_shared::base64url_encode(&edited);
            serde_json::to_string(&envelope).unwrap()
        }
        Behaviour::Status(status, body) => {
            let status = StatusCode::from_u16(status).unwrap();
            return (
                status,
                [("content-type", "application/json"), ("retry-after", "30")],
                body,
            )
                .into_response();
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::OK.into_response();
        }
        Behaviour::Redirect => {
            return (
                StatusCode::FOUND,
                [("location", "http://127.0.0.1:9/v1/license/validate")],
                "",
            )
                .into_response();
        }
        Behaviour::Huge => "x".repeat(200 * 1024),
    };
    shared.served.lock().unwrap().push(body.clone());
    (StatusCode::OK, [("content-type", "application/json")], body).into_response()
}

/// A temp dir, an in-memory key store, a client clock and a broker clock.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: Arc<MemoryKeyStore>,
    pub clock: ManualClock,
    pub broker_clock: ManualClock,
    pub broker: StandIn,
}

impl Fixture {
    pub async fn new() -> Self {
        let broker_clock = ManualClock::new(T0);
        let broker = StandIn::start(Arc::new(broker_clock.clone())).await;
        Self {
            dir: tempfile::tempdir().unwrap(),
            store: Arc::new(MemoryKeyStore::new()),
            clock: ManualClock::new(T0),
            broker_clock,
            broker,
        }
    }

    pub fn paths(&self) -> Paths {
        Paths::in_dir(self.dir.path())
    }

    /// Moves both clocks: real time passing.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
        self.broker_clock.advance(seconds);
    }

    pub fn client_on(&self, machine: &str) -> LicenseClient {
        LicenseClient::builder()
            .broker_url(&self.broker.url)
            .app_id(APP_ID)
            .app_version("1.0.0")
            .trusted_keys(trusted())
            .total_timeout(Duration::from_millis(800))
            .connect_timeout(Duration::from_millis(400))
            .key_store(Box::new(self.store.clone()))
            .paths(self.paths())
            .clock(Arc::new(self.clock.clone()))
            .fingerprint(Fingerprint::from_machine_id(machine, APP_ID))
            .build()
            .unwrap()
    }

    pub fn client(&self) -> LicenseClient {
        self.client_on("machine-a")
    }

    pub fn cache_text(&self) -> String {
        std::fs::read_to_string(self.paths().cache_file()).unwrap()
    }
}
