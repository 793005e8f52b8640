//! The decision rules end to end: the real client (verification, decision, cache,
//! marks) against the broker stand-in, with a fake clock, a temp dir and an in-memory
//! key store.

use std::time::Instant;

use crate::support::{self, license_key, Behaviour, Fixture, DAY};
use license_client::{Clock, Code, ErrorKind, KeyStore, Outcome, Source, Untrusted};
use license_shared::EnvelopeError;

async fn activated() -> Fixture {
    let fx = Fixture::new().await;
    let verdict = fx.client().activate(&license_key("1")).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::Valid, Source::Online, true),
        "{verdict:?}"
    );
    fx
}

#[tokio::test]
async fn valid_license_is_stored_and_then_answered_from_the_fresh_lease() {
    let fx = activated().await;
    assert!(fx.store.get_key().unwrap().is_some());
    let cache = fx.cache_text();
    assert!(
        !cache.contains(&license_key("1")),
        "the lease must not hold the key: {cache}"
    );
    // The envelope is kept exactly as served (pretty-printed by the stand-in).
    assert!(cache.contains(&fx.broker.last_served()), "{cache}");

    let before = fx.broker.requests();
    let verdict = fx.client().check().await;
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, Source::Cache),
        "{verdict:?}"
    );
    assert_eq!(
        fx.broker.requests(),
        before,
        "a fresh lease needs no network call"
    );
    assert_eq!(verdict.offline_until, Some(support::T0 + 7 * DAY));

    fx.advance(DAY + 1);
    let verdict = fx.client().check().await;
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, Source::Online),
        "{verdict:?}"
    );
    assert_eq!(
        fx.broker.requests(),
        before + 1,
        "past recheck_after the check goes online"
    );
}

#[tokio::test]
async fn a_verified_deny_locks_and_replaces_the_cached_allow() {
    for code in ["EXPIRED", "SUSPENDED", "REVOKED", "NOT_FOUND"] {
        let fx = activated().await;
        fx.broker.set(Behaviour::deny(code));
        let verdict = fx.client().refresh().await;
        assert_eq!(verdict.code.as_str(), code, "{verdict:?}");
        assert_eq!(
            (verdict.licensed, verdict.source, verdict.outcome()),
            (false, Source::Online, Outcome::NotLicensed)
        );
        assert!(
            verdict.message.contains("vendor") || verdict.message.contains("Renew"),
            "{}",
            verdict.message
        );

        // With the broker gone, the cached deny still locks: it replaced the allow.
        fx.broker.set(Behaviour::Status(
            503,
            r#"{"error":"upstream_unavailable","message":"ORDS is down"}"#,
        ));
        let verdict = fx.client().check().await;
        assert_eq!(
            (verdict.code.as_str(), verdict.source, verdict.licensed),
            (code, Source::Cache, false),
            "{verdict:?}"
        );
        let verdict = fx.client().check_offline();
        assert_eq!(verdict.code.as_str(), code);
    }
}

#[tokio::test]
async fn activation_with_a_deny_stores_nothing() {
    let fx = Fixture::new().await;
    fx.broker.set(Behaviour::deny("NOT_FOUND"));
    let verdict = fx.client().activate(&license_key("9")).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.outcome()),
        (Code::NotFound, Outcome::NotLicensed)
    );
    assert!(fx.store.get_key().unwrap().is_none());
    assert!(!fx.paths().cache_file().exists());
    assert_eq!(fx.client().check_offline().code, Code::NoLicense);
}

#[tokio::test]
async fn a_typo_in_the_key_is_caught_before_any_network_call() {
    let fx = Fixture::new().await;
    let mut key = license_key("1");
    key.replace_range(0..1, if key.starts_with('0') { "1" } else { "0" });
    let error = fx.client().activate(&key).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidKey, "{error:?}");
    assert!(error.to_string().contains("typo"), "{error}");
    assert!(!error.to_string().contains(&key));
    assert_eq!(fx.broker.requests(), 0);
}

