//! Machine seats over real HTTP against the stand-in: activation claims a seat or is
//! refused with the list, deactivation frees a seat online before anything local
//! changes, another machine's seat can be freed, the list marks this machine, and a
//! custom machine id is a different machine.

use crate::support::{license_key, seat_id, Behaviour, Endpoint, Fixture, APP_ID, DAY, T0};
use license_client::{BuildError, Code, ErrorKind, Fingerprint, KeyStore, Outcome, Source};

const OTHER: &str = "0a1b2c3d4e5f";

/// A seat-limited license (customer 4) activated on machine-a.
async fn seated(max: u32) -> Fixture {
    let fx = Fixture::new().await;
    fx.broker.limit_seats(max);
    let verdict = fx
        .client()
        .activate_named(&license_key("4"), Some("Anna's laptop"))
        .await
        .unwrap();
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::Valid, true),
        "{verdict:?}"
    );
    fx
}

#[tokio::test]
async fn activation_claims_a_seat_and_stores_key_and_lease() {
    let fx = seated(2).await;
    let (endpoint, request) = fx.broker.calls().pop().unwrap();
    assert_eq!(endpoint, Endpoint::Activate);
    assert_eq!(request["machine_name"], "Anna's laptop");
    assert_eq!(
        request["fingerprint"].as_str(),
        Some(fx.fingerprint().as_str())
    );
    assert_eq!(fx.broker.held(), vec![seat_id(&fx.fingerprint())]);
    assert_eq!(
        fx.store.get_key().unwrap().unwrap().expose(),
        license_key("4")
    );
    let verdict = fx.client().check_offline();
    assert_eq!((verdict.code, verdict.licensed), (Code::Valid, true));
    let seats = verdict
        .machines
        .expect("a seat-limited lease carries its seats");
    assert_eq!((seats.used, seats.max), (1, Some(2)));
    // Activating again is idempotent: still one seat.
    fx.client().activate(&license_key("4")).await.unwrap();
    assert_eq!(fx.broker.held().len(), 1);
}

#[tokio::test]
async fn machine_limit_stores_nothing_and_lists_the_machines() {
    let fx = Fixture::new().await;
    fx.broker.limit_seats(1);
    fx.broker
        .seat_other(OTHER, Some("old desktop"), T0 - 3 * DAY);
    let verdict = fx.client().activate(&license_key("4")).await.unwrap();
    assert_eq!(
        (
            verdict.code,
            verdict.licensed,
            verdict.outcome(),
            verdict.source
        ),
        (
            Code::MachineLimit,
            false,
            Outcome::NotLicensed,
            Source::Online
        )
    );
    assert!(verdict.message.contains("(1 of 1)"), "{}", verdict.message);
    assert!(
        verdict.message.contains("Nothing was stored"),
        "{}",
        verdict.message
    );
    let seats = verdict.machines.unwrap();
    assert_eq!((seats.used, seats.max, seats.list.len()), (1, Some(1), 1));
    let machine = &seats.list[0];
    assert_eq!(
        (
            machine.id.as_str(),
            machine.name.as_deref(),
            machine.last_seen,
            machine.current
        ),
        (OTHER, Some("old desktop"), T0 - 3 * DAY, false)
    );
    assert!(fx.store.get_key().unwrap().is_none());
    assert!(!fx.paths().cache_file().exists());
    assert_eq!(fx.broker.held(), vec![OTHER.to_owned()]);
}

#[tokio::test]
async fn a_machine_limit_keeps_the_lease_of_the_key_already_stored() {
    let fx = seated(1).await;
    let lease = fx.cache_text();
    // The seat lapsed and another machine took it.
    fx.broker.shared.seats.lock().unwrap().held.clear();
    fx.broker.seat_other(OTHER, None, T0);
    let verdict = fx.client().activate(&license_key("4")).await.unwrap();
    assert_eq!(verdict.code, Code::MachineLimit);
    assert_eq!(
        fx.cache_text(),
        lease,
        "a refused activation stores nothing"
    );
}

#[tokio::test]
async fn validate_not_activated_is_a_verified_deny_that_replaces_the_lease() {
    let fx = seated(2).await;
    // The seat lapsed (or was freed from another machine).
    fx.broker.shared.seats.lock().unwrap().held.clear();
    fx.advance(DAY + 1);
    let verdict = fx.client().check().await;
    assert_eq!(
        (
            verdict.code,
            verdict.licensed,
            verdict.source,
            verdict.outcome()
        ),
        (
            Code::NotActivated,
            false,
            Source::Online,
            Outcome::NotLicensed
        ),
        "{verdict:?}"
    );
    assert!(verdict.message.contains("Activate"), "{}", verdict.message);
    assert!(fx.cache_text().contains("payload"));
    // The deny replaced the cached allow: offline, the app stays locked.
    let offline = fx.client().check_offline();
    assert_eq!(
        (offline.code, offline.licensed),
        (Code::NotActivated, false)
    );
    // Activating again claims a seat and unlocks.
    fx.client().activate(&license_key("4")).await.unwrap();
    assert_eq!(fx.client().check_offline().code, Code::Valid);
}

