//! Floating seats and trials: the `checkout`, `checkin` and `start_trial` functions of
//! `deploy/ords/seats.sql`, over real HTTP with literal JSON. Customer 7 of the default
//! seed is `FLOATING` (2 seats, `max_borrow_days` 7); product `desktop-pro` has a
//! 14-day trial, `desktop-lite` none. The clock starts at 2025-01-01T00:00:00Z and is
//! moved the way other processes move it: `POST /__emulator/clock`.

use crate::seats::{post, seat_since, seats};
use crate::{start, Env};

fn checkout(hash: &str, lease: u32, borrow: u32) -> String {
    format!(
        r#"{{"machine_hash":"{hash}","machine_name":"{hash} box","lease_seconds":{lease},"borrow_seconds":{borrow}}}"#
    )
}

fn checkin(hash: &str, lease: u32, budget: u32) -> String {
    format!(
        r#"{{"machine_hash":"{hash}","lease_seconds":{lease},"release_budget":{budget},"release_window_seconds":86400}}"#
    )
}

fn trial(product: &str, key: &str) -> String {
    format!(r#"{{"product":"{product}","machine_key":"{key}"}}"#)
}

async fn advance(env: &Env, secs: u32) {
    let response = env
        .http
        .post(format!("{}/__emulator/clock", env.ords.base_url))
        .body(format!(r#"{{"advance_secs":{secs}}}"#))
        .send()
        .await
        .expect("clock");
    assert_eq!(response.status(), 200);
}

fn outcome(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).expect("json");
    v["outcome"].as_str().expect("outcome").to_owned()
}

#[tokio::test]
async fn checkout_counts_machines_running_now_and_leases_lapse_by_the_clock() {
    let env = start().await;
    let t = env.token().await;
    let url = "customers/seats/7/checkout";
    let a = post(&env, url, Some(&t), &checkout("a", 60, 0)).await;
    let seat_a = |last: &str, until: &str| {
        seat_since("a", Some("a box"), "2025-01-01T00:00:00Z", last, until)
    };
    let a0 = seat_a("2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z");
    assert_eq!(
        (a.status, a.body),
        (200, seats("CHECKED_OUT", "2", std::slice::from_ref(&a0)))
    );
    let b = post(&env, url, Some(&t), &checkout("b", 60, 0)).await;
    assert_eq!(outcome(&b.body), "CHECKED_OUT");
    let c = post(&env, url, Some(&t), &checkout("c", 60, 0)).await;
    assert_eq!(outcome(&c.body), "SEATS_IN_USE");
    assert_eq!(env.ords.seats(7).map(|s| s.len()), Some(2));

    // Checking out again renews: one seat per machine, the holder since the start.
    advance(&env, 30).await;
    let again = post(&env, url, Some(&t), &checkout("a", 60, 0)).await;
    let b_seat = seat_since(
        "b",
        Some("b box"),
        "2025-01-01T00:00:00Z",
        "2025-01-01T00:00:00Z",
        "2025-01-01T00:01:00Z",
    );
    assert_eq!(
        again.body,
        seats(
            "RENEWED",
            "2",
            &[
                seat_a("2025-01-01T00:00:30Z", "2025-01-01T00:01:30Z"),
                b_seat
            ]
        )
    );

    // b's lease runs out on the emulator's clock: c gets in.
    advance(&env, 31).await;
    let c = post(&env, url, Some(&t), &checkout("c", 60, 0)).await;
    assert_eq!(outcome(&c.body), "CHECKED_OUT");

    // Checkin frees a plain seat at once and outside the release budget.
    let freed = post(
        &env,
        "customers/seats/7/checkin",
        Some(&t),
        &checkin("a", 60, 0),
    )
    .await;
    assert_eq!(outcome(&freed.body), "CHECKED_IN");
    let d = post(&env, url, Some(&t), &checkout("d", 60, 0)).await;
    assert_eq!(outcome(&d.body), "CHECKED_OUT");
    let gone = post(
        &env,
        "customers/seats/7/checkin",
        Some(&t),
        &checkin("a", 60, 0),
    )
    .await;
    assert_eq!(outcome(&gone.body), "NOT_HELD");
}

#[tokio::test]
async fn a_borrow_is_capped_at_max_borrow_days_and_its_early_return_is_budgeted() {
    let env = start().await;
    let t = env.token().await;
    let url = "customers/seats/7/checkout";
    // 30 days asked, 7 allowed.
    let b = post(&env, url, Some(&t), &checkout("b", 60, 30 * 86400)).await;
    let v: serde_json::Value = serde_json::from_str(&b.body).unwrap();
    assert_eq!(v["machines"][0]["lease_until"], "2025-01-08T00:00:00Z");
    // A renewal by a plain checkout never cuts the borrow short.
    let r = post(&env, url, Some(&t), &checkout("b", 60, 0)).await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (
            v["outcome"].as_str(),
            v["machines"][0]["lease_until"].as_str()
        ),
        (Some("RENEWED"), Some("2025-01-08T00:00:00Z"))
    );
    // Returning a borrowed seat early counts against the release budget.
    let spent = post(
        &env,
        "customers/seats/7/checkin",
        Some(&t),
        &checkin("b", 60, 0),
    )
    .await;
    assert_eq!(outcome(&spent.body), "RELEASE_LIMIT");
    let back = post(
        &env,
        "customers/seats/7/checkin",
        Some(&t),
        &checkin("b", 60, 1),
    )
    .await;
    assert_eq!(outcome(&back.body), "CHECKED_IN");
    // A license without borrowing (node-locked customer 4 made floating, 0 days)
    // gives a plain lease.
    env.ords.set_license_model(4, true, 0);
    let plain = post(
        &env,
        "customers/seats/4/checkout",
        Some(&t),
        &checkout("x", 60, 86400),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&plain.body).unwrap();
    assert_eq!(v["machines"][0]["lease_until"], "2025-01-01T00:01:00Z");
}

#[tokio::test]
async fn each_model_refuses_the_other_models_calls() {
    let env = start().await;
    let t = env.token().await;
    let activate = r#"{"machine_hash":"m","lease_seconds":3600}"#;
    let a = post(&env, "customers/seats/7/activate", Some(&t), activate).await;
    assert_eq!((a.status, a.body), (200, seats("FLOATING", "2", &[])));
    // Renew (a validation) gives a floating seat its own short lease, never a creation.
    let renew = r#"{"machine_hash":"m","lease_seconds":3600,"floating_lease_seconds":30}"#;
    let r = post(&env, "customers/seats/7/renew", Some(&t), renew).await;
    assert_eq!((r.status, r.body), (200, seats("NOT_ACTIVATED", "2", &[])));
    post(
        &env,
        "customers/seats/7/checkout",
        Some(&t),
        &checkout("m", 60, 0),
    )
    .await;
    let r = post(&env, "customers/seats/7/renew", Some(&t), renew).await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (
            v["outcome"].as_str(),
            v["machines"][0]["lease_until"].as_str()
        ),
        (Some("RENEWED"), Some("2025-01-01T00:01:00Z")),
        "a renewal never shortens a lease: {v}"
    );
    let r = post(
        &env,
        "customers/seats/7/renew",
        Some(&t),
        &renew.replace("30}", "600}"),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["machines"][0]["lease_until"], "2025-01-01T00:10:00Z");
    let c = post(
        &env,
        "customers/seats/4/checkout",
        Some(&t),
        &checkout("m", 60, 0),
    )
    .await;
    assert_eq!((c.status, c.body), (200, seats("NOT_FLOATING", "2", &[])));
    let i = post(
        &env,
        "customers/seats/4/checkin",
        Some(&t),
        &checkin("m", 60, 0),
    )
    .await;
    assert_eq!(outcome(&i.body), "NOT_FLOATING");
    // A lease under a second, or a missing borrow, is a 400 naming the member.
    let bad = post(
        &env,
        "customers/seats/7/checkout",
        Some(&t),
        r#"{"machine_hash":"m","lease_seconds":0,"borrow_seconds":0}"#,
    )
    .await;
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (
            400,
            r#"{"outcome":"BAD_REQUEST","message":"lease_seconds: must be an integer from 1 to 315360000"}"#
        )
    );
    let bad = post(
        &env,
        "customers/seats/7/checkout",
        Some(&t),
        r#"{"machine_hash":"m","lease_seconds":60}"#,
    )
    .await;
    assert_eq!(
        bad.body,
        r#"{"outcome":"BAD_REQUEST","message":"borrow_seconds: required"}"#
    );
}

