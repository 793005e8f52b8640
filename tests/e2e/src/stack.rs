//! The ORDS emulator and the broker, started in this process on loopback ports, with
//! key material made fresh in a temporary directory: what the demo talks to.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use license_broker::config::Config;
use license_broker::config_sources::Sources;
use license_broker::env_vars as var;
use license_broker::license_keys::LicenseKeys;
use license_broker::signer::Signer;
use license_shared::{CustomerId, Keyset};
use ords_emulator::{EmulatorOptions, RunningEmulator, Seed, SystemClock, ARTICLE_CLIENT};
use rand::RngCore as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running emulator and broker; both stop when this is dropped.
pub struct Stack {
    pub emulator: RunningEmulator,
    /// `http://127.0.0.1:PORT`, what a desktop app is configured with.
    pub broker_url: String,
    /// The broker's verifying key, as an app pins it at build time.
    pub trusted_keys: Keyset,
    /// The OAuth client id and secret the broker holds (the demo shows the desktop
    /// never sees them).
    pub client_id: String,
    pub client_secret: String,
    license_keys: LicenseKeys,
    dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    broker: Option<JoinHandle<anyhow::Result<()>>>,
}

/// An emulator alone, for the steps that talk to ORDS directly.
pub async fn emulator(seed: Seed) -> RunningEmulator {
    ords_emulator::spawn(seed, EmulatorOptions::default(), Arc::new(SystemClock)).await
}

impl Stack {
    /// Starts the article's ORDS and a broker in front of it. `overrides` are broker
    /// environment settings (names from the contract) applied on top of the defaults.
    pub async fn start(overrides: &[(&str, &str)]) -> anyhow::Result<Self> {
        let emulator = emulator(Seed::article_default()).await;
        let (client_id, client_secret) = emulator
            .client_credentials(ARTICLE_CLIENT)
            .context("the article seed has no license_backend_client")?;
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let mut env = broker_env(dir.path(), &emulator.schema_url, &client_id)?;
        std::fs::write(dir.path().join("client-secret"), &client_secret)?;
        restrict(&dir.path().join("client-secret"))?;
        for (name, value) in overrides {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        let sources = Sources::new(None, move |name| env.get(name).cloned())?;
        let config = Config::from_sources(&sources)?;
        let trusted_keys = Keyset::new().with_key(config.signer.verifying_key());
        let license_keys = config.license_keys.clone();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let broker_url = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = oneshot::channel::<()>();
        let broker = tokio::spawn(license_broker::run::serve(config, listener, async move {
            let _ = rx.await;
        }));
        Ok(Self {
            emulator,
            broker_url,
            trusted_keys,
            client_id,
            client_secret,
            license_keys,
            dir,
            shutdown: Some(tx),
            broker: Some(broker),
        })
    }

    /// A license key for `customer_id`, as `license-broker issue-key` prints it.
    pub fn issue_key(&self, customer_id: &str) -> anyhow::Result<String> {
        let id = CustomerId::parse(customer_id)?;
        Ok(self.license_keys.mint(&id))
    }

    /// A key in the right format for `customer_id` whose MAC was made with a secret the
    /// broker does not have: what an attacker who knows the format can produce.
    pub fn forge_key(&self, customer_id: &str) -> anyhow::Result<String> {
        let mut secret = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let forger = LicenseKeys::new(secret).map_err(anyhow::Error::msg)?;
        Ok(forger.mint(&CustomerId::parse(customer_id)?))
    }

    /// A directory that lives as long as the stack (for the client's files).
    pub fn scratch(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Stops the broker and waits for it.
    pub async fn stop_broker(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.broker.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The broker's settings: the ORDS schema root, the client, and fresh key files.
fn broker_env(dir: &Path, ords: &str, client_id: &str) -> anyhow::Result<HashMap<String, String>> {
    let signing_key = dir.join("signing-key.pem");
    std::fs::write(
        &signing_key,
        Signer::generate().to_pem().map_err(anyhow::Error::msg)?,
    )?;
    restrict(&signing_key)?;
    let key_secret = dir.join("key-secret");
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    std::fs::write(&key_secret, STANDARD.encode(secret))?;
    restrict(&key_secret)?;
    Ok(HashMap::from([
        (var::ORDS_BASE_URL.into(), ords.into()),
        (var::CLIENT_ID.into(), client_id.into()),
        (
            var::CLIENT_SECRET_FILE.into(),
            dir.join("client-secret").display().to_string(),
        ),
        (
            var::SIGNING_KEY_FILE.into(),
            signing_key.display().to_string(),
        ),
        (
            var::KEY_SECRET_FILE.into(),
            key_secret.display().to_string(),
        ),
    ]))
}

/// Key files are 0600, as the broker asks of them in production.
fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    let _ = path;
    Ok(())
}
