//! The client against the real broker and the ORDS emulator over HTTP: the article's
//! seed (customer 1 valid, 2 expired, 3 suspended, 1–4 `desktop-pro` and customer 1
//! entitled to `export` and `sync`, 5 a `desktop-lite` license, 6 a `desktop-pro` one
//! expired 30 days ago with `MAINTAIN_ACCESS`, anything else absent), the real token
//! manager, the broker's own signing key pinned as the client's trusted key.

use std::sync::Arc;
use std::time::Duration;

use license_broker::Signer;
use license_client::{
    Clock, Code, Fingerprint, LicenseClient, ManualClock, MemoryKeyStore, Outcome, Paths, Source,
    SystemClock,
};
use license_shared::{CustomerId, Keyset, LicenseKey, MAC_LEN};
use license_testkit::Stack;

const DAY: i64 = 86_400;

struct Real {
    stack: Stack,
    dir: tempfile::TempDir,
    store: Arc<MemoryKeyStore>,
    clock: ManualClock,
}

async fn spawn() -> Real {
    Real {
        stack: Stack::start(&[]).await.expect("the stack starts"),
        dir: tempfile::tempdir().unwrap(),
        store: Arc::new(MemoryKeyStore::new()),
        clock: ManualClock::new(SystemClock.now()),
    }
}

impl Real {
    fn key(&self, id: &str) -> String {
        self.stack.issue_key(id).unwrap()
    }

    fn client(&self) -> LicenseClient {
        self.builder().build().unwrap()
    }

    /// This fixture's client, as the `desktop-pro` app built at `build_time`, with a
    /// directory and a key store of its own (`name`).
    fn pro_app(&self, name: &str, build_time: Option<i64>) -> LicenseClient {
        let mut builder = self
            .builder()
            .product("desktop-pro")
            .key_store(Box::new(MemoryKeyStore::new()))
            .paths(Paths::in_dir(self.dir.path().join(name)));
        if let Some(built) = build_time {
            builder = builder.build_time(built);
        }
        builder.build().unwrap()
    }

    fn builder(&self) -> license_client::LicenseClientBuilder {
        self.stack
            .client()
            .app_id("com.example.editor")
            .app_version("1.0.0")
            .total_timeout(Duration::from_secs(5))
            .key_store(Box::new(Arc::clone(&self.store)))
            .paths(Paths::in_dir(self.dir.path()))
            .clock(Arc::new(self.clock.clone()))
            .fingerprint(Fingerprint::from_machine_id(
                "machine-a",
                "com.example.editor",
            ))
    }

    async fn stop_broker(&mut self) {
        self.stack.stop().await.expect("the broker stops");
    }
}

#[tokio::test]
async fn the_articles_licenses_and_a_forged_key() {
    let real = spawn().await;
    let forged = LicenseKey::new(CustomerId::parse("1").unwrap(), [0x42; MAC_LEN]).encode();
    for (key, code) in [
        (real.key("1"), Code::Valid),
        (real.key("2"), Code::Expired),
        (real.key("3"), Code::Suspended),
        (real.key("404"), Code::NotFound),
        (forged, Code::NotFound),
    ] {
        let verdict = real.client().activate(&key).await.unwrap();
        assert_eq!(
            (verdict.code, verdict.source),
            (code, Source::Online),
            "{verdict:?}"
        );
        assert_eq!(verdict.licensed, code == Code::Valid);
    }
    // Only customer 1 was stored; the denies for other keys stored nothing.
    let verdict = real.client().check().await;
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, Source::Cache),
        "{verdict:?}"
    );
    assert!(verdict.expires_at.unwrap() > SystemClock.now());
}

