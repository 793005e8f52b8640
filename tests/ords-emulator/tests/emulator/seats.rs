//! Machine seats: the `customers/seats/…` handlers of `deploy/ords/seats.sql`, over
//! real HTTP, with literal JSON. Customer 4 of the default seed has `max_machines` 2;
//! customers 1-3 have no limit. The clock starts at 2025-01-01T00:00:00Z.

use std::sync::Arc;

use reqwest::header::ACCEPT;
use time::Duration;

use crate::{start, Answer, Env, INVALID_TOKEN, UNAUTHORIZED};

pub(crate) async fn post(env: &Env, path: &str, token: Option<&str>, body: &str) -> Answer {
    let mut request = env
        .http
        .post(env.ords.url(path))
        .header(ACCEPT, "application/json")
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    Answer::from(request.send().await.expect("request")).await
}

fn activate_body(hash: &str, name: Option<&str>, lease: u32) -> String {
    match name {
        Some(n) => {
            format!(r#"{{"machine_hash":"{hash}","machine_name":"{n}","lease_seconds":{lease}}}"#)
        }
        None => format!(r#"{{"machine_hash":"{hash}","lease_seconds":{lease}}}"#),
    }
}

fn release_body(hash: &str, by: &str, budget: u32, window: u32) -> String {
    format!(
        r#"{{"machine_hash":"{hash}","by_machine_hash":"{by}","release_budget":{budget},"release_window_seconds":{window}}}"#
    )
}

/// One element of `machines`, last seen when it was activated.
fn seat(hash: &str, name: Option<&str>, last_seen: &str, lease_until: &str) -> String {
    seat_since(hash, name, last_seen, last_seen, lease_until)
}

/// One element of `machines`.
pub(crate) fn seat_since(
    hash: &str,
    name: Option<&str>,
    activated_at: &str,
    last_seen: &str,
    lease_until: &str,
) -> String {
    let name = name.map_or("null".to_owned(), |n| format!("\"{n}\""));
    format!(
        r#"{{"machine_hash":"{hash}","machine_name":{name},"activated_at":"{activated_at}","last_seen":"{last_seen}","lease_until":"{lease_until}"}}"#
    )
}

pub(crate) fn seats(outcome: &str, max: &str, machines: &[String]) -> String {
    format!(
        r#"{{"outcome":"{outcome}","max_machines":{max},"used":{},"machines":[{}]}}"#,
        machines.len(),
        machines.join(",")
    )
}

fn outcome_of(answer: &Answer) -> String {
    let v: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
    v["outcome"].as_str().expect("outcome").to_owned()
}

#[tokio::test]
async fn activate_renew_list_release_on_a_limited_license() {
    let env = start().await;
    let t = env.token().await;
    let a = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("m1", Some("Ada's laptop"), 3600),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let m1 = seat(
        "m1",
        Some("Ada's laptop"),
        "2025-01-01T00:00:00Z",
        "2025-01-01T01:00:00Z",
    );
    assert_eq!(a.body, seats("ACTIVATED", "2", std::slice::from_ref(&m1)));

    env.clock.advance(Duration::minutes(10));
    let b = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("m2", None, 600),
    )
    .await;
    let m2 = seat("m2", None, "2025-01-01T00:10:00Z", "2025-01-01T00:20:00Z");
    assert_eq!(
        (b.status, b.body),
        (200, seats("ACTIVATED", "2", &[m1.clone(), m2.clone()]))
    );

    // Renew moves last_seen and the lease; the list keeps activation order.
    env.clock.advance(Duration::minutes(5));
    let r = post(
        &env,
        "customers/seats/4/renew",
        Some(&t),
        r#"{"machine_hash":"m1","lease_seconds":3600,"floating_lease_seconds":900}"#,
    )
    .await;
    let m1_renewed = seat_since(
        "m1",
        Some("Ada's laptop"),
        "2025-01-01T00:00:00Z",
        "2025-01-01T00:15:00Z",
        "2025-01-01T01:15:00Z",
    );
    assert_eq!(
        (r.status, r.body),
        (
            200,
            seats("RENEWED", "2", &[m1_renewed.clone(), m2.clone()])
        )
    );
    let list = env.get("customers/seats/4", Some(&t)).await;
    assert_eq!(
        (list.status, list.body),
        (200, seats("LISTED", "2", &[m1_renewed.clone(), m2.clone()]))
    );

    // Activating again renews (and renames); it never takes a second seat.
    let again = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("m2", Some("Build box"), 600),
    )
    .await;
    let m2_renamed = seat_since(
        "m2",
        Some("Build box"),
        "2025-01-01T00:10:00Z",
        "2025-01-01T00:15:00Z",
        "2025-01-01T00:25:00Z",
    );
    assert_eq!(
        again.body,
        seats("RENEWED", "2", &[m1_renewed.clone(), m2_renamed])
    );

    let released = post(
        &env,
        "customers/seats/4/release",
        Some(&t),
        &release_body("m2", "m2", 1, 86400),
    )
    .await;
    assert_eq!(
        (released.status, released.body),
        (
            200,
            seats("RELEASED", "2", std::slice::from_ref(&m1_renewed))
        )
    );
    let twice = post(
        &env,
        "customers/seats/4/release",
        Some(&t),
        &release_body("m2", "m2", 0, 86400),
    )
    .await;
    assert_eq!(
        (twice.status, twice.body),
        (200, seats("NOT_HELD", "2", &[m1_renewed]))
    );
    assert_eq!(env.ords.seats(4).map(|s| s.len()), Some(1));
}

