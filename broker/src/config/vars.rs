//! Every setting the broker reads, written once: its variable, its default as
//! documented, whether the TOML file may set it, and what it does. `settings!` turns
//! the list into one constant per variable (what the loader and the errors name) and
//! [`TABLE`], from which the README's settings table and `deploy/broker.toml` are
//! rendered (tests compare them), so none of them can drift.
//!
//! Each `LICENSE_BROKER_X` has a TOML twin `x` (lower case, no prefix); the
//! environment wins over the file.

/// `NAME = "LICENSE_BROKER_NAME", default "…"[, environment only];` with its doc
/// comment: the constant, and its row in [`TABLE`].
macro_rules! settings {
    ($( $(#[doc = $doc:literal])+ $name:ident = $var:literal, default $default:literal $(, $env_only:ident only)?; )+) => {
        $( $(#[doc = $doc])+ pub const $name: &str = $var; )+

        /// Every setting the broker reads.
        pub const TABLE: &[Var] = &[
            $( Var {
                name: $name,
                default: $default,
                in_file: settings!(@in_file $($env_only)?),
                doc: concat!($($doc),+),
            }, )+
        ];
    };
    (@in_file) => { true };
    (@in_file environment) => { false };
}

settings! {
    /// Listen address, `127.0.0.1:8080` by default.
    LISTEN = "LICENSE_BROKER_LISTEN", default "`127.0.0.1:8080`";
    /// The ORDS schema root, e.g. `https://host/ords/page`. Required.
    ORDS_BASE_URL = "LICENSE_BROKER_ORDS_BASE_URL", default "required";
    /// Path template under the schema root with one `{id}` segment.
    VALIDATION_PATH = "LICENSE_BROKER_VALIDATION_PATH", default "`customers/validation/{id}`";
    /// OAuth client id. Required.
    CLIENT_ID = "LICENSE_BROKER_CLIENT_ID", default "required";
    /// File holding the OAuth client secret (preferred: it can be rotated in place).
    CLIENT_SECRET_FILE = "LICENSE_BROKER_CLIENT_SECRET_FILE", default "one of the two is required";
    /// The OAuth client secret itself.
    CLIENT_SECRET = "LICENSE_BROKER_CLIENT_SECRET", default "", environment only;
    /// Ed25519 PKCS#8 PEM that signs verdicts. Required.
    SIGNING_KEY_FILE = "LICENSE_BROKER_SIGNING_KEY_FILE", default "required";
    /// At least 32 bytes that make license keys unforgeable. Required.
    KEY_SECRET_FILE = "LICENSE_BROKER_KEY_SECRET_FILE", default "required";
    /// Validations per minute from one client address; `0` turns the limit off.
    RATE_PER_IP = "LICENSE_BROKER_RATE_PER_IP", default "`60`";
    /// Validations per minute for one license key (checkouts and checkins of a floating
    /// license: per key and machine, as every machine shares the key); `0` turns the
    /// limit off.
    RATE_PER_KEY = "LICENSE_BROKER_RATE_PER_KEY", default "`20`";
    /// Token endpoint; defaults to `<ORDS_BASE_URL>/oauth/token`.
    TOKEN_URL = "LICENSE_BROKER_TOKEN_URL", default "`<base>/oauth/token`";
    /// Seconds a valid verdict may be used offline (capped at 30 days and by expiry).
    OFFLINE_GRACE_SECS = "LICENSE_BROKER_OFFLINE_GRACE_SECS", default "`604800` (7 days)";
    /// Days an offline activation (a request code answered through
    /// `POST /v1/license/offline/activate` or the `/offline` page) licenses its machine
    /// without the broker, and the least its seat is held; 1 to 30 (the client never uses
    /// a verdict offline for longer than 30 days).
    OFFLINE_ACTIVATION_DAYS = "LICENSE_BROKER_OFFLINE_ACTIVATION_DAYS", default "`30`";
    /// Seconds after which a client should ask again at start-up.
    RECHECK_AFTER_SECS = "LICENSE_BROKER_RECHECK_AFTER_SECS", default "`86400` (1 day)";
    /// Seconds a looked-up active license stays cached.
    VERDICT_TTL_SECS = "LICENSE_BROKER_VERDICT_TTL_SECS", default "`60`";
    /// Seconds a deny (no row, suspended, revoked, expired) stays cached.
    NEGATIVE_TTL_SECS = "LICENSE_BROKER_NEGATIVE_TTL_SECS", default "`15`";
    /// Name of the expiry column in the ORDS answer.
    EXPIRY_COLUMN = "LICENSE_BROKER_EXPIRY_COLUMN", default "`expires_at`";
    /// Name of the status column in the ORDS answer.
    STATUS_COLUMN = "LICENSE_BROKER_STATUS_COLUMN", default "`license_status`";
    /// Comma-separated status values meaning "active".
    STATUS_ACTIVE = "LICENSE_BROKER_STATUS_ACTIVE", default "`ACTIVE`";
    /// Comma-separated status values meaning "suspended".
    STATUS_SUSPENDED = "LICENSE_BROKER_STATUS_SUSPENDED", default "`SUSPENDED`";
    /// Comma-separated status values meaning "revoked".
    STATUS_REVOKED = "LICENSE_BROKER_STATUS_REVOKED", default "`REVOKED`";
    /// `true` (default): a `404` with ORDS's `NotFound` problem JSON is "no such license"
    /// (a `json/item` handler). `false`: only an empty collection (`items: []`) is, and
    /// every 404 is an upstream error; recommended with `json/collection` handlers, where a
    /// 404 can only mean the URL reaches no handler. A 404 that is not ORDS's NotFound
    /// problem JSON (HTML, "could not be mapped") is an upstream error either way.
    ITEM_404_IS_NOT_FOUND = "LICENSE_BROKER_ITEM_404_IS_NOT_FOUND", default "`true`";
    /// Name of the customer id column in the ORDS answer; when a row carries it, it must be
    /// the id that was looked up (a row for another customer is an upstream error).
    ID_COLUMN = "LICENSE_BROKER_ID_COLUMN", default "`customer_id`";
    /// Name of the product column (NULL: a license for any product). The answer must
    /// carry it: a row without it is an upstream error, never "any product".
    PRODUCT_COLUMN = "LICENSE_BROKER_PRODUCT_COLUMN", default "`product`";
    /// Name of the entitlements column, a comma-separated list (NULL: none). The answer
    /// must carry it: a row without it is an upstream error.
    ENTITLEMENTS_COLUMN = "LICENSE_BROKER_ENTITLEMENTS_COLUMN", default "`entitlements`";
    /// Name of the expiry-strategy column, `REVOKE_ACCESS` or `MAINTAIN_ACCESS` (NULL:
    /// revoke at expiry). The answer must carry it: a row without it is an upstream error.
    EXPIRY_STRATEGY_COLUMN = "LICENSE_BROKER_EXPIRY_STRATEGY_COLUMN", default "`expiry_strategy`";
    /// Name of the key-serial column, a whole number from 0 to 4294967295 (NULL: 0):
    /// only a license key issued for the row's serial licenses anything, so bumping it
    /// replaces a leaked key. The answer must carry it: a row without it is an upstream
    /// error.
    KEY_SERIAL_COLUMN = "LICENSE_BROKER_KEY_SERIAL_COLUMN", default "`key_serial`";
    /// Name of the column holding the license's machine limit (NULL: unlimited). The
    /// answer must carry it: a row without it is an upstream error, never "no limit".
    MAX_MACHINES_COLUMN = "LICENSE_BROKER_MAX_MACHINES_COLUMN", default "`max_machines`";
    /// Path template of the seats handlers under the schema root, one `{id}` segment;
    /// `/activate`, `/renew` and `/release` are appended. Default `customers/seats/{id}`.
    SEATS_PATH = "LICENSE_BROKER_SEATS_PATH", default "`customers/seats/{id}`";
    /// Seconds a seat stays held without an online validation from its machine; at least
    /// the offline grace, which is also the default (but at least 60), and from 60 to
    /// 315360000 (10 years), the range `deploy/ords/seats.sql` accepts.
    SEAT_LEASE_SECS = "LICENSE_BROKER_SEAT_LEASE_SECS", default "the offline grace (at least 60)";
    /// How many seats one license may free per window, a machine's own or another's: a
    /// freed machine keeps its offline lease, so deactivate-and-reactivate would otherwise
    /// mint machines. A seat not renewed lapses by itself, outside the budget. At most
    /// 1000000.
    RELEASE_BUDGET = "LICENSE_BROKER_RELEASE_BUDGET", default "`5`";
    /// The window of `LICENSE_BROKER_RELEASE_BUDGET`, in seconds (default 30 days, at most
    /// 315360000).
    RELEASE_WINDOW_SECS = "LICENSE_BROKER_RELEASE_WINDOW_SECS", default "`2592000` (30 days)";
    /// Seconds a floating license's seat stays held without a checkout from its machine
    /// (the library renews it in the background, at a fraction of this); a crashed app's
    /// seat comes back when it runs out. From 2 to 86400.
    FLOATING_LEASE_SECS = "LICENSE_BROKER_FLOATING_LEASE_SECS", default "`900`";
    /// Path of the trials handler under the schema root (`deploy/ords/seats.sql`). Default
    /// `customers/trials/start`.
    TRIALS_PATH = "LICENSE_BROKER_TRIALS_PATH", default "`customers/trials/start`";
    /// Activations per hour for one license key (default 10); `0` turns the limit off.
    ACTIVATIONS_PER_HOUR = "LICENSE_BROKER_ACTIVATIONS_PER_HOUR", default "`10`";
    /// Seconds allowed for one whole ORDS exchange; 3 by default, and it must stay shorter
    /// than `LICENSE_BROKER_REQUEST_TIMEOUT_SECS` (4 by default).
    UPSTREAM_TIMEOUT_SECS = "LICENSE_BROKER_UPSTREAM_TIMEOUT_SECS", default "`3`";
    /// Seconds allowed to connect to ORDS; 2 by default.
    UPSTREAM_CONNECT_TIMEOUT_SECS = "LICENSE_BROKER_UPSTREAM_CONNECT_TIMEOUT_SECS", default "`2`";
    /// Largest ORDS response body read, in bytes.
    UPSTREAM_BODY_LIMIT_BYTES = "LICENSE_BROKER_UPSTREAM_BODY_LIMIT_BYTES", default "`65536`";
    /// Comma-separated proxy networks (`10.0.0.0/8,::1`) whose `X-Forwarded-For` is
    /// believed, read from the right. Default: none, the TCP peer is the client.
    TRUSTED_PROXIES = "LICENSE_BROKER_TRUSTED_PROXIES", default "none";
    /// PEM certificate chain for serving HTTPS; set together with
    /// `LICENSE_BROKER_TLS_KEY_FILE`.
    TLS_CERT_FILE = "LICENSE_BROKER_TLS_CERT_FILE", default "none (plain HTTP)";
    /// PEM private key for serving HTTPS; set together with `LICENSE_BROKER_TLS_CERT_FILE`.
    TLS_KEY_FILE = "LICENSE_BROKER_TLS_KEY_FILE", default "none (plain HTTP)";
    /// The broker's own deadline for one request, in seconds; longer than the upstream
    /// timeout and shorter than the desktop client's 5 s.
    REQUEST_TIMEOUT_SECS = "LICENSE_BROKER_REQUEST_TIMEOUT_SECS", default "`4`";
    /// Seconds a client has to send its request headers (against slowloris).
    HEADER_READ_TIMEOUT_SECS = "LICENSE_BROKER_HEADER_READ_TIMEOUT_SECS", default "`10`";
    /// Validations answered at once; beyond this the broker sheds with a quick 503.
    MAX_CONCURRENT = "LICENSE_BROKER_MAX_CONCURRENT", default "`1024`";
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    SHUTDOWN_GRACE_SECS = "LICENSE_BROKER_SHUTDOWN_GRACE_SECS", default "`30`";
    /// Seconds the broker keeps accepting after SIGTERM, answering `/readyz` with 503, so a
    /// load balancer notices before connections are refused.
    DRAIN_DELAY_SECS = "LICENSE_BROKER_DRAIN_DELAY_SECS", default "`0`";
    /// A second listen address that alone serves `GET /metrics` (e.g. `127.0.0.1:9090`,
    /// like oauth2-proxy's `--metrics-address`); when set, the public listener answers
    /// `/metrics` with 404.
    METRICS_LISTEN = "LICENSE_BROKER_METRICS_LISTEN", default "none (on the public listener)";
    /// Log filter (`tracing_subscriber::EnvFilter` syntax); `RUST_LOG` is the fallback.
    LOG = "LICENSE_BROKER_LOG", default "`info`", environment only;
    /// `text` (default) or `json`.
    LOG_FORMAT = "LICENSE_BROKER_LOG_FORMAT", default "`text`", environment only;
}

/// One setting: its variable, its default as documented, whether the TOML file may
/// set it, and what it does. The README's settings table is rendered from this table
/// (a test compares them), so the two cannot drift.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    pub name: &'static str,
    pub default: &'static str,
    /// `false` for the secret itself (never read from a file that might be committed)
    /// and the logging knobs (read before the file is).
    pub in_file: bool,
    pub doc: &'static str,
}

/// The README's table of settings, as Markdown.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| variable | TOML key | meaning | default |\n| --- | --- | --- | --- |\n");
    for var in TABLE {
        let key = if var.in_file {
            format!("`{}`", toml_key(var.name))
        } else {
            "(environment only)".to_owned()
        };
        out.push_str(&format!(
            "| `{}` | {key} | {} | {} |\n",
            var.name,
            var.doc.trim(),
            var.default
        ));
    }
    out
}

#[cfg(test)]
const README_START: &str = "<!-- settings table: generated from broker/src/config/vars.rs -->";
#[cfg(test)]
const README_END: &str = "<!-- end of settings table -->";

/// The TOML key for an environment variable: `LICENSE_BROKER_RATE_PER_IP` → `rate_per_ip`.
pub fn toml_key(var: &str) -> String {
    var.trim_start_matches("LICENSE_BROKER_")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's settings table is this table: regenerate it with
    /// `cargo test -p license-broker readme_settings -- --nocapture` and paste.
    #[test]
    fn readme_settings_table_matches_the_catalogue() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find(README_START)
            .expect("README.md has the settings table markers")
            + README_START.len();
        let end = readme[start..].find(README_END).expect("the end marker") + start;
        let expected = markdown_table();
        if readme[start..end].trim() != expected.trim() {
            println!("{expected}");
            panic!("README.md's settings table differs from config::vars::TABLE (printed above)");
        }
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut names: Vec<_> = TABLE.iter().map(|v| v.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
        assert!(names.iter().all(|n| n.starts_with("LICENSE_BROKER_")));
    }
}
