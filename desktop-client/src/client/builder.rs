//! [`LicenseClientBuilder`]: everything the client needs, given as values.
//!
//! The app passes its pinned keys (compiled in), its id and version, and the broker
//! URL. Paths, key store, clock and fingerprint default to the real machine and can be
//! replaced, which is how the tests run the real decision code against a temp dir,
//! an in-memory store and a clock they move by hand.

use std::sync::Arc;
use std::time::Duration;

use license_shared::{is_product_code, Keyset, KeysetError};

use super::{Inner, LicenseClient};
use crate::app::ThisApp;
use crate::clock::{Clock, SystemClock};
use crate::fingerprint::{Fingerprint, FingerprintError};
use crate::pinned::PinnedKeys;
use crate::store::keystore::{KeyStore, KeyStorePolicy};
use crate::store::paths::{NoHomeDir, Paths};
use crate::transport::Transport;

/// Why a client could not be built. All are configuration mistakes.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    #[error("the app id must be set: 1 to 64 printable ASCII characters")]
    AppId,
    #[error("the app version must be 1 to 64 printable ASCII characters")]
    AppVersion,
    #[error("the product {0:?} is not a product code: 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")]
    Product(String),
    #[error("no trusted verdict-signing keys were given; the client never runs without them")]
    NoTrustedKeys,
    #[error("the broker URL {url:?} is not usable: {reason}")]
    BrokerUrl { url: String, reason: String },
    #[error(transparent)]
    Paths(#[from] NoHomeDir),
    #[error("the custom machine id must not be empty")]
    MachineId,
    #[error("the HTTP client could not be set up: {0}")]
    Http(String),
    /// The keys given to [`LicenseClientBuilder::pinned_keys`] passed the compile-time
    /// check, but one is not an Ed25519 public key (a point on the curve).
    #[error(
        "the pinned keys are not usable: {0}; copy each key again from `license-broker pubkey`"
    )]
    PinnedKeys(KeysetError),
    /// A build with pinned keys was given the `file` key store without
    /// [`LicenseClientBuilder::allow_file_key_store`].
    #[error("this build pins its trusted keys, so it keeps the license key and the second copy of the clock marks in the OS keyring; the file key store puts that copy next to the first and must be chosen explicitly (LICENSE_CHECK_KEYSTORE=file for the CLI)")]
    FileKeyStoreNotAllowed,
}

/// Whether this crate was compiled with `LICENSE_CHECK_PINNED_KEYS` (a vendor build of
/// the CLI). An app that pins its keys with [`pinned_keys!`](crate::pinned_keys) is one
/// too ([`LicenseClientBuilder::pinned_keys`]).
const PINNED_BUILD: bool = option_env!("LICENSE_CHECK_PINNED_KEYS").is_some();

/// Builds a [`LicenseClient`]; see [`LicenseClient::builder`].
pub struct LicenseClientBuilder {
    broker_url: Option<String>,
    app_id: Option<String>,
    app_version: String,
    product: Option<String>,
    build_time: Option<i64>,
    trusted_keys: Option<Keyset>,
    /// Keys pinned with [`pinned_keys!`](crate::pinned_keys): they win over
    /// `trusted_keys`, and make the file key store an explicit choice.
    pinned_keys: Option<PinnedKeys>,
    connect_timeout: Duration,
    total_timeout: Duration,
    clock_skew_tolerance: Duration,
    rollback_tolerance: Duration,
    key_store: Option<Box<dyn KeyStore>>,
    key_store_policy: KeyStorePolicy,
    paths: Option<Paths>,
    clock: Option<Arc<dyn Clock>>,
    fingerprint: Option<Fingerprint>,
    machine_id: Option<String>,
    use_fresh_lease: bool,
    /// `None`: allowed unless the build pins its keys.
    allow_file_key_store: Option<bool>,
}

