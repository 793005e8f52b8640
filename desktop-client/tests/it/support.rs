//! A broker stand-in and a fixture for driving the real client against it.
//!
//! The stand-in serves literal JSON (not our own structs) signed with a test key, and
//! can misbehave on demand: deny, replay an old envelope, sign with a foreign key,
//! tamper with the payload, answer an error status, hang, redirect. It signs with its
//! own clock, so a test can move the client's clock without moving the broker's.
//!
//! It serves validate, activate, deactivate and machines. By default the license is
//! unlimited; [`StandIn::limit_seats`] makes it seat-limited, and then the stand-in
//! keeps the seats as the broker does: validate says `NOT_ACTIVATED` to a fingerprint
//! without one, activate claims one or answers `MACHINE_LIMIT` with the list,
//! deactivate frees one (`400` for an unknown id, `429` once the budget of freeing
//! other machines' seats is spent), machines lists them.
//!
//! By default its verdicts carry no product members, as brokers from before products
//! sign them. [`StandIn::license`] gives the license a product, entitlements, an
//! expiry strategy and a fixed expiry; the stand-in then signs them into every
//! verdict and, like the broker, answers `WRONG_PRODUCT` to an app naming another
//! product (unless told to sign regardless, which no honest broker does).
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
use sha2::Digest as _;

use license_client::{
    Clock, Fingerprint, LicenseClient, LicenseClientBuilder, ManualClock, MemoryKeyStore, Paths,
};
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

/// The license row's product members, signed into every verdict once set.
#[derive(Debug, Clone, Default)]
pub struct LicenseFacts {
    /// `license.product`; `None` signs `null`.
    pub product: Option<&'static str>,
    pub entitlements: Vec<&'static str>,
    /// `REVOKE_ACCESS` or `MAINTAIN_ACCESS`.
    pub expiry_strategy: &'static str,
    /// A fixed `license.expires_at` instead of one relative to `iat`.
    pub expires_at: Option<i64>,
    /// Sign the verdict the behaviour asks for even for an app naming another product
    /// (a broker that does not compare them).
    pub ignore_requested_product: bool,
}

impl LicenseFacts {
    pub fn for_product(product: &'static str) -> Self {
        Self {
            product: Some(product),
            expiry_strategy: "REVOKE_ACCESS",
            ..Self::default()
        }
    }
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

/// Which endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Validate,
    Activate,
    Deactivate,
    Machines,
}

/// One seat, as the broker keeps it.
#[derive(Debug, Clone)]
pub struct Seat {
    pub fingerprint: String,
    pub id: String,
    pub name: Option<String>,
    pub last_seen: i64,
}

/// The license's seats: `max` None is an unlimited license.
#[derive(Debug, Clone, Default)]
pub struct Seats {
    pub max: Option<u32>,
    pub held: Vec<Seat>,
    /// How many other machines' seats deactivate may still free.
    pub other_frees_left: u32,
}