#[tokio::test]
async fn one_trial_per_machine_and_product_ending_by_the_databases_clock() {
    let env = start().await;
    let t = env.token().await;
    let url = "customers/trials/start";
    let first = post(&env, url, Some(&t), &trial("desktop-pro", "k1")).await;
    let started = r#"{"outcome":"TRIAL_STARTED","started_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-15T00:00:00Z"}"#;
    assert_eq!((first.status, first.body.as_str()), (200, started));
    advance(&env, 86400).await;
    // A day on, the first token has expired too.
    let t = env.token().await;
    let again = post(&env, url, Some(&t), &trial("desktop-pro", "k1")).await;
    assert_eq!(
        again.body,
        r#"{"outcome":"TRIAL","started_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-15T00:00:00Z"}"#
    );
    // Another machine gets its own.
    let other = post(&env, url, Some(&t), &trial("desktop-pro", "k2")).await;
    assert_eq!(outcome(&other.body), "TRIAL_STARTED");
    advance(&env, 13 * 86400).await;
    let t = env.token().await;
    let over = post(&env, url, Some(&t), &trial("desktop-pro", "k1")).await;
    assert_eq!(
        over.body,
        r#"{"outcome":"TRIAL_EXPIRED","started_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-15T00:00:00Z"}"#
    );
    for product in ["desktop-lite", "no-such-product"] {
        let none = post(&env, url, Some(&t), &trial(product, "k1")).await;
        assert_eq!(
            (none.status, none.body.as_str()),
            (200, r#"{"outcome":"NO_TRIAL"}"#)
        );
    }
    let bad = post(&env, url, Some(&t), r#"{"product":"desktop-pro"}"#).await;
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (
            400,
            r#"{"outcome":"BAD_REQUEST","message":"machine_key: required"}"#
        )
    );
    // Without a token: the privilege protects it like every other handler.
    let anonymous = post(&env, url, None, &trial("desktop-pro", "k3")).await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn the_clock_endpoint_refuses_what_it_cannot_read() {
    let env = start().await;
    let response = env
        .http
        .post(format!("{}/__emulator/clock", env.ords.base_url))
        .body(r#"{"advance_secs":-5}"#)
        .send()
        .await
        .expect("clock");
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains("advance_secs"), "{body}");
}
