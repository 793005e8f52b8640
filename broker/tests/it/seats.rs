//! Seats and products through the broker, against the ORDS emulator: its seat
//! handlers keep the same rules as the `license_seats` package, on the emulator's own
//! clock, which these tests move forward.

use std::sync::Arc;

use license_broker::vars as var;
use license_shared::{Envelope, VerdictCode, VerdictPayload};
use license_testkit::nonce;
use ords_emulator::{Faults, ManualClock};
use serde_json::{json, Value};

use super::helpers::{broker, error_body, start, TestApp};

async fn post(app: &TestApp, endpoint: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/v1/license/{endpoint}")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn signed(app: &TestApp, endpoint: &str, body: Value) -> VerdictPayload {
    let response = post(app, endpoint, body).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let envelope: Envelope = response.json().await.unwrap();
    envelope
        .open(&app.trusted)
        .expect("a verdict the broker signed")
}

fn body(app: &TestApp, customer: &str, fingerprint: &str) -> Value {
    json!({"license_key": app.key(customer), "nonce": nonce(), "fingerprint": fingerprint})
}

#[tokio::test]
async fn an_unseen_machine_loses_its_seat_by_itself_and_then_is_not_activated() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let app = start(
        broker()
            .emulator_clock(clock.clone())
            // The shortest lease the package accepts; never shorter than the grace.
            .settings(&[
                (var::OFFLINE_GRACE_SECS, "60"),
                (var::SEAT_LEASE_SECS, "60"),
            ]),
    )
    .await;
    let seated = signed(&app, "activate", body(&app, "4", "laptop")).await;
    assert_eq!(seated.result.code, VerdictCode::Valid);
    // Each online validation renews the lease.
    clock.advance(time::Duration::seconds(50));
    let renewed = signed(&app, "validate", body(&app, "4", "laptop")).await;
    assert_eq!(renewed.result.code, VerdictCode::Valid);
    clock.advance(time::Duration::seconds(50));
    let still = signed(&app, "validate", body(&app, "4", "laptop")).await;
    assert_eq!(still.result.code, VerdictCode::Valid, "renewed 50 s ago");
    // Unseen for longer than the lease: the seat lapsed, and that is a verdict.
    clock.advance(time::Duration::seconds(61));
    let lapsed = signed(&app, "validate", body(&app, "4", "laptop")).await;
    assert_eq!(lapsed.result.code, VerdictCode::NotActivated);
    assert_eq!(
        lapsed.license.machines.map(|m| (m.used, m.max)),
        Some((0, Some(2)))
    );
}

#[tokio::test]
async fn a_plsql_error_or_a_locked_row_in_the_seat_handlers_is_a_503_never_a_verdict() {
    let app = start(broker()).await;
    for faults in [
        Faults {
            seats_status: Some(555),
            ..Faults::default()
        },
        Faults {
            seats_busy: true,
            ..Faults::default()
        },
    ] {
        app.emulator().set_faults(faults);
        for endpoint in ["activate", "validate", "deactivate"] {
            let response = post(&app, endpoint, body(&app, "4", "laptop")).await;
            assert!(response.headers().contains_key("retry-after"));
            error_body(response, 503, "upstream_unavailable").await;
        }
    }
    app.emulator().clear_faults();
    let seated = signed(&app, "activate", body(&app, "4", "laptop")).await;
    assert_eq!(seated.result.code, VerdictCode::Valid, "and it heals");
}

