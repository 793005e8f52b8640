//! `license-check`: the reference desktop client, built on the library (feature `cli`).
//!
//! Thin on purpose: parse arguments, read configuration, pick the key store, build a
//! [`LicenseClient`], print its verdict. Exit codes: 0 licensed, 1 not licensed,
//! 2 undetermined, 64 usage or configuration error.

use std::io::Read as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use license_client::config::{
    self, ConfigFile, KeyStoreKind, TrustSource, ENV_BROKER_URL, ENV_KEYSTORE, ENV_TRUSTED_KEYS,
    PINNED_KEYS,
};
use license_client::{
    remove_activation, ActivateError, FileKeyStore, KeyStore, LicenseClient, OsKeyring, Outcome,
    Paths, Verdict,
};

const EXIT_UNDETERMINED: u8 = 2;
const EXIT_USAGE: u8 = 64;
/// The app id the reference client identifies as (overridable with `app_id` in the config).
const DEFAULT_APP_ID: &str = "license-check";

/// Not `Debug`: `activate` holds the license key, which must never be printed.
#[derive(Parser)]
#[command(
    name = "license-check",
    version,
    about = "Checks, activates and removes this machine's license"
)]
struct Cli {
    /// The license broker's base URL.
    #[arg(long, global = true, env = ENV_BROKER_URL, value_name = "URL")]
    broker_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validates KEY online; on a verified VALID stores it and the signed verdict.
    Activate {
        /// The license key, or `-` to read it from standard input (keeps it out of the process list).
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// The start-up check.
    Status {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Never touch the network; decide from the saved verdict.
        #[arg(long, conflicts_with = "refresh")]
        offline: bool,
        /// Ask the license server even if the saved verdict is still fresh.
        #[arg(long)]
        refresh: bool,
    },
    /// Removes the stored key and the saved verdict.
    Deactivate,
}

/// An error that is the caller's to fix: exit 64.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    Usage(message.to_string()).into()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("license-check: {e:#}");
            let code = if e.downcast_ref::<Usage>().is_some() {
                EXIT_USAGE
            } else {
                EXIT_UNDETERMINED
            };
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let paths = Paths::from_project_dirs().map_err(usage)?;
    let config = ConfigFile::load(&paths.config_file).map_err(usage)?;
    let kind = KeyStoreKind::parse(std::env::var(ENV_KEYSTORE).ok().as_deref()).map_err(usage)?;
    let app_id = config
        .app_id
        .clone()
        .unwrap_or_else(|| DEFAULT_APP_ID.to_owned());
    let store: Box<dyn KeyStore> = match kind {
        KeyStoreKind::Os => Box::new(OsKeyring::new(app_id.clone())),
        KeyStoreKind::File => Box::new(FileKeyStore::new(&paths.data_dir)),
    };
    let store_name = store.describe();
    eprintln!("key store: {store_name}");

    // A typo in the key is reported before anything else, and never needs the network.
    let key = match &cli.command {
        Command::Activate { key } => {
            let key = read_key(key.clone())?;
            license_shared::LicenseKey::parse(&key).map_err(usage)?;
            Some(key)
        }
        _ => None,
    };

    if let Command::Deactivate = cli.command {
        remove_activation(&*store, &paths).context("deactivation is incomplete")?;
        println!(
            "Removed the license key from the {store_name} and the saved license from {}.",
            paths.data_dir.display()
        );
        return Ok(0);
    }

    let env_keys = std::env::var(ENV_TRUSTED_KEYS).ok();
    let (keys, trust) = config::resolve_trusted_keys(
        PINNED_KEYS,
        env_keys.as_deref(),
        config.trusted_keys.as_deref(),
        &paths.config_file,
    )
    .map_err(usage)?;
    let shown = Shown {
        key_store: &store_name,
        trusted_keys_source: trust.describe(),
    };
    match trust {
        TrustSource::ConfigFile => eprintln!(
            "trusted keys: {} ({})",
            trust.describe(),
            paths.config_file.display()
        ),
        _ => eprintln!("trusted keys: {}", trust.describe()),
    }
    let broker_url = cli.broker_url.clone().or(config.broker_url.clone());
    let needs_broker = !matches!(cli.command, Command::Status { offline: true, .. });
    if needs_broker && broker_url.is_none() {
        return Err(usage(format!(
            "no license server URL: pass --broker-url, set {ENV_BROKER_URL}, or set broker_url in {}",
            paths.config_file.display()
        )));
    }
    let mut builder = LicenseClient::builder()
        .app_id(app_id)
        .app_version(env!("CARGO_PKG_VERSION"))
        .trusted_keys(keys)
        .paths(paths)
        .key_store(store);
    if let Some(url) = broker_url {
        builder = builder.broker_url(url);
    }
    if let Some(ms) = config.connect_timeout_ms {
        builder = builder.connect_timeout(Duration::from_millis(ms));
    }
    if let Some(ms) = config.total_timeout_ms {
        builder = builder.total_timeout(Duration::from_millis(ms));
    }
    let client = builder.build().map_err(usage)?;

    match cli.command {
        Command::Status {
            json,
            offline,
            refresh,
        } => {
            let verdict = if offline {
                client.check_offline()
            } else if refresh {
                runtime()?.block_on(client.refresh())
            } else {
                runtime()?.block_on(client.check())
            };
            print_verdict(&verdict, json, &shown)?;
            Ok(verdict.outcome().exit_code())
        }
        Command::Activate { .. } => {
            let key = key.unwrap_or_default();
            match runtime()?.block_on(client.activate(&key)) {
                Ok(verdict) => {
                    print_verdict(&verdict, false, &shown)?;
                    Ok(verdict.outcome().exit_code())
                }
                Err(e @ (ActivateError::InvalidKey(_) | ActivateError::NoBrokerUrl)) => {
                    Err(usage(e))
                }
                Err(e) => Err(anyhow::Error::new(e).context("the license could not be activated")),
            }
        }
        Command::Deactivate => Ok(0),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `-` reads the key from stdin, so it need not appear in the process list.
fn read_key(arg: String) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg);
    }
    let mut text = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut text)
        .context("cannot read the license key from standard input")?;
    Ok(text.trim().to_owned())
}

/// Where the key and the trust came from, shown with each verdict.
struct Shown<'a> {
    key_store: &'a str,
    trusted_keys_source: &'static str,
}

fn print_verdict(verdict: &Verdict, json: bool, shown: &Shown<'_>) -> anyhow::Result<()> {
    if json {
        let mut value = serde_json::to_value(verdict).context("cannot encode the verdict")?;
        if let Some(object) = value.as_object_mut() {
            object.insert("key_store".into(), shown.key_store.into());
            object.insert(
                "trusted_keys_source".into(),
                shown.trusted_keys_source.into(),
            );
            object.insert("exit_code".into(), verdict.outcome().exit_code().into());
        }
        println!("{value}");
        return Ok(());
    }
    let headline = match verdict.outcome() {
        Outcome::Licensed => "Licensed",
        Outcome::NotLicensed => "Not licensed",
        Outcome::Undetermined => "License status unknown",
    };
    let source = match (verdict.source, verdict.offline_until) {
        (license_client::Source::Online, _) => "checked online",
        (license_client::Source::Cache, Some(_)) => "from the saved license",
        (license_client::Source::Cache, None) => "checked on this machine",
    };
    println!("{headline} ({}, {source}).", verdict.code);
    println!("{}", verdict.message);
    Ok(())
}
