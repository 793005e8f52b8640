//! `license-check`: the reference desktop client, built on the library (feature `cli`).
//!
//! `main` parses the arguments; [`Settings::resolve`] reads the configuration file and
//! the environment (`config`) once; each subcommand is one function that builds a
//! [`LicenseClient`] from them and prints its answer (`print`). Exit codes: 0 licensed
//! (or done), 1 not licensed (or refused), 2 undetermined, 64 usage or configuration
//! error.

mod config;
mod print;

use std::io::Read as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use license_client::{
    remove_activation, Code, Error, ErrorKind, FileKeyStore, Fingerprint, KeyStore, LicenseClient,
    OsKeyring, Paths,
};

use config::{
    ConfigFile, KeyStoreKind, TrustSource, BUILD_TIME, ENV_BROKER_URL, ENV_KEYSTORE,
    ENV_MACHINE_ID, ENV_PRODUCT, ENV_TRUSTED_KEYS, PINNED_KEYS,
};

use print::{print_failure, print_machines, print_verdict, Shown};

const EXIT_NOT_LICENSED: u8 = 1;
const EXIT_UNDETERMINED: u8 = 2;
const EXIT_USAGE: u8 = 64;
/// The app id the reference client identifies as (overridable with `app_id` in the config).
const DEFAULT_APP_ID: &str = "license-check";

/// Shown after `--help`: the environment and the exit codes scripts rely on.
const AFTER_HELP: &str = "\
Environment:
  LICENSE_CHECK_BROKER_URL    the license server's base URL (--broker-url wins)
  LICENSE_CHECK_TRUSTED_KEYS  trusted verdict-signing keys, kid:base64url[,...]
                              (refused when keys were pinned at build time)
  LICENSE_CHECK_KEYSTORE      os (default: the OS keyring) or file (a 0600 file; in
                              a build with pinned keys only when set explicitly)
  LICENSE_CHECK_MACHINE_ID    used instead of the OS machine id (containers, cloned
                              VMs); the fingerprint stays an HMAC of it over the app id
  LICENSE_CHECK_PRODUCT       the product code to check the license for, e.g.
                              desktop-pro (`product` in the config file); a key for
                              another product is WRONG_PRODUCT. Unset: any product
  LICENSE_CHECK_BUILD_TIME    (at build time only) this build's time in unix seconds;
                              an expired MAINTAIN_ACCESS license keeps licensing builds
                              made before its expiry (PERPETUAL_FALLBACK, exit 0)

Exit codes:
  0   licensed, or done (activate: this machine holds a seat; deactivate: freed)
  1   not licensed, or refused (a verified deny such as MACHINE_LIMIT or
      NOT_ACTIVATED, no key, grace over, clock rolled back, unknown machine id)
  2   undetermined (the license server is unreachable or untrusted and no usable
      saved license; deactivate then changed nothing)
  64  usage or configuration error";