#[tokio::test]
async fn freeing_seats_has_a_budget_per_license_a_machines_own_too() {
    // A freed machine keeps the offline lease it was given, so if freeing one's own
    // seat were free, deactivate-and-reactivate would put one seat on any number of
    // machines (before: a machine's own release was never counted).
    let app = start(broker().settings(&[(var::RELEASE_BUDGET, "2")])).await;
    for machine in ["a", "b"] {
        let seated = signed(&app, "activate", body(&app, "4", machine)).await;
        assert_eq!(seated.result.code, VerdictCode::Valid);
    }
    let listed = signed(&app, "machines", body(&app, "4", "a")).await;
    let other = listed
        .license
        .machines
        .unwrap()
        .list
        .into_iter()
        .find(|m| !m.current)
        .unwrap();
    assert_eq!(other.id.len(), 12);
    // A prefix of the id is not an id: it could free a seat nobody meant.
    let mut prefix = body(&app, "4", "a");
    prefix["machine_id"] = json!(other.id[..4].to_owned());
    error_body(
        post(&app, "deactivate", prefix).await,
        400,
        "invalid_request",
    )
    .await;
    // Freeing b from a, then a's own seat: the budget of two.
    let mut remote = body(&app, "4", "a");
    remote["machine_id"] = json!(other.id);
    let freed = signed(&app, "deactivate", remote).await;
    assert_eq!(freed.result.code, VerdictCode::Deactivated);
    assert_eq!(freed.license.machines.unwrap().used, 1);
    let own = signed(&app, "deactivate", body(&app, "4", "a")).await;
    assert_eq!(own.result.code, VerdictCode::Deactivated);
    // The churn: c and d activate; freeing d, even from d itself, is over the budget.
    for machine in ["c", "d"] {
        let seated = signed(&app, "activate", body(&app, "4", machine)).await;
        assert_eq!(seated.result.code, VerdictCode::Valid, "{machine}");
    }
    let refused = post(&app, "deactivate", body(&app, "4", "d")).await;
    let body = error_body(refused, 429, "rate_limited").await;
    assert!(
        body["message"].as_str().unwrap().contains("freed 2 seats"),
        "{body}"
    );
    // Nothing changed: d still holds its seat, and e finds none free.
    let still = signed(&app, "validate", super::seats::body(&app, "4", "d")).await;
    assert_eq!(still.result.code, VerdictCode::Valid);
    let full = signed(&app, "activate", super::seats::body(&app, "4", "e")).await;
    assert_eq!(full.result.code, VerdictCode::MachineLimit);
}

#[tokio::test]
async fn a_verdict_for_a_seated_machine_never_outlives_its_seat() {
    // The machine list renews nothing: its lease must end when the seat would lapse,
    // or a machine could list itself just before its seat lapses and keep a lease for
    // a whole grace after another machine took the seat.
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let signing_clock = Arc::clone(&clock);
    let app = start(
        broker()
            .emulator_clock(clock.clone())
            // The broker signs on the same clock the database's seats lapse by.
            .broker_clock(move || ords_emulator::Clock::now(&*signing_clock).unix_timestamp())
            .settings(&[
                (var::OFFLINE_GRACE_SECS, "60"),
                (var::SEAT_LEASE_SECS, "60"),
            ]),
    )
    .await;
    let seated = signed(&app, "activate", body(&app, "4", "laptop")).await;
    let lapses = seated.iat + 60;
    assert!(
        seated.policy.offline_until <= lapses + 1,
        "{:?}",
        seated.policy
    );
    clock.advance(time::Duration::seconds(50));
    let listed = signed(&app, "machines", body(&app, "4", "laptop")).await;
    assert_eq!(listed.result.code, VerdictCode::Valid);
    assert!(
        listed.policy.offline_until <= lapses + 1,
        "the listing's lease {} ends with the seat at {lapses}",
        listed.policy.offline_until
    );
}

#[tokio::test]
async fn a_key_for_another_product_frees_no_seat() {
    let app = start(broker()).await;
    let seated = signed(&app, "activate", body(&app, "4", "pro-machine")).await;
    assert_eq!(seated.result.code, VerdictCode::Valid);
    let mut other = body(&app, "4", "pro-machine");
    other["product"] = json!("desktop-lite");
    let refused = signed(&app, "deactivate", other).await;
    assert_eq!(refused.result.code, VerdictCode::WrongProduct);
    let still = signed(&app, "validate", body(&app, "4", "pro-machine")).await;
    assert_eq!(
        still.result.code,
        VerdictCode::Valid,
        "the seat is still held"
    );
}

