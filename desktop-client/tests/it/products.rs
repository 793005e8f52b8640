//! Products and entitlements: the product an app names (sent, and checked in every
//! signed verdict), the entitlements a license signs, and the perpetual fallback of a
//! `MAINTAIN_ACCESS` license for builds released before its expiry.

use license_client::{
    format_time, BuildError, Code, Fingerprint, KeyStore, LicenseClient, Outcome, Paths, Source,
    Untrusted,
};

use crate::support::{license_key, trusted, Behaviour, Fixture, LicenseFacts, APP_ID, DAY, T0};

/// Customer 6's license: expired 30 days before the tests' start.
const EXPIRY: i64 = T0 - 30 * DAY;

fn pro(entitlements: Vec<&'static str>) -> LicenseFacts {
    LicenseFacts {
        entitlements,
        ..LicenseFacts::for_product("desktop-pro")
    }
}

/// A `desktop-pro` license that expired at [`EXPIRY`] and keeps access for older builds.
fn maintain_access() -> LicenseFacts {
    LicenseFacts {
        expiry_strategy: "MAINTAIN_ACCESS",
        expires_at: Some(EXPIRY),
        ..pro(vec!["export"])
    }
}

/// What the broker signs for such a license: `EXPIRED`, with a lease like a valid one.
fn expired_with_a_lease() -> Behaviour {
    Behaviour::Sign {
        code: "EXPIRED",
        offline: 7 * DAY,
        recheck: DAY,
    }
}

/// The fixture's `desktop-pro` app on machine-a, built at `build_time` (if any).
fn pro_app(fx: &Fixture, build_time: Option<i64>) -> LicenseClient {
    let mut builder = fx
        .builder()
        .product("desktop-pro")
        .fingerprint(Fingerprint::from_machine_id("machine-a", APP_ID));
    if let Some(built) = build_time {
        builder = builder.build_time(built);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn the_request_names_the_product_only_when_the_app_does() {
    let fx = Fixture::new().await;
    fx.broker.license(LicenseFacts {
        product: None,
        expiry_strategy: "REVOKE_ACCESS",
        ..LicenseFacts::default()
    });
    fx.client().activate(&license_key("1")).await.unwrap();
    // A license for no product in particular (an explicit null) licenses any app.
    let verdict = fx.client_for("desktop-pro").refresh().await;
    assert_eq!(
        (verdict.code, verdict.licensed, verdict.product()),
        (Code::Valid, true, None),
        "{verdict:?}"
    );
    let calls = fx.broker.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[0].1.get("product").is_none(),
        "an app naming no product sends nothing new: {}",
        calls[0].1
    );
    assert_eq!(calls[1].1["product"], "desktop-pro");
}

#[tokio::test]
async fn a_lease_that_names_no_product_does_not_license_an_app_that_names_one() {
    // The stand-in signs what a broker from before products signed: no
    // `license.product` member at all.
    let fx = Fixture::new().await;
    fx.client().activate(&license_key("1")).await.unwrap();
    // An app naming no product is licensed by it, as before.
    let verdict = fx.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::Valid, true),
        "{verdict:?}"
    );
    // The desktop-pro app refuses it online and as a lease.
    let pro = fx.client_for("desktop-pro");
    let verdict = pro.refresh().await;
    assert!(!verdict.licensed, "{verdict:?}");
    assert_eq!(verdict.code, Code::ResponseUntrusted, "{verdict:?}");
    assert!(
        verdict.message.contains("does not say which product"),
        "{}",
        verdict.message
    );
    let offline = pro.check_offline();
    assert!(!offline.licensed, "{offline:?}");
    assert!(
        offline.message.contains("does not say which product"),
        "{}",
        offline.message
    );
}

#[test]
fn a_product_must_be_a_product_code() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "desktop pro", "pro/../lite", "prö"] {
        let error = LicenseClient::builder()
            .app_id(APP_ID)
            .trusted_keys(trusted())
            .paths(Paths::in_dir(dir.path()))
            .machine_id("m")
            .key_store(Box::new(license_client::MemoryKeyStore::new()))
            .product(bad)
            .build()
            .unwrap_err();
        assert!(matches!(error, BuildError::Product(_)), "{bad:?}: {error}");
    }
}