#[tokio::test]
async fn broker_down_with_a_fresh_lease_is_licensed_from_the_cache() {
    let mut fx = activated().await;
    fx.advance(2 * DAY);
    for (behaviour, hint) in [
        (
            Behaviour::Status(
                503,
                r#"{"error":"upstream_unavailable","message":"ORDS is down"}"#,
            ),
            "ORDS is down",
        ),
        (
            Behaviour::Status(429, r#"{"error":"rate_limited","message":"slow down"}"#),
            "slow down",
        ),
        (Behaviour::Status(500, "<html>oops</html>"), "HTTP 500"),
        (Behaviour::Redirect, "redirect"),
        (Behaviour::Huge, "larger than"),
        (Behaviour::Hang, "did not answer"),
    ] {
        fx.broker.set(behaviour);
        let started = Instant::now();
        let verdict = fx.client().check().await;
        assert!(
            started.elapsed().as_secs_f64() < 2.0,
            "the total timeout bounds the check"
        );
        assert_eq!(
            (verdict.code, verdict.source, verdict.licensed),
            (Code::OfflineGrace, Source::Cache, true),
            "{verdict:?}"
        );
        assert!(
            verdict.message.contains(hint),
            "{hint}: {}",
            verdict.message
        );
        assert!(
            verdict.message.contains("5 days left"),
            "{}",
            verdict.message
        );
    }
    fx.broker.stop();
    let verdict = fx.client().check().await;
    assert_eq!(verdict.code, Code::OfflineGrace, "{verdict:?}");
    assert!(verdict.message.contains("proxy"), "{}", verdict.message);
}

#[tokio::test]
async fn broker_down_with_an_expired_lease_is_not_licensed() {
    let mut fx = activated().await;
    fx.broker.stop();
    fx.advance(6 * DAY);
    let verdict = fx.client().check().await;
    assert_eq!(verdict.code, Code::OfflineGrace);
    assert!(
        verdict
            .message
            .contains("Connect to the internet before then"),
        "under 48 h left: {}",
        verdict.message
    );
    fx.advance(DAY);
    let verdict = fx.client().check().await;
    assert_eq!(
        (verdict.code, verdict.licensed, verdict.outcome()),
        (Code::OfflineExpired, false, Outcome::NotLicensed),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn no_lease_and_no_broker_is_undetermined() {
    let mut fx = activated().await;
    std::fs::remove_file(fx.paths().cache_file()).unwrap();
    fx.broker.stop();
    let verdict = fx.client().check().await;
    assert_eq!(
        (verdict.code, verdict.outcome()),
        (Code::BrokerUnreachable, Outcome::Undetermined),
        "{verdict:?}"
    );
    assert_eq!(verdict.source, Source::Online);
    let verdict = fx.client().check_offline();
    assert_eq!(
        (verdict.code, verdict.outcome()),
        (Code::NoLease, Outcome::Undetermined)
    );
}

#[tokio::test]
async fn a_replayed_envelope_is_untrusted_and_cannot_undo_a_deny() {
    let fx = activated().await;
    let recorded_valid = fx.broker.last_served();
    fx.broker.set(Behaviour::Replay(recorded_valid.clone()));
    let error = fx.client().activate(&license_key("1")).await.unwrap_err();
    assert!(
        matches!(error.untrusted(), Some(Untrusted::Nonce)),
        "{error:?}"
    );

    fx.broker.set(Behaviour::deny("REVOKED"));
    assert_eq!(fx.client().refresh().await.code, Code::Revoked);
    fx.broker.set(Behaviour::Replay(recorded_valid));
    let verdict = fx.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::Revoked, false),
        "{verdict:?}"
    );
    assert!(verdict.message.contains("nonce"), "{}", verdict.message);

    std::fs::remove_file(fx.paths().cache_file()).unwrap();
    let verdict = fx.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.outcome()),
        (Code::ResponseUntrusted, Outcome::Undetermined),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn an_envelope_signed_by_an_unknown_key_is_refused() {
    let fx = Fixture::new().await;
    fx.broker.set(Behaviour::ForeignKey);
    let error = fx.client().activate(&license_key("1")).await.unwrap_err();
    assert!(
        matches!(
            error.untrusted(),
            Some(Untrusted::Envelope(EnvelopeError::UnknownKid(_)))
        ),
        "{error:?}"
    );
    assert!(fx.store.get_key().unwrap().is_none());
    assert!(!fx.paths().cache_file().exists());
}

#[tokio::test]
async fn a_tampered_payload_is_refused_and_does_not_extend_the_lease() {
    let fx = activated().await;
    fx.advance(2 * DAY);
    fx.broker.set(Behaviour::Tamper);
    let verdict = fx.client().check().await;
    assert_eq!(verdict.code, Code::OfflineGrace, "{verdict:?}");
    assert!(
        verdict.message.contains("signature does not verify"),
        "{}",
        verdict.message
    );
    assert_eq!(
        verdict.offline_until,
        Some(support::T0 + 7 * DAY),
        "grace is never extended by an untrusted answer"
    );
    let error = fx.client().activate(&license_key("1")).await.unwrap_err();
    assert!(
        matches!(
            error.untrusted(),
            Some(Untrusted::Envelope(EnvelopeError::BadSignature))
        ),
        "{error:?}"
    );
}

/// Rewrites the cached envelope's payload with `edit` applied, keeping the signature.
fn edit_cached_payload(fx: &Fixture, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut file: serde_json::Value = serde_json::from_str(&fx.cache_text()).unwrap();
    let payload = file["envelope"]["payload"].as_str().unwrap();
    let mut json: serde_json::Value =
        serde_json::from_slice(&license_shared::base64url_decode(payload).unwrap()).unwrap();
    edit(&mut json);
    file["envelope"]["payload"] =
        license_shared::base64url_encode(&serde_json::to_vec(&json).unwrap()).into();
    std::fs::write(fx.paths().cache_file(), serde_json::to_vec(&file).unwrap()).unwrap();
}

#[tokio::test]
async fn an_edited_cache_file_is_no_lease() {
    let mut fx = activated().await;
    fx.broker.stop();
    fx.advance(8 * DAY);
    edit_cached_payload(&fx, |p| {
        p["policy"]["offline_until"] = (support::T0 + 30 * DAY).into()
    });
    let verdict = fx.client().check().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::BrokerUnreachable, false),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("signature does not verify"),
        "{}",
        verdict.message
    );

    for junk in ["", "{", "null", "{\"format\":1}", "\u{0}\u{1}"] {
        std::fs::write(fx.paths().cache_file(), junk).unwrap();
        let verdict = fx.client().check_offline();
        assert_eq!(
            (verdict.code, verdict.licensed),
            (Code::NoLease, false),
            "{junk:?}: {verdict:?}"
        );
        assert!(
            verdict.message.contains("license.json"),
            "{}",
            verdict.message
        );
    }
}