#[tokio::test]
async fn products_and_entitlements_are_signed_and_a_wrong_product_is_refused() {
    let app = start(broker()).await;
    let mut asking = body(&app, "1", "fp");
    asking["product"] = json!("desktop-pro");
    let one = signed(&app, "validate", asking).await;
    assert_eq!(one.result.code, VerdictCode::Valid);
    assert_eq!(one.license.product.as_deref(), Some("desktop-pro"));
    assert_eq!(one.license.entitlements, ["export", "sync"]);

    let mut wrong = body(&app, "5", "fp");
    wrong["product"] = json!("desktop-pro");
    let five = signed(&app, "validate", wrong).await;
    assert_eq!(five.result.code, VerdictCode::WrongProduct);
    assert!(!five.result.valid);
    assert_eq!(five.license.product.as_deref(), Some("desktop-lite"));
    assert_eq!(
        five.policy.offline_until, five.iat,
        "a deny is never a lease"
    );

    // An app that names no product is answered as before products.
    let unnamed = signed(&app, "validate", body(&app, "5", "fp")).await;
    assert_eq!(unnamed.result.code, VerdictCode::Valid);
    assert!(unnamed.license.entitlements.is_empty());

    // A seat-limited license for another product takes no seat.
    let mut other = body(&app, "4", "lite-machine");
    other["product"] = json!("desktop-lite");
    let refused = signed(&app, "activate", other).await;
    assert_eq!(refused.result.code, VerdictCode::WrongProduct);
    assert_eq!(refused.license.machines.unwrap().used, 0);
}

#[tokio::test]
async fn a_machine_listing_is_a_lease_only_for_a_machine_that_holds_a_seat() {
    // A signed VALID from /machines could be planted as a lease: a machine without a
    // seat must not get one from there either.
    let app = start(broker()).await;
    let seated = signed(&app, "activate", body(&app, "4", "seated")).await;
    assert_eq!(seated.result.code, VerdictCode::Valid);
    let listed = signed(&app, "machines", body(&app, "4", "seated")).await;
    assert_eq!(listed.result.code, VerdictCode::Valid);
    let stranger = signed(&app, "machines", body(&app, "4", "no-seat")).await;
    assert_eq!(stranger.result.code, VerdictCode::NotActivated);
    assert!(!stranger.result.valid);
    let machines = stranger.license.machines.unwrap();
    assert_eq!((machines.used, machines.list.len()), (1, 1));
    assert!(!machines.list[0].current);
}

#[tokio::test]
async fn a_seat_limited_perpetual_fallback_license_needs_a_seat_too() {
    // Customer 6 expired with MAINTAIN_ACCESS: its EXPIRED verdict is a lease for old
    // builds, so with a machine limit it is one only for a seated machine.
    let app = start(broker()).await;
    assert!(app.emulator().set_max_machines(6, Some(1)));
    let unseated = signed(&app, "validate", body(&app, "6", "first")).await;
    assert_eq!(unseated.result.code, VerdictCode::NotActivated);
    assert_eq!(
        unseated.policy.offline_until, unseated.iat,
        "no lease without a seat"
    );
    let seated = signed(&app, "activate", body(&app, "6", "first")).await;
    assert_eq!(seated.result.code, VerdictCode::Expired);
    assert!(
        seated.policy.offline_until > seated.iat,
        "the fallback lease"
    );
    assert_eq!(seated.license.machines.as_ref().map(|m| m.used), Some(1));
    let renewed = signed(&app, "validate", body(&app, "6", "first")).await;
    assert_eq!(renewed.result.code, VerdictCode::Expired);
    let second = signed(&app, "activate", body(&app, "6", "second")).await;
    assert_eq!(second.result.code, VerdictCode::MachineLimit);
}

