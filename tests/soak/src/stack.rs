//! The ORDS emulator and the broker in this process on loopback, as the e2e stack
//! does it, plus what a soak needs: a secret file it can rotate, and a broker it can
//! stop and start again on the same port.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

/// A running emulator and a broker that can be stopped and restarted.
pub struct Stack {
    pub emulator: RunningEmulator,
    /// The broker's listen address (kept across restarts).
    pub broker_addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub broker_url: String,
    /// The broker's verifying key.
    pub trusted_keys: Keyset,
    /// The configuration the broker runs with (deadlines, TTLs, limits).
    pub config: Config,
    /// The file the broker reads its OAuth client secret from.
    pub secret_file: PathBuf,
    /// The slot (1 or 2) of the emulator client's secret in use.
    pub secret_slot: u8,
    license_keys: LicenseKeys,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    broker: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Stack {
    /// Starts the article's ORDS and a broker; `overrides` are broker environment
    /// settings on top of the defaults.
    pub async fn start(overrides: &[(&str, &str)]) -> anyhow::Result<Self> {
        let emulator = ords_emulator::spawn(
            Seed::article_default(),
            EmulatorOptions::default(),
            Arc::new(SystemClock),
        )
        .await;
        let (client_id, client_secret) = emulator
            .client_credentials(ARTICLE_CLIENT)
            .context("the article seed has no license_backend_client")?;
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let secret_file = dir.path().join("client-secret");
        write_private(&secret_file, client_secret.as_bytes())?;
        let mut env = broker_env(dir.path(), &emulator.schema_url, &client_id, &secret_file)?;
        for (name, value) in overrides {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        let sources = Sources::new(None, move |name| env.get(name).cloned())?;
        let config = Config::from_sources(&sources)?;
        let trusted_keys = Keyset::new().with_key(config.signer.verifying_key());
        let license_keys = config.license_keys.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let broker_addr = listener.local_addr()?;
        let mut stack = Self {
            emulator,
            broker_addr,
            broker_url: format!("http://{broker_addr}"),
            trusted_keys,
            config,
            secret_file,
            secret_slot: 1,
            license_keys,
            _dir: dir,
            shutdown: None,
            broker: None,
        };
        stack.serve(listener);
        Ok(stack)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (tx, rx) = oneshot::channel::<()>();
        self.broker = Some(tokio::spawn(license_broker::run::serve(
            self.config.clone(),
            listener,
            async move {
                let _ = rx.await;
            },
        )));
        self.shutdown = Some(tx);
    }

    /// Whether the broker is serving.
    pub fn broker_running(&self) -> bool {
        self.broker.is_some()
    }

    /// Stops the broker (in-flight requests get up to `grace`) and waits for it.
    pub async fn stop_broker(&mut self, grace: Duration) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.broker.take() {
            match tokio::time::timeout(grace, task).await {
                Ok(joined) => joined.context("the broker task panicked")??,
                Err(_) => anyhow::bail!("the broker did not stop within {grace:?}"),
            }
        }
        Ok(())
    }

    /// Starts the broker again on the same address (retrying the bind briefly).
    pub async fn start_broker(&mut self) -> anyhow::Result<()> {
        if self.broker.is_some() {
            return Ok(());
        }
        let mut last = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(self.broker_addr).await {
                Ok(listener) => {
                    self.serve(listener);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(anyhow::anyhow!(
            "cannot bind {} again: {last:?}",
            self.broker_addr
        ))
    }

    /// A license key for `customer_id`, as `license-broker issue-key` prints it.
    pub fn issue_key(&self, customer_id: &str) -> anyhow::Result<String> {
        Ok(self.license_keys.mint(&CustomerId::parse(customer_id)?))
    }

    /// A well-formed key whose MAC was made with a secret the broker does not have.
    pub fn forge_key(&self, customer_id: &str) -> anyhow::Result<String> {
        let mut secret = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let forger = LicenseKeys::new(secret).map_err(anyhow::Error::msg)?;
        Ok(forger.mint(&CustomerId::parse(customer_id)?))
    }

    /// Rotates the OAuth client secret the way an operator does: a new secret in the
    /// free slot, written into the broker's secret file, then the old slot revoked
    /// (with the tokens it issued when `revoke_sessions`).
    pub fn rotate_secret(&mut self, revoke_sessions: bool) -> anyhow::Result<()> {
        let new_slot = if self.secret_slot == 1 { 2 } else { 1 };
        let secret = self
            .emulator
            .register_client_secret(ARTICLE_CLIENT, new_slot, None)
            .context("the emulator refused a new client secret")?;
        write_private(&self.secret_file, secret.as_bytes())?;
        anyhow::ensure!(
            self.emulator
                .revoke_client_secret(ARTICLE_CLIENT, self.secret_slot, revoke_sessions),
            "the emulator refused to revoke the old secret"
        );
        self.secret_slot = new_slot;
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
fn broker_env(
    dir: &Path,
    ords: &str,
    client_id: &str,
    secret_file: &Path,
) -> anyhow::Result<HashMap<String, String>> {
    let signing_key = dir.join("signing-key.pem");
    write_private(
        &signing_key,
        Signer::generate()
            .to_pem()
            .map_err(anyhow::Error::msg)?
            .as_bytes(),
    )?;
    let key_secret = dir.join("key-secret");
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    write_private(&key_secret, STANDARD.encode(secret).as_bytes())?;
    Ok(HashMap::from([
        (var::ORDS_BASE_URL.into(), ords.into()),
        (var::CLIENT_ID.into(), client_id.into()),
        (
            var::CLIENT_SECRET_FILE.into(),
            secret_file.display().to_string(),
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

/// A broker configuration against any ORDS (a literal-JSON stand-in, say), with fresh
/// key files in `dir`; `overrides` win over the defaults.
pub fn config_for(
    dir: &Path,
    ords: &str,
    client_id: &str,
    client_secret: &str,
    overrides: &[(&str, &str)],
) -> anyhow::Result<Config> {
    let secret_file = dir.join("client-secret");
    write_private(&secret_file, client_secret.as_bytes())?;
    let mut env = broker_env(dir, ords, client_id, &secret_file)?;
    for (name, value) in overrides {
        env.insert((*name).to_owned(), (*value).to_owned());
    }
    let sources = Sources::new(None, move |name| env.get(name).cloned())?;
    Ok(Config::from_sources(&sources)?)
}

/// Serves `config` on a fresh loopback port for as long as the runtime runs; returns
/// the broker's base URL.
pub async fn spawn_broker(config: Config) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(license_broker::run::serve(
        config,
        listener,
        std::future::pending(),
    ));
    Ok(url)
}

/// Writes a key file with mode 0600, as the broker asks of them.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
