//! The long help of `license-broker` and its commands (clap's `after_help`): what each
//! reads and its exit codes.

/// `license-broker --help`: where settings come from, and the exit codes.
pub const TOP_HELP: &str = "\
Configuration: a TOML file (--config; each LICENSE_BROKER_X as the key x; relative *_file paths \
are relative to the file's directory) and LICENSE_BROKER_* environment variables, which win. \
Required: LICENSE_BROKER_ORDS_BASE_URL, LICENSE_BROKER_CLIENT_ID, LICENSE_BROKER_CLIENT_SECRET_FILE \
(or LICENSE_BROKER_CLIENT_SECRET), LICENSE_BROKER_SIGNING_KEY_FILE, LICENSE_BROKER_KEY_SECRET_FILE. \
Every setting: README.md, or deploy/broker.toml. An unknown LICENSE_BROKER_* variable is warned \
about. Logs: LICENSE_BROKER_LOG (filter), LICENSE_BROKER_LOG_FORMAT (text|json).

Exit codes: 0 success; 1 the command failed (one line on stderr names the variable or file to \
fix); 2 usage error, or a bad LICENSE_BROKER_LOG, RUST_LOG or LICENSE_BROKER_LOG_FORMAT.";

/// `license-broker serve --help`.
pub const SERVE_HELP: &str = "\
Reads every setting and every file (client secret, signing key, key secret, TLS certificate and \
key) before it listens; a bad one stops it with one line naming the variable. \
Listens on LICENSE_BROKER_LISTEN (default 127.0.0.1:8080); /metrics moves to \
LICENSE_BROKER_METRICS_LISTEN when that is set. HTTPS with LICENSE_BROKER_TLS_CERT_FILE and \
LICENSE_BROKER_TLS_KEY_FILE. Signals: SIGTERM/SIGINT drain and exit 0 (/readyz turns 503, \
LICENSE_BROKER_DRAIN_DELAY_SECS, then up to LICENSE_BROKER_SHUTDOWN_GRACE_SECS); SIGHUP is logged \
and ignored.

Exit codes: 0 after a drain; 1 a setting or file is unusable, or the address cannot be bound; \
2 usage error.";

/// `license-broker check --help`.
pub const CHECK_HELP: &str = "\
The preflight: reads exactly what `serve` reads (same --config, same environment; every file, \
TLS certificate and key parsed, permission warnings printed), then asks ORDS for one token. \
Run it as the service would (systemd: ExecStartPre=/usr/local/bin/license-broker check). \
A failed token request names its cause: HTTP 404 (base URL without /ords/<alias>), 401 \
(credentials), connection refused, TLS, DNS.

Exit codes: 0 `serve` would start and get a token (and, with --customer-id, any verdict); \
1 it would not (one line on stderr says why); 2 usage error.";

/// `license-broker keygen --help`.
pub const KEYGEN_HELP: &str = "\
Creates FILE with mode 0600 and O_CREAT|O_EXCL, which never follows a symlink; an existing FILE \
is an error unless --force, which writes a new file beside it and renames it over FILE (a \
symlink at FILE is replaced, never followed). Prints `kid=<kid> public_key=<base64url>`; the \
same line comes back with `license-broker pubkey --key FILE`.

Exit codes: 0 written; 1 FILE exists (without --force) or cannot be written; 2 usage error.";

/// `license-broker pubkey --help`.
pub const PUBKEY_HELP: &str = "\
Prints `kid=<kid> public_key=<base64url>` for an existing signing key (what keygen printed), \
e.g. for LICENSE_CHECK_PINNED_KEYS=\"<kid>:<public_key>\" in the desktop build.

Exit codes: 0 printed; 1 the key cannot be read; 2 usage error.";

/// `license-broker issue-key --help`.
pub const ISSUE_KEY_HELP: &str = "\
Needs only LICENSE_BROKER_KEY_SECRET_FILE (or key_secret_file in --config). Prints the key on \
stdout; it is not logged.

--serial N prints the key for the license row's key_serial N (default 0, the first key). To \
replace a leaked key, raise key_serial in the license row, then issue the key for the new \
serial: the old key licenses nothing from then on (deploy/README.md, 'A key leaked').

Exit codes: 0 printed; 1 the key secret cannot be read or the id is invalid; 2 usage error.";