#[tokio::test]
async fn a_cache_copied_from_another_machine_does_not_count() {
    let mut fx = activated().await;
    fx.broker.stop();
    let verdict = fx.client_on("machine-b").check().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::BrokerUnreachable, false),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("another machine"),
        "{}",
        verdict.message
    );
    assert_eq!(
        fx.client().check().await.code,
        Code::Valid,
        "the original machine still uses it"
    );
}

#[tokio::test]
async fn a_rolled_back_clock_is_caught_by_the_high_water_mark() {
    let fx = activated().await;
    fx.advance(3 * DAY);
    fx.broker.set(Behaviour::Status(503, "{}"));
    assert_eq!(fx.client().check().await.code, Code::OfflineGrace);
    // Back to the day after activation: inside the lease, but before a time already seen.
    fx.clock.set(support::T0 + DAY + 60);
    let verdict = fx.client().check_offline();
    assert_eq!(
        (verdict.code, verdict.licensed, verdict.outcome()),
        (Code::ClockRollback, false, Outcome::NotLicensed),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("Fix the system clock"),
        "{}",
        verdict.message
    );
    // Online, the broker's signed time disagrees too: still not licensed.
    fx.broker.set(Behaviour::valid());
    let verdict = fx.client().check().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::ClockRollback, false),
        "{verdict:?}"
    );
    // Deleting the state file does not help: the key store keeps a copy.
    std::fs::remove_file(fx.paths().state_file()).unwrap();
    assert_eq!(fx.client().check_offline().code, Code::ClockRollback);
    // Fixing the clock heals it.
    fx.clock.set(fx.broker_clock.now());
    assert_eq!(fx.client().check().await.code, Code::Valid);
}

