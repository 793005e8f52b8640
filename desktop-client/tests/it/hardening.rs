//! Regression tests from an attack review of the client: rollback protection that
//! could be switched off, apps overwriting each other's lease, broker text reaching
//! the terminal unfiltered, and a timeout message naming the wrong limit.

use std::time::{Duration, Instant};

use crate::support::{self, license_key, Behaviour, Fixture, DAY, T0};
use license_client::{Clock, Code, FileKeyStore, KeyStore, LicenseClient, Marks, Outcome, Source};

/// A client of `fx` whose key and second copy of the marks are in the `file` store,
/// next to `state.json`: the store a user controls completely.
fn file_store_client(fx: &Fixture) -> LicenseClient {
    fx.builder()
        .key_store(Box::new(FileKeyStore::new(fx.paths().data_dir)))
        .fingerprint(license_client::Fingerprint::from_machine_id(
            "machine-a",
            support::APP_ID,
        ))
        .build()
        .unwrap()
}

/// The file store's copy of the marks (see `FileKeyStore`).
fn store_marks_file(fx: &Fixture) -> std::path::PathBuf {
    fx.paths().data_dir.join("keystore-marks.json")
}

/// Activated with the file store three days ago; the marks have seen "now".
async fn activated_on_file_store() -> Fixture {
    let fx = Fixture::new().await;
    let verdict = file_store_client(&fx)
        .activate(&license_key("1"))
        .await
        .unwrap();
    assert_eq!(verdict.code, Code::Valid, "{verdict:?}");
    fx.advance(3 * DAY);
    fx.broker.set(Behaviour::Status(503, "{}"));
    let verdict = file_store_client(&fx).check().await;
    assert_eq!(verdict.code, Code::OfflineGrace, "{verdict:?}");
    fx
}

#[tokio::test]
async fn deleting_both_copies_of_the_marks_does_not_reopen_a_rolled_back_lease() {
    let fx = activated_on_file_store().await;
    std::fs::remove_file(fx.paths().state_file()).unwrap();
    std::fs::remove_file(store_marks_file(&fx)).unwrap();
    // Back to the day after activation: inside the lease, before a time already seen.
    fx.clock.set(T0 + DAY + 60);
    let offline = file_store_client(&fx).check_offline();
    let online = file_store_client(&fx).check().await;
    for verdict in [&offline, &online] {
        assert!(!verdict.licensed, "{verdict:?}");
        assert!(
            verdict.message.contains("clock marks"),
            "{}",
            verdict.message
        );
    }
    assert_eq!(offline.code, Code::NoLease, "{offline:?}");
    assert_eq!(online.code, Code::BrokerUnreachable, "{online:?}");
    // Online with the clock right, a fresh verdict is accepted and the marks return.
    fx.clock.set(fx.broker_clock.now());
    fx.broker.set(Behaviour::valid());
    let verdict = file_store_client(&fx).check().await;
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::Valid, Source::Online, true),
        "{verdict:?}"
    );
    assert!(file_store_client(&fx).check_offline().licensed);
}

#[cfg(unix)]
#[tokio::test]
async fn marks_that_can_never_be_saved_send_every_check_online() {
    let fx = activated_on_file_store().await;
    for file in [fx.paths().state_file(), store_marks_file(&fx)] {
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
    }
    fx.clock.set(T0 + DAY + 60);
    let verdict = file_store_client(&fx).check_offline();
    assert!(!verdict.licensed, "{verdict:?}");
    assert_eq!(verdict.outcome(), Outcome::Undetermined, "{verdict:?}");
    let verdict = file_store_client(&fx).check().await;
    assert!(!verdict.licensed, "{verdict:?}");

    // Honest clock, broker up: the fresh verdict is accepted (licensed online) ...
    fx.clock.set(fx.broker_clock.now());
    fx.broker.set(Behaviour::valid());
    let verdict = file_store_client(&fx).check().await;
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::Valid, Source::Online, true),
        "{verdict:?}"
    );
    // ... but without marks it can be saved to, the lease never answers on its own.
    let verdict = file_store_client(&fx).check_offline();
    assert!(!verdict.licensed, "{verdict:?}");
    fx.broker.set(Behaviour::Status(503, "{}"));
    let verdict = file_store_client(&fx).check().await;
    assert!(!verdict.licensed, "{verdict:?}");
}

#[tokio::test]
async fn a_clock_before_the_leases_own_signed_iat_is_a_rollback() {
    let fx = Fixture::new().await;
    fx.advance(10 * DAY);
    let verdict = fx.client().activate(&license_key("1")).await.unwrap();
    assert_eq!(verdict.code, Code::Valid, "{verdict:?}");
    // Both copies of the marks are readable, but say nothing (an old or edited copy).
    let zero = Marks::default();
    std::fs::write(fx.paths().state_file(), serde_json::to_vec(&zero).unwrap()).unwrap();
    fx.store.set_marks(zero).unwrap();
    // Two days before the lease was signed.
    fx.clock.set(T0 + 8 * DAY);
    fx.broker.set(Behaviour::Status(503, "{}"));
    for verdict in [fx.client().check_offline(), fx.client().check().await] {
        assert_eq!(
            (verdict.code, verdict.licensed),
            (Code::ClockRollback, false),
            "{verdict:?}"
        );
    }
    // Within the tolerance (an hour) of the signed time it is still licensed.
    fx.clock.set(T0 + 10 * DAY - 600);
    assert!(fx.client().check_offline().licensed);
}

