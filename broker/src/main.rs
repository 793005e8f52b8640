//! `license-broker`: parses the command line, sets up logging, and hands over to the
//! library. Every failure ends as one line on stderr and a non-zero exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use license_broker::telemetry::{self, LogFormat};
use license_broker::{load_license_keys, Config, Signals, Signer, Sources};
use license_shared::CustomerId;

#[derive(Parser)]
#[command(
    name = "license-broker",
    version,
    about = "Holds the ORDS OAuth secret and answers license validations with signed verdicts"
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
    Serve {
        /// TOML configuration; LICENSE_BROKER_* environment variables win over it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Write a new Ed25519 verdict-signing key (PKCS#8 PEM, mode 0600).
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the license key for one ORDS customer id.
    IssueKey {
        #[arg(long)]
        customer_id: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate the configuration and obtain one token from ORDS; with
    /// --customer-id, also look that customer up and print the verdict code.
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
        /// A known (canary) customer id: one real lookup proves the whole ORDS route.
        /// Any verdict (NOT_FOUND too) exits 0; an upstream error exits non-zero.
        #[arg(long)]
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
    // The one-shot commands answer in one line of their own; the service logs.
    let default_filter = match cli.command {
        Command::Serve { .. } => "info",
        _ => "error",
    };
    telemetry::init(format, default_filter);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Keygen { out, force } => keygen(&out, force),
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
            let config = Config::load(config.as_deref())?;
            let code = runtime()?
                .block_on(license_broker::check_route(&config, customer.as_ref()))
                .map_err(anyhow::Error::msg)?;
            println!("ok: configuration valid and ORDS issued a token");
            if let (Some(id), Some(code)) = (customer, code) {
                println!("customer {id}: {code}");
            }
            Ok(())
        }
        Command::Serve { config } => {
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
                    .with_context(|| format!("cannot listen on {}", config.listen))?;
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

/// Writes the key with mode 0600 from the start, so it is never briefly readable.
fn keygen(out: &Path, force: bool) -> anyhow::Result<()> {
    if out.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            out.display()
        );
    }
    let signer = Signer::generate();
    let pem = signer.to_pem().map_err(anyhow::Error::msg)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot chmod 600 {}", out.display()))?;
    }
    std::io::Write::write_all(&mut file, pem.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "kid={} public_key={}",
        signer.kid(),
        signer.public_key_b64()
    );
    Ok(())
}