#[tokio::test]
async fn an_old_valid_cache_restored_after_a_deny_is_refused() {
    let fx = activated().await;
    let old_cache = std::fs::read(fx.paths().cache_file()).unwrap();
    let old_state = std::fs::read(fx.paths().state_file()).unwrap();
    fx.advance(3600);
    fx.broker.set(Behaviour::deny("REVOKED"));
    assert_eq!(fx.client().refresh().await.code, Code::Revoked);

    std::fs::write(fx.paths().cache_file(), old_cache).unwrap();
    std::fs::write(fx.paths().state_file(), old_state).unwrap();
    fx.broker.set(Behaviour::Status(503, "{}"));
    for verdict in [fx.client().check_offline(), fx.client().check().await] {
        assert!(!verdict.licensed, "{verdict:?}");
        assert!(
            verdict.message.contains("never accepted again"),
            "{}",
            verdict.message
        );
    }
    fx.broker.set(Behaviour::deny("REVOKED"));
    assert_eq!(fx.client().refresh().await.code, Code::Revoked);
}

#[tokio::test]
async fn clock_skew_online_is_not_a_lockout_while_the_lease_is_good() {
    let fx = Fixture::new().await;
    fx.broker_clock.advance(10 * 60);
    let verdict = fx.client().activate(&license_key("1")).await.unwrap();
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::ClockSkew, false),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("10 minutes behind"),
        "{}",
        verdict.message
    );
    assert!(
        fx.store.get_key().unwrap().is_none(),
        "nothing is activated on a wrong clock"
    );

    fx.clock.set(fx.broker_clock.now());
    fx.client().activate(&license_key("1")).await.unwrap();
    fx.clock.advance(-10 * 60);
    let verdict = fx.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::OfflineGrace, true),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("Fix the system clock"),
        "{}",
        verdict.message
    );

    // A skewed deny still locks.
    fx.broker.set(Behaviour::deny("SUSPENDED"));
    let verdict = fx.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::Suspended, false),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn deactivate_removes_key_and_lease_but_not_the_marks() {
    let fx = activated().await;
    let verdict = fx.client().deactivate().await.unwrap();
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Deactivated, Source::Online)
    );
    // Nothing left to free a seat with: a second deactivation says so.
    let again = fx.client().deactivate().await.unwrap_err();
    assert!(
        again.kind() == ErrorKind::NoLicense
            && again.to_string().starts_with("no license key is stored"),
        "{again:?}"
    );
    assert!(fx.store.get_key().unwrap().is_none());
    assert!(!fx.paths().cache_file().exists());
    assert!(fx.store.get_marks().unwrap().is_some());
    assert_eq!(fx.client().check().await.code, Code::NoLicense);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_blocking_inside_a_runtime_does_not_panic() {
    let fx = activated().await;
    let client = fx.client();
    let verdict = tokio::task::block_in_place(|| client.check_blocking());
    assert_eq!(verdict.code, Code::Valid);
}

#[test]
fn check_blocking_outside_a_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fx = runtime.block_on(activated());
    let _guard = runtime.enter();
    drop(_guard);
    fx.advance(DAY + 1);
    let verdict = fx.client().check_blocking();
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, Source::Online),
        "{verdict:?}"
    );
}

#[test]
fn activate_blocking_outside_a_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fx = runtime.block_on(Fixture::new());
    let mut typo = license_key("1");
    typo.replace_range(0..1, if typo.starts_with('0') { "1" } else { "0" });
    let error = fx.client().activate_blocking(&typo).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidKey, "{error:?}");
    assert_eq!(fx.broker.requests(), 0, "a typo never reaches the network");

    let verdict = fx.client().activate_blocking(&license_key("1")).unwrap();
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::Valid, Source::Online, true),
        "{verdict:?}"
    );
    assert_eq!(fx.broker.requests(), 1);
    assert!(fx.store.get_key().unwrap().is_some());
    // The lease it stored answers the next start without the network.
    let verdict = fx.client().check_blocking();
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, Source::Cache),
        "{verdict:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_blocking_inside_a_runtime_does_not_panic() {
    let fx = Fixture::new().await;
    let client = fx.client();
    let verdict =
        tokio::task::block_in_place(|| client.activate_blocking(&license_key("1"))).unwrap();
    assert_eq!(
        (verdict.code, verdict.source),
        (Code::Valid, Source::Online)
    );
    assert!(fx.store.get_key().unwrap().is_some());
}

