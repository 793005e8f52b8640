//! Every environment variable the broker reads, in one place, so the names a deployment
//! relies on can be reviewed (and grepped) without reading the loader.
//!
//! The first block is the documented deployment interface; the rest are the broker's
//! own tuning knobs.
//! Each `LICENSE_BROKER_X` has a TOML twin `x` (lower case, no prefix); the
//! environment wins over the file.

/// Listen address, `127.0.0.1:8080` by default.
pub const LISTEN: &str = "LICENSE_BROKER_LISTEN";
/// The ORDS schema root, e.g. `https://host/ords/page`. Required.
pub const ORDS_BASE_URL: &str = "LICENSE_BROKER_ORDS_BASE_URL";
/// Path template under the schema root with one `{id}` segment.
pub const VALIDATION_PATH: &str = "LICENSE_BROKER_VALIDATION_PATH";
/// OAuth client id. Required.
pub const CLIENT_ID: &str = "LICENSE_BROKER_CLIENT_ID";
/// File holding the OAuth client secret (preferred: it can be rotated in place).
pub const CLIENT_SECRET_FILE: &str = "LICENSE_BROKER_CLIENT_SECRET_FILE";
/// The OAuth client secret itself.
pub const CLIENT_SECRET: &str = "LICENSE_BROKER_CLIENT_SECRET";
/// Ed25519 PKCS#8 PEM that signs verdicts. Required.
pub const SIGNING_KEY_FILE: &str = "LICENSE_BROKER_SIGNING_KEY_FILE";
/// At least 32 bytes that make license keys unforgeable. Required.
pub const KEY_SECRET_FILE: &str = "LICENSE_BROKER_KEY_SECRET_FILE";
/// Validations per minute from one client address; `0` turns the limit off.
pub const RATE_PER_IP: &str = "LICENSE_BROKER_RATE_PER_IP";
/// Validations per minute for one license key; `0` turns the limit off.
pub const RATE_PER_KEY: &str = "LICENSE_BROKER_RATE_PER_KEY";

/// Token endpoint; defaults to `<ORDS_BASE_URL>/oauth/token`.
pub const TOKEN_URL: &str = "LICENSE_BROKER_TOKEN_URL";
/// Seconds a valid verdict may be used offline (capped at 30 days and by expiry).
pub const OFFLINE_GRACE_SECS: &str = "LICENSE_BROKER_OFFLINE_GRACE_SECS";
/// Seconds after which a client should ask again at start-up.
pub const RECHECK_AFTER_SECS: &str = "LICENSE_BROKER_RECHECK_AFTER_SECS";
/// Seconds a looked-up active license stays cached.
pub const VERDICT_TTL_SECS: &str = "LICENSE_BROKER_VERDICT_TTL_SECS";
/// Seconds a deny (no row, suspended, revoked, expired) stays cached.
pub const NEGATIVE_TTL_SECS: &str = "LICENSE_BROKER_NEGATIVE_TTL_SECS";
/// Name of the expiry column in the ORDS answer.
pub const EXPIRY_COLUMN: &str = "LICENSE_BROKER_EXPIRY_COLUMN";
/// Name of the status column in the ORDS answer.
pub const STATUS_COLUMN: &str = "LICENSE_BROKER_STATUS_COLUMN";
/// Comma-separated status values meaning "active".
pub const STATUS_ACTIVE: &str = "LICENSE_BROKER_STATUS_ACTIVE";
/// Comma-separated status values meaning "suspended".
pub const STATUS_SUSPENDED: &str = "LICENSE_BROKER_STATUS_SUSPENDED";
/// Comma-separated status values meaning "revoked".
pub const STATUS_REVOKED: &str = "LICENSE_BROKER_STATUS_REVOKED";
/// `true` (default): a `404` with ORDS's `NotFound` problem JSON is "no such license"
/// (a `json/item` handler). `false`: only an empty collection (`items: []`) is, and
/// every 404 is an upstream error; recommended with `json/collection` handlers, where
/// a 404 can only mean the URL reaches no handler. A 404 that is not ORDS's NotFound
/// problem JSON (HTML, "could not be mapped") is an upstream error either way.
pub const ITEM_404_IS_NOT_FOUND: &str = "LICENSE_BROKER_ITEM_404_IS_NOT_FOUND";
/// Name of the column holding the license's machine limit (NULL or absent: unlimited).
pub const MAX_MACHINES_COLUMN: &str = "LICENSE_BROKER_MAX_MACHINES_COLUMN";
/// Path template of the seats handlers under the schema root, one `{id}` segment;
/// `/activate`, `/renew` and `/release` are appended. Default `customers/seats/{id}`.
pub const SEATS_PATH: &str = "LICENSE_BROKER_SEATS_PATH";
/// Seconds a seat stays held without an online validation from its machine; at least
/// the offline grace, which is also the default.
pub const SEAT_LEASE_SECS: &str = "LICENSE_BROKER_SEAT_LEASE_SECS";
/// How many *other* machines' seats one license may free per window (default 3), so
/// deactivate-and-reactivate cannot mint unlimited machines.
pub const REMOTE_RELEASE_BUDGET: &str = "LICENSE_BROKER_REMOTE_RELEASE_BUDGET";
/// The window of [`REMOTE_RELEASE_BUDGET`], in seconds (default 30 days).
pub const REMOTE_RELEASE_WINDOW_SECS: &str = "LICENSE_BROKER_REMOTE_RELEASE_WINDOW_SECS";
/// Activations per hour for one license key (default 10); `0` turns the limit off.
pub const ACTIVATIONS_PER_HOUR: &str = "LICENSE_BROKER_ACTIVATIONS_PER_HOUR";
/// Seconds allowed for one whole ORDS exchange; 3 by default, and it must stay
/// shorter than [`REQUEST_TIMEOUT_SECS`] (4 by default).
pub const UPSTREAM_TIMEOUT_SECS: &str = "LICENSE_BROKER_UPSTREAM_TIMEOUT_SECS";
/// Seconds allowed to connect to ORDS; 2 by default.
pub const UPSTREAM_CONNECT_TIMEOUT_SECS: &str = "LICENSE_BROKER_UPSTREAM_CONNECT_TIMEOUT_SECS";
/// Largest ORDS response body read, in bytes.
pub const UPSTREAM_BODY_LIMIT_BYTES: &str = "LICENSE_BROKER_UPSTREAM_BODY_LIMIT_BYTES";