impl Default for LicenseClientBuilder {
    fn default() -> Self {
        Self {
            broker_url: None,
            app_id: None,
            app_version: "unknown".into(),
            product: None,
            build_time: None,
            trusted_keys: None,
            pinned_keys: None,
            connect_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(5),
            clock_skew_tolerance: Duration::from_secs(5 * 60),
            rollback_tolerance: Duration::from_secs(3600),
            key_store: None,
            key_store_policy: KeyStorePolicy::OsKeyring,
            paths: None,
            clock: None,
            fingerprint: None,
            machine_id: None,
            use_fresh_lease: true,
            allow_file_key_store: None,
        }
    }
}

impl LicenseClientBuilder {
    /// The broker's base URL (`https://…`; `http://` only for loopback). Without one,
    /// online checks fail over to the lease and `activate` refuses.
    pub fn broker_url(mut self, url: impl Into<String>) -> Self {
        self.broker_url = Some(url.into());
        self
    }
    /// A stable application id, e.g. `com.example.editor`. Required.
    pub fn app_id(mut self, id: impl Into<String>) -> Self {
        self.app_id = Some(id.into());
        self
    }
    pub fn app_version(mut self, version: impl Into<String>) -> Self {
        self.app_version = version.into();
        self
    }
    /// The app's product code, e.g. `desktop-pro` (1 to 64 of `A-Z a-z 0-9 . _ -`).
    /// The request then carries it, the broker answers a license for another product
    /// with a signed `WRONG_PRODUCT`, and a verdict signed for another product
    /// (online, or a lease copied from another app) licenses nothing. Without it the
    /// request carries nothing new, which brokers from before products need.
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.product = Some(product.into());
        self
    }
    /// When this build of the app was made, in unix seconds: a value compiled into the
    /// app (e.g. `option_env!("MYAPP_BUILD_TIME")`, set by the build), never one read
    /// from the user's files or clock, which the user controls. A license with the
    /// `MAINTAIN_ACCESS` expiry strategy keeps licensing builds made before it expired
    /// ([`Code::PerpetualFallback`](crate::Code::PerpetualFallback)); without a build
    /// time an expired license licenses nothing.
    pub fn build_time(mut self, unix_seconds: i64) -> Self {
        self.build_time = Some(unix_seconds);
        self
    }
    /// The verdict-signing keys to trust. Required and non-empty (unless
    /// [`pinned_keys`](Self::pinned_keys) gives them).
    pub fn trusted_keys(mut self, keys: Keyset) -> Self {
        self.trusted_keys = Some(keys);
        self
    }
    /// The verdict-signing keys compiled into the app, checked while it compiled
    /// (`pinned_keys!("kid:base64url,…")`): the only keys trusted (they win over
    /// [`trusted_keys`](Self::trusted_keys)), and, as in every build that pins its
    /// keys, the file key store only when chosen explicitly
    /// ([`allow_file_key_store`](Self::allow_file_key_store), or a
    /// [`KeyStorePolicy`] that names the file).
    pub fn pinned_keys(mut self, keys: PinnedKeys) -> Self {
        self.pinned_keys = Some(keys);
        self
    }
    /// Default 2 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// The longest an online check may take, end to end. Default 5 s.
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }
    /// How far `now` may be from a fresh answer's signed `iat`. Default 5 minutes.
    pub fn clock_skew_tolerance(mut self, tolerance: Duration) -> Self {
        self.clock_skew_tolerance = tolerance;
        self
    }
    /// How far `now` may fall behind the high-water mark. Default 1 hour.
    pub fn rollback_tolerance(mut self, tolerance: Duration) -> Self {
        self.rollback_tolerance = tolerance;
        self
    }
    /// Default: the OS keyring, under the service name `license-check:<app id>`
    /// (see [`key_store_policy`](Self::key_store_policy)). A store given here wins
    /// over the policy.
    pub fn key_store(mut self, store: Box<dyn KeyStore>) -> Self {
        self.key_store = Some(store);
        self
    }
    /// Which store keeps the key when [`key_store`](Self::key_store) gives none: the
    /// OS keyring (the default), the file, or the keyring else the file. The app
    /// chooses; the client never falls back by itself. `File` and `KeyringElseFile`
    /// are the explicit opt-in to the file store that a build with pinned keys needs
    /// ([`allow_file_key_store`](Self::allow_file_key_store)).
    pub fn key_store_policy(mut self, policy: KeyStorePolicy) -> Self {
        self.key_store_policy = policy;
        self
    }
    /// Whether a [`FileKeyStore`](crate::store::keystore::FileKeyStore) (any store whose
    /// [`KeyStore::is_file_store`] is true) may be used. Such a store keeps the second
    /// copy of the clock marks next to the first, where the user can delete or
    /// restore both at once. Allowed by default, except in a build that pins its keys
    /// ([`pinned_keys`](Self::pinned_keys), or `LICENSE_CHECK_PINNED_KEYS` set at
    /// compile time), where it must be an explicit choice (this, or a
    /// [`KeyStorePolicy`] that names the file; [`BuildError::FileKeyStoreNotAllowed`]
    /// otherwise).
    pub fn allow_file_key_store(mut self, allow: bool) -> Self {
        self.allow_file_key_store = Some(allow);
        self
    }
    /// Default: [`Paths::for_app`] with the app id; an activation of this app left
    /// where earlier versions kept it is moved there on the first build
    /// ([`Paths::adopt_earlier`]). Paths given here are used as they are.
    pub fn paths(mut self, paths: Paths) -> Self {
        self.paths = Some(paths);
        self
    }
    /// Default: [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Default: this machine's fingerprint for the app id, from the OS machine id (or
    /// from [`machine_id`](Self::machine_id)). Wins over `machine_id` when both are given.
    pub fn fingerprint(mut self, fingerprint: Fingerprint) -> Self {
        self.fingerprint = Some(fingerprint);
        self
    }
    /// A machine id to use instead of the OS one: containers, whose id is the image's,
    /// and cloned VMs, which share one. The fingerprint stays the HMAC of it over the
    /// app id, so it is never sent. Each machine must get its own, or they share a seat.
    pub fn machine_id(mut self, id: impl Into<String>) -> Self {
        self.machine_id = Some(id.into());
        self
    }
    /// Whether [`LicenseClient::check`] may answer from a verified lease, without the
    /// network, until the lease's signed `recheck_after`.
    /// Default true: start-up stays instant, and the broker decides how long that is.
    pub fn use_fresh_lease(mut self, yes: bool) -> Self {
        self.use_fresh_lease = yes;
        self
    }

    pub fn build(self) -> Result<LicenseClient, BuildError> {
        let app_id = self
            .app_id
            .filter(|id| printable(id))
            .ok_or(BuildError::AppId)?;
        if !printable(&self.app_version) {
            return Err(BuildError::AppVersion);
        }
        if let Some(product) = self.product.as_ref().filter(|p| !is_product_code(p)) {
            return Err(BuildError::Product(product.clone()));
        }
        let pinned = PINNED_BUILD || self.pinned_keys.is_some();
        let trusted_keys = match self.pinned_keys {
            Some(pinned) => pinned.keyset().map_err(BuildError::PinnedKeys)?,
            None => self
                .trusted_keys
                .filter(|keys| !keys.is_empty())
                .ok_or(BuildError::NoTrustedKeys)?,
        };
        let user_agent = format!(
            "license-check/{} ({app_id} {})",
            env!("CARGO_PKG_VERSION"),
            self.app_version
        );
        let transport = match &self.broker_url {
            Some(url) => Some(
                Transport::new(
                    endpoint(url)?,
                    self.connect_timeout,
                    self.total_timeout,
                    &user_agent,
                )
                .map_err(|e| BuildError::Http(e.to_string()))?,
            ),
            None => None,
        };
        let fingerprint: Result<Fingerprint, FingerprintError> =
            match (self.fingerprint, self.machine_id) {
                (Some(fp), _) => Ok(fp),
                (None, Some(id)) if id.trim().is_empty() => return Err(BuildError::MachineId),
                (None, Some(id)) => Ok(Fingerprint::from_machine_id(&id, &app_id)),
                (None, None) => Fingerprint::for_this_machine(&app_id),
            };
        let paths = match self.paths {
            Some(paths) => paths,
            None => {
                let paths = Paths::for_app(&app_id)?;
                if let Ok(fingerprint) = &fingerprint {
                    // Best effort: when the move fails, the app finds no lease and
                    // checks online, as on a first start.
                    let _ = paths.adopt_earlier(&app_id, fingerprint);
                }
                paths
            }
        };
        let allow_file_key_store = self.allow_file_key_store.unwrap_or(!pinned)
            || (self.key_store.is_none() && self.key_store_policy.opts_into_file());
        let key_store: Arc<dyn KeyStore> = match self.key_store {
            Some(store) => Arc::from(store),
            None => Arc::from(self.key_store_policy.store(&app_id, &paths.data_dir)),
        };
        if key_store.is_file_store() && !allow_file_key_store {
            return Err(BuildError::FileKeyStoreNotAllowed);
        }
        Ok(LicenseClient::from_inner(Inner {
            app_id,
            app_version: self.app_version,
            app: ThisApp {
                product: self.product,
                build_time: self.build_time,
            },
            trusted_keys,
            transport,
            skew_tolerance: seconds(self.clock_skew_tolerance),
            rollback_tolerance: seconds(self.rollback_tolerance),
            key_store,
            paths,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            fingerprint,
            use_fresh_lease: self.use_fresh_lease,
        }))
    }
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn printable(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_graphic())
}