#[tokio::test]
async fn the_key_never_shows_in_errors_or_debug() {
    let fx = activated().await;
    let key = license_key("1");
    fx.broker.set(Behaviour::Tamper);
    let error = fx.client().activate(&key).await.unwrap_err();
    let shown = format!(
        "{error} {error:?} {:?} {:?}",
        fx.client(),
        fx.store.get_key().unwrap()
    );
    let verdict = fx.client().refresh().await;
    let shown = format!("{shown} {verdict:?}");
    assert!(
        !shown.contains(&key) && !shown.contains(&key.replace('-', "")),
        "{shown}"
    );
}

#[tokio::test]
async fn a_skewed_refresh_does_not_lock_out_the_next_start() {
    let fx = activated().await;
    // The broker's clock (the true time) moves on; this machine's clock lags 10+ minutes.
    fx.broker_clock.advance(10 * 60);
    for _ in 0..2 {
        fx.broker_clock.advance(60);
        let verdict = fx.client().refresh().await;
        assert_eq!(
            (verdict.code, verdict.licensed),
            (Code::OfflineGrace, true),
            "{verdict:?}"
        );
        // A restart: a new client reading the same files.
        let verdict = fx.client().check_offline();
        assert!(verdict.licensed, "{verdict:?}");
        let verdict = fx.client().check().await;
        assert!(verdict.licensed, "{verdict:?}");
    }
    // Days later, still skewed and past recheck_after: online says CLOCK_SKEW, the
    // lease (good until T0 + 7 days) keeps the app running, online and offline.
    fx.advance(3 * DAY);
    let verdict = fx.client().check().await;
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::OfflineGrace, true),
        "{verdict:?}"
    );
    let verdict = fx.client().check_offline();
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::OfflineGrace, true),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_fresh_deny_from_a_replica_whose_clock_is_behind_still_locks() {
    let fx = activated().await;
    let allow = std::fs::read(fx.paths().cache_file()).unwrap();
    // Another broker replica answers; its clock is 5 s behind the one that signed the
    // lease. Its fresh (nonce-bound) answers count, though their iat is older.
    fx.broker_clock.advance(-5);
    let verdict = fx.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::Valid, Source::Online, true),
        "{verdict:?}"
    );
    assert!(
        fx.client().check_offline().licensed,
        "the newer lease stays"
    );

    fx.broker.set(Behaviour::deny("REVOKED"));
    let verdict = fx.client().refresh().await;
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::Revoked, Source::Online, false),
        "{verdict:?}"
    );
    // The deny replaced the cached allow.
    fx.broker.set(Behaviour::Status(503, "{}"));
    for verdict in [fx.client().check().await, fx.client().check_offline()] {
        assert_eq!(
            (verdict.code, verdict.source, verdict.licensed),
            (Code::Revoked, Source::Cache, false),
            "{verdict:?}"
        );
    }
    // Restoring the allow it replaced (signed 5 s after the deny) brings nothing back.
    std::fs::write(fx.paths().cache_file(), allow).unwrap();
    for verdict in [fx.client().check().await, fx.client().check_offline()] {
        assert!(!verdict.licensed, "{verdict:?}");
        assert!(
            verdict.message.contains("never accepted again"),
            "{}",
            verdict.message
        );
    }
}

#[tokio::test]
async fn a_lease_relabelled_for_another_license_key_does_not_count() {
    // Key 2 activated on this same machine (elsewhere): a genuine lease for license 2.
    let other = Fixture::new().await;
    other.client().activate(&license_key("2")).await.unwrap();
    let mut lease: serde_json::Value = serde_json::from_str(&other.cache_text()).unwrap();

    let mut fx = activated().await;
    let mine: serde_json::Value = serde_json::from_str(&fx.cache_text()).unwrap();
    // The key hash is not signed: relabel license 2's lease for key 1.
    lease["key_hash"] = mine["key_hash"].clone();
    std::fs::write(fx.paths().cache_file(), serde_json::to_vec(&lease).unwrap()).unwrap();
    fx.broker.stop();
    let offline = fx.client().check_offline();
    let online = fx.client().check().await;
    for verdict in [&offline, &online] {
        assert!(!verdict.licensed, "{verdict:?}");
        assert!(
            verdict.message.contains("another license"),
            "{}",
            verdict.message
        );
    }
    assert_eq!(
        (offline.code, online.code),
        (Code::NoLease, Code::BrokerUnreachable)
    );
}

