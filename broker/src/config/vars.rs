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
/// Name of the customer id column in the ORDS answer; when a row carries it, it must be
/// the id that was looked up (a row for another customer is an upstream error).
pub const ID_COLUMN: &str = "LICENSE_BROKER_ID_COLUMN";
/// Name of the product column (optional in the answer: absent or NULL, any product).
pub const PRODUCT_COLUMN: &str = "LICENSE_BROKER_PRODUCT_COLUMN";
/// Name of the entitlements column, a comma-separated list (optional: none).
pub const ENTITLEMENTS_COLUMN: &str = "LICENSE_BROKER_ENTITLEMENTS_COLUMN";
/// Name of the expiry-strategy column, `REVOKE_ACCESS` or `MAINTAIN_ACCESS` (optional:
/// revoke at expiry).
pub const EXPIRY_STRATEGY_COLUMN: &str = "LICENSE_BROKER_EXPIRY_STRATEGY_COLUMN";
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

/// A second listen address that alone serves `GET /metrics` (e.g. `127.0.0.1:9090`);
/// when set, the public listener answers `/metrics` with 404. Default: `/metrics` is
/// on the public listener.
pub const METRICS_LISTEN: &str = "LICENSE_BROKER_METRICS_LISTEN";

/// Log filter (`tracing_subscriber::EnvFilter` syntax); `RUST_LOG` is the fallback.
pub const LOG: &str = "LICENSE_BROKER_LOG";
/// `text` (default) or `json`.
pub const LOG_FORMAT: &str = "LICENSE_BROKER_LOG_FORMAT";

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