/// Comma-separated proxy networks (`10.0.0.0/8,::1`) whose `X-Forwarded-For` is
/// believed, read from the right. Default: none, the TCP peer is the client.
pub const TRUSTED_PROXIES: &str = "LICENSE_BROKER_TRUSTED_PROXIES";
/// PEM certificate chain for serving HTTPS; set together with [`TLS_KEY_FILE`].
pub const TLS_CERT_FILE: &str = "LICENSE_BROKER_TLS_CERT_FILE";
/// PEM private key for serving HTTPS; set together with [`TLS_CERT_FILE`].
pub const TLS_KEY_FILE: &str = "LICENSE_BROKER_TLS_KEY_FILE";
/// The broker's own deadline for one request, in seconds; longer than the upstream
/// timeout and shorter than the desktop client's 5 s.
pub const REQUEST_TIMEOUT_SECS: &str = "LICENSE_BROKER_REQUEST_TIMEOUT_SECS";
/// Seconds a client has to send its request headers (against slowloris).
pub const HEADER_READ_TIMEOUT_SECS: &str = "LICENSE_BROKER_HEADER_READ_TIMEOUT_SECS";
/// Validations answered at once; beyond this the broker sheds with a quick 503.
pub const MAX_CONCURRENT: &str = "LICENSE_BROKER_MAX_CONCURRENT";
/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
pub const SHUTDOWN_GRACE_SECS: &str = "LICENSE_BROKER_SHUTDOWN_GRACE_SECS";
/// Seconds the broker keeps accepting after SIGTERM, answering `/readyz` with 503, so
/// a load balancer notices before connections are refused.
pub const DRAIN_DELAY_SECS: &str = "LICENSE_BROKER_DRAIN_DELAY_SECS";

/// Log filter (`tracing_subscriber::EnvFilter` syntax); `RUST_LOG` is the fallback.
pub const LOG: &str = "LICENSE_BROKER_LOG";
/// `text` (default) or `json`.
pub const LOG_FORMAT: &str = "LICENSE_BROKER_LOG_FORMAT";

/// The settings that also exist in the TOML file, as `name without prefix, lower case`.
/// Anything else in the file is refused, so a typo cannot silently fall back to a default.
pub const CONFIG_VARS: &[&str] = &[
    LISTEN,
    ORDS_BASE_URL,
    VALIDATION_PATH,
    CLIENT_ID,
    CLIENT_SECRET_FILE,
    SIGNING_KEY_FILE,
    KEY_SECRET_FILE,
    RATE_PER_IP,
    RATE_PER_KEY,
    TOKEN_URL,
    OFFLINE_GRACE_SECS,
    RECHECK_AFTER_SECS,
    VERDICT_TTL_SECS,
    NEGATIVE_TTL_SECS,
    EXPIRY_COLUMN,
    STATUS_COLUMN,
    STATUS_ACTIVE,
    STATUS_SUSPENDED,
    STATUS_REVOKED,
    ITEM_404_IS_NOT_FOUND,
    MAX_MACHINES_COLUMN,
    SEATS_PATH,
    SEAT_LEASE_SECS,
    REMOTE_RELEASE_BUDGET,
    REMOTE_RELEASE_WINDOW_SECS,
    ACTIVATIONS_PER_HOUR,
    UPSTREAM_TIMEOUT_SECS,
    UPSTREAM_CONNECT_TIMEOUT_SECS,
    UPSTREAM_BODY_LIMIT_BYTES,
    TRUSTED_PROXIES,
    TLS_CERT_FILE,
    TLS_KEY_FILE,
    REQUEST_TIMEOUT_SECS,
    HEADER_READ_TIMEOUT_SECS,
    MAX_CONCURRENT,
    SHUTDOWN_GRACE_SECS,
    DRAIN_DELAY_SECS,
];

/// The TOML key for an environment variable: `LICENSE_BROKER_RATE_PER_IP` → `rate_per_ip`.
pub fn toml_key(var: &str) -> String {
    var.trim_start_matches("LICENSE_BROKER_")
        .to_ascii_lowercase()
}