#[tokio::test]
async fn a_verified_deny_from_a_seat_call_replaces_the_cached_allow() {
    // The license is revoked while this machine runs on a fresh VALID lease; whichever
    // seat call hears it first, the next offline start is locked, and the key stays.
    for call in ["machines", "deactivate", "deactivate --machine"] {
        let fx = seated(2).await;
        assert_eq!(fx.client().check_offline().code, Code::Valid);
        fx.broker.set(Behaviour::deny("REVOKED"));
        let heard = match call {
            "machines" => fx.client().machines().await.unwrap(),
            "deactivate" => match fx.client().deactivate().await.unwrap_err() {
                e if e.kind() == ErrorKind::Refused => e.verdict().cloned().unwrap(),
                other => panic!("{call}: {other:?}"),
            },
            _ => match fx.client().deactivate_machine(OTHER).await.unwrap_err() {
                e if e.kind() == ErrorKind::Refused => e.verdict().cloned().unwrap(),
                other => panic!("{call}: {other:?}"),
            },
        };
        assert_eq!(
            (heard.code, heard.licensed, heard.outcome()),
            (Code::Revoked, false, Outcome::NotLicensed),
            "{call}: {heard:?}"
        );
        let offline = fx.client().check_offline();
        assert_eq!(
            (offline.code, offline.licensed),
            (Code::Revoked, false),
            "{call}: {offline:?}"
        );
        assert!(fx.cache_text().contains("payload"), "{call}");
        assert_eq!(
            fx.store.get_key().unwrap().unwrap().expose(),
            license_key("4"),
            "{call}: the key stays"
        );
    }
}

#[tokio::test]
async fn a_seat_answer_from_a_seat_call_is_not_a_deny_of_the_license() {
    // NOT_ACTIVATED and MACHINE_LIMIT are answers about seats, not about the license:
    // neither touches this machine's lease.
    for code in ["NOT_ACTIVATED", "MACHINE_LIMIT"] {
        let fx = seated(2).await;
        let lease = fx.cache_text();
        fx.broker.set(Behaviour::deny(code));
        let verdict = fx.client().machines().await.unwrap();
        assert!(!verdict.licensed, "{code}: {verdict:?}");
        assert_eq!(fx.cache_text(), lease, "{code}");
        assert_eq!(fx.client().check_offline().code, Code::Valid, "{code}");
    }
}

#[tokio::test]
async fn deactivate_without_the_broker_changes_nothing() {
    let fx = seated(2).await;
    let lease = fx.cache_text();
    let error = fx.client_offline().deactivate().await.unwrap_err();
    assert!(
        error.kind() == ErrorKind::BrokerUnreachable && error.verdict().is_none(),
        "{error:?}"
    );
    for behaviour in [
        Behaviour::Status(
            503,
            r#"{"error":"upstream_unavailable","message":"ORDS is down"}"#,
        ),
        Behaviour::ForeignKey,
        // Refused with an answer about a seat. (A verified deny of the license itself
        // replaces the lease: see the test above.)
        Behaviour::deny("NOT_ACTIVATED"),
    ] {
        fx.broker.set(behaviour.clone());
        let error = fx.client().deactivate().await.unwrap_err();
        assert!(
            matches!(
                error.kind(),
                ErrorKind::BrokerUnreachable | ErrorKind::ResponseUntrusted | ErrorKind::Refused
            ) && error.verdict().is_none_or(|v| v.code != Code::Deactivated),
            "{behaviour:?}: {error:?}"
        );
        assert_eq!(
            fx.store.get_key().unwrap().unwrap().expose(),
            license_key("4")
        );
        assert_eq!(fx.cache_text(), lease, "{behaviour:?}");
    }
    fx.broker.set(Behaviour::valid());
    assert_eq!(fx.broker.held(), vec![seat_id(&fx.fingerprint())]);
    let verdict = fx.client().check_offline();
    assert_eq!((verdict.code, verdict.licensed), (Code::Valid, true));
}

#[tokio::test]
async fn deactivate_frees_the_seat_then_removes_key_and_lease() {
    let fx = seated(2).await;
    let verdict = fx.client().deactivate().await.unwrap();
    assert_eq!(verdict.code, Code::Deactivated);
    assert_eq!(fx.broker.calls().last().unwrap().0, Endpoint::Deactivate);
    assert!(fx.broker.held().is_empty());
    assert!(fx.store.get_key().unwrap().is_none());
    assert!(!fx.paths().cache_file().exists());
    assert!(fx.store.get_marks().unwrap().is_some(), "the marks stay");
}