/// Every setting the broker reads.
pub const TABLE: &[Var] = &[
    Var {
        name: LISTEN,
        default: "`127.0.0.1:8080`",
        in_file: true,
        doc: "Listen address, `127.0.0.1:8080` by default.",
    },
    Var {
        name: ORDS_BASE_URL,
        default: "required",
        in_file: true,
        doc: "The ORDS schema root, e.g. `https://host/ords/page`. Required.",
    },
    Var {
        name: VALIDATION_PATH,
        default: "`customers/validation/{id}`",
        in_file: true,
        doc: "Path template under the schema root with one `{id}` segment.",
    },
    Var {
        name: CLIENT_ID,
        default: "required",
        in_file: true,
        doc: "OAuth client id. Required.",
    },
    Var {
        name: CLIENT_SECRET_FILE,
        default: "one of the two is required",
        in_file: true,
        doc: "File holding the OAuth client secret (preferred: it can be rotated in place).",
    },
    Var {
        name: CLIENT_SECRET,
        default: "",
        in_file: false,
        doc: "The OAuth client secret itself.",
    },
    Var {
        name: SIGNING_KEY_FILE,
        default: "required",
        in_file: true,
        doc: "Ed25519 PKCS#8 PEM that signs verdicts. Required.",
    },
    Var {
        name: KEY_SECRET_FILE,
        default: "required",
        in_file: true,
        doc: "At least 32 bytes that make license keys unforgeable. Required.",
    },
    Var {
        name: RATE_PER_IP,
        default: "`60`",
        in_file: true,
        doc: "Validations per minute from one client address; `0` turns the limit off.",
    },
    Var {
        name: RATE_PER_KEY,
        default: "`20`",
        in_file: true,
        doc: "Validations per minute for one license key; `0` turns the limit off.",
    },
    Var {
        name: TOKEN_URL,
        default: "`<base>/oauth/token`",
        in_file: true,
        doc: "Token endpoint; defaults to `<ORDS_BASE_URL>/oauth/token`.",
    },
    Var {
        name: OFFLINE_GRACE_SECS,
        default: "`604800` (7 days)",
        in_file: true,
        doc: "Seconds a valid verdict may be used offline (capped at 30 days and by expiry).",
    },
    Var {
        name: RECHECK_AFTER_SECS,
        default: "`86400` (1 day)",
        in_file: true,
        doc: "Seconds after which a client should ask again at start-up.",
    },
    Var {
        name: VERDICT_TTL_SECS,
        default: "`60`",
        in_file: true,
        doc: "Seconds a looked-up active license stays cached.",
    },
    Var {
        name: NEGATIVE_TTL_SECS,
        default: "`15`",
        in_file: true,
        doc: "Seconds a deny (no row, suspended, revoked, expired) stays cached.",
    },
    Var {
        name: EXPIRY_COLUMN,
        default: "`expires_at`",
        in_file: true,
        doc: "Name of the expiry column in the ORDS answer.",
    },
    Var {
        name: STATUS_COLUMN,
        default: "`license_status`",
        in_file: true,
        doc: "Name of the status column in the ORDS answer.",
    },
    Var {
        name: STATUS_ACTIVE,
        default: "`ACTIVE`",
        in_file: true,
        doc: "Comma-separated status values meaning \"active\".",
    },
    Var {
        name: STATUS_SUSPENDED,
        default: "`SUSPENDED`",
        in_file: true,
        doc: "Comma-separated status values meaning \"suspended\".",
    },
    Var {
        name: STATUS_REVOKED,
        default: "`REVOKED`",
        in_file: true,
        doc: "Comma-separated status values meaning \"revoked\".",
    },
    Var {
        name: ITEM_404_IS_NOT_FOUND,
        default: "`true`",
        in_file: true,
        doc: "`true` (default): a `404` with ORDS's `NotFound` problem JSON is \"no such license\" (a `json/item` handler). `false`: only an empty collection (`items: []`) is, and every 404 is an upstream error; recommended with `json/collection` handlers, where a 404 can only mean the URL reaches no handler. A 404 that is not ORDS's NotFound problem JSON (HTML, \"could not be mapped\") is an upstream error either way.",
    },
    Var {
        name: ID_COLUMN,
        default: "`customer_id`",
        in_file: true,
        doc: "Name of the customer id column in the ORDS answer; when a row carries it, it must be the id that was looked up (a row for another customer is an upstream error).",
    },
    Var {
        name: PRODUCT_COLUMN,
        default: "`product`",
        in_file: true,
        doc: "Name of the product column (optional in the answer: absent or NULL, any product).",
    },
    Var {
        name: ENTITLEMENTS_COLUMN,
        default: "`entitlements`",
        in_file: true,
        doc: "Name of the entitlements column, a comma-separated list (optional: none).",
    },
    Var {
        name: EXPIRY_STRATEGY_COLUMN,
        default: "`expiry_strategy`",
        in_file: true,
        doc: "Name of the expiry-strategy column, `REVOKE_ACCESS` or `MAINTAIN_ACCESS` (optional: revoke at expiry).",
    },
    Var {
        name: MAX_MACHINES_COLUMN,
        default: "`max_machines`",
        in_file: true,
        doc: "Name of the column holding the license's machine limit (NULL or absent: unlimited).",
    },
    Var {
        name: SEATS_PATH,
        default: "`customers/seats/{id}`",
        in_file: true,
        doc: "Path template of the seats handlers under the schema root, one `{id}` segment; `/activate`, `/renew` and `/release` are appended. Default `customers/seats/{id}`.",
    },
    Var {
        name: SEAT_LEASE_SECS,
        default: "the offline grace",
        in_file: true,
        doc: "Seconds a seat stays held without an online validation from its machine; at least the offline grace, which is also the default.",
    },
    Var {
        name: REMOTE_RELEASE_BUDGET,
        default: "`3`",
        in_file: true,
        doc: "How many *other* machines' seats one license may free per window (default 3), so deactivate-and-reactivate cannot mint unlimited machines.",
    },
    Var {
        name: REMOTE_RELEASE_WINDOW_SECS,
        default: "`2592000` (30 days)",
        in_file: true,
        doc: "The window of `LICENSE_BROKER_REMOTE_RELEASE_BUDGET`, in seconds (default 30 days).",
    },
    Var {
        name: ACTIVATIONS_PER_HOUR,
        default: "`10`",
        in_file: true,
        doc: "Activations per hour for one license key (default 10); `0` turns the limit off.",
    },
    Var {
        name: UPSTREAM_TIMEOUT_SECS,
        default: "`3`",
        in_file: true,
        doc: "Seconds allowed for one whole ORDS exchange; 3 by default, and it must stay shorter than `LICENSE_BROKER_REQUEST_TIMEOUT_SECS` (4 by default).",
    },
    Var {
        name: UPSTREAM_CONNECT_TIMEOUT_SECS,
        default: "`2`",
        in_file: true,
        doc: "Seconds allowed to connect to ORDS; 2 by default.",
    },
    Var {
        name: UPSTREAM_BODY_LIMIT_BYTES,
        default: "`65536`",
        in_file: true,
        doc: "Largest ORDS response body read, in bytes.",
    },
    Var {
        name: TRUSTED_PROXIES,
        default: "none",
        in_file: true,
        doc: "Comma-separated proxy networks (`10.0.0.0/8,::1`) whose `X-Forwarded-For` is believed, read from the right. Default: none, the TCP peer is the client.",
    },
    Var {
        name: TLS_CERT_FILE,
        default: "none (plain HTTP)",
        in_file: true,
        doc: "PEM certificate chain for serving HTTPS; set together with `LICENSE_BROKER_TLS_KEY_FILE`.",
    },
    Var {
        name: TLS_KEY_FILE,
        default: "none (plain HTTP)",
        in_file: true,
        doc: "PEM private key for serving HTTPS; set together with `LICENSE_BROKER_TLS_CERT_FILE`.",
    },
    Var {
        name: REQUEST_TIMEOUT_SECS,
        default: "`4`",
        in_file: true,
        doc: "The broker's own deadline for one request, in seconds; longer than the upstream timeout and shorter than the desktop client's 5 s.",
    },
    Var {
        name: HEADER_READ_TIMEOUT_SECS,
        default: "`10`",
        in_file: true,
        doc: "Seconds a client has to send its request headers (against slowloris).",
    },
    Var {
        name: MAX_CONCURRENT,
        default: "`1024`",
        in_file: true,
        doc: "Validations answered at once; beyond this the broker sheds with a quick 503.",
    },
    Var {
        name: SHUTDOWN_GRACE_SECS,
        default: "`30`",
        in_file: true,
        doc: "Seconds in-flight requests get to finish after SIGTERM/SIGINT.",
    },
    Var {
        name: DRAIN_DELAY_SECS,
        default: "`0`",
        in_file: true,
        doc: "Seconds the broker keeps accepting after SIGTERM, answering `/readyz` with 503, so a load balancer notices before connections are refused.",
    },
    Var {
        name: METRICS_LISTEN,
        default: "none (on the public listener)",
        in_file: true,
        doc: "A second listen address that alone serves `GET /metrics` (e.g. `127.0.0.1:9090`, like oauth2-proxy's `--metrics-address`); when set, the public listener answers `/metrics` with 404.",
    },
    Var {
        name: LOG,
        default: "`info`",
        in_file: false,
        doc: "Log filter (`tracing_subscriber::EnvFilter` syntax); `RUST_LOG` is the fallback.",
    },
    Var {
        name: LOG_FORMAT,
        default: "`text`",
        in_file: false,
        doc: "`text` (default) or `json`.",
    },
];

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
            var.name, var.doc, var.default
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
