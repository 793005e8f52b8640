//! Fuzzing the mapping of ORDS answers to verdicts, end to end: a literal-JSON stand-in
//! ORDS answers the broker with the case's status and body. The broker's answer is the
//! verdict that row means (signed and for that customer) or 503/504; never 500, never
//! `VALID` from anything else. The reader itself is fuzzed directly by the unit
//! proptest in `src/ords/answer/proptests.rs`, on the same bodies.
//!
//! Cases: `PROPTEST_CASES` (default 64 here).

use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use license_broker::vars as var;
use license_broker::LicenseKeys;
use license_shared::{base64url_encode, CustomerId, Envelope, Keyset, VerdictCode};
use license_testkit::{install_panic_counter, panics, Stack};
use proptest::prelude::*;
use serde_json::{json, Value};
use time::OffsetDateTime;

use license_testkit::ords_bodies::{body, oracle, Reading, Status};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn expected_code(reading: &Reading, now: i64) -> VerdictCode {
    match *reading {
        Reading::NoRow => VerdictCode::NotFound,
        Reading::Row { status, expires_at } => match status {
            Status::Revoked => VerdictCode::Revoked,
            Status::Suspended => VerdictCode::Suspended,
            Status::Active => match expires_at {
                Some(at) if at <= now => VerdictCode::Expired,
                _ => VerdictCode::Valid,
            },
        },
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
    _stack: Stack,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        install_panic_counter();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let script = Script::default();
        let stack = runtime.block_on(async {
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
            Stack::builder().ords_at_as(&ords, "client", "secret").settings(&[
                (var::RATE_PER_IP, "0"), (var::RATE_PER_KEY, "0"),
                (var::VERDICT_TTL_SECS, "0"), (var::NEGATIVE_TTL_SECS, "0"),
            ]).start().await.unwrap()
        });
        World {
            runtime,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            url: stack.url_for("/v1/license/validate"),
            trusted: stack.trusted().clone(),
            keys: stack.config().license_keys.clone(),
            script,
            next_id: Mutex::new(0),
            _stack: stack,
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

/// No 401: a refused fresh token is remembered and backed off for seconds, which
/// would make the cases after it depend on it (that memory is tested on its own, in
/// the broker's `ords::tests`).
fn ords_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => Just(200u16),
        2 => Just(404u16),
        1 => prop_oneof![Just(403u16), Just(500), Just(502), Just(503), Just(504), Just(429), Just(302), Just(418), Just(204), Just(201)],
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
        let panics_before = panics();
        let (got, answer) = w.runtime.block_on(async {
            let r = w.http.post(&w.url).json(&json!({"license_key": key, "nonce": nonce})).send().await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap())
        });
        prop_assert_eq!(panics(), panics_before, "the broker panicked");
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let expected = match status {
            200 => oracle(&body, &id).map(|l| expected_code(&l, now)),
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
