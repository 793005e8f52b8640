//! Fuzzing the desktop client's reading of envelopes and of its cache file.
//!
//! 1. `license.json`: a genuine signed VALID lease, then byte edits of the file and
//!    edits of the envelope (payload changed without re-signing, another signature,
//!    another kid or algorithm, a re-signature by an untrusted key, another key hash).
//!    An offline start-up is licensed only when the file still holds the untouched
//!    envelope for this key.
//! 2. Online: a broker stand-in signs a genuine VALID verdict for each request's
//!    nonce and fingerprint, then the case's edit is applied to the response body.
//!    With no cache to fall back on, the client is licensed only when the body still
//!    holds that untouched envelope.
//!
//! Cases: `PROPTEST_CASES` (default 256 cache / 64 online here).

use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use license_broker::Signer;
use license_client::{
    Fingerprint, KeyStore as _, LicenseClient, LicenseKeyText, Marks, MemoryKeyStore, Paths,
    SystemClock,
};
use license_shared::{
    base64url_decode, base64url_encode, BoundVerdict, Envelope, Keyset, LicenseInfo, Policy,
    ValidateRequest, VerdictCode, VerdictPayload, VerdictRequest, VerdictResult, VERDICT_TYP,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const APP: &str = "com.example.fuzz";
/// A well-formed key (the client checks the format, never the MAC).
fn license_key() -> String {
    license_shared::LicenseKey::new(license_shared::CustomerId::parse("1").unwrap(), [0x5A; 16])
        .encode()
}

fn fingerprint() -> Fingerprint {
    Fingerprint::from_machine_id("fuzz-machine", APP)
}

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(Signer::generate)
}

fn stranger() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(Signer::generate)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn payload(nonce: &str) -> VerdictPayload {
    let now = now();
    VerdictPayload {
        typ: VERDICT_TYP.into(),
        iat: now - 5,
        nonce: nonce.into(),
        fingerprint: Some(fingerprint().as_str().to_owned()),
        result: VerdictResult {
            valid: true,
            code: VerdictCode::Valid,
        },
        license: LicenseInfo {
            id: "1".into(),
            expires_at: None,
            machines: None,
            product: None,
            entitlements: Vec::new(),
            expiry_strategy: license_shared::ExpiryStrategy::RevokeAccess,
        },
        policy: Policy {
            recheck_after: now + 3600,
            offline_until: now + 7200,
        },
    }
}

/// The client's key hash (cache.rs): SHA-256 over a domain prefix and the key.
fn key_hash(key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"license-check/key-hash/v1\0");
    h.update(key.as_bytes());
    base64url_encode(&h.finalize())
}

/// One edit of an envelope or of the bytes around it.
#[derive(Debug, Clone)]
enum Edit {
    None,
    FlipByte(usize, u8),
    InsertByte(usize, u8),
    DeleteByte(usize),
    Truncate(usize),
    /// Change one payload member, re-encode, keep the old signature.
    Payload(String, Value),
    Sig(Vec<u8>),
    Kid(String),
    Alg(String),
    Version(Value),
    /// Re-sign the edited payload with a key the client does not trust, under the
    /// trusted kid.
    StrangerSigns(String, Value),
    KeyHash(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let member = prop_oneof![
        Just("iat"),
        Just("nonce"),
        Just("fingerprint"),
        Just("result"),
        Just("license"),
        Just("policy"),
        Just("typ"),
        Just("extra")
    ]
    .prop_map(str::to_owned);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!({"valid": true, "code": "VALID"})),
        Just(json!({"valid": true, "code": "SUSPENDED"})),
        Just(json!({"recheck_after": 4_000_000_000i64, "offline_until": 4_000_000_000i64})),
        Just(json!({"id": "2", "expires_at": null})),
        Just(Value::Null),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    prop_oneof![
        1 => Just(Edit::None),
        3 => (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Edit::FlipByte(i, x)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::InsertByte(i, b)),
        2 => any::<usize>().prop_map(Edit::DeleteByte),
        1 => any::<usize>().prop_map(Edit::Truncate),
        3 => (member.clone(), value.clone()).prop_map(|(m, v)| Edit::Payload(m, v)),
        1 => proptest::collection::vec(any::<u8>(), 0..70).prop_map(Edit::Sig),
        1 => "[A-Za-z0-9_-]{0,14}".prop_map(Edit::Kid),
        1 => prop_oneof![Just("ed25519".to_owned()), Just("none".to_owned()), Just("HS256".to_owned()), "\\PC{0,8}"].prop_map(Edit::Alg),
        1 => prop_oneof![Just(json!(2)), Just(json!(0)), Just(json!("1")), Just(json!(1.0)), Just(Value::Null)].prop_map(Edit::Version),
        2 => (member, value).prop_map(|(m, v)| Edit::StrangerSigns(m, v)),
        1 => "[A-Za-z0-9_-]{0,44}".prop_map(Edit::KeyHash),
    ]
}

