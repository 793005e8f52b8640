//! The client against the real broker and the ORDS emulator over HTTP: the article's
//! seed (customer 1 valid, 2 expired, 3 suspended, anything else absent), the real
//! token manager, the broker's own signing key pinned as the client's trusted key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use license_broker::api::{self, AppState};
use license_broker::config::Config;
use license_broker::config_sources::Sources;
use license_broker::env_vars as var;
use license_broker::signer::Signer;
use license_client::{
    ActivateError, Clock, Code, Fingerprint, LicenseClient, ManualClock, MemoryKeyStore, Outcome,
    Paths, Source, SystemClock,
};
use license_shared::{CustomerId, Keyset, LicenseKey, MAC_LEN};

const DAY: i64 = 86_400;

struct Real {
    config: Config,
    broker_url: String,
    dir: tempfile::TempDir,
    store: Arc<MemoryKeyStore>,
    clock: ManualClock,
    _emulator: ords_emulator::RunningEmulator,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn spawn() -> Real {
    let emulator = ords_emulator::spawn(
        ords_emulator::Seed::article_default(),
        ords_emulator::EmulatorOptions::default(),
        Arc::new(ords_emulator::SystemClock),
    )
    .await;
    let (client_id, secret) = emulator
        .client_credentials(ords_emulator::ARTICLE_CLIENT)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.pem");
    std::fs::write(&key, Signer::generate().to_pem().unwrap()).unwrap();
    let key_secret = dir.path().join("key-secret");
    std::fs::write(&key_secret, "Zx8Qm3Vt6Wp1Ls4Kd9Hf2Jr7Bn5Cg0Ye\n").unwrap();
    #[cfg(unix)]
    for file in [&key, &key_secret] {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let env: HashMap<String, String> = HashMap::from([
        (var::ORDS_BASE_URL.into(), emulator.schema_url.clone()),
        (var::CLIENT_ID.into(), client_id),
        (var::CLIENT_SECRET.into(), secret),
        (var::SIGNING_KEY_FILE.into(), key.display().to_string()),
        (
            var::KEY_SECRET_FILE.into(),
            key_secret.display().to_string(),
        ),
    ]);
    let sources = Sources::new(None, move |name| env.get(name).cloned()).unwrap();
    let config = Config::from_sources(&sources).unwrap();
    let tokens = license_broker::run::token_source(&config).unwrap();
    let state = AppState::from_config(&config, tokens).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let broker_url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(api::serve(listener, state, async move {
        let _ = rx.await;
    }));
    Real {
        config,
        broker_url,
        dir,
        store: Arc::new(MemoryKeyStore::new()),
        clock: ManualClock::new(SystemClock.now()),
        _emulator: emulator,
        shutdown: Some(tx),
    }
}

impl Real {
    fn key(&self, id: &str) -> String {
        self.config
            .license_keys
            .mint(&CustomerId::parse(id).unwrap())
    }

    fn client(&self) -> LicenseClient {
        LicenseClient::builder()
            .broker_url(&self.broker_url)
            .app_id("com.example.editor")
            .app_version("1.0.0")
            .trusted_keys(Keyset::new().with_key(self.config.signer.verifying_key()))
            .total_timeout(Duration::from_secs(5))
            .key_store(Box::new(Arc::clone(&self.store)))
            .paths(Paths::in_dir(self.dir.path()))
            .clock(Arc::new(self.clock.clone()))
            .fingerprint(Fingerprint::from_machine_id(
                "machine-a",
                "com.example.editor",
            ))
            .build()
            .unwrap()
    }

    fn stop_broker(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
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

    real.stop_broker();
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
        .broker_url(&real.broker_url)
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
    assert!(matches!(error, ActivateError::Untrusted(_)), "{error:?}");
}