/// Not `Debug`: `activate` holds the license key, which must never be printed.
#[derive(Parser)]
#[command(
    name = "license-check",
    version,
    about = "Checks, activates and deactivates this machine's license",
    after_help = AFTER_HELP
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
    /// Activates the license on this machine: claims one of its seats online, and on a
    /// verified VALID stores KEY and the signed verdict. Exit 1 with MACHINE_LIMIT
    /// (nothing stored) lists the machines holding the seats.
    #[command(after_help = AFTER_HELP)]
    Activate {
        /// The license key, or `-` to read it from standard input (keeps it out of the process list).
        #[arg(value_name = "KEY")]
        key: String,
        /// A name for this machine in machine lists (at most 64 characters).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The start-up check.
    #[command(after_help = AFTER_HELP)]
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
    /// Frees this machine's seat online, then removes the stored key and the saved
    /// verdict. When the license server cannot be reached it changes nothing (exit 2).
    #[command(after_help = AFTER_HELP)]
    Deactivate {
        /// Free the seat of another machine (an id from `license-check machines`), keeping this one.
        #[arg(long, value_name = "ID", conflicts_with = "local")]
        machine: Option<String>,
        /// Only remove the key and the saved verdict from this machine, without the
        /// license server (uninstallers); the seat lapses by itself later.
        #[arg(long)]
        local: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Lists the machines holding the license's seats (id, name, last seen) and marks this one.
    #[command(after_help = AFTER_HELP)]
    Machines {
        /// Print one JSON object: `code`, `machines` {used, max, list}.
        #[arg(long)]
        json: bool,
    },
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
            eprintln!(
                "license-check: {}",
                license_client::clean_text(&format!("{e:#}"))
            );
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
    let settings = Settings::resolve(cli.broker_url)?;
    let store = settings.key_store();
    match cli.command {
        Command::Status {
            json,
            offline,
            refresh,
        } => status(settings, store, json, offline, refresh),
        Command::Activate { key, name, json } => activate(settings, store, key, name, json),
        Command::Deactivate {
            local: true, json, ..
        } => deactivate_locally(&settings, &*store, json),
        Command::Deactivate { machine, json, .. } => deactivate(settings, store, machine, json),
        Command::Machines { json } => machines(settings, store, json),
    }
}

/// Where the settings of one run came from: the configuration file, the environment
/// and the flags, read once before any subcommand runs.
struct Settings {
    config: ConfigFile,
    kind: KeyStoreKind,
    app_id: String,
    machine_id: Option<String>,
    product: Option<String>,
    broker_url: Option<String>,
    paths: Paths,
}

impl Settings {
    /// The configuration file stays where it always was; the data directory is the
    /// app id's own, and an activation of this app left in the directory all apps
    /// once shared moves into it (once).
    fn resolve(broker_url: Option<String>) -> anyhow::Result<Self> {
        let shared = Paths::from_project_dirs().map_err(usage)?;
        let config = ConfigFile::load(&shared.config_file).map_err(usage)?;
        let kind =
            KeyStoreKind::parse(std::env::var(ENV_KEYSTORE).ok().as_deref()).map_err(usage)?;
        let app_id = config
            .app_id
            .clone()
            .unwrap_or_else(|| DEFAULT_APP_ID.to_owned());
        let machine_id = non_empty_var(ENV_MACHINE_ID, "unset it to use the OS machine id", None)?;
        let product = non_empty_var(
            ENV_PRODUCT,
            "unset it to check the license for any product",
            config.product.clone(),
        )?;
        let paths = Paths {
            config_file: shared.config_file.clone(),
            ..Paths::for_app(&app_id).map_err(usage)?
        };
        let fingerprint = match &machine_id {
            Some(id) => Ok(Fingerprint::from_machine_id(id, &app_id)),
            None => Fingerprint::for_this_machine(&app_id),
        };
        if let Ok(fingerprint) = &fingerprint {
            if let Err(e) = paths.adopt_from(&shared, fingerprint) {
                eprintln!(
                    "license-check: the activation in {} could not be moved to {}: {e}",
                    shared.data_dir.display(),
                    paths.data_dir.display()
                );
            }
        }
        let broker_url = broker_url.or(config.broker_url.clone());
        Ok(Self {
            config,
            kind,
            app_id,
            machine_id,
            product,
            broker_url,
            paths,
        })
    }

    /// The key store the environment asked for, named on standard error.
    fn key_store(&self) -> Box<dyn KeyStore> {
        let store: Box<dyn KeyStore> = match self.kind {
            KeyStoreKind::Os => Box::new(OsKeyring::for_app(&self.app_id).with_unavailable_hint(
                "Set LICENSE_CHECK_KEYSTORE=file to keep the key in a private file instead",
            )),
            KeyStoreKind::File => Box::new(FileKeyStore::new(&self.paths.data_dir)),
        };
        eprintln!("key store: {}", store.describe());
        if let Some(warning) = self.kind.warning(PINNED_KEYS.is_some()) {
            eprintln!("{warning}");
        }
        store
    }

    /// The client for one subcommand, and where its trusted keys came from. Only
    /// `status --offline` needs no license server URL.
    fn client(
        self,
        store: Box<dyn KeyStore>,
        needs_broker: bool,
    ) -> anyhow::Result<(LicenseClient, TrustSource)> {
        let env_keys = std::env::var(ENV_TRUSTED_KEYS).ok();
        let (keys, trust) = config::resolve_trusted_keys(
            PINNED_KEYS,
            env_keys.as_deref(),
            self.config.trusted_keys.as_deref(),
            &self.paths.config_file,
        )
        .map_err(usage)?;
        match trust {
            TrustSource::ConfigFile => eprintln!(
                "trusted keys: {} ({})",
                trust.describe(),
                self.paths.config_file.display()
            ),
            _ => eprintln!("trusted keys: {}", trust.describe()),
        }
        if needs_broker && self.broker_url.is_none() {
            return Err(usage(format!(
                "no license server URL: pass --broker-url, set {ENV_BROKER_URL}, or set broker_url in {}",
                self.paths.config_file.display()
            )));
        }
        let mut builder = LicenseClient::builder()
            .app_id(self.app_id)
            .app_version(env!("CARGO_PKG_VERSION"))
            .trusted_keys(keys)
            .paths(self.paths)
            // The file store only ever comes from an explicit LICENSE_CHECK_KEYSTORE=file,
            // which is the opt-in a build with pinned keys requires.
            .allow_file_key_store(self.kind == KeyStoreKind::File)
            .key_store(store);
        if let Some(url) = self.broker_url {
            builder = builder.broker_url(url);
        }
        if let Some(id) = self.machine_id {
            builder = builder.machine_id(id);
        }
        if let Some(product) = self.product {
            builder = builder.product(product);
        }
        if let Some(built) = BUILD_TIME {
            builder = builder.build_time(built);
        }
        if let Some(ms) = self.config.connect_timeout_ms {
            builder = builder.connect_timeout(Duration::from_millis(ms));
        }
        if let Some(ms) = self.config.total_timeout_ms {
            builder = builder.total_timeout(Duration::from_millis(ms));
        }
        Ok((builder.build().map_err(usage)?, trust))
    }
}

/// An environment variable that, when set, must be non-empty UTF-8; unset gives
/// `otherwise`.
fn non_empty_var(
    name: &str,
    unset_hint: &str,
    otherwise: Option<String>,
) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => {
            Err(usage(format!("{name} is set but empty; {unset_hint}")))
        }
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(otherwise),
        Err(std::env::VarError::NotUnicode(_)) => Err(usage(format!("{name} is not valid UTF-8"))),
    }
}