#[tokio::test]
async fn an_answer_about_another_license_is_untrusted() {
    let fx = activated().await;
    let lease = fx.cache_text();
    fx.advance(2 * DAY);
    fx.broker.set(Behaviour::ForLicense("2"));
    let verdict = fx.client().check().await;
    assert_eq!(
        (verdict.code, verdict.source, verdict.licensed),
        (Code::OfflineGrace, Source::Cache, true),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("another license"),
        "{}",
        verdict.message
    );
    assert_eq!(
        verdict.offline_until,
        Some(support::T0 + 7 * DAY),
        "an answer about another license never extends the lease"
    );
    let error = fx.client().activate(&license_key("1")).await.unwrap_err();
    assert!(
        matches!(error.untrusted(), Some(Untrusted::License)),
        "{error:?}"
    );
    assert_eq!(fx.cache_text(), lease, "the lease is unchanged");
}

#[tokio::test]
async fn extreme_marks_in_state_json_do_not_panic() {
    let fx = activated().await;
    // The activation's newest_iat is T0: equal marks reach the high-water comparison.
    for (high_water, newest_iat) in [
        (i64::MIN, support::T0),
        (i64::MIN, i64::MIN),
        (i64::MIN, 0),
        (i64::MAX, i64::MIN),
        (i64::MAX, support::T0),
        (0, i64::MAX),
        (i64::MAX, i64::MAX),
    ] {
        let state = format!(r#"{{"high_water":{high_water},"newest_iat":{newest_iat}}}"#);
        std::fs::write(fx.paths().state_file(), &state).unwrap();
        let offline = fx.client().check_offline();
        let online = fx.client().check().await;
        if high_water == i64::MIN && newest_iat <= support::T0 {
            // The key store's copy of the marks still holds; nothing is lost.
            assert!(
                offline.licensed && online.licensed,
                "{state}: {offline:?} {online:?}"
            );
        } else {
            assert!(!offline.licensed, "{state}: {offline:?}");
        }
        // Reset for the next case: the key store's copy took the larger values.
        fx.store
            .set_marks(license_client::Marks {
                high_water: support::T0,
                newest_iat: support::T0,
            })
            .unwrap();
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_cache_or_state_file_pointing_at_a_device_is_refused() {
    let fx = activated().await;
    for file in [fx.paths().cache_file(), fx.paths().state_file()] {
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &file).unwrap();
    }
    let verdict = fx.client().check_offline();
    assert_eq!(
        (verdict.code, verdict.licensed),
        (Code::NoLease, false),
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("not a regular file"),
        "{}",
        verdict.message
    );
}

#[tokio::test]
async fn a_lease_is_never_used_offline_past_30_days_from_its_iat() {
    let mut fx = Fixture::new().await;
    // A misconfigured (or compromised) broker signs 90 days offline.
    fx.broker.set(Behaviour::Sign {
        code: "VALID",
        offline: 90 * DAY,
        recheck: 90 * DAY,
    });
    let verdict = fx.client().activate(&license_key("1")).await.unwrap();
    assert_eq!(verdict.code, Code::Valid, "{verdict:?}");
    assert_eq!(verdict.offline_until, Some(support::T0 + 30 * DAY));
    fx.broker.stop();
    fx.advance(30 * DAY - 60);
    let verdict = fx.client().check_offline();
    assert!(verdict.licensed, "{verdict:?}");
    assert_eq!(verdict.offline_until, Some(support::T0 + 30 * DAY));
    fx.advance(120);
    for verdict in [fx.client().check_offline(), fx.client().check().await] {
        assert_eq!(
            (verdict.code, verdict.licensed),
            (Code::OfflineExpired, false),
            "{verdict:?}"
        );
    }
}