#[tokio::test]
async fn unlimited_licenses_answer_max_machines_null_and_empty_names_are_null() {
    let env = start().await;
    let t = env.token().await;
    let list = env.get("customers/seats/1", Some(&t)).await;
    assert_eq!(list.body, seats("LISTED", "null", &[]));
    // Oracle stores '' as NULL: an empty name is no name.
    let a = post(
        &env,
        "customers/seats/1/activate",
        Some(&t),
        r#"{"machine_hash":"m1","machine_name":"","lease_seconds":60}"#,
    )
    .await;
    assert_eq!(
        a.body,
        seats(
            "ACTIVATED",
            "null",
            &[seat(
                "m1",
                None,
                "2025-01-01T00:00:00Z",
                "2025-01-01T00:01:00Z"
            )]
        )
    );
    for i in 2..=5 {
        let a = post(
            &env,
            "customers/seats/1/activate",
            Some(&t),
            &activate_body(&format!("m{i}"), None, 60),
        )
        .await;
        assert_eq!(outcome_of(&a), "ACTIVATED");
    }
    assert_eq!(env.ords.seats(1).map(|s| s.len()), Some(5));
}

#[tokio::test]
async fn forty_concurrent_activations_get_exactly_the_two_seats() {
    let env = Arc::new(start().await);
    let t = Arc::new(env.token().await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (env, t) = (env.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let a = post(
                &env,
                "customers/seats/4/activate",
                Some(&t),
                &activate_body(&format!("machine-{i:02}"), None, 3600),
            )
            .await;
            assert_eq!(a.status, 200, "{}", a.body);
            (format!("machine-{i:02}"), outcome_of(&a))
        }));
    }
    let mut activated = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (hash, outcome) = task.await.expect("task");
        match outcome.as_str() {
            "ACTIVATED" => activated.push(hash),
            "MACHINE_LIMIT" => refused += 1,
            other => panic!("unexpected outcome {other}"),
        }
    }
    assert_eq!((activated.len(), refused), (2, 38));
    let held: Vec<String> = env
        .ords
        .seats(4)
        .expect("row")
        .into_iter()
        .map(|s| s.machine_hash)
        .collect();
    let mut sorted = activated.clone();
    sorted.sort();
    let mut held_sorted = held.clone();
    held_sorted.sort();
    assert_eq!(held_sorted, sorted);

    // A seated machine that activates again, even 20 times at once, keeps its one seat.
    let mut again = Vec::new();
    for _ in 0..20 {
        let (env, t, hash) = (env.clone(), t.clone(), activated[0].clone());
        again.push(tokio::spawn(async move {
            let a = post(
                &env,
                "customers/seats/4/activate",
                Some(&t),
                &activate_body(&hash, None, 3600),
            )
            .await;
            outcome_of(&a)
        }));
    }
    for task in again {
        assert_eq!(task.await.expect("task"), "RENEWED");
    }
    let list = env.get("customers/seats/4", Some(&t)).await;
    let v: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    assert_eq!(v["used"], 2);
    assert_eq!(v["machines"].as_array().map(Vec::len), Some(2));
    // A third machine is still refused, with the two holders listed.
    let third = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("late", None, 3600),
    )
    .await;
    assert_eq!(outcome_of(&third), "MACHINE_LIMIT");
    assert!(third.body.contains(&format!("\"{}\"", held[0])));
    assert_eq!(env.ords.stats().seat_requests, 40 + 20 + 2);
}