/// `status`: the start-up check, online unless `--offline`.
fn status(
    settings: Settings,
    store: Box<dyn KeyStore>,
    json: bool,
    offline: bool,
    refresh: bool,
) -> anyhow::Result<u8> {
    let store_name = store.describe();
    let (client, trust) = settings.client(store, !offline)?;
    let verdict = if offline {
        client.check_offline()
    } else if refresh {
        runtime()?.block_on(client.refresh())
    } else {
        runtime()?.block_on(client.check())
    };
    print_verdict(&verdict, json, &shown(&store_name, trust))?;
    Ok(verdict.outcome().exit_code())
}

/// `activate`: a typo in the key is reported before anything else, and never needs
/// the network.
fn activate(
    settings: Settings,
    store: Box<dyn KeyStore>,
    key: String,
    name: Option<String>,
    json: bool,
) -> anyhow::Result<u8> {
    let key = read_key(key)?;
    license_shared::LicenseKey::parse(&key).map_err(usage)?;
    let store_name = store.describe();
    let (client, trust) = settings.client(store, true)?;
    let shown = shown(&store_name, trust);
    match runtime()?.block_on(client.activate_named(&key, name.as_deref())) {
        Ok(verdict) => {
            print_verdict(&verdict, json, &shown)?;
            Ok(verdict.outcome().exit_code())
        }
        Err(e) if e.kind().is_usage() => Err(usage(e)),
        Err(e) => {
            let code = e.kind().as_str();
            let error = anyhow::Error::new(e).context("the license could not be activated");
            print_failure(json, code, EXIT_UNDETERMINED, &error)
        }
    }
}