#[tokio::test]
async fn deactivate_machine_frees_another_seat_and_keeps_this_one() {
    let fx = Fixture::new().await;
    fx.broker.limit_seats(2);
    fx.broker
        .seat_other(OTHER, Some("dead laptop"), T0 - 40 * DAY);
    fx.client().activate(&license_key("4")).await.unwrap();
    let lease = fx.cache_text();

    let requests = fx.broker.requests();
    let error = fx.client().deactivate_machine("NOT-HEX").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error:?}");
    assert_eq!(fx.broker.requests(), requests, "refused before the network");
    let error = fx
        .client()
        .deactivate_machine("ffffffffffff")
        .await
        .unwrap_err();
    assert!(
        error.kind() == ErrorKind::UnknownMachine && error.to_string().contains("ffffffffffff"),
        "{error:?}"
    );
    fx.broker.set_other_frees(0);
    let error = fx.client().deactivate_machine(OTHER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited, "{error:?}");
    assert_eq!(fx.broker.held().len(), 2);

    fx.broker.set_other_frees(1);
    let verdict = fx.client().deactivate_machine(OTHER).await.unwrap();
    assert_eq!(verdict.code, Code::Deactivated);
    assert!(verdict.message.contains(OTHER), "{}", verdict.message);
    let (_, request) = fx.broker.calls().pop().unwrap();
    assert_eq!(request["machine_id"], OTHER);
    assert_eq!(fx.broker.held(), vec![seat_id(&fx.fingerprint())]);
    assert!(fx.store.get_key().unwrap().is_some());
    assert_eq!(fx.cache_text(), lease);
    assert_eq!(fx.client().check_offline().code, Code::Valid);
}

#[tokio::test]
async fn machines_lists_the_seats_and_marks_this_machine() {
    let fx = Fixture::new().await;
    fx.broker.limit_seats(3);
    fx.broker.seat_other(OTHER, None, T0 - DAY);
    fx.client()
        .activate_named(&license_key("4"), Some("build box"))
        .await
        .unwrap();
    let lease = fx.cache_text();
    let verdict = fx.client().machines().await.unwrap();
    assert_eq!(verdict.code, Code::Valid);
    assert!(
        verdict.message.contains("Seats in use: 2 of 3"),
        "{}",
        verdict.message
    );
    let seats = verdict.machines.unwrap();
    assert_eq!((seats.used, seats.max), (2, Some(3)));
    let current: Vec<_> = seats.list.iter().filter(|m| m.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].id, seat_id(&fx.fingerprint()));
    assert_eq!(current[0].name.as_deref(), Some("build box"));
    assert!(seats.list.iter().any(|m| m.id == OTHER && !m.current));
    assert_eq!(fx.cache_text(), lease, "listing stores nothing");

    // An unlimited license has no seats to list.
    let fx = Fixture::new().await;
    fx.client().activate(&license_key("1")).await.unwrap();
    let verdict = fx.client().machines().await.unwrap();
    assert_eq!((verdict.code, verdict.machines), (Code::Valid, None));
    assert!(
        verdict.message.contains("does not limit"),
        "{}",
        verdict.message
    );

    let fx = Fixture::new().await;
    let error = fx.client().machines().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoLicense, "{error:?}");
    assert!(
        error.to_string().starts_with("no license key is stored"),
        "{error}"
    );
}

#[tokio::test]
async fn a_custom_machine_id_is_a_different_machine() {
    let fx = Fixture::new().await;
    fx.broker.limit_seats(1);
    let on = |id: &str| fx.builder().machine_id(id).build().unwrap();
    on("container-1").activate(&license_key("4")).await.unwrap();
    let sent = fx.broker.calls().pop().unwrap().1["fingerprint"].clone();
    assert_eq!(
        sent.as_str(),
        Some(Fingerprint::from_machine_id("container-1", APP_ID).as_str())
    );
    assert_eq!(on("container-1").check_offline().code, Code::Valid);
    // Another id is another machine: the lease does not count there, and the one
    // seat is taken.
    let elsewhere = on("container-2").check_offline();
    assert_eq!(elsewhere.code, Code::NoLease, "{elsewhere:?}");
    let refused = on("container-2").activate(&license_key("4")).await.unwrap();
    assert_eq!(refused.code, Code::MachineLimit);
    // An explicit fingerprint wins; an empty id is refused.
    let fp = Fingerprint::from_machine_id("container-1", APP_ID);
    let both = fx
        .builder()
        .machine_id("x")
        .fingerprint(fp)
        .build()
        .unwrap();
    assert_eq!(both.check_offline().code, Code::Valid);
    assert!(matches!(
        fx.builder().machine_id("  ").build(),
        Err(BuildError::MachineId)
    ));
}

#[test]
fn the_seat_calls_have_blocking_twins() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fx = runtime.block_on(Fixture::new());
    fx.broker.limit_seats(2);
    fx.broker.seat_other(OTHER, None, T0);
    let client = fx.client();
    let verdict = client
        .activate_named_blocking(&license_key("4"), Some("desk"))
        .unwrap();
    assert_eq!(verdict.code, Code::Valid);
    assert_eq!(
        client.machines_blocking().unwrap().machines.unwrap().used,
        2
    );
    client.deactivate_machine_blocking(OTHER).unwrap();
    assert_eq!(
        client.deactivate_blocking().unwrap().code,
        Code::Deactivated
    );
    assert!(fx.broker.held().is_empty());
    assert!(fx.store.get_key().unwrap().is_none());
}