/// The broker's base URL with a trailing `/`, under which `v1/license/…` joins. Plain `http://` would hand the license key to anyone
/// on the path, so it is accepted only for loopback (tests, the demo).
fn endpoint(base: &str) -> Result<reqwest::Url, BuildError> {
    let error = |reason: &str| BuildError::BrokerUrl {
        url: base.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = reqwest::Url::parse(base.trim()).map_err(|e| error(&e.to_string()))?;
    // Any userinfo, a user name or only a password (`http://:secret@host`), is refused,
    // and the error shows the URL without it: a password never reaches a message.
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
        return Err(BuildError::BrokerUrl {
            url: url.to_string(),
            reason: "it must not carry a user name or password (the part before '@'): the license server needs none, so remove it".to_owned(),
        });
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(error(
                "plain http:// is only allowed for loopback addresses; use https://",
            ))
        }
        _ => return Err(error("it must be an https:// URL")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(error("it must not carry a query or fragment"));
    }
    let joined = format!("{}/", url.as_str().trim_end_matches('/'));
    reqwest::Url::parse(&joined).map_err(|e| error(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_key_store_needs_the_opt_in_when_it_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
        let builder = || {
            LicenseClient::builder()
                .app_id("com.example.editor")
                .trusted_keys(Keyset::new().with_key(key))
                .paths(Paths::in_dir(dir.path()))
                .machine_id("m")
                .key_store(Box::new(crate::store::keystore::FileKeyStore::new(
                    dir.path(),
                )))
        };
        assert!(matches!(
            builder().allow_file_key_store(false).build(),
            Err(BuildError::FileKeyStoreNotAllowed)
        ));
        assert!(builder().allow_file_key_store(true).build().is_ok());
        // Without a word, only a build without pinned keys takes it.
        assert_eq!(builder().build().is_ok(), !PINNED_BUILD);
        // Other stores are not affected.
        let memory = builder()
            .key_store(Box::new(crate::store::keystore::MemoryKeyStore::new()))
            .allow_file_key_store(false)
            .build();
        assert!(memory.is_ok());
    }

    #[test]
    fn keys_pinned_with_the_macro_are_trusted_and_make_the_file_store_an_explicit_choice() {
        const KEYS: PinnedKeys =
            crate::pinned_keys!("_oEsEvOrTOas:6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw");
        let dir = tempfile::tempdir().unwrap();
        let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
        let builder = || {
            LicenseClient::builder()
                .app_id("com.example.editor")
                .trusted_keys(Keyset::new().with_key(other))
                .pinned_keys(KEYS)
                .paths(Paths::in_dir(dir.path()))
                .machine_id("m")
        };
        let file = || Box::new(crate::store::keystore::FileKeyStore::new(dir.path()));
        assert!(matches!(
            builder().key_store(file()).build(),
            Err(BuildError::FileKeyStoreNotAllowed)
        ));
        let client = builder()
            .key_store(file())
            .allow_file_key_store(true)
            .build()
            .unwrap();
        assert_eq!(client.inner.trusted_keys, KEYS.keyset().unwrap());
        let chosen = builder().key_store_policy(KeyStorePolicy::File).build();
        assert!(chosen.unwrap().key_store_description().starts_with("file "));
        // The memory store is no file store: no opt-in needed.
        let memory = builder().key_store(Box::new(crate::store::keystore::MemoryKeyStore::new()));
        assert!(memory.build().is_ok());
    }

    #[test]
    fn a_pinned_key_that_is_no_curve_point_is_refused_when_the_client_is_built() {
        // 32 bytes in the right spelling that are no Ed25519 public key.
        let text = (0u8..=255)
            .map(|y| format!("k:{}", license_shared::base64url_encode(&[y; 32])))
            .find(|text| Keyset::parse(text).is_err())
            .unwrap();
        let text: &'static str = Box::leak(text.into_boxed_str());
        let error = LicenseClient::builder()
            .app_id("com.example.editor")
            .pinned_keys(PinnedKeys::new(text))
            .machine_id("m")
            .key_store(Box::new(crate::store::keystore::MemoryKeyStore::new()))
            .paths(Paths::in_dir("/nonexistent"))
            .build()
            .unwrap_err();
        assert!(matches!(error, BuildError::PinnedKeys(_)), "{error}");
        assert!(
            error.to_string().contains("license-broker pubkey"),
            "{error}"
        );
    }

    #[test]
    fn broker_urls_are_https_or_loopback() {
        assert_eq!(
            endpoint("https://b.example/base").unwrap().as_str(),
            "https://b.example/base/"
        );
        assert_eq!(
            endpoint("https://b.example/base/")
                .unwrap()
                .join("v1/license/activate")
                .unwrap()
                .as_str(),
            "https://b.example/base/v1/license/activate"
        );
        assert!(endpoint("http://127.0.0.1:8080").is_ok());
        assert!(endpoint("http://[::1]:8080").is_ok());
        assert!(endpoint("http://localhost").is_ok());
        assert!(endpoint("http://b.example").is_err());
        assert!(endpoint("ftp://b.example").is_err());
        assert!(endpoint("https://b.example/?x=1").is_err());
        assert!(endpoint("not a url").is_err());
    }

    #[test]
    fn the_product_must_be_a_product_code() {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
        let builder = || {
            LicenseClient::builder()
                .app_id("com.example.editor")
                .trusted_keys(Keyset::new().with_key(key))
                .paths(Paths::in_dir(dir.path()))
                .machine_id("m")
                .key_store(Box::new(crate::store::keystore::MemoryKeyStore::new()))
        };
        assert!(builder().product("desktop-pro").build().is_ok());
        for bad in ["", "desktop pro", "pro/../lite", &"p".repeat(65)] {
            let error = builder().product(bad).build().unwrap_err();
            assert!(matches!(error, BuildError::Product(_)), "{bad:?}: {error}");
        }
    }
}