/// `deactivate --local`: removes the key and the saved verdict without asking the
/// license server (and without needing trusted keys).
fn deactivate_locally(settings: &Settings, store: &dyn KeyStore, json: bool) -> anyhow::Result<u8> {
    let paths = &settings.paths;
    remove_activation(store, paths).context("the local removal is incomplete")?;
    let message = format!(
        "Removed the license key from the {} and the saved license from {}. The license server was not asked: a seat this machine held lapses by itself.",
        store.describe(),
        paths.data_dir.display()
    );
    if json {
        println!(
            "{}",
            serde_json::json!({"code": "REMOVED_LOCALLY", "message": message, "exit_code": 0})
        );
    } else {
        println!("{message}");
    }
    Ok(0)
}

/// `deactivate [--machine ID]`: frees this machine's seat (or another's) online.
fn deactivate(
    settings: Settings,
    store: Box<dyn KeyStore>,
    machine: Option<String>,
    json: bool,
) -> anyhow::Result<u8> {
    let store_name = store.describe();
    let (client, trust) = settings.client(store, true)?;
    let done = match &machine {
        Some(id) => runtime()?.block_on(client.deactivate_machine(id)),
        None => runtime()?.block_on(client.deactivate()),
    };
    match done {
        Ok(verdict) => {
            print::print_deactivated(
                &verdict,
                machine.as_deref(),
                json,
                &shown(&store_name, trust),
            )?;
            Ok(0)
        }
        Err(e) if e.verdict().is_some_and(|v| v.code == Code::Deactivated) => {
            let code = e.kind().as_str();
            let error = anyhow::Error::new(e).context(
                "this machine's seat was freed, but the license could not be removed from this machine",
            );
            print_failure(json, code, EXIT_UNDETERMINED, &error)
        }
        Err(e) => {
            let what = match &machine {
                Some(id) => format!("the seat of machine {id} was not freed"),
                None if e.kind() == ErrorKind::Refused => {
                    "the license was not deactivated; its key stays on this machine".into()
                }
                None => {
                    "the license was not deactivated; nothing on this machine was changed".into()
                }
            };
            seat_failure(e, json, what)
        }
    }
}

/// `machines`: the machines holding the license's seats.
fn machines(settings: Settings, store: Box<dyn KeyStore>, json: bool) -> anyhow::Result<u8> {
    let store_name = store.describe();
    let (client, trust) = settings.client(store, true)?;
    match runtime()?.block_on(client.machines()) {
        Ok(verdict) => {
            print_machines(&verdict, json, &shown(&store_name, trust))?;
            // A listing that came with a verified deny (`REVOKED`, …) is a deny.
            Ok(verdict.outcome().exit_code())
        }
        Err(e) => seat_failure(e, json, "the machines could not be listed".into()),
    }
}

/// What `--json` adds about this run: the key store and where the trust came from.
fn shown(key_store: &str, trust: TrustSource) -> Shown<'_> {
    Shown {
        key_store,
        trusted_keys_source: trust.describe(),
    }
}

/// A seat operation that did not happen: usage errors exit 64, refusals 1, the rest 2.
fn seat_failure(error: Error, json: bool, what: String) -> anyhow::Result<u8> {
    if error.kind().is_usage() {
        return Err(usage(error));
    }
    let (code, exit) = match (error.kind(), error.verdict()) {
        (ErrorKind::Refused, Some(verdict)) => (verdict.code.as_str(), EXIT_NOT_LICENSED),
        (ErrorKind::NoLicense | ErrorKind::UnknownMachine, _) => {
            (error.kind().as_str(), EXIT_NOT_LICENSED)
        }
        (kind, _) => (kind.as_str(), EXIT_UNDETERMINED),
    };
    print_failure(json, code, exit, &anyhow::Error::new(error).context(what))
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
