//! The one way the test suites, `license-demo`, the soak and the benchmarks start the
//! stack: the ORDS emulator (or any ORDS stand-in), the broker's key files in a
//! temporary directory, its settings, and the broker itself served in this process by
//! [`license_broker::Broker`] on a `127.0.0.1:0` listener, so every suite runs the code
//! production runs and no two suites drift apart in how they set it up.
//!
//! - [`Stack`] / [`StackBuilder`]: a running broker (and emulator) with its URL, trusted
//!   keyset, license keys, stop and restart, and a desktop client builder pointed at it.
//! - [`BrokerEnv`]: the key files and the settings alone, for suites that run the
//!   `license-broker` binary as a process or want a [`Config`] without serving it.
//! - [`emulator`]: the emulator alone.
//! - [`init_test_log`]: tests are silent unless `TEST_LOG` is set.
//! - [`LogCapture`]: a test's own log lines, as text or JSON.
//! - [`keep_tracing_callsites_interested`]: before a test captures log lines.
//! - [`install_panic_counter`] / [`panics`]: a panic anywhere in the process, even in a
//!   task Tokio caught, becomes visible to the test that caused it.
//! - [`ords_bodies`]: ORDS answer bodies for proptest and this side's reading of them.
//! - [`layers`]: a crate's module graph and function lengths, read from its source,
//!   for each crate's layers test.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use anyhow::Context as _;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use license_broker::token::TokenSource;
use license_broker::{vars as var, Broker, Config, LicenseKeys, ServeError, Signer, Sources};
use license_client::{LicenseClient, LicenseClientBuilder};
use license_shared::{base64url_encode, CustomerId, Keyset};
use ords_emulator::{EmulatorOptions, RunningEmulator, Seed, SystemClock, ARTICLE_CLIENT};
use rand::RngCore as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod layers;
pub mod ords_bodies;

pub use ords_emulator;

/// The client id the broker presents to an ORDS stand-in (the emulator's article seed
/// has its own credentials, which the kit reads from it).
pub const STAND_IN_CLIENT_ID: &str = "license_backend_client";
/// The client secret the broker presents to an ORDS stand-in.
pub const STAND_IN_CLIENT_SECRET: &str = "SENTINEL_SECRET_test";

/// Installs (once) a log subscriber for tests when `TEST_LOG` is set: its value is the
/// filter (`TEST_LOG=debug`, `TEST_LOG=license_broker=trace`), and lines go through
/// the test harness's capture. Without `TEST_LOG` nothing is installed and the broker's
/// logs go nowhere, so a passing run prints only the harness's own lines.
pub fn init_test_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let Ok(filter) = std::env::var("TEST_LOG") else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::try_new(&filter)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Call before a test installs its own thread-local subscriber (`set_default`) to
/// capture log lines. `tracing` caches each callsite's interest for the whole process,
/// computed by the first thread that reaches it; with only that one thread-local
/// subscriber registered, another test's thread without one can reach a callsite first
/// and cache "never", and the capturing test then sees none of that callsite's lines
/// (tokio-rs/tracing#3611; it showed with 8 test threads). A global subscriber (the
/// `TEST_LOG` one, else one that takes every event and keeps none) makes interest the
/// union over both, so each test's own subscriber gets its own thread's lines.
pub fn keep_tracing_callsites_interested() {
    use tracing_subscriber::util::SubscriberInitExt as _;
    init_test_log();
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Fails only when a global subscriber is set already, which does the same.
        let _ = tracing_subscriber::registry().try_init();
    });
}

