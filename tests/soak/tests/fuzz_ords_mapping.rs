//! Fuzzing the mapping of ORDS answers to verdicts.
//!
//! 1. `ords::answer::read` directly, on arbitrary bytes and on item/collection bodies
//!    with every column value near and far from valid: never a panic, and the result
//!    is exactly what an independent reading of the body here says (a row only with
//!    a configured status and a NULL or RFC 3339 expiry; anything else an error).
//! 2. End to end: a literal-JSON stand-in ORDS answers the broker with the case's
//!    status and body. The broker's answer is the verdict that row means (signed and
//!    for that customer) or 503/504; never 500, never `VALID` from anything else.
//!
//! Cases: `PROPTEST_CASES` (default 256 direct / 64 over HTTP here).

use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use license_broker::config::{Columns, StatusValues};
use license_broker::env_vars as var;
use license_broker::license_keys::LicenseKeys;
use license_broker::ords::answer::{self, LicenseRow, LicenseStatus, Lookup};
use license_shared::{base64url_encode, CustomerId, Envelope, Keyset, VerdictCode};
use license_soak::{probe, stack};
use proptest::prelude::*;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn columns() -> Columns {
    Columns {
        expiry: "expires_at".into(),
        status: "license_status".into(),
    }
}

/// This side's reading of a 200 body: `Some(lookup)` or `None` for "cannot be read".
fn oracle(body: &[u8]) -> Option<Lookup> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let row = match object.get("items") {
        None => object,
        Some(Value::Array(items)) => {
            if object.get("hasMore") == Some(&Value::Bool(true)) {
                return None;
            }
            match items.as_slice() {
                [] => return Some(Lookup::NoRow),
                [Value::Object(row)] => row.clone(),
                _ => return None,
            }
        }
        Some(_) => return None,
    };
    let status = match row.get("license_status")? {
        Value::String(s) if s == "ACTIVE" => LicenseStatus::Active,
        Value::String(s) if s == "SUSPENDED" => LicenseStatus::Suspended,
        Value::String(s) if s == "REVOKED" => LicenseStatus::Revoked,
        _ => return None,
    };
    let expires_at = match row.get("expires_at")? {
        Value::Null => None,
        Value::String(s) => Some(OffsetDateTime::parse(s, &Rfc3339).ok()?.unix_timestamp()),
        _ => return None,
    };
    Some(Lookup::Row(LicenseRow { status, expires_at }))
}

fn expected_code(lookup: &Lookup, now: i64) -> VerdictCode {
    match lookup {
        Lookup::NoRow => VerdictCode::NotFound,
        Lookup::Row(row) => match row.status {
            LicenseStatus::Revoked => VerdictCode::Revoked,
            LicenseStatus::Suspended => VerdictCode::Suspended,
            LicenseStatus::Active => match row.expires_at {
                Some(at) if at <= now => VerdictCode::Expired,
                _ => VerdictCode::Valid,
            },
        },
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "\\PC{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn status_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop_oneof![Just("ACTIVE"), Just("SUSPENDED"), Just("REVOKED")].prop_map(|s| json!(s)),
        1 => prop_oneof![Just("active"), Just("ACTIVE "), Just(""), Just("EXPIRED"), Just("VALID")].prop_map(|s| json!(s)),
        1 => any_json(),
    ]
}

/// Expiry values: years far from now (so the oracle and the broker agree on "past"),
/// in DATE and TIMESTAMP form, NULL, and garbage.
fn expiry_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => Just(Value::Null),
        3 => (prop_oneof![1990i32..2020, 2040i32..2100], 1u8..13, 1u8..29, 0u8..24, any::<bool>()).prop_map(
            |(y, m, d, h, millis)| if millis {
                json!(format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00.000Z"))
            } else {
                json!(format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00Z"))
            }
        ),
        1 => prop_oneof![Just("2030-02-30T00:00:00Z"), Just("01/01/2030"), Just("2030-01-01"), Just("2030-01-01T00:00:00+02:00"), Just("2030-01-01t00:00:00z")].prop_map(|s| json!(s)),
        1 => any_json(),
    ]
}