#[tokio::test]
async fn broker_down_fresh_lease_then_expired_lease() {
    let mut real = spawn().await;
    real.client().activate(&real.key("1")).await.unwrap();
    let verdict = real.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, Source::Online),
        "{verdict:?}"
    );

    real.stop_broker().await;
    let verdict = real.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::OfflineGrace, true),
        "{verdict:?}"
    );

    real.clock.advance(31 * DAY);
    let verdict = real.client().check().await;
    assert_eq!(
        (verdict.code, verdict.outcome()),
        (Code::OfflineExpired, Outcome::NotLicensed),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_broker_signing_with_another_key_is_not_trusted() {
    let real = spawn().await;
    let other = Keyset::new().with_key(Signer::generate().verifying_key());
    let client = LicenseClient::builder()
        .broker_url(real.stack.url())
        .app_id("com.example.editor")
        .trusted_keys(other)
        .key_store(Box::new(MemoryKeyStore::new()))
        .paths(Paths::in_dir(real.dir.path()))
        .fingerprint(Fingerprint::from_machine_id(
            "machine-a",
            "com.example.editor",
        ))
        .build()
        .unwrap();
    let error = client.activate(&real.key("1")).await.unwrap_err();
    assert_eq!(
        error.kind(),
        license_client::ErrorKind::ResponseUntrusted,
        "{error:?}"
    );
}

#[tokio::test]
async fn customer_1_is_entitled_to_export_and_sync() {
    let real = spawn().await;
    let app = real.pro_app("pro", None);
    let verdict = app.activate(&real.key("1")).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::Valid, Source::Online, true),
        "{verdict:?}"
    );
    assert_eq!(verdict.product(), Some("desktop-pro"));
    assert_eq!(verdict.entitlements(), ["export", "sync"]);
    assert!(verdict.has_entitlement("export") && !verdict.has_entitlement("print"));
    let cached = app.check_offline();
    assert_eq!(cached.entitlements(), ["export", "sync"], "{cached:?}");
}

#[tokio::test]
async fn a_desktop_lite_key_in_the_desktop_pro_app_is_a_signed_wrong_product() {
    let real = spawn().await;
    let key = real.key("5");
    let verdict = real.pro_app("pro", None).activate(&key).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::WrongProduct, Source::Online, false),
        "{verdict:?}"
    );
    assert_eq!(verdict.product(), Some("desktop-lite"));
    assert!(
        verdict.message.contains("another product (desktop-lite)"),
        "{}",
        verdict.message
    );
    // An app naming no product is licensed by it, as before products.
    let verdict = real.client().activate(&key).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::Valid, true),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn customer_6_licenses_builds_from_before_its_expiry_only() {
    let real = spawn().await;
    let key = real.key("6");
    let now = SystemClock.now();
    let old = real.pro_app("old-build", Some(now - 60 * DAY));
    let verdict = old.activate(&key).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::PerpetualFallback, Source::Online, true),
        "{verdict:?}"
    );
    assert!(verdict.has_entitlement("export"));
    assert!(verdict.offline_until.unwrap() > now, "{verdict:?}");
    let offline = old.check_offline();
    assert_eq!(
        (offline.code, offline.licensed),
        (Code::PerpetualFallback, true),
        "{offline:?}"
    );

    for (name, built) in [("new-build", Some(now - DAY)), ("undated-build", None)] {
        let verdict = real.pro_app(name, built).activate(&key).await.unwrap();
        assert_eq!(
            (verdict.code, verdict.licensed),
            (Code::Expired, false),
            "{name}: {verdict:?}"
        );
        assert!(
            verdict.message.contains("stay licensed"),
            "{name}: {}",
            verdict.message
        );
    }
}

#[tokio::test]
async fn keys_pinned_like_the_macro_pins_them_trust_the_broker_and_make_the_file_store_a_choice() {
    let real = spawn().await;
    // What `pinned_keys!` checks while the app compiles, checked here at run time.
    let text: &'static str = Box::leak(real.stack.trusted().to_text().into_boxed_str());
    let pinned = license_client::PinnedKeys::new(text);
    let builder = || {
        LicenseClient::builder()
            .broker_url(real.stack.url())
            .app_id("com.example.editor")
            .pinned_keys(pinned)
            .paths(Paths::in_dir(real.dir.path()))
            .fingerprint(Fingerprint::from_machine_id(
                "machine-a",
                "com.example.editor",
            ))
    };
    let file = || {
        Box::new(license_client::FileKeyStore::new(
            real.dir.path().join("data"),
        ))
    };
    assert!(matches!(
        builder().key_store(file()).build(),
        Err(license_client::BuildError::FileKeyStoreNotAllowed)
    ));
    let client = builder()
        .key_store_policy(license_client::KeyStorePolicy::File)
        .build()
        .unwrap();
    let verdict = client.activate(&real.key("1")).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, Source::Online),
        "{verdict:?}"
    );
    assert!(client.key_store_description().starts_with("file "));
    assert_eq!(client.check_offline().code, Code::Valid);
}

