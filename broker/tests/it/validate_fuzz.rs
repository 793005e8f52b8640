//! Fuzzing the validate request body: arbitrary bytes, arbitrary JSON and near-valid
//! requests go to `POST /v1/license/validate` on an in-process broker (in front of
//! a healthy ORDS emulator). The broker never answers 500 or outside the contract,
//! never panics, answers 200 exactly when the body is a valid request with a
//! well-formed key (checked independently here with serde, `check()` and
//! `LicenseKey::parse`), and every 200 opens with its key and echoes the nonce.
//!
//! Cases: `PROPTEST_CASES` (default 128 here, 10000 for RELIABILITY.md).

use std::sync::OnceLock;

use license_broker::vars as var;
use license_shared::{base64url_encode, Envelope, Keyset, LicenseKey, ValidateRequest};
use license_testkit::{install_panic_counter, panics, Stack};
use proptest::prelude::*;
use serde_json::{json, Value};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

struct World {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    url: String,
    trusted: Keyset,
    valid_key: String,
    forged_key: String,
    _stack: Stack,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        install_panic_counter();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let stack = runtime
            .block_on(Stack::start(&[
                (var::RATE_PER_IP, "0"),
                (var::RATE_PER_KEY, "0"),
            ]))
            .unwrap();
        World {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            url: stack.url_for("/v1/license/validate"),
            trusted: stack.trusted().clone(),
            valid_key: stack.issue_key("1").unwrap(),
            forged_key: stack.forge_key("1").unwrap(),
            runtime,
            _stack: stack,
        }
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field values near and far from valid.
fn field(w: &'static World) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(json!(w.valid_key)),
        1 => Just(json!(w.forged_key)),
        1 => Just(json!(w.valid_key.to_lowercase())),
        2 => proptest::collection::vec(any::<u8>(), 0..80).prop_map(|b| json!(base64url_encode(&b))),
        2 => "\\PC{0,140}".prop_map(Value::String),
        1 => "[ -~]{0,130}".prop_map(Value::String),
        1 => json_value(),
    ]
}

fn near_valid(w: &'static World) -> impl Strategy<Value = Vec<u8>> {
    (
        field(w),
        field(w),
        proptest::option::of(field(w)),
        proptest::option::of(prop_oneof![
            (field(w), field(w)).prop_map(|(id, v)| json!({"id": id, "version": v})),
            json_value(),
        ]),
        proptest::option::of(("[a-z]{1,8}", json_value())),
        any::<u8>(),
    )
        .prop_map(|(key, nonce, fingerprint, app, extra, drop)| {
            let mut body = serde_json::Map::new();
            if drop % 7 != 0 {
                body.insert("license_key".into(), key);
            }
            if drop % 11 != 0 {
                body.insert("nonce".into(), nonce);
            }
            if let Some(fp) = fingerprint {
                body.insert("fingerprint".into(), fp);
            }
            if let Some(app) = app {
                body.insert("app".into(), app);
            }
            if let Some((name, value)) = extra {
                body.insert(name, value);
            }
            serde_json::to_vec(&Value::Object(body)).unwrap()
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let w = world();
    prop_oneof![
        4 => near_valid(w),
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => proptest::collection::vec(any::<u8>(), 0..600),
        1 => (1usize..40_000).prop_map(|n| format!("{{\"license_key\":\"{}\"}}", "k".repeat(n)).into_bytes()),
    ]
}

/// What the broker must answer, from this side's own reading of the body.
fn expectation(body: &[u8]) -> Option<ValidateRequest> {
    let request: ValidateRequest = serde_json::from_slice(body).ok()?;
    request.check().ok()?;
    LicenseKey::parse(&request.license_key).ok()?;
    Some(request)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_broker_answers_every_body_within_the_contract(body in body()) {
        let w = world();
        let panics_before = panics();
        let sent = w.runtime.block_on(async {
            let r = w.http.post(&w.url).header("content-type", "application/json").body(body.clone()).send().await?;
            Ok::<_, reqwest::Error>((r.status().as_u16(), r.bytes().await?))
        });
        prop_assert_eq!(panics(), panics_before, "the broker panicked");
        let (status, answer) = match sent {
            Ok(answered) => answered,
            // A body over the limit is refused before it is read, and the connection
            // closed after the 413: a client still writing it may see the connection
            // reset before it reads the answer. Any other body must get an answer.
            Err(e) if body.len() > 16 * 1024 && e.is_request() => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("no answer for {} bytes: {e}", body.len()))),
        };
        prop_assert!([200, 400, 413, 503, 504].contains(&status), "status {} for {:?}", status, String::from_utf8_lossy(&body));
        match expectation(&body) {
            Some(request) => {
                prop_assert!(status == 200 || status == 503 || status == 504, "valid request got {}", status);
                if status == 200 {
                    let envelope: Envelope = serde_json::from_slice(&answer).unwrap();
                    let payload = envelope.open(&w.trusted).unwrap();
                    prop_assert_eq!(payload.nonce, request.nonce);
                    prop_assert_eq!(payload.fingerprint, request.fingerprint);
                }
            }
            None => {
                let expected = if body.len() > 16 * 1024 { [400, 413] } else { [400, 400] };
                prop_assert!(expected.contains(&status), "invalid body got {}: {:?}", status, String::from_utf8_lossy(&answer));
            }
        }
    }

    #[test]
    fn serde_and_check_never_panic_and_enforce_the_bounds(value in json_value(), near in near_valid(world())) {
        for v in [value, serde_json::from_slice::<Value>(&near).unwrap()] {
            if let Ok(request) = serde_json::from_value::<ValidateRequest>(v) {
                if request.check().is_ok() {
                    let nonce = license_shared::base64url_decode(&request.nonce).unwrap();
                    prop_assert!((16..=64).contains(&nonce.len()));
                    prop_assert!(!request.license_key.is_empty() && request.license_key.chars().count() <= 128);
                    if let Some(fp) = &request.fingerprint {
                        prop_assert!(fp.len() <= 128 && fp.bytes().all(|b| b.is_ascii_graphic()));
                    }
                }
            }
        }
    }

    #[test]
    fn only_json_content_types_get_past_the_door(ct in prop_oneof![
        Just("application/json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        Just("Application/JSON".to_owned()),
        Just("text/plain".to_owned()),
        Just("application/x-www-form-urlencoded".to_owned()),
        Just("application/jsonx".to_owned()),
        "[ -~]{0,40}",
    ]) {
        let w = world();
        let body = json!({"license_key": w.valid_key, "nonce": base64url_encode(&[7u8; 32])}).to_string();
        let status = w.runtime.block_on(async {
            let Ok(value) = reqwest::header::HeaderValue::from_str(&ct) else { return None };
            let r = w.http.post(&w.url).header("content-type", value).body(body).send().await.unwrap();
            Some(r.status().as_u16())
        });
        let Some(status) = status else { return Ok(()) };
        let json = ct.split(';').next().unwrap().trim().eq_ignore_ascii_case("application/json");
        if json {
            prop_assert!([200, 503, 504].contains(&status), "{} got {}", ct, status);
        } else {
            prop_assert_eq!(status, 415, "{}", ct);
        }
    }
}