#[tokio::test]
async fn a_seat_lapses_at_its_lease_end_by_the_emulator_clock() {
    let env = start().await;
    let t = env.token().await;
    post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("old", None, 60),
    )
    .await;
    post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("kept", None, 3600),
    )
    .await;
    let full = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("new", None, 3600),
    )
    .await;
    assert_eq!(outcome_of(&full), "MACHINE_LIMIT");

    // lease_until <= now is lapsed: exactly at the lease end the seat is gone.
    env.clock.advance(Duration::seconds(60));
    let kept = seat("kept", None, "2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z");
    let renew = post(
        &env,
        "customers/seats/4/renew",
        Some(&t),
        r#"{"machine_hash":"old","lease_seconds":60,"floating_lease_seconds":60}"#,
    )
    .await;
    assert_eq!(
        (renew.status, renew.body),
        (
            200,
            seats("NOT_ACTIVATED", "2", std::slice::from_ref(&kept))
        )
    );
    let new = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("new", None, 3600),
    )
    .await;
    assert_eq!(
        new.body,
        seats(
            "ACTIVATED",
            "2",
            &[
                kept,
                seat("new", None, "2025-01-01T00:01:00Z", "2025-01-01T01:01:00Z")
            ]
        )
    );
    // The lapsed machine comes back only by activating, and now finds no seat.
    let back = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("old", None, 60),
    )
    .await;
    assert_eq!(outcome_of(&back), "MACHINE_LIMIT");
}

#[tokio::test]
async fn freeing_seats_has_a_budget_per_window_a_machines_own_too() {
    let env = start().await;
    let t = env.token().await;
    let activate = |hash: &'static str| {
        let (env, t) = (&env, &t);
        async move {
            outcome_of(
                &post(
                    env,
                    "customers/seats/4/activate",
                    Some(t),
                    &activate_body(hash, None, 86400),
                )
                .await,
            )
        }
    };
    let release = |hash: &'static str, by: &'static str| {
        let (env, t) = (&env, &t);
        async move {
            let a = post(
                env,
                "customers/seats/4/release",
                Some(t),
                &release_body(hash, by, 1, 600),
            )
            .await;
            assert_eq!(a.status, 200);
            (outcome_of(&a), a.body)
        }
    };
    assert_eq!(activate("a").await, "ACTIVATED");
    assert_eq!(activate("b").await, "ACTIVATED");
    assert_eq!(release("b", "a").await.0, "RELEASED");
    assert_eq!(activate("b").await, "ACTIVATED");
    let (outcome, body) = release("b", "a").await;
    assert_eq!(outcome, "RELEASE_LIMIT");
    let day = "2025-01-02T00:00:00Z";
    let now = "2025-01-01T00:00:00Z";
    assert_eq!(
        body,
        seats(
            "RELEASE_LIMIT",
            "2",
            &[seat("a", None, now, day), seat("b", None, now, day)]
        )
    );
    // A machine freeing its own seat spends the same budget: a freed machine keeps
    // its offline lease, so free self-releases would mint machines.
    assert_eq!(release("b", "b").await.0, "RELEASE_LIMIT");
    // Nobody holds "c": NOT_HELD, whatever the budget.
    assert_eq!(release("c", "a").await.0, "NOT_HELD");
    // The window moves on: the release at 00:00:00 is out of (now - 600 s, now].
    env.clock.advance(Duration::seconds(600));
    assert_eq!(release("b", "b").await.0, "RELEASED");
    assert_eq!(activate("b").await, "ACTIVATED");
    assert_eq!(
        release("b", "a").await.0,
        "RELEASE_LIMIT",
        "the budget of one is spent again"
    );
}