#[tokio::test]
async fn entitlements_gate_features_only_while_licensed() {
    let fx = Fixture::new().await;
    fx.broker.license(pro(vec!["export", "sync"]));
    let app = fx.client_for("desktop-pro");
    let verdict = app.activate(&license_key("1")).await.unwrap();
    assert_eq!((verdict.code, verdict.licensed), (Code::Valid, true));
    assert_eq!(verdict.product(), Some("desktop-pro"));
    assert_eq!(verdict.entitlements(), ["export", "sync"]);
    assert!(verdict.has_entitlement("export") && verdict.has_entitlement("sync"));
    assert!(!verdict.has_entitlement("print"));

    // From the lease, fresh and offline: the same signed list.
    let cached = app.check().await;
    assert_eq!(cached.source, Source::Cache, "{cached:?}");
    assert!(cached.has_entitlement("export"), "{cached:?}");
    assert!(app.check_offline().has_entitlement("sync"));

    // A deny entitles to nothing, though it still names the product.
    fx.broker.set(Behaviour::deny("SUSPENDED"));
    let denied = app.refresh().await;
    assert_eq!(
        (denied.code, denied.licensed),
        (Code::Suspended, false),
        "{denied:?}"
    );
    assert!(!denied.has_entitlement("export"));
    assert!(denied.entitlements().is_empty());
    assert_eq!(denied.product(), Some("desktop-pro"));
}

#[tokio::test]
async fn an_app_naming_no_product_behaves_as_before() {
    let fx = Fixture::new().await;
    fx.broker.license(LicenseFacts {
        entitlements: vec!["export"],
        ..LicenseFacts::for_product("desktop-lite")
    });
    let verdict = fx.client().activate(&license_key("5")).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.licensed, verdict.source),
        (Code::Valid, true, Source::Online),
        "{verdict:?}"
    );
    let offline = fx.client().check_offline();
    assert_eq!((offline.code, offline.licensed), (Code::Valid, true));
    // The license's own facts are there to read; nothing is compared.
    assert_eq!(offline.product(), Some("desktop-lite"));
    assert!(offline.has_entitlement("export"));
    assert!(fx
        .broker
        .calls()
        .iter()
        .all(|(_, request)| request.get("product").is_none()));
}

#[tokio::test]
async fn wrong_product_is_a_signed_deny_that_replaces_the_lease() {
    let fx = Fixture::new().await;
    fx.broker.license(pro(vec!["export"]));
    let app = fx.client_for("desktop-pro");
    assert_eq!(
        app.activate(&license_key("1")).await.unwrap().code,
        Code::Valid
    );

    // The vendor moves the license to another product.
    fx.broker.license(LicenseFacts::for_product("desktop-lite"));
    let verdict = app.refresh().await;
    assert_eq!(
        (verdict.code, verdict.source, verdict.outcome()),
        (Code::WrongProduct, Source::Online, Outcome::NotLicensed),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("another product (desktop-lite)")
            && verdict.message.contains("(desktop-pro)"),
        "{}",
        verdict.message
    );
    assert!(!verdict.has_entitlement("export"));

    // The deny replaced the lease: with the broker down it still locks.
    fx.broker.set(Behaviour::Status(
        503,
        r#"{"error":"upstream_unavailable","message":"down"}"#,
    ));
    let cached = app.check().await;
    assert_eq!(
        (cached.code, cached.source, cached.licensed),
        (Code::WrongProduct, Source::Cache, false),
        "{cached:?}"
    );
    assert_eq!(app.check_offline().code, Code::WrongProduct);
}

#[tokio::test]
async fn activating_a_key_for_another_product_stores_nothing() {
    let fx = Fixture::new().await;
    fx.broker.license(LicenseFacts::for_product("desktop-lite"));
    let verdict = pro_app(&fx, None)
        .activate(&license_key("5"))
        .await
        .unwrap();
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::WrongProduct, false),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("another product"),
        "{}",
        verdict.message
    );
    assert!(verdict.message.contains("Nothing was stored"));
    assert!(fx.store.get_key().unwrap().is_none());
    assert!(!fx.paths().cache_file().exists());
}