fn row() -> impl Strategy<Value = Value> {
    (
        proptest::option::weighted(0.9, status_value()),
        proptest::option::weighted(0.9, expiry_value()),
        proptest::option::of(("[a-z_]{1,10}", any_json())),
    )
        .prop_map(|(status, expiry, extra)| {
            let mut row = serde_json::Map::new();
            row.insert("customer_id".into(), json!(1));
            if let Some((k, v)) = extra {
                row.insert(k, v);
            }
            if let Some(s) = status {
                row.insert("license_status".into(), s);
            }
            if let Some(e) = expiry {
                row.insert("expires_at".into(), e);
            }
            row.insert(
                "links".into(),
                json!([{"rel": "self", "href": "https://internal/x"}]),
            );
            Value::Object(row)
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => row().prop_map(|r| serde_json::to_vec(&r).unwrap()),
        3 => (proptest::collection::vec(prop_oneof![4 => row(), 1 => any_json()], 0..3), proptest::option::of(any::<bool>()))
            .prop_map(|(items, more)| {
                let mut c = json!({"items": items, "limit": 25, "offset": 0, "links": []});
                if let Some(m) = more {
                    c["hasMore"] = json!(m);
                }
                serde_json::to_vec(&c).unwrap()
            }),
        1 => any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn read_agrees_with_an_independent_reading(body in body()) {
        let got = answer::read(&body, &columns(), &StatusValues::default());
        match oracle(&body) {
            Some(lookup) => prop_assert_eq!(got.ok(), Some(lookup)),
            None => prop_assert!(got.is_err(), "read {:?} from {:?}", got, String::from_utf8_lossy(&body)),
        }
    }
}

/// The stand-in ORDS: a fixed token, and the case's status and body for the resource.
#[derive(Clone, Default)]
struct Script(Arc<Mutex<(u16, Vec<u8>)>>);

struct World {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    url: String,
    trusted: Keyset,
    keys: LicenseKeys,
    script: Script,
    next_id: Mutex<u64>,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        probe::install_panic_counter();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let script = Script::default();
        let dir = tempfile::tempdir().unwrap();
        let (url, config) = runtime.block_on(async {
            let app = Router::new()
                .route("/ords/page/oauth/token", post(|| async {
                    ([("content-type", "application/json")], r#"{"access_token":"tok-0123456789","token_type":"bearer","expires_in":3600}"#)
                }))
                .route("/ords/page/customers/validation/{id}", get(|State(script): State<Script>| async move {
                    let (status, body) = script.0.lock().unwrap().clone();
                    (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], body)
                }))
                .with_state(script.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let ords = format!("http://{}/ords/page", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            let config = stack::config_for(dir.path(), &ords, "client", "secret", &[
                (var::RATE_PER_IP, "0"), (var::RATE_PER_KEY, "0"),
                (var::VERDICT_TTL_SECS, "0"), (var::NEGATIVE_TTL_SECS, "0"),
            ]).unwrap();
            let keys = config.license_keys.clone();
            let trusted = Keyset::new().with_key(config.signer.verifying_key());
            let url = stack::spawn_broker(config).await.unwrap();
            (url, (keys, trusted))
        });
        World {
            runtime,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            url: format!("{url}/v1/license/validate"),
            trusted: config.1,
            keys: config.0,
            script,
            next_id: Mutex::new(0),
            _dir: dir,
        }
    })
}

/// This side's reading of a 404: only ORDS's own `NotFound` problem JSON means "no row";
/// the "could not be mapped" 404 (unknown alias), HTML or anything else is a fault.
/// (The stand-in always answers `application/json`, so a missing `code` never counts.)
fn ords_no_row(body: &[u8]) -> bool {
    let Ok(Value::Object(problem)) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let unmapped = ["message", "title", "detail"].iter().any(|member| {
        problem
            .get(*member)
            .and_then(Value::as_str)
            .is_some_and(|text| text.to_ascii_lowercase().contains("could not be mapped"))
    });
    !unmapped && problem.get("code").and_then(Value::as_str) == Some("NotFound")
}

/// Bodies for the 404 path: ORDS's two NotFound problems, and everything `body()` makes.
fn body_for_404() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(br#"{"code":"NotFound","message":"Not Found","type":"tag:oracle.com,2020:error/NotFound","instance":"tag:oracle.com,2020:ecid/abc"}"#.to_vec()),
        1 => Just(br#"{"code":"NotFound","message":"The request could not be mapped to any database. Check the request URL is correct, and that URL to database mappings have been correctly configured","type":"tag:oracle.com,2020:error/NotFound"}"#.to_vec()),
        1 => Just(b"<html><body>404 Not Found</body></html>".to_vec()),
        2 => body(),
    ]
}

fn ords_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => Just(200u16),
        2 => Just(404u16),
        1 => prop_oneof![Just(401u16), Just(403), Just(500), Just(502), Just(503), Just(504), Just(429), Just(302), Just(418), Just(204), Just(201)],
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    #[test]
    fn the_broker_signs_only_what_the_row_means((status, body) in ords_status().prop_flat_map(|status| {
        let body = if status == 404 { body_for_404().boxed() } else { body().boxed() };
        (Just(status), body)
    })) {
        let w = world();
        let id = {
            let mut n = w.next_id.lock().unwrap();
            *n += 1;
            format!("{}", 10_000 + *n)
        };
        let key = w.keys.mint(&CustomerId::parse(&id).unwrap());
        *w.script.0.lock().unwrap() = (status, body.clone());
        let nonce = base64url_encode(&[9u8; 24]);
        let panics = probe::panics();
        let (got, answer) = w.runtime.block_on(async {
            let r = w.http.post(&w.url).json(&json!({"license_key": key, "nonce": nonce})).send().await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap())
        });
        prop_assert_eq!(probe::panics(), panics, "the broker panicked");
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let expected = match status {
            200 => oracle(&body).map(|l| expected_code(&l, now)),
            404 => ords_no_row(&body).then_some(VerdictCode::NotFound),
            _ => None,
        };
        match expected {
            Some(code) => {
                prop_assert_eq!(got, 200, "ORDS {} {:?} → broker {} {:?}", status, String::from_utf8_lossy(&body), got, String::from_utf8_lossy(&answer));
                let envelope: Envelope = serde_json::from_slice(&answer).unwrap();
                let payload = envelope.open(&w.trusted).unwrap();
                prop_assert_eq!(payload.result.code, code);
                prop_assert_eq!(payload.license.id, id);
                prop_assert_eq!(payload.nonce, nonce);
            }
            None => prop_assert!(got == 503 || got == 504, "ORDS {} {:?} → broker {} {:?}", status, String::from_utf8_lossy(&body), got, String::from_utf8_lossy(&answer)),
        }
    }
}