/// Applies `edit` to a document holding the envelope (at `pointer`).
fn apply(doc: &Value, pointer: &str, edit: &Edit) -> Vec<u8> {
    let mut doc = doc.clone();
    let envelope = doc.pointer_mut(pointer).unwrap();
    let payload_of = |env: &Value| -> Value {
        let bytes = base64url_decode(env["payload"].as_str().unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    match edit {
        Edit::Payload(member, value) => {
            let mut p = payload_of(envelope);
            p[member.as_str()] = value.clone();
            envelope["payload"] = json!(base64url_encode(&serde_json::to_vec(&p).unwrap()));
        }
        Edit::StrangerSigns(member, value) => {
            let mut p = payload_of(envelope);
            p[member.as_str()] = value.clone();
            if let Ok(parsed) = serde_json::from_value::<VerdictPayload>(p) {
                let mut forged = stranger().sign(&parsed);
                forged.kid = signer().kid().to_owned();
                *envelope = serde_json::to_value(forged).unwrap();
            }
        }
        Edit::Sig(bytes) => envelope["sig"] = json!(base64url_encode(bytes)),
        Edit::Kid(kid) => envelope["kid"] = json!(kid),
        Edit::Alg(alg) => envelope["alg"] = json!(alg),
        Edit::Version(v) => envelope["v"] = v.clone(),
        Edit::KeyHash(h) => {
            if let Some(k) = doc.get_mut("key_hash") {
                *k = json!(h);
            }
        }
        _ => {}
    }
    let mut bytes = serde_json::to_vec(&doc).unwrap();
    let n = bytes.len();
    match edit {
        Edit::FlipByte(i, x) => bytes[i % n] ^= x,
        Edit::InsertByte(i, b) => bytes.insert(i % (n + 1), *b),
        Edit::DeleteByte(i) => {
            bytes.remove(i % n);
        }
        Edit::Truncate(i) => bytes.truncate(i % n),
        _ => {}
    }
    bytes
}

fn client(dir: &std::path::Path, broker: Option<&str>) -> LicenseClient {
    let store = MemoryKeyStore::new();
    store.set_key(&LicenseKeyText::new(license_key())).unwrap();
    // As after an activation, the key store holds a copy of the clock marks: a lease
    // with no readable marks at all is never used offline.
    store.set_marks(Marks::default()).unwrap();
    let mut b = LicenseClient::builder()
        .app_id(APP)
        .trusted_keys(Keyset::new().with_key(signer().verifying_key()))
        .key_store(Box::new(store))
        .paths(Paths::in_dir(dir))
        .clock(Arc::new(SystemClock))
        .fingerprint(fingerprint());
    if let Some(url) = broker {
        b = b.broker_url(url);
    }
    b.build().unwrap()
}

/// The cache document for the genuine lease.
fn genuine_cache() -> (Value, Envelope) {
    let envelope = signer().sign(&payload("bm9uY2Utb2YtdGhlLWxlYXNl"));
    let doc = json!({"format": 1, "key_hash": key_hash(&license_key()), "envelope": envelope});
    (doc, envelope)
}

/// The document, when it still has an envelope whose payload is JSON (so a further
/// structured edit can be applied).
fn editable(bytes: &[u8]) -> Option<Value> {
    let doc: Value = serde_json::from_slice(bytes).ok()?;
    let payload = doc.pointer("/envelope/payload")?.as_str()?;
    let decoded = base64url_decode(payload).ok()?;
    serde_json::from_slice::<Value>(&decoded).ok()?;
    Some(doc)
}

/// Whether `bytes` is a cache file holding exactly `original` for this key.
fn is_untouched_cache(bytes: &[u8], original: &Envelope) -> bool {
    let Ok(doc) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    doc.get("format") == Some(&json!(1))
        && doc.get("key_hash") == Some(&json!(key_hash(&license_key())))
        && doc
            .get("envelope")
            .cloned()
            .and_then(|e| serde_json::from_value::<Envelope>(e).ok())
            .as_ref()
            == Some(original)
}

#[test]
fn the_untouched_lease_is_licensed_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (doc, _) = genuine_cache();
    let paths = Paths::in_dir(dir.path());
    std::fs::create_dir_all(&paths.data_dir).unwrap();
    std::fs::write(paths.cache_file(), serde_json::to_vec(&doc).unwrap()).unwrap();
    let verdict = client(dir.path(), None).check_offline();
    assert!(verdict.licensed, "{verdict:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn an_edited_cache_is_never_licensed(edits in proptest::collection::vec(edit(), 1..3)) {
        let dir = tempfile::tempdir().unwrap();
        let (doc, original) = genuine_cache();
        let mut bytes = serde_json::to_vec(&doc).unwrap();
        for e in &edits {
            let Some(current) = editable(&bytes) else { break };
            bytes = apply(&current, "/envelope", e);
        }
        let paths = Paths::in_dir(dir.path());
        std::fs::create_dir_all(&paths.data_dir).unwrap();
        std::fs::write(paths.cache_file(), &bytes).unwrap();
        let verdict = client(dir.path(), None).check_offline();
        if verdict.licensed {
            prop_assert!(is_untouched_cache(&bytes, &original), "licensed from an edited cache: {:?} {}", edits, String::from_utf8_lossy(&bytes));
        }
    }
}

/// The stand-in broker: signs a genuine verdict for each request, then applies the
/// current edit to the body and records what it sent.
#[derive(Clone, Default)]
struct Script(Arc<Mutex<(Option<Edit>, Option<Sent>)>>);

/// The body the stand-in sent, and the untouched envelope it was made from.
type Sent = (Vec<u8>, Envelope);

struct World {
    runtime: tokio::runtime::Runtime,
    url: String,
    script: Script,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let script = Script::default();
        let url = runtime.block_on(async {
            let app = Router::new()
                .route("/v1/license/validate", post(|State(script): State<Script>, Json(request): Json<ValidateRequest>| async move {
                    let asked = VerdictRequest::new("validate", &request.license_key, request.product.as_deref());
                    let verdict = payload(&request.nonce);
                    let envelope = signer().sign(&BoundVerdict { verdict: &verdict, request: &asked });
                    let doc = serde_json::to_value(&envelope).unwrap();
                    let mut guard = script.0.lock().unwrap();
                    let edit = guard.0.clone().unwrap_or(Edit::None);
                    let bytes = apply(&doc, "", &edit);
                    guard.1 = Some((bytes.clone(), envelope));
                    ([("content-type", "application/json")], bytes)
                }))
                .with_state(script.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            url
        });
        World { runtime, url, script }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn an_edited_answer_is_never_licensed(edit in edit()) {
        let w = world();
        let dir = tempfile::tempdir().unwrap();
        *w.script.0.lock().unwrap() = (Some(edit.clone()), None);
        let c = client(dir.path(), Some(&w.url));
        let verdict = w.runtime.block_on(c.refresh());
        let sent = w.script.0.lock().unwrap().1.clone();
        if verdict.licensed {
            let (bytes, original) = sent.expect("the stand-in answered");
            let got: Option<Envelope> = serde_json::from_slice(&bytes).ok();
            prop_assert_eq!(got.as_ref(), Some(&original), "licensed from an edited answer: {:?}", edit);
        }
        if matches!(edit, Edit::None) {
            prop_assert!(verdict.licensed, "the untouched answer was refused: {:?}", verdict);
        }
    }
}