#[tokio::test]
async fn an_allow_signed_for_another_product_is_not_believed() {
    let fx = Fixture::new().await;
    // A broker that does not compare products signs VALID for desktop-lite.
    fx.broker.license(LicenseFacts {
        ignore_requested_product: true,
        ..LicenseFacts::for_product("desktop-lite")
    });
    let app = pro_app(&fx, None);
    let error = app.activate(&license_key("5")).await.unwrap_err();
    assert!(
        matches!(error.untrusted(), Some(Untrusted::Product { .. })),
        "{error:?}"
    );
    assert!(fx.store.get_key().unwrap().is_none());

    // With the key stored (by the lite app) and no lease, a check licenses nothing.
    fx.client_for("desktop-lite")
        .activate(&license_key("5"))
        .await
        .unwrap();
    std::fs::remove_file(fx.paths().cache_file()).unwrap();
    let verdict = app.refresh().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::ResponseUntrusted, false),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("another product (desktop-lite)"),
        "{}",
        verdict.message
    );
}

#[tokio::test]
async fn a_lease_for_another_product_copied_into_this_app_licenses_nothing() {
    let fx = Fixture::new().await;
    fx.broker.license(LicenseFacts {
        entitlements: vec!["export"],
        ..LicenseFacts::for_product("desktop-lite")
    });
    // The lite app (same app id, same machine, same key store) activates.
    let lite = fx.client_for("desktop-lite");
    let verdict = lite.activate(&license_key("5")).await.unwrap();
    assert_eq!((verdict.code, verdict.licensed), (Code::Valid, true));

    // Its lease and marks, copied into the pro app's data directory, whatever that
    // directory is called: the pro app reads them as its own files.
    let copy_into = |name: &str| {
        let paths = Paths::in_dir(fx.dir.path().join(name));
        std::fs::create_dir_all(&paths.data_dir).unwrap();
        std::fs::copy(fx.paths().cache_file(), paths.cache_file()).unwrap();
        std::fs::copy(fx.paths().state_file(), paths.state_file()).unwrap();
        paths
    };
    let app_in = |paths: Paths, product: &str, broker: Option<&str>| {
        let mut builder = fx
            .builder()
            .paths(paths)
            .product(product)
            .fingerprint(Fingerprint::from_machine_id("machine-a", APP_ID));
        if let Some(url) = broker {
            builder = builder.broker_url(url);
        }
        builder.build().unwrap()
    };
    for name in ["desktop-pro", "desktop-lite", APP_ID] {
        let paths = copy_into(name);
        let pro = app_in(paths.clone(), "desktop-pro", None);
        let offline = pro.check_offline();
        assert!(!offline.licensed, "{name}: {offline:?}");
        assert_eq!(offline.code, Code::NoLease, "{name}: {offline:?}");
        assert!(
            offline.message.contains("another product (desktop-lite)"),
            "{name}: {}",
            offline.message
        );
        assert!(!offline.has_entitlement("export"));
        let unreachable = app_in(paths.clone(), "desktop-pro", Some("http://127.0.0.1:9"));
        let verdict = unreachable.check().await;
        assert_eq!(
            (verdict.code, verdict.outcome()),
            (Code::BrokerUnreachable, Outcome::Undetermined),
            "{name}: {verdict:?}"
        );

        // The very same bytes in the lite app: only the product differs.
        let lite_copy = app_in(paths, "desktop-lite", None);
        let control = lite_copy.check_offline();
        assert_eq!(
            (control.code, control.licensed),
            (Code::Valid, true),
            "{name}: {control:?}"
        );
        assert!(control.has_entitlement("export"));
    }

    // Online, the broker refuses the lite key in the pro app, and that deny replaces
    // the copied lease.
    let pro = app_in(copy_into("online"), "desktop-pro", None);
    let verdict = pro.check().await;
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::WrongProduct, Source::Online, false),
        "{verdict:?}"
    );
    assert_eq!(pro.check_offline().code, Code::WrongProduct);
}