#[tokio::test]
async fn a_license_deleted_while_its_row_is_cached_is_not_found_not_a_503() {
    // The row stays cached for LICENSE_BROKER_VERDICT_TTL_SECS, but the seats package
    // reads the table and answers 404 NO_LICENSE: that is the missing row's verdict,
    // not a misconfigured handler.
    let app = start(broker()).await;
    for machine in ["laptop", "desk"] {
        let seated = signed(&app, "activate", body(&app, "4", machine)).await;
        assert_eq!(seated.result.code, VerdictCode::Valid);
    }
    let listed = signed(&app, "machines", body(&app, "4", "laptop")).await;
    let desk = listed.license.machines.unwrap().list;
    let desk = desk.into_iter().find(|m| !m.current).unwrap().id;
    assert!(app.emulator().delete_license(4));
    let mut remote = body(&app, "4", "laptop");
    remote["machine_id"] = json!(desk);
    let asks = [
        ("validate", body(&app, "4", "laptop")),
        ("activate", body(&app, "4", "laptop")),
        ("deactivate", body(&app, "4", "laptop")),
        ("deactivate", remote),
        ("machines", body(&app, "4", "laptop")),
    ];
    for (endpoint, asked) in asks {
        let gone = signed(&app, endpoint, asked).await;
        assert_eq!(gone.result.code, VerdictCode::NotFound, "{endpoint}");
        assert!(!gone.result.valid);
        assert_eq!(gone.policy.offline_until, gone.iat, "a deny is no lease");
        // What a license that never existed is signed with: nothing about the row.
        assert_eq!(gone.license.machines, None, "{endpoint}");
        assert_eq!(gone.license.expires_at, None);
        assert!(gone.license.entitlements.is_empty());
    }
}

#[tokio::test]
async fn an_invisible_or_stacked_machine_name_is_a_400_that_takes_no_seat() {
    let app = start(broker()).await;
    let tower = format!("a{}", "\u{0301}".repeat(63));
    for name in [
        "lap\u{200B}top",
        "\u{FEFF}office",
        "desk\u{E0041}\u{E007F}",
        "one\u{2028}two",
        "   ",
        tower.as_str(),
    ] {
        let mut named = body(&app, "4", "laptop");
        named["machine_name"] = json!(name);
        let refused = error_body(post(&app, "activate", named).await, 400, "invalid_request").await;
        let message = refused["message"].as_str().unwrap();
        assert!(message.contains("machine_name"), "{name:?}: {message}");
    }
    let listed = signed(&app, "machines", body(&app, "4", "laptop")).await;
    assert_eq!(
        listed.license.machines.unwrap().used,
        0,
        "no seat was taken"
    );
}

#[tokio::test]
async fn a_mistyped_machines_or_product_column_is_a_503_never_no_limit_or_any_product() {
    // Before, max_machine read as "no limit": five machines all got VALID on the
    // two-seat license 4.
    let app = start(broker().settings(&[(var::MAX_MACHINES_COLUMN, "max_machine")])).await;
    for machine in ["a", "b", "c"] {
        let response = post(&app, "activate", body(&app, "4", machine)).await;
        error_body(response, 503, "upstream_unavailable").await;
    }
    // Before, prodcut read as "any product": a desktop-lite key asked as desktop-pro
    // was VALID.
    let app = start(broker().settings(&[(var::PRODUCT_COLUMN, "prodcut")])).await;
    let mut asking = body(&app, "5", "laptop");
    asking["product"] = json!("desktop-pro");
    error_body(
        post(&app, "validate", asking).await,
        503,
        "upstream_unavailable",
    )
    .await;
}

#[tokio::test]
async fn a_floating_key_is_rate_limited_per_machine_not_per_key() {
    // Customer 7 is floating (2 seats). Five requests per minute per key.
    let app =
        super::helpers::spawn_app_env(&[(var::RATE_PER_KEY, "5"), (var::RATE_PER_IP, "1000")])
            .await;
    // Ten machines starting at once, one key: every one gets its verdict.
    for i in 0..10 {
        let response = post(&app, "checkout", body(&app, "7", &format!("m-{i}"))).await;
        assert_eq!(response.status(), 200, "machine {i}");
    }
    // One machine hammering is limited like any caller.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            post(&app, "checkout", body(&app, "7", "m-0"))
                .await
                .status(),
        );
    }
    assert!(
        statuses.contains(&reqwest::StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Validations stay limited per key, whatever the machine; the checkouts above
    // spent their machines' budgets, not the key's.
    let mut validations = Vec::new();
    for i in 0..7 {
        validations.push(
            post(&app, "validate", body(&app, "7", &format!("m-{i}")))
                .await
                .status(),
        );
    }
    assert_eq!(
        validations
            .iter()
            .filter(|s| **s == reqwest::StatusCode::TOO_MANY_REQUESTS)
            .count(),
        2,
        "{validations:?}"
    );
}
