//! Floating seats and trials from the library, against the real broker and the ORDS
//! emulator over HTTP. Customer 7 of the emulator's seed is `FLOATING` with 2 seats;
//! `desktop-pro` has a 14-day trial. The broker's floating lease is 3 s here, so the
//! background renewal runs in real time (the emulator's clock only moves to free a seat).

use std::sync::Arc;
use std::time::Duration;

use license_client::{
    Checkout, Code, Fingerprint, LicenseClient, MemoryKeyStore, Paths, SeatState,
};
use license_testkit::Stack;

const LEASE_SECS: u64 = 3;

struct Fixture {
    stack: Stack,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let lease = LEASE_SECS.to_string();
    let stack = Stack::start(&[
        ("LICENSE_BROKER_FLOATING_LEASE_SECS", lease.as_str()),
        ("LICENSE_BROKER_RATE_PER_KEY", "0"),
        ("LICENSE_BROKER_ACTIVATIONS_PER_HOUR", "0"),
    ])
    .await
    .expect("the stack starts");
    Fixture {
        stack,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Fixture {
    /// The `desktop-pro` app on machine `machine`, with a store and a directory of its own.
    fn app(&self, machine: &str) -> LicenseClient {
        self.stack
            .client()
            .app_id("com.example.cad")
            .app_version("2.0.0")
            .product("desktop-pro")
            .total_timeout(Duration::from_secs(5))
            .key_store(Box::new(Arc::new(MemoryKeyStore::new())))
            .paths(Paths::in_dir(self.dir.path().join(machine)))
            .fingerprint(Fingerprint::from_machine_id(machine, "com.example.cad"))
            .build()
            .unwrap()
    }

    async fn advance_emulator_clock(&self, secs: u64) {
        let response = reqwest::Client::new()
            .post(format!(
                "{}/__emulator/clock",
                self.stack.emulator().base_url
            ))
            .json(&serde_json::json!({ "advance_secs": secs }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_renewal_keeps_the_seat_through_three_leases_and_reports_its_loss() {
    let f = fixture().await;
    let key = f.stack.issue_key("7").unwrap();
    let a = f.app("machine-a");
    let how = Checkout {
        machine_name: Some("Ada's workstation"),
        borrow_days: None,
    };
    let seat = a.checkout(&key, how).await.unwrap();
    assert_eq!(
        (seat.licensed, seat.code),
        (true, Code::Valid),
        "{}",
        seat.message
    );
    let until = seat.offline_until.unwrap();
    assert!(until <= time::OffsetDateTime::now_utc().unix_timestamp() + LEASE_SECS as i64 + 1);
    let keeper = a.keep_seat(&seat).unwrap();
    let mut watch = keeper.watch();
    // The second seat goes to machine B, which never renews.
    let b = f
        .app("machine-b")
        .checkout(&key, Checkout::default())
        .await
        .unwrap();
    assert!(b.licensed, "{}", b.message);

    // Three lease periods and more: A's seat is renewed in the background, B's lapses,
    // so C gets B's seat but never A's.
    let mut renewals = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3 * LEASE_SECS + 1);
    while let Ok(Ok(())) = tokio::time::timeout_at(deadline, watch.changed()).await {
        match &*watch.borrow_and_update() {
            SeatState::Held { .. } => renewals += 1,
            lost => panic!("the seat was lost: {lost:?}"),
        }
    }
    assert!(renewals >= 3, "{renewals} renewals in three leases");
    let c = f.app("machine-c");
    let got = c.checkout(&key, Checkout::default()).await.unwrap();
    assert_eq!(
        got.code,
        Code::Valid,
        "B's lapsed seat is free: {}",
        got.message
    );
    let d = f
        .app("machine-d")
        .checkout(&key, Checkout::default())
        .await
        .unwrap();
    assert_eq!(
        d.code,
        Code::SeatsInUse,
        "A still holds its seat: {}",
        d.message
    );
    assert!(d.message.contains("Ada's workstation"), "{}", d.message);
    assert!(matches!(keeper.state(), SeatState::Held { .. }));

    // The broker frees A's seat (its lease runs out on the database's clock): the next
    // renewal reports the loss.
    f.advance_emulator_clock(LEASE_SECS + 60).await;
    let lost = tokio::time::timeout(Duration::from_secs(2 * LEASE_SECS + 2), async {
        loop {
            watch.changed().await.unwrap();
            if let SeatState::Lost { code, message } = &*watch.borrow_and_update() {
                return (*code, message.clone());
            }
        }
    })
    .await
    .expect("the loss is reported");
    assert_eq!(lost.0, Code::Deactivated, "{}", lost.1);
    assert!(lost.1.contains("lost"), "{}", lost.1);
    drop(keeper);
}

#[tokio::test]
async fn checkin_returns_the_seat_and_keeps_the_key() {
    let f = fixture().await;
    let key = f.stack.issue_key("7").unwrap();
    let a = f.app("machine-a");
    assert!(
        a.checkout(&key, Checkout::default())
            .await
            .unwrap()
            .licensed
    );
    assert!(
        f.app("machine-b")
            .checkout(&key, Checkout::default())
            .await
            .unwrap()
            .licensed
    );
    let c = f.app("machine-c");
    let full = c.checkout(&key, Checkout::default()).await.unwrap();
    assert_eq!((full.licensed, full.code), (false, Code::SeatsInUse));
    let returned = a.checkin().await.unwrap();
    assert_eq!(returned.code, Code::Deactivated);
    assert_eq!(
        c.checkout(&key, Checkout::default()).await.unwrap().code,
        Code::Valid
    );
    // A kept its key: it checks out again (a seat is free once C returns its own).
    c.checkin().await.unwrap();
    let again = a.checkout(&key, Checkout::default()).await.unwrap();
    assert_eq!(again.code, Code::Valid, "{}", again.message);
    // A node-locked license is activated instead.
    let node_locked = f.stack.issue_key("4").unwrap();
    let refused = f
        .app("machine-e")
        .checkout(&node_locked, Checkout::default())
        .await
        .unwrap();
    assert_eq!(refused.code, Code::NotFloating);
    let refused = f.app("machine-e").activate(&key).await.unwrap();
    assert_eq!(refused.code, Code::CheckoutRequired);
}

#[tokio::test]
async fn a_trial_from_the_library_is_signed_and_starts_once() {
    let f = fixture().await;
    let app = f.app("machine-t");
    let first = app.start_trial().await.unwrap();
    assert_eq!(
        (first.licensed, first.code),
        (true, Code::Trial),
        "{}",
        first.message
    );
    let ends = first.expires_at.unwrap();
    let again = app.start_trial().await.unwrap();
    assert_eq!((again.code, again.expires_at), (Code::Trial, Some(ends)));
    f.advance_emulator_clock(15 * 86_400).await;
    let over = app.start_trial().await.unwrap();
    assert_eq!((over.licensed, over.code), (false, Code::TrialExpired));
    assert_eq!(over.expires_at, Some(ends));
    // Without a product there is no trial to ask for.
    let anonymous = f
        .stack
        .client()
        .app_id("com.example.cad")
        .app_version("2.0.0")
        .key_store(Box::new(Arc::new(MemoryKeyStore::new())))
        .paths(Paths::in_dir(f.dir.path().join("none")))
        .fingerprint(Fingerprint::from_machine_id("m", "com.example.cad"))
        .build()
        .unwrap();
    let err = anonymous.start_trial().await.unwrap_err();
    assert!(err.to_string().contains("product"), "{err}");
}

#[tokio::test]
async fn a_saved_trial_answers_offline_within_its_window() {
    let mut f = fixture().await;
    let app = f.app("machine-offline");
    let first = app.start_trial().await.unwrap();
    assert_eq!(first.code, Code::Trial, "{}", first.message);
    f.stack.stop().await.expect("the broker stops");
    let offline = app.start_trial().await.unwrap();
    assert_eq!(
        (offline.licensed, offline.code, offline.offline_until),
        (true, Code::OfflineGrace, first.offline_until),
        "{}",
        offline.message
    );
    // Another machine has no saved trial: the failure is the transport's.
    let never = f.app("machine-never").start_trial().await.unwrap_err();
    assert_eq!(
        never.kind(),
        license_client::ErrorKind::BrokerUnreachable,
        "{never}"
    );
}
