//! `license-broker`: parses the command line, sets up logging, and hands over to the
//! library. Every failure ends as one line on stderr and a non-zero exit code.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use license_broker::config::unknown_variables;
use license_broker::telemetry::{self, LogFormat};
use license_broker::{load_license_keys, Config, Signals, Signer, Sources};
use license_shared::CustomerId;

/// mimalloc rather than glibc's malloc: a warm validation makes some 60 small
/// allocations (the request, its headers, the JSON, the envelope, the log line), and
/// mimalloc's per-thread free lists serve them in fewer instructions, with no
/// fastbin consolidation on the larger buffers (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOP_HELP: &str = "\
Configuration: a TOML file (--config; each LICENSE_BROKER_X as the key x; relative *_file paths \
are relative to the file's directory) and LICENSE_BROKER_* environment variables, which win. \
Required: LICENSE_BROKER_ORDS_BASE_URL, LICENSE_BROKER_CLIENT_ID, LICENSE_BROKER_CLIENT_SECRET_FILE \
(or LICENSE_BROKER_CLIENT_SECRET), LICENSE_BROKER_SIGNING_KEY_FILE, LICENSE_BROKER_KEY_SECRET_FILE. \
Every setting: README.md, or deploy/broker.toml. An unknown LICENSE_BROKER_* variable is warned \
about. Logs: LICENSE_BROKER_LOG (filter), LICENSE_BROKER_LOG_FORMAT (text|json).

Exit codes: 0 success; 1 the command failed (one line on stderr names the variable or file to \
fix); 2 usage error, or a bad LICENSE_BROKER_LOG, RUST_LOG or LICENSE_BROKER_LOG_FORMAT.";

const SERVE_HELP: &str = "\
Reads every setting and every file (client secret, signing key, key secret, TLS certificate and \
key) before it listens; a bad one stops it with one line naming the variable. \
Listens on LICENSE_BROKER_LISTEN (default 127.0.0.1:8080); /metrics moves to \
LICENSE_BROKER_METRICS_LISTEN when that is set. HTTPS with LICENSE_BROKER_TLS_CERT_FILE and \
LICENSE_BROKER_TLS_KEY_FILE. Signals: SIGTERM/SIGINT drain and exit 0 (/readyz turns 503, \
LICENSE_BROKER_DRAIN_DELAY_SECS, then up to LICENSE_BROKER_SHUTDOWN_GRACE_SECS); SIGHUP is logged \
and ignored.

Exit codes: 0 after a drain; 1 a setting or file is unusable, or the address cannot be bound; \
2 usage error.";

const CHECK_HELP: &str = "\
The preflight: reads exactly what `serve` reads (same --config, same environment; every file, \
TLS certificate and key parsed, permission warnings printed), then asks ORDS for one token. \
Run it as the service would (systemd: ExecStartPre=/usr/local/bin/license-broker check). \
A failed token request names its cause: HTTP 404 (base URL without /ords/<alias>), 401 \
(credentials), connection refused, TLS, DNS.

Exit codes: 0 `serve` would start and get a token (and, with --customer-id, any verdict); \
1 it would not (one line on stderr says why); 2 usage error.";

const KEYGEN_HELP: &str = "\
Creates FILE with mode 0600 and O_CREAT|O_EXCL, which never follows a symlink; an existing FILE \
is an error unless --force, which writes a new file beside it and renames it over FILE (a \
symlink at FILE is replaced, never followed). Prints `kid=<kid> public_key=<base64url>`; the \
same line comes back with `license-broker pubkey --key FILE`.

Exit codes: 0 written; 1 FILE exists (without --force) or cannot be written; 2 usage error.";

const PUBKEY_HELP: &str = "\
Prints `kid=<kid> public_key=<base64url>` for an existing signing key (what keygen printed), \
e.g. for LICENSE_CHECK_PINNED_KEYS=\"<kid>:<public_key>\" in the desktop build.

Exit codes: 0 printed; 1 the key cannot be read; 2 usage error.";

const ISSUE_KEY_HELP: &str = "\
Needs only LICENSE_BROKER_KEY_SECRET_FILE (or key_secret_file in --config). Prints the key on \
stdout; it is not logged.

Exit codes: 0 printed; 1 the key secret cannot be read or the id is invalid; 2 usage error.";

#[derive(Parser)]
#[command(
    name = "license-broker",
    version,
    about = "Holds the ORDS OAuth secret and answers license validations with signed verdicts",
    after_help = TOP_HELP
)]
struct Cli {
    /// Log line format (default: LICENSE_BROKER_LOG_FORMAT, else text).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker.
    #[command(after_help = SERVE_HELP)]
    Serve {
        /// TOML configuration; LICENSE_BROKER_* environment variables win over it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Write a new Ed25519 verdict-signing key (PKCS#8 PEM, mode 0600).
    #[command(after_help = KEYGEN_HELP)]
    Keygen {
        /// Where to write the key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace an existing file (atomically, by rename).
        #[arg(long)]
        force: bool,
    },
    /// Print the kid and public key of an existing signing key.
    #[command(after_help = PUBKEY_HELP)]
    Pubkey {
        /// The signing key (PKCS#8 PEM), e.g. LICENSE_BROKER_SIGNING_KEY_FILE's file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Print the license key for one ORDS customer id.
    #[command(after_help = ISSUE_KEY_HELP)]
    IssueKey {
        /// The ORDS customer id the key is for.
        #[arg(long, value_name = "ID")]
        customer_id: String,
        /// TOML configuration; LICENSE_BROKER_* environment variables win over it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check everything serve would read, then obtain one token from ORDS; with
    /// --customer-id, also look that customer up and print the verdict code.
    #[command(after_help = CHECK_HELP)]
    Check {
        /// TOML configuration; LICENSE_BROKER_* environment variables win over it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// A known (canary) customer id: one real lookup proves the whole ORDS route.
        /// Any verdict (NOT_FOUND too) exits 0; an upstream error exits non-zero.
        #[arg(long, value_name = "ID")]
        customer_id: Option<String>,
    },
}

fn main() -> ExitCode {
    // Before clap, so the value never shows up in a usage error.
    if std::env::args_os().any(|a| a.to_string_lossy().starts_with("--client-secret")) {
        eprintln!(
            "error: the OAuth client secret is never accepted on the command line; use LICENSE_BROKER_CLIENT_SECRET_FILE (or LICENSE_BROKER_CLIENT_SECRET)"
        );
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let format = match cli
        .log_format
        .map(Ok)
        .unwrap_or_else(|| LogFormat::from_env().map(Option::unwrap_or_default))
    {
        Ok(format) => format,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    // The service logs; `check` shows warnings (file permissions, unknown variables),
    // the other one-shot commands answer in one line of their own.
    let default_filter = match cli.command {
        Command::Serve { .. } => "info",
        Command::Check { .. } => "warn",
        _ => "error",
    };
    if let Err(message) = telemetry::init(format, default_filter) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    if matches!(cli.command, Command::Serve { .. } | Command::Check { .. }) {
        warn_about_unknown_variables();
    }
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// A typo such as `LICENSE_BROKER_CLIENTID` would otherwise be silently ignored.
fn warn_about_unknown_variables() {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    for warning in unknown_variables(names.iter().map(String::as_str)) {
        tracing::warn!("{warning}");
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Keygen { out, force } => keygen(&out, force),
        Command::Pubkey { key } => {
            let signer = Signer::from_file(&key, "--key")?;
            println!("{}", key_line(&signer));
            Ok(())
        }
        Command::IssueKey {
            customer_id,
            config,
        } => {
            let keys = load_license_keys(&Sources::from_process(config.as_deref())?)?;
            let id = CustomerId::parse(customer_id.trim()).context("--customer-id")?;
            println!("{}", keys.mint(&id));
            Ok(())
        }
        Command::Check {
            config,
            customer_id,
        } => {
            let customer = customer_id
                .map(|id| CustomerId::parse(id.trim()).context("--customer-id"))
                .transpose()?;
            // Every file serve reads is read here (and TLS parsed) before any network.
            let config = Config::load(config.as_deref())?;
            let code = runtime()?
                .block_on(license_broker::check_route(&config, customer.as_ref()))
                .map_err(anyhow::Error::msg)?;
            println!(
                "ok: configuration valid and ORDS issued a token (listen {}, {}, signing kid {})",
                config.listen,
                if config.edge.tls.is_some() {
                    "HTTPS"
                } else {
                    "plain HTTP"
                },
                config.signer.kid()
            );
            if let (Some(id), Some(code)) = (customer, code) {
                println!("customer {id}: {code}");
            }
            Ok(())
        }
        Command::Serve { config } => {
            // Every file is read (and TLS parsed) here, before anything listens.
            let config = Config::load(config.as_deref())?;
            runtime()?.block_on(async move {
                // Installed before the listener exists, so a SIGTERM that arrives as
                // soon as the broker is reachable still drains instead of killing it.
                let mut signals = Signals::install().unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C will stop the broker gracefully");
                    Signals::ctrl_c_only()
                });
                let listener = tokio::net::TcpListener::bind(config.listen)
                    .await
                    .with_context(|| {
                        format!(
                            "{}: cannot listen on {}",
                            license_broker::vars::LISTEN,
                            config.listen
                        )
                    })?;
                let shutdown = async move {
                    let signal = signals.recv().await;
                    tracing::info!(?signal, "shutdown requested");
                };
                license_broker::serve(config, listener, shutdown).await
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The one line keygen and pubkey print.
fn key_line(signer: &Signer) -> String {
    format!(
        "kid={} public_key={}",
        signer.kid(),
        signer.public_key_b64()
    )
}

/// Writes the key with mode 0600 from the start, so it is never briefly readable.
///
/// The file is opened with `create_new` (`O_CREAT|O_EXCL`), and POSIX `open()` does not
/// follow a symlink in the last component then
/// (<https://pubs.opengroup.org/onlinepubs/9799919799/functions/open.html>): a symlink
/// planted at `out` cannot redirect the key. `--force` writes a new file beside `out`
/// the same way and renames it over `out`; `rename` replaces a symlink, never its target.
fn keygen(out: &Path, force: bool) -> anyhow::Result<()> {
    let signer = Signer::generate();
    let pem = signer.to_pem().map_err(anyhow::Error::msg)?;
    if force {
        let name = out
            .file_name()
            .with_context(|| format!("{} is not a file name", out.display()))?;
        let dir = match out.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = dir.join(format!(
            ".{}.{:016x}.tmp",
            name.to_string_lossy(),
            rand::random::<u64>()
        ));
        let written = write_new_private(&temp, pem.as_bytes())
            .and_then(|()| std::fs::rename(&temp, out).context("cannot rename it into place"));
        if let Err(err) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(err.context(format!("cannot write {}", out.display())));
        }
    } else {
        write_new_private(out, pem.as_bytes()).map_err(|err| {
            let exists = err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists);
            if exists {
                anyhow::anyhow!(
                    "{} already exists; pass --force to overwrite it",
                    out.display()
                )
            } else {
                err.context(format!("cannot write {}", out.display()))
            }
        })?;
    }
    println!("{}", key_line(&signer));
    Ok(())
}

/// Creates `path` (never following a symlink there), mode 0600, and writes `bytes`.
fn write_new_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // The umask can only narrow 0600; this makes it exact.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::{keygen, Cli};

    /// A symlink planted at `--out` is never followed: without `--force` keygen refuses,
    /// with it the link itself is replaced by a 0600 key and its target is untouched.
    #[cfg(unix)]
    #[test]
    fn keygen_never_follows_a_symlink() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "precious").unwrap();
        let out = dir.path().join("signing.pem");
        std::os::unix::fs::symlink(&target, &out).unwrap();
        let err = keygen(&out, false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        // A dangling link is refused too (O_EXCL does not create through it).
        let dangling = dir.path().join("dangling.pem");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(keygen(&dangling, false).is_err());
        assert!(!dir.path().join("nowhere").exists());

        keygen(&out, true).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        let meta = std::fs::symlink_metadata(&out).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(std::fs::read_to_string(&out)
            .unwrap()
            .contains("PRIVATE KEY"));
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    /// `--help` on the binary and on every command names the exit codes, and each
    /// command's help names the variables it reads.
    #[test]
    fn every_help_names_its_exit_codes_and_variables() {
        let mut cli = Cli::command();
        cli.build();
        let top = cli.render_long_help().to_string();
        assert!(top.contains("Exit codes: 0"), "{top}");
        assert!(top.contains("LICENSE_BROKER_ORDS_BASE_URL"), "{top}");
        for sub in cli.get_subcommands_mut() {
            let name = sub.get_name().to_owned();
            if name == "help" {
                continue;
            }
            let help = sub.render_long_help().to_string();
            assert!(help.contains("Exit codes: 0"), "{name}: {help}");
            let names_a_setting = help.contains("LICENSE_") || name == "keygen";
            assert!(names_a_setting, "{name}: {help}");
        }
    }
}