/// The seat id the stand-in gives a fingerprint: 12 lower-case hex digits.
pub fn seat_id(fingerprint: &str) -> String {
    sha2::Sha256::digest(fingerprint.as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub struct Shared {
    pub behaviour: Mutex<Behaviour>,
    pub clock: Arc<dyn Clock>,
    pub requests: AtomicUsize,
    /// Every 200 body served, in order.
    pub served: Mutex<Vec<String>>,
    pub seats: Mutex<Seats>,
    /// Every request, with the endpoint it came to.
    pub calls: Mutex<Vec<(Endpoint, serde_json::Value)>>,
    /// The license's product members; `None`: a broker from before products.
    pub facts: Mutex<Option<LicenseFacts>>,
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
            seats: Mutex::new(Seats {
                other_frees_left: 3,
                ..Seats::default()
            }),
            calls: Mutex::new(Vec::new()),
            facts: Mutex::new(None),
        });
        let app = Router::new()
            .route(
                "/v1/license/validate",
                post(|State(s), body| answer(s, body, Endpoint::Validate)),
            )
            .route(
                "/v1/license/activate",
                post(|State(s), body| answer(s, body, Endpoint::Activate)),
            )
            .route(
                "/v1/license/deactivate",
                post(|State(s), body| answer(s, body, Endpoint::Deactivate)),
            )
            .route(
                "/v1/license/machines",
                post(|State(s), body| answer(s, body, Endpoint::Machines)),
            )
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

    /// Makes the license seat-limited, with `max` seats.
    pub fn limit_seats(&self, max: u32) {
        self.shared.seats.lock().unwrap().max = Some(max);
    }

    /// Gives a seat to another machine (which the tests never run).
    pub fn seat_other(&self, id: &str, name: Option<&str>, last_seen: i64) {
        self.shared.seats.lock().unwrap().held.push(Seat {
            fingerprint: format!("other-machine-{id}"),
            id: id.into(),
            name: name.map(Into::into),
            last_seen,
        });
    }

    /// The ids of the seats held now.
    pub fn held(&self) -> Vec<String> {
        let seats = self.shared.seats.lock().unwrap();
        seats.held.iter().map(|seat| seat.id.clone()).collect()
    }

    pub fn set_other_frees(&self, n: u32) {
        self.shared.seats.lock().unwrap().other_frees_left = n;
    }

    /// Gives the license a product, entitlements, an expiry strategy (see
    /// [`LicenseFacts`]), signed from the next verdict on.
    pub fn license(&self, facts: LicenseFacts) {
        *self.shared.facts.lock().unwrap() = Some(facts);
    }

    /// Every request so far, with its endpoint.
    pub fn calls(&self) -> Vec<(Endpoint, serde_json::Value)> {
        self.shared.calls.lock().unwrap().clone()
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
    endpoint: Endpoint,
    request: &serde_json::Value,
    code: &str,
    iat: i64,
    offline: i64,
    recheck: i64,
) -> Vec<u8> {
    seat_payload(endpoint, request, code, iat, offline, recheck, None, None)
}

/// The signed `request` member: the endpoint, a digest of the key as sent, the product.
fn request_member(endpoint: Endpoint, request: &serde_json::Value) -> serde_json::Value {
    let op = match endpoint {
        Endpoint::Validate => "validate",
        Endpoint::Activate => "activate",
        Endpoint::Deactivate => "deactivate",
        Endpoint::Machines => "machines",
    };
    let asked = license_shared::VerdictRequest::new(
        op,
        request["license_key"].as_str().unwrap_or_default(),
        request["product"].as_str(),
    );
    serde_json::to_value(asked).unwrap()
}

/// A payload that carries `license.machines` when the license limits machines.
#[allow(clippy::too_many_arguments)]
fn seat_payload(
    endpoint: Endpoint,
    request: &serde_json::Value,
    code: &str,
    iat: i64,
    offline: i64,
    recheck: i64,
    machines: Option<serde_json::Value>,
    facts: Option<&LicenseFacts>,
) -> Vec<u8> {
    let valid = code == "VALID";
    let expires_at = match facts.and_then(|f| f.expires_at) {
        Some(at) => at,
        None if code == "EXPIRED" => iat - DAY,
        None => iat + 365 * DAY,
    };
    let mut license = json!({"id": license_id(request), "expires_at": expires_at});
    if let Some(machines) = machines {
        license["machines"] = machines;
    }
    if let Some(facts) = facts {
        license["product"] = facts.product.into();
        license["entitlements"] = facts.entitlements.clone().into();
        license["expiry_strategy"] = facts.expiry_strategy.into();
    }
    serde_json::to_vec(&json!({
        "typ": "license.validation",
        "iat": iat,
        "nonce": request["nonce"],
        "fingerprint": request["fingerprint"],
        "result": {"valid": valid, "code": code},
        "license": license,
        "policy": {"recheck_after": iat + recheck, "offline_until": iat + offline},
        "request": request_member(endpoint, request),
        "extra": "unknown members are ignored"
    }))
    .unwrap()
}

/// An error answer of the broker: status, `error` and `message`.
type Refusal = (StatusCode, &'static str, &'static str);

fn error((status, code, message): Refusal) -> Response {
    let body = json!({"error": code, "message": message}).to_string();
    (status, [("content-type", "application/json")], body).into_response()
}

/// What the broker's seat rules answer to an allowed request at `endpoint`: the code
/// and `license.machines`, or an error answer.
fn seat_rules(
    shared: &Shared,
    endpoint: Endpoint,
    request: &serde_json::Value,
    now: i64,
) -> Result<(&'static str, Option<serde_json::Value>), Refusal> {
    let mut seats = shared.seats.lock().unwrap();
    let fingerprint = request["fingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let Some(max) = seats.max else {
        let code = if endpoint == Endpoint::Deactivate {
            "DEACTIVATED"
        } else {
            "VALID"
        };
        return Ok((code, None));
    };
    let mine = seats.held.iter().position(|s| s.fingerprint == fingerprint);
    if let Some(i) = mine {
        seats.held[i].last_seen = now;
    }
    let list = |seats: &Seats| -> serde_json::Value {
        seats
            .held
            .iter()
            .map(|s| json!({"id": s.id, "name": s.name, "last_seen": s.last_seen, "current": s.fingerprint == fingerprint}))
            .collect()
    };
    let code = match endpoint {
        Endpoint::Validate if mine.is_some() => "VALID",
        Endpoint::Validate => "NOT_ACTIVATED",
        Endpoint::Activate if mine.is_some() => "VALID",
        Endpoint::Activate if (seats.held.len() as u32) < max => {
            seats.held.push(Seat {
                id: seat_id(&fingerprint),
                fingerprint: fingerprint.clone(),
                name: request["machine_name"].as_str().map(Into::into),
                last_seen: now,
            });
            "VALID"
        }
        Endpoint::Activate => {
            let machines = json!({"used": seats.held.len(), "max": max, "list": list(&seats)});
            return Ok(("MACHINE_LIMIT", Some(machines)));
        }
        Endpoint::Deactivate => {
            let target = match request["machine_id"].as_str() {
                None => mine,
                Some(id) => {
                    let Some(i) = seats.held.iter().position(|s| s.id == id) else {
                        return Err((
                            StatusCode::BAD_REQUEST,
                            "invalid_request",
                            "machine_id matches no seat of this license",
                        ));
                    };
                    if Some(i) != mine {
                        if seats.other_frees_left == 0 {
                            return Err((
                                StatusCode::TOO_MANY_REQUESTS,
                                "rate_limited",
                                "this license has freed its budget of other machines' seats",
                            ));
                        }
                        seats.other_frees_left -= 1;
                    }
                    Some(i)
                }
            };
            if let Some(i) = target {
                seats.held.remove(i);
            }
            "DEACTIVATED"
        }
        Endpoint::Machines => {
            let machines = json!({"used": seats.held.len(), "max": max, "list": list(&seats)});
            return Ok(("VALID", Some(machines)));
        }
    };
    Ok((code, Some(json!({"used": seats.held.len(), "max": max}))))
}

async fn answer(shared: Arc<Shared>, body: Bytes, endpoint: Endpoint) -> Response {
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
    shared
        .calls
        .lock()
        .unwrap()
        .push((endpoint, request.clone()));
    let mut behaviour = shared.behaviour.lock().unwrap().clone();
    let facts = shared.facts.lock().unwrap().clone();
    let iat = shared.clock.now();
    if let Some(facts) = &facts {
        let asked = request["product"].as_str();
        let other = matches!((facts.product, asked), (Some(ours), Some(asked)) if ours != asked);
        if other && !facts.ignore_requested_product && matches!(behaviour, Behaviour::Sign { .. }) {
            behaviour = Behaviour::deny("WRONG_PRODUCT");
        }
    }
    let facts = facts.as_ref();
    let body = match behaviour {
        Behaviour::Sign {
            code: "VALID",
            offline,
            recheck,
        } => {
            let (code, machines) = match seat_rules(&shared, endpoint, &request, iat) {
                Ok(answer) => answer,
                Err(refusal) => return error(refusal),
            };
            let (offline, recheck) = if code == "VALID" {
                (offline, recheck)
            } else {
                (0, 0)
            };
            let key = signing_key();
            let envelope = Envelope::sign(
                &key,
                &kid_for(&key.verifying_key()),
                &seat_payload(
                    endpoint, &request, code, iat, offline, recheck, machines, facts,
                ),
            );
            serde_json::to_string_pretty(&envelope).unwrap()
        }
        Behaviour::Sign {
            code,
            offline,
            recheck,
        } => {
            let key = signing_key();
            let envelope = Envelope::sign(
                &key,
                &kid_for(&key.verifying_key()),
                &seat_payload(endpoint, &request, code, iat, offline, recheck, None, facts),
            );
            serde_json::to_string_pretty(&envelope).unwrap()
        }
        Behaviour::ForLicense(id) => {
            let key = signing_key();
            let mut json: serde_json::Value = serde_json::from_slice(&payload(
                endpoint,
                &request,
                "VALID",
                iat,
                30 * DAY,
                30 * DAY,
            ))
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
                &payload(endpoint, &request, "VALID", iat, 7 * DAY, DAY),
            );
            serde_json::to_string(&envelope).unwrap()
        }
        Behaviour::Tamper => {
            let key = signing_key();
            let mut envelope = Envelope::sign(
                &key,
                &kid_for(&key.verifying_key()),
                &payload(endpoint, &request, "VALID", iat, 7 * DAY, DAY),
            );
            let edited = payload(endpoint, &request, "VALID", iat, 30 * DAY, 30 * DAY);
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
        self.builder()
            .fingerprint(Fingerprint::from_machine_id(machine, APP_ID))
            .build()
            .unwrap()
    }

    /// Everything but the machine: the fixture's broker, store, paths and clock.
    pub fn builder(&self) -> LicenseClientBuilder {
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
    }

    pub fn client(&self) -> LicenseClient {
        self.client_on("machine-a")
    }

    /// [`client`](Self::client) (same app id, machine, store and paths) naming `product`.
    pub fn client_for(&self, product: &str) -> LicenseClient {
        self.builder()
            .product(product)
            .fingerprint(Fingerprint::from_machine_id("machine-a", APP_ID))
            .build()
            .unwrap()
    }

    /// The fingerprint [`client`](Self::client) sends.
    pub fn fingerprint(&self) -> String {
        Fingerprint::from_machine_id("machine-a", APP_ID)
            .as_str()
            .to_owned()
    }

    /// A client of this fixture whose broker cannot be reached.
    pub fn client_offline(&self) -> LicenseClient {
        self.builder()
            .broker_url("http://127.0.0.1:9")
            .fingerprint(Fingerprint::from_machine_id("machine-a", APP_ID))
            .build()
            .unwrap()
    }

    pub fn cache_text(&self) -> String {
        std::fs::read_to_string(self.paths().cache_file()).unwrap()
    }
}