#[tokio::test]
async fn an_old_build_stays_licensed_after_a_maintain_access_expiry() {
    let fx = Fixture::new().await;
    fx.broker.license(maintain_access());
    fx.broker.set(expired_with_a_lease());
    let built = EXPIRY - 90 * DAY;
    let app = pro_app(&fx, Some(built));
    let verdict = app.activate(&license_key("6")).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.licensed, verdict.source),
        (Code::PerpetualFallback, true, Source::Online),
        "{verdict:?}"
    );
    assert_eq!(verdict.outcome(), Outcome::Licensed);
    assert_eq!(verdict.code.as_str(), "PERPETUAL_FALLBACK");
    for needle in [
        format!("The license expired on {}", format_time(EXPIRY)),
        format!(
            "this build was released on {} before that",
            format_time(built)
        ),
        "so it stays licensed; newer builds need a renewal".to_owned(),
    ] {
        assert!(verdict.message.contains(&needle), "{}", verdict.message);
    }
    assert!(verdict.has_entitlement("export"));
    assert_eq!(verdict.offline_until, Some(T0 + 7 * DAY));
    assert!(fx.store.get_key().unwrap().is_some(), "the key is stored");

    // The lease answers like a valid one: fresh, then offline within its grace.
    let before = fx.broker.requests();
    let fresh = app.check().await;
    assert_eq!(
        (fresh.code, fresh.source, fresh.licensed),
        (Code::PerpetualFallback, Source::Cache, true),
        "{fresh:?}"
    );
    assert_eq!(fx.broker.requests(), before);
    fx.advance(2 * DAY);
    let offline = pro_app_offline(&fx, built).check().await;
    assert_eq!(
        (offline.code, offline.source, offline.licensed),
        (Code::PerpetualFallback, Source::Cache, true),
        "{offline:?}"
    );
    assert!(
        offline.message.contains("Using the saved license")
            && offline.message.contains("newer builds need a renewal"),
        "{}",
        offline.message
    );
    assert!(offline.has_entitlement("export"));

    // After the grace: as for a valid lease, go online.
    fx.advance(6 * DAY);
    let over = pro_app_offline(&fx, built).check().await;
    assert_eq!(
        (over.code, over.licensed),
        (Code::OfflineExpired, false),
        "{over:?}"
    );
}

fn pro_app_offline(fx: &Fixture, built: i64) -> LicenseClient {
    fx.builder()
        .broker_url("http://127.0.0.1:9")
        .product("desktop-pro")
        .build_time(built)
        .fingerprint(Fingerprint::from_machine_id("machine-a", APP_ID))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_build_released_after_the_expiry_is_expired() {
    for (build_time, needle) in [
        (Some(EXPIRY + DAY), "after that"),
        (Some(EXPIRY), "after that"),
        (None, "does not say when it was built"),
    ] {
        let fx = Fixture::new().await;
        fx.broker.license(maintain_access());
        fx.broker.set(expired_with_a_lease());
        let verdict = pro_app(&fx, build_time)
            .activate(&license_key("6"))
            .await
            .unwrap();
        assert_eq!(
            (verdict.code, verdict.licensed, verdict.outcome()),
            (Code::Expired, false, Outcome::NotLicensed),
            "{build_time:?}: {verdict:?}"
        );
        let builds = format!(
            "Builds released before {} stay licensed",
            format_time(EXPIRY)
        );
        assert!(
            verdict.message.contains(&builds) && verdict.message.contains(needle),
            "{build_time:?}: {}",
            verdict.message
        );
        assert!(!verdict.has_entitlement("export"));
        assert!(fx.store.get_key().unwrap().is_none(), "nothing is stored");
    }
}

#[tokio::test]
async fn revoke_access_ends_every_build_at_expiry() {
    let fx = Fixture::new().await;
    fx.broker.license(LicenseFacts {
        expiry_strategy: "REVOKE_ACCESS",
        ..maintain_access()
    });
    fx.broker.set(Behaviour::deny("EXPIRED"));
    let verdict = pro_app(&fx, Some(EXPIRY - 90 * DAY))
        .activate(&license_key("6"))
        .await
        .unwrap();
    assert_eq!((verdict.code, verdict.licensed), (Code::Expired, false));
    assert!(verdict.message.contains("Renew it"), "{}", verdict.message);
}

#[tokio::test]
async fn a_restored_fallback_lease_does_not_outlive_a_revocation() {
    let fx = Fixture::new().await;
    fx.broker.license(maintain_access());
    fx.broker.set(expired_with_a_lease());
    let app = pro_app(&fx, Some(EXPIRY - 90 * DAY));
    assert_eq!(
        app.activate(&license_key("6")).await.unwrap().code,
        Code::PerpetualFallback
    );
    let saved = fx.cache_text();
    fx.broker.set(Behaviour::deny("REVOKED"));
    assert_eq!(app.refresh().await.code, Code::Revoked);

    // An EXPIRED verdict is an allow for this build, so the newest-verdict rule holds
    // for it as for VALID: the old lease is never accepted again.
    std::fs::write(fx.paths().cache_file(), saved).unwrap();
    let verdict = app.check_offline();
    assert!(!verdict.licensed, "{verdict:?}");
    assert!(
        verdict
            .message
            .contains("before a verdict already accepted"),
        "{}",
        verdict.message
    );
}