/// Log lines written while a test runs, through a subscriber for the test's own thread
/// (so a `current_thread` test sees the broker's lines and no other test's).
#[derive(Clone, Default)]
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Every line at `trace` level as plain text, until the guard drops.
    pub fn trace() -> (Self, tracing::subscriber::DefaultGuard) {
        keep_tracing_callsites_interested();
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// Lines as the broker's JSON log writes them (fields flattened), until the guard
    /// drops.
    pub fn json() -> (Self, tracing::subscriber::DefaultGuard) {
        keep_tracing_callsites_interested();
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// The lines of a [`LogCapture::json`] capture; a line that is not JSON fails the
    /// test.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

static PANICS: AtomicU64 = AtomicU64::new(0);

/// Installs (once) a panic hook that counts every panic in the process, on any thread
/// or task, then runs the previous hook. Tokio catches panics in spawned tasks, so
/// without this a panicking broker handler would only show as a dropped connection.
pub fn install_panic_counter() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// Panics counted since [`install_panic_counter`].
pub fn panics() -> u64 {
    PANICS.load(Ordering::SeqCst)
}

/// A fresh random nonce, as a client sends it.
pub fn nonce() -> String {
    base64url_encode(&rand::random::<[u8; 32]>())
}

/// Writes a key file with mode 0600, as the broker asks of them in production.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The ORDS emulator on a loopback port, on the real clock.
pub async fn emulator(seed: Seed, options: EmulatorOptions) -> RunningEmulator {
    ords_emulator::spawn(seed, options, Arc::new(SystemClock)).await
}

/// A key in the right format for `customer_id` whose MAC was made with a secret no
/// broker has: what an attacker who knows the format can produce.
pub fn forge_key(customer_id: &str) -> anyhow::Result<String> {
    let mut secret = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let forger = LicenseKeys::new(secret).map_err(anyhow::Error::msg)?;
    Ok(forger.mint(&CustomerId::parse(customer_id)?))
}

/// The broker's files and settings: a fresh Ed25519 signing key, a random key secret
/// and the OAuth client secret, each 0600 in a temporary directory that lives as long
/// as this value, and the `LICENSE_BROKER_*` settings naming them.
pub struct BrokerEnv {
    dir: tempfile::TempDir,
    vars: HashMap<String, String>,
}

impl BrokerEnv {
    /// Settings for a broker in front of the schema root `ords_base_url`, presenting
    /// `client_id` and `client_secret` (kept in a file, as production does). Nothing
    /// else is set: every other setting has the broker's default.
    pub fn new(ords_base_url: &str, client_id: &str, client_secret: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let signing_key = dir.path().join("signing-key.pem");
        let pem = Signer::generate().to_pem().map_err(anyhow::Error::msg)?;
        write_private(&signing_key, pem.as_bytes())?;
        let key_secret = dir.path().join("key-secret");
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        write_private(&key_secret, STANDARD.encode(secret).as_bytes())?;
        let secret_file = dir.path().join("client-secret");
        write_private(&secret_file, client_secret.as_bytes())?;
        let path = |p: &Path| p.display().to_string();
        let vars = HashMap::from([
            (var::ORDS_BASE_URL.to_owned(), ords_base_url.to_owned()),
            (var::CLIENT_ID.to_owned(), client_id.to_owned()),
            (var::CLIENT_SECRET_FILE.to_owned(), path(&secret_file)),
            (var::SIGNING_KEY_FILE.to_owned(), path(&signing_key)),
            (var::KEY_SECRET_FILE.to_owned(), path(&key_secret)),
        ]);
        Ok(Self { dir, vars })
    }

    /// Sets (or replaces) one setting.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Removes one setting, so the broker's default (or an error) applies.
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.vars.remove(name);
        self
    }

    /// The settings, as a process environment.
    pub fn vars(&self) -> &HashMap<String, String> {
        &self.vars
    }

    /// The configuration the broker reads from these settings.
    pub fn config(&self) -> anyhow::Result<Config> {
        let vars = self.vars.clone();
        let sources = Sources::new(None, move |name| vars.get(name).cloned())?;
        Ok(Config::from_sources(&sources)?)
    }

    /// The temporary directory (for a test's own files, such as TLS certificates).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The file the broker reads its OAuth client secret from.
    pub fn secret_file(&self) -> PathBuf {
        self.dir.path().join("client-secret")
    }
}

type TokensFrom = Box<dyn FnOnce(&Config) -> Arc<dyn TokenSource> + Send>;
type UnixClock = Arc<dyn Fn() -> i64 + Send + Sync>;
type SettingsFor = Box<dyn FnOnce(&str) -> Vec<(String, String)> + Send>;

/// How a [`Stack`] is started: [`Stack::builder`], the settings, then
/// [`StackBuilder::start`].
pub struct StackBuilder {
    seed: Seed,
    options: EmulatorOptions,
    clock: Arc<dyn ords_emulator::Clock>,
    stand_in: Option<(String, String, String)>,
    settings: Vec<(String, Option<String>)>,
    settings_for: Vec<SettingsFor>,
    tokens: Option<TokensFrom>,
    broker_clock: Option<UnixClock>,
}

impl StackBuilder {
    /// The emulator's seed (default: the article's).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// The emulator's options (default: `EmulatorOptions::default()`).
    pub fn emulator_options(mut self, options: EmulatorOptions) -> Self {
        self.options = options;
        self
    }

    /// The emulator's clock (default: the system clock).
    pub fn emulator_clock(mut self, clock: Arc<dyn ords_emulator::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// No emulator: the broker talks to the ORDS stand-in at `base_url` (a schema root)
    /// with [`STAND_IN_CLIENT_ID`] and [`STAND_IN_CLIENT_SECRET`].
    pub fn ords_at(self, base_url: &str) -> Self {
        self.ords_at_as(base_url, STAND_IN_CLIENT_ID, STAND_IN_CLIENT_SECRET)
    }

    /// [`StackBuilder::ords_at`] with the client's own credentials.
    pub fn ords_at_as(mut self, base_url: &str, client_id: &str, client_secret: &str) -> Self {
        self.stand_in = Some((base_url.into(), client_id.into(), client_secret.into()));
        self
    }

    /// One broker setting on top of the defaults.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.settings
            .push((name.to_owned(), Some(value.to_owned())));
        self
    }

    /// Broker settings on top of the defaults; later ones win.
    pub fn settings(mut self, settings: &[(&str, &str)]) -> Self {
        for (name, value) in settings {
            self = self.set(name, value);
        }
        self
    }

    /// Drops a setting made earlier, so the broker's default applies.
    pub fn unset(mut self, name: &str) -> Self {
        self.settings.push((name.to_owned(), None));
        self
    }

    /// Settings computed from the ORDS schema root (to point the broker at a wrong
    /// alias or path on purpose); applied after the others.
    pub fn settings_for(
        mut self,
        settings: impl FnOnce(&str) -> Vec<(String, String)> + Send + 'static,
    ) -> Self {
        self.settings_for.push(Box::new(settings));
        self
    }

    /// Tokens from `tokens` instead of a token manager for the configured endpoint.
    pub fn tokens(self, tokens: Arc<dyn TokenSource>) -> Self {
        self.tokens_from(move |_| tokens)
    }

    /// Tokens from the source `make` builds from the broker's configuration (a test
    /// that wants to hold the very manager the broker uses).
    pub fn tokens_from(
        mut self,
        make: impl FnOnce(&Config) -> Arc<dyn TokenSource> + Send + 'static,
    ) -> Self {
        self.tokens = Some(Box::new(make));
        self
    }

    /// Verdicts signed at the times `clock` gives (unix seconds).
    pub fn broker_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.broker_clock = Some(Arc::new(clock));
        self
    }

    /// Starts the emulator (unless a stand-in was named), writes the key files, reads
    /// the configuration and serves the broker on a fresh loopback port.
    pub async fn start(self) -> anyhow::Result<Stack> {
        init_test_log();
        let (emulator, base_url, client_id, client_secret) = match self.stand_in {
            Some((base_url, id, secret)) => (None, base_url, id, secret),
            None => {
                let emulator = ords_emulator::spawn(self.seed, self.options, self.clock).await;
                let (id, secret) = emulator
                    .client_credentials(ARTICLE_CLIENT)
                    .context("the seed has no license_backend_client")?;
                let base_url = emulator.schema_url.clone();
                (Some(emulator), base_url, id, secret)
            }
        };
        let mut env = BrokerEnv::new(&base_url, &client_id, &client_secret)?;
        for (name, value) in &self.settings {
            match value {
                Some(value) => env.set(name, value),
                None => env.remove(name),
            };
        }
        for settings in self.settings_for {
            for (name, value) in settings(&base_url) {
                env.set(&name, &value);
            }
        }
        let config = env.config()?;
        let tokens = self.tokens.map(|make| make(&config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut stack = Stack {
            emulator,
            trusted: Keyset::new().with_key(config.signer.verifying_key()),
            config,
            env,
            addr,
            url: format!("http://{addr}"),
            client_id,
            client_secret,
            secret_slot: 1,
            tokens,
            broker_clock: self.broker_clock,
            running: None,
        };
        stack.serve(listener);
        Ok(stack)
    }
}

/// The task a running broker is served on.
type BrokerTask = JoinHandle<Result<(), ServeError>>;

/// A running broker (and, unless a stand-in was named, the emulator behind it). The
/// broker is asked to stop when this is dropped.
pub struct Stack {
    emulator: Option<RunningEmulator>,
    env: BrokerEnv,
    config: Config,
    trusted: Keyset,
    addr: SocketAddr,
    url: String,
    client_id: String,
    client_secret: String,
    secret_slot: u8,
    tokens: Option<Arc<dyn TokenSource>>,
    broker_clock: Option<UnixClock>,
    running: Option<(oneshot::Sender<()>, BrokerTask)>,
}

impl Stack {
    /// Against the emulator with the article's seed; see [`StackBuilder`].
    pub fn builder() -> StackBuilder {
        StackBuilder {
            seed: Seed::article_default(),
            options: EmulatorOptions::default(),
            clock: Arc::new(SystemClock),
            stand_in: None,
            settings: Vec::new(),
            settings_for: Vec::new(),
            tokens: None,
            broker_clock: None,
        }
    }

    /// The article's ORDS and a broker in front of it, `settings` on top of the
    /// broker's defaults.
    pub async fn start(settings: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::builder().settings(settings).start().await
    }

    fn serve(&mut self, listener: TcpListener) {
        let mut broker = Broker::new(self.config.clone());
        if let Some(tokens) = &self.tokens {
            broker = broker.with_tokens(Arc::clone(tokens));
        }
        if let Some(clock) = &self.broker_clock {
            let clock = Arc::clone(clock);
            broker = broker.with_clock(move || clock());
        }
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(broker.serve(listener, async move {
            let _ = rx.await;
        }));
        self.running = Some((tx, task));
    }

    /// The emulator behind the broker.
    ///
    /// # Panics
    /// When the stack was started against a stand-in ([`StackBuilder::ords_at`]).
    pub fn emulator(&self) -> &RunningEmulator {
        self.emulator
            .as_ref()
            .expect("this stack runs against an ORDS stand-in, not the emulator")
    }

    /// `http://127.0.0.1:PORT`, what a desktop app is configured with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The broker's URL for `path` (which starts with `/`).
    pub fn url_for(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The broker's listen address (kept across restarts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The broker's verifying key, as an app pins it at build time.
    pub fn trusted(&self) -> &Keyset {
        &self.trusted
    }

    /// The configuration the broker runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The broker's files and settings.
    pub fn env(&self) -> &BrokerEnv {
        &self.env
    }

    /// The OAuth client id the broker holds.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The OAuth client secret the broker was started with (the demo shows that the
    /// desktop never sees it).
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// A license key for `customer_id`, as `license-broker issue-key` prints it.
    pub fn issue_key(&self, customer_id: &str) -> anyhow::Result<String> {
        Ok(self
            .config
            .license_keys
            .mint(&CustomerId::parse(customer_id)?))
    }

    /// A well-formed key whose MAC was made with a secret this broker does not have.
    pub fn forge_key(&self, customer_id: &str) -> anyhow::Result<String> {
        forge_key(customer_id)
    }

    /// A path in a directory that lives as long as the stack (for a client's files).
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.env.dir().join(name)
    }

    /// A desktop client builder pointed at this broker and trusting its key; the
    /// caller adds the app, the key store, the paths, the clock and the fingerprint.
    pub fn client(&self) -> LicenseClientBuilder {
        LicenseClient::builder()
            .broker_url(self.url.clone())
            .trusted_keys(self.trusted.clone())
    }

    /// Whether the broker is serving.
    pub fn running(&self) -> bool {
        self.running.is_some()
    }

    /// Stops the broker (the shutdown trigger, then the drain) and waits for it.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(());
            task.await.context("the broker task panicked")??;
        }
        Ok(())
    }

    /// [`Stack::stop`], failing when the broker takes longer than `grace`.
    pub async fn stop_within(&mut self, grace: Duration) -> anyhow::Result<()> {
        match tokio::time::timeout(grace, self.stop()).await {
            Ok(stopped) => stopped,
            Err(_) => anyhow::bail!("the broker did not stop within {grace:?}"),
        }
    }

    /// Serves the broker again on the same address, retrying the bind briefly while
    /// the old socket is released. A no-op while it is running.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        let mut last = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    self.serve(listener);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(anyhow::anyhow!("cannot bind {} again: {last:?}", self.addr))
    }

    /// Rotates the OAuth client secret the way an operator does: a new secret in the
    /// emulator client's free slot, written into the broker's secret file, then the
    /// old slot revoked (with the tokens it issued when `revoke_sessions`).
    pub fn rotate_secret(&mut self, revoke_sessions: bool) -> anyhow::Result<()> {
        let new_slot = if self.secret_slot == 1 { 2 } else { 1 };
        let secret = self
            .emulator()
            .register_client_secret(ARTICLE_CLIENT, new_slot, None)
            .context("the emulator refused a new client secret")?;
        write_private(&self.env.secret_file(), secret.as_bytes())?;
        anyhow::ensure!(
            self.emulator()
                .revoke_client_secret(ARTICLE_CLIENT, self.secret_slot, revoke_sessions),
            "the emulator refused to revoke the old secret"
        );
        self.secret_slot = new_slot;
        self.client_secret = secret;
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some((tx, _)) = self.running.take() {
            let _ = tx.send(());
        }
    }
}