/// What a person reads is plain words; the HTTP library's chain of causes is the
/// detail, for the log.
fn assert_plain(message: &str) {
    for library_words in ["tcp connect", "os error", "client error", "(Connect)"] {
        assert!(
            !message.contains(library_words),
            "{library_words}: {message}"
        );
    }
    assert!(
        message.contains("could not be reached (connection refused)"),
        "{message}"
    );
}

#[tokio::test]
async fn a_broker_that_is_down_is_said_in_plain_words_with_the_cause_as_the_detail() {
    let mut real = spawn().await;
    let key = real.key("1");
    real.stop_broker().await;

    let error = real.client().activate(&key).await.unwrap_err();
    assert_eq!(error.kind(), license_client::ErrorKind::BrokerUnreachable);
    assert_plain(&error.to_string());
    let detail = error.detail().expect("the cause is kept");
    assert!(
        detail.to_lowercase().contains("connection refused"),
        "{detail}"
    );

    // A stored key without a lease: the check says the same.
    use license_client::KeyStore as _;
    real.store
        .set_key(&license_client::LicenseKeyText::new(key))
        .unwrap();
    let verdict = real.client().check().await;
    assert_eq!(verdict.code, Code::BrokerUnreachable, "{verdict:?}");
    assert_plain(&verdict.message);
    assert!(verdict.detail().is_some(), "{verdict:?}");
    assert_eq!(verdict.to_json()["detail"], verdict.detail().unwrap());
}

#[tokio::test]
async fn deactivating_a_license_that_limits_no_machines_says_it_was_removed() {
    let real = spawn().await;
    real.client().activate(&real.key("1")).await.unwrap();
    let verdict = real.client().deactivate().await.unwrap();
    assert_eq!(verdict.code, Code::Deactivated, "{verdict:?}");
    assert!(
        verdict
            .message
            .starts_with("The license was removed from this machine"),
        "{}",
        verdict.message
    );
    assert!(
        !verdict.message.contains("seat was freed"),
        "{}",
        verdict.message
    );

    // A license that limits machines (customer 4) frees this machine's seat.
    real.client().activate(&real.key("4")).await.unwrap();
    let verdict = real.client().deactivate().await.unwrap();
    assert!(
        verdict.message.starts_with("This machine's seat was freed"),
        "{}",
        verdict.message
    );
}

#[tokio::test]
async fn the_days_left_offline_are_counted_as_people_count_them() {
    let real = spawn().await;
    real.client().activate(&real.key("1")).await.unwrap();
    // One hour into the broker's offline grace: whatever the grace, the time left is
    // never rounded down to a whole day less than it is.
    real.clock.advance(3600);
    let verdict = real.client().check_offline();
    let until = verdict.offline_until.unwrap();
    let left = until - SystemClock.now() - 3600;
    let message = &verdict.message;
    // The grace is whole days, so an hour in, the last day is 23 hours short.
    assert!(left % DAY > 3600, "{left}");
    let days = left / DAY;
    assert!(
        message.contains(&format!("({days} days and 23 hours left)")),
        "{left} s left: {message}"
    );
    assert!(message.contains(" left)"), "{message}");
}

#[tokio::test]
async fn a_broker_url_with_any_userinfo_is_refused_and_the_password_never_shown() {
    let real = spawn().await;
    let addr = real.stack.addr();
    for url in [
        format!("http://:hunter2-secret@{addr}/"),
        format!("http://user:hunter2-secret@{addr}/"),
        format!("http://user@{addr}/"),
    ] {
        let error = real
            .builder()
            .broker_url(url.clone())
            .build()
            .err()
            .unwrap_or_else(|| panic!("{url} was accepted"));
        let shown = error.to_string();
        assert!(
            shown.contains("user name or password") && !shown.contains("hunter2"),
            "{url}: {shown}"
        );
    }
    // The same broker without userinfo is reached.
    let verdict = real
        .builder()
        .broker_url(format!("http://{addr}/"))
        .build()
        .unwrap()
        .activate(&real.key("1"))
        .await
        .unwrap();
    assert_eq!(verdict.code, Code::Valid, "{verdict:?}");
}