#[tokio::test]
async fn no_license_bad_requests_busy_and_555() {
    let env = start().await;
    let t = env.token().await;
    for path in [
        "customers/seats/99/activate",
        "customers/seats/99/renew",
        "customers/seats/99/release",
    ] {
        let body = release_body("m", "m", 0, 60)
            .replace("}", r#","lease_seconds":60,"floating_lease_seconds":60}"#);
        let a = post(&env, path, Some(&t), &body).await;
        assert_eq!(
            (a.status, a.body.as_str()),
            (404, r#"{"outcome":"NO_LICENSE"}"#)
        );
    }
    let list = env.get("customers/seats/99", Some(&t)).await;
    assert_eq!(
        (list.status, list.body.as_str()),
        (404, r#"{"outcome":"NO_LICENSE"}"#)
    );

    for (path, body, message) in [
        ("activate", "", "the body must be a JSON object"),
        ("activate", "[1]", "the body must be a JSON object"),
        ("activate", "{", "the body must be a JSON object"),
        (
            "activate",
            r#"{"lease_seconds":60}"#,
            "machine_hash: required",
        ),
        (
            "activate",
            r#"{"machine_hash":"","lease_seconds":60}"#,
            "machine_hash: required",
        ),
        (
            "activate",
            r#"{"machine_hash":7,"lease_seconds":60}"#,
            "machine_hash: must be a string",
        ),
        (
            "activate",
            &format!(
                r#"{{"machine_hash":"{}","lease_seconds":60}}"#,
                "é".repeat(65)
            ),
            "machine_hash: must be at most 64 characters",
        ),
        (
            "activate",
            r#"{"machine_hash":"m","machine_name":false,"lease_seconds":60}"#,
            "machine_name: must be a string",
        ),
        (
            "activate",
            r#"{"machine_hash":"m"}"#,
            "lease_seconds: required",
        ),
        (
            "activate",
            r#"{"machine_hash":"m","lease_seconds":59}"#,
            "lease_seconds: must be an integer from 60 to 315360000",
        ),
        (
            "renew",
            r#"{"machine_hash":"m","lease_seconds":60.5}"#,
            "lease_seconds: must be an integer from 60 to 315360000",
        ),
        (
            "renew",
            r#"{"machine_hash":"m","lease_seconds":"60"}"#,
            "lease_seconds: must be an integer from 60 to 315360000",
        ),
        (
            "release",
            r#"{"machine_hash":"m","release_budget":0,"release_window_seconds":60}"#,
            "by_machine_hash: required",
        ),
        (
            "release",
            r#"{"machine_hash":"m","by_machine_hash":"m","release_budget":-1,"release_window_seconds":60}"#,
            "release_budget: must be an integer from 0 to 1000000",
        ),
        (
            "release",
            r#"{"machine_hash":"m","by_machine_hash":"m","release_budget":0,"release_window_seconds":0}"#,
            "release_window_seconds: must be an integer from 1 to 315360000",
        ),
    ] {
        let a = post(&env, &format!("customers/seats/4/{path}"), Some(&t), body).await;
        assert_eq!(
            (a.status, a.body),
            (
                400,
                format!(r#"{{"outcome":"BAD_REQUEST","message":"{message}"}}"#)
            ),
            "{path} {body}"
        );
    }
    // A 60.0 is an integer to JSON_OBJECT_T.get_number.
    let whole = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        r#"{"machine_hash":"m","lease_seconds":60.0}"#,
    )
    .await;
    assert_eq!(outcome_of(&whole), "ACTIVATED");

    // The row stays locked past FOR UPDATE WAIT 2: 409 for the writes; the list takes
    // no lock.
    env.ords.set_faults(ords_emulator::Faults {
        seats_busy: true,
        ..Default::default()
    });
    let busy = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("m", None, 60),
    )
    .await;
    assert_eq!(
        (busy.status, busy.body.as_str()),
        (409, r#"{"outcome":"BUSY"}"#)
    );
    assert_eq!(env.get("customers/seats/4", Some(&t)).await.status, 200);
    // A missing row is not locked: still 404.
    let missing = post(
        &env,
        "customers/seats/99/renew",
        Some(&t),
        r#"{"machine_hash":"m","lease_seconds":60,"floating_lease_seconds":60}"#,
    )
    .await;
    assert_eq!(missing.status, 404);

    env.ords.set_faults(ords_emulator::Faults {
        seats_status: Some(555),
        seats_cause: Some("ORA-04068: existing state of packages has been discarded".into()),
        ..Default::default()
    });
    let failed = post(
        &env,
        "customers/seats/4/activate",
        Some(&t),
        &activate_body("m", None, 60),
    )
    .await;
    assert_eq!(failed.status, 555);
    assert_eq!(
        failed.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        failed.masked(),
        r#"{
    "code": "UserDefinedResourceError",
    "title": "User Defined Resource Error",
    "message": "The request could not be processed due to an error in a user defined resource",
    "o:errorCode": "ORDS-25001",
    "cause": "An error occurred when evaluating the SQL statement associated with this resource. SQL Error Code 4068, Error Message: ORA-04068: existing state of packages has been discarded\nORA-06512: at line 1\n",
    "action": "Ask the user defined resource author to check the SQL statement is correctly formed and executes without error",
    "type": "tag:oracle.com,2020:error/UserDefinedResourceError",
    "instance": "tag:oracle.com,2020:ecid/ECID"
}
"#
    );
    // The validation handler is not a seat handler: untouched.
    assert_eq!(
        env.get("customers/validation/4", Some(&t)).await.status,
        200
    );
    env.ords.clear_faults();

    // :id goes into a NUMBER parameter: a non-number is an unhandled ORA-06502.
    let nan = env.get("customers/seats/abc", Some(&t)).await;
    assert_eq!(nan.status, 555);
    assert!(nan.body.contains(
        r#"SQL Error Code 6502, Error Message: ORA-06502: PL/SQL: numeric or value error: character to number conversion error\n"#
    ), "{}", nan.body);
    // Oracle converts the text as TO_NUMBER does: `4.0` is license 4, `1e3` is 1000
    // (no such license), `4.5` equals no id.
    let four = env.get("customers/seats/4.0", Some(&t)).await;
    assert_eq!(four.status, 200, "{}", four.body);
    assert!(four.body.contains(r#""outcome":"LISTED""#), "{}", four.body);
    for none in ["customers/seats/1e3", "customers/seats/4.5"] {
        let answer = env.get(none, Some(&t)).await;
        assert_eq!(answer.status, 404, "{none}: {}", answer.body);
        assert!(answer.body.contains("NO_LICENSE"), "{}", answer.body);
    }
    let seated = post(
        &env,
        "customers/seats/4.0/activate",
        Some(&t),
        &activate_body("numeric", None, 60),
    )
    .await;
    assert_eq!(seated.status, 200, "{}", seated.body);
}

#[tokio::test]
async fn the_seat_handlers_need_the_privilege_like_validation() {
    let env = start().await;
    for (method, path) in [
        ("POST", "customers/seats/4/activate"),
        ("POST", "customers/seats/4/renew"),
        ("POST", "customers/seats/4/release"),
        ("GET", "customers/seats/4"),
        ("GET", "customers/seats/99"),
    ] {
        let none = if method == "GET" {
            env.get(path, None).await
        } else {
            post(&env, path, None, &activate_body("m", None, 60)).await
        };
        assert_eq!((none.status, none.masked()), (401, UNAUTHORIZED.to_owned()));
        assert_eq!(none.header("www-authenticate"), None);
        let bad = if method == "GET" {
            env.get(path, Some("not-a-token")).await
        } else {
            post(
                &env,
                path,
                Some("not-a-token"),
                &activate_body("m", None, 60),
            )
            .await
        };
        assert_eq!(bad.status, 401);
        assert_eq!(bad.header("www-authenticate"), Some(INVALID_TOKEN));
    }
    // A token whose client lost the role: 401 too, never 403.
    let t = env.token().await;
    assert!(env
        .ords
        .revoke_client_role("license_backend_client", "license_role"));
    let denied = env.get("customers/seats/4", Some(&t)).await;
    assert_eq!(denied.status, 401);
    assert_eq!(env.ords.seats(4).map(|s| s.len()), Some(0));
}

/// An offline activation names itself (`activation_ref`); a release naming one frees
/// the seat only while it still belongs to that activation, so a deactivation code
/// replayed after the machine activated again frees nothing. A release naming none
/// (online) frees the seat whatever activation holds it.
#[tokio::test]
async fn a_release_naming_an_activation_frees_only_that_activation() {
    let env = start().await;
    let t = env.token().await;
    let call = |action: &'static str, body: String| {
        let (env, t) = (&env, &t);
        async move {
            let path = format!("customers/seats/4/{action}");
            let answer = post(env, &path, Some(t), &body).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            outcome_of(&answer)
        }
    };
    let offline = |reference: &str| {
        format!(r#"{{"machine_hash":"m","lease_seconds":86400,"activation_ref":"{reference}"}}"#)
    };
    let release_of = |reference: &str| {
        format!(
            r#"{{"machine_hash":"m","by_machine_hash":"m","release_budget":10,"release_window_seconds":600,"activation_ref":"{reference}"}}"#
        )
    };
    assert_eq!(call("activate", offline("first")).await, "ACTIVATED");
    // The same activation asked again: renewed, and said so.
    assert_eq!(call("activate", offline("first")).await, "REPEATED");
    assert_eq!(call("release", release_of("other")).await, "NOT_HELD");
    assert_eq!(call("release", release_of("first")).await, "RELEASED");
    assert_eq!(
        call("release", release_of("first")).await,
        "NOT_HELD",
        "once"
    );
    // Activated again (a new offline activation): the first one's release is stale.
    assert_eq!(call("activate", offline("second")).await, "ACTIVATED");
    assert_eq!(call("release", release_of("first")).await, "NOT_HELD");
    // An online activation of the same machine takes the seat over: no name.
    assert_eq!(
        call("activate", activate_body("m", None, 86400)).await,
        "RENEWED"
    );
    assert_eq!(call("release", release_of("second")).await, "NOT_HELD");
    // A renewal keeps the name an activation gave.
    assert_eq!(call("activate", offline("third")).await, "RENEWED");
    let renew =
        r#"{"machine_hash":"m","lease_seconds":86400,"floating_lease_seconds":900}"#.to_owned();
    assert_eq!(call("renew", renew).await, "RENEWED");
    assert_eq!(call("release", release_of("third")).await, "RELEASED");
    // Online, a release naming no activation frees whatever holds the seat.
    assert_eq!(call("activate", offline("fourth")).await, "ACTIVATED");
    assert_eq!(
        call("release", release_body("m", "m", 10, 600)).await,
        "RELEASED"
    );
}