#[tokio::test]
async fn broker_text_loses_control_bidi_and_format_characters() {
    let fx = Fixture::new().await;
    let verdict = fx.client().activate(&license_key("1")).await.unwrap();
    assert!(verdict.licensed);
    fx.advance(2 * DAY);
    fx.broker.set(Behaviour::Status(
        503,
        r#"{"error":"upstream_unavailable","message":"ORDS\u001b[2J is\u202e nwod\u202c\u2066 x\u2069\u200e\u200f\u200b\u2028 down\u0007"}"#,
    ));
    let verdict = fx.client().check().await;
    assert_eq!(verdict.code, Code::OfflineGrace, "{verdict:?}");
    assert_clean(&verdict.message);
    assert!(verdict.message.contains("ORDS"), "{}", verdict.message);
    assert!(verdict.message.contains("nwod"), "{}", verdict.message);
}

/// No C0/C1 control, bidi control or other invisible format character.
pub(crate) fn assert_clean(text: &str) {
    for c in text.chars() {
        let bad = c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}');
        assert!(!bad, "{c:?} in {text:?}");
    }
}

#[tokio::test]
async fn machine_names_from_the_broker_are_cleaned() {
    let fx = Fixture::new().await;
    fx.broker.limit_seats(3);
    fx.broker.seat_other(
        "0a1b2c3d4e5f",
        Some("Anna\u{202e}spotpal\u{202c}\u{1b}[31m"),
        T0,
    );
    let verdict = fx.client().activate(&license_key("4")).await.unwrap();
    assert!(verdict.licensed, "{verdict:?}");
    let verdict = fx.client().machines().await.unwrap();
    let list = &verdict.machines.as_ref().unwrap().list;
    let other = list.iter().find(|m| m.id == "0a1b2c3d4e5f").unwrap();
    let name = other.name.as_deref().unwrap();
    assert_clean(name);
    assert!(name.starts_with("Anna"), "{name:?}");
}

/// A listener whose accept queue is full: the kernel drops further SYNs, so a connect
/// to it hangs like one to a blackholed address.
fn blackhole() -> (std::net::SocketAddr, Vec<std::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => held.push(stream),
            Err(_) => break,
        }
    }
    std::mem::forget(listener);
    (addr, held)
}

#[tokio::test]
async fn a_connect_timeout_names_the_connect_limit() {
    let fx = Fixture::new().await;
    let verdict = fx.client().activate(&license_key("1")).await.unwrap();
    assert!(verdict.licensed);
    fx.advance(2 * DAY);
    let (addr, _held) = blackhole();
    let client = fx
        .builder()
        .broker_url(format!("http://{addr}"))
        .connect_timeout(Duration::from_millis(300))
        .total_timeout(Duration::from_millis(3000))
        .fingerprint(license_client::Fingerprint::from_machine_id(
            "machine-a",
            support::APP_ID,
        ))
        .build()
        .unwrap();
    let started = Instant::now();
    let verdict = client.check().await;
    let took = started.elapsed();
    assert_eq!(verdict.code, Code::OfflineGrace, "{verdict:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert!(
        verdict.message.contains("300 ms") && verdict.message.contains("connect"),
        "{}",
        verdict.message
    );
    assert!(!verdict.message.contains("3000 ms"), "{}", verdict.message);

    // A broker that accepts and never answers hits the total limit, named as such.
    fx.broker.set(Behaviour::Hang);
    let client = fx
        .builder()
        .connect_timeout(Duration::from_millis(300))
        .total_timeout(Duration::from_millis(700))
        .fingerprint(license_client::Fingerprint::from_machine_id(
            "machine-a",
            support::APP_ID,
        ))
        .build()
        .unwrap();
    let verdict = client.check().await;
    assert!(
        verdict.message.contains("700 ms") && verdict.message.contains("total"),
        "{}",
        verdict.message
    );
}

#[tokio::test]
async fn no_total_limit_is_a_limit_too_large_to_reach() {
    // An app may pass `Duration::MAX` to mean "no limit": the check still answers
    // (the backstop above the total limit saturates instead of overflowing).
    let fx = Fixture::new().await;
    let client = fx
        .builder()
        .total_timeout(Duration::MAX)
        .fingerprint(license_client::Fingerprint::from_machine_id(
            "machine-a",
            support::APP_ID,
        ))
        .build()
        .unwrap();
    let verdict = client.activate(&license_key("1")).await.unwrap();
    assert_eq!((verdict.code, verdict.licensed), (Code::Valid, true));
    let verdict = client.refresh().await;
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, license_client::Source::Online),
        "{verdict:?}"
    );
}
