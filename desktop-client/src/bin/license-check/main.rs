//! `license-check`: the reference desktop client, built on the library (feature `cli`).
//!
//! `main` parses the arguments; [`Settings::resolve`] reads the configuration file and
//! the environment (`config`) once; each subcommand is one function that builds a
//! [`LicenseClient`] from them and prints its answer (`print`). Exit codes: 0 licensed
//! (or done), 1 not licensed (or refused), 2 undetermined, 64 usage or configuration
//! error.

mod config;
mod floating;
mod offline;
mod print;

use std::io::Read as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use license_client::{
    remove_activation, Code, Error, ErrorKind, FileKeyStore, Fingerprint, KeyStore, KeyStorePolicy,
    LicenseClient, OsKeyring, Paths,
};

use config::{
    ConfigFile, KeyStoreKind, TrustSource, BUILD_TIME, ENV_APP_ID, ENV_BROKER_URL, ENV_KEYSTORE,
    ENV_MACHINE_ID, ENV_PRODUCT, ENV_TRUSTED_KEYS, PINNED_KEYS,
};

use print::{print_failure, print_machines, print_verdict, Shown};

const EXIT_NOT_LICENSED: u8 = 1;
const EXIT_UNDETERMINED: u8 = 2;
const EXIT_USAGE: u8 = 64;
/// The app id the reference client identifies as (overridable with `--app-id`,
/// `LICENSE_CHECK_APP_ID` or `app_id` in the config file, in that order).
const DEFAULT_APP_ID: &str = "license-check";

/// Shown after `--help`: the environment and the exit codes scripts rely on.
const AFTER_HELP: &str = "\
Environment:
  LICENSE_CHECK_BROKER_URL    the license server's base URL (--broker-url wins)
  LICENSE_CHECK_APP_ID        the app whose key, lease and seat to work on (--app-id
                              wins; then `app_id` in the config file; default
                              license-check)
  LICENSE_CHECK_TRUSTED_KEYS  trusted verdict-signing keys, kid:base64url[,...]
                              (refused when keys were pinned at build time)
  LICENSE_CHECK_KEYSTORE      os (default: the OS keyring), file (a 0600 file; in
                              a build with pinned keys only when set explicitly), or
                              os_else_file (the keyring when it answers, else the
                              file; it says which and why)
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
  64  usage or configuration error (with --json: code USAGE_ERROR)

With --json every run prints exactly one JSON object on standard output, errors
included: at least licensed, code, message and exit_code.";

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
    /// The app whose key, lease and seat this command works on (wins over
    /// LICENSE_CHECK_APP_ID and `app_id` in the config file). Apps never touch each
    /// other's.
    #[arg(long, global = true, value_name = "ID")]
    app_id: Option<String>,
    /// Print exactly one JSON object on standard output, whatever happens.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Activates the license on this machine: claims one of its seats online, and on a
    /// verified VALID stores KEY and the signed verdict. Exit 1 with MACHINE_LIMIT
    /// (nothing stored) lists the machines holding the seats and the command that
    /// replaces one. Without a network: --offline-request, then --offline-response.
    #[command(after_help = AFTER_HELP)]
    Activate {
        /// The license key, or `-` to read it from standard input (keeps it out of the process list).
        #[arg(value_name = "KEY", required_unless_present = "offline_response")]
        key: Option<String>,
        /// Without a network: print a request code (and remember the pending request)
        /// to take to the license server's /offline page; nothing is contacted.
        #[arg(long, conflicts_with_all = ["replace", "offline_response", "name"])]
        offline_request: bool,
        /// With --offline-request: also write the request code to FILE.
        #[arg(long, value_name = "FILE", requires = "offline_request")]
        out: Option<std::path::PathBuf>,
        /// Install the response code (the code itself, or a file holding it) that the
        /// license server gave for this machine's pending offline request. Exit 64
        /// when it does not answer one.
        #[arg(long, value_name = "CODE_OR_FILE", conflicts_with_all = ["replace", "name"])]
        offline_response: Option<String>,
        /// A name for this machine in machine lists (at most 64 characters).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// First free the seat of machine ID (the 12-digit id MACHINE_LIMIT and
        /// `machines` show), counted against the license's budget of freed seats; KEY
        /// is all it needs.
        #[arg(long, value_name = "ID")]
        replace: Option<String>,
    },
    /// The start-up check.
    #[command(after_help = AFTER_HELP)]
    Status {
        /// Never touch the network; decide from the saved verdict.
        #[arg(long, conflicts_with = "refresh")]
        offline: bool,
        /// Ask the license server even if the saved verdict is still fresh.
        #[arg(long)]
        refresh: bool,
    },
    /// Frees this machine's seat online, then removes the stored key and the saved
    /// verdict. When the license server cannot be reached it changes nothing (exit 2).
    /// A machine activated offline: --offline.
    #[command(after_help = AFTER_HELP)]
    Deactivate {
        /// Free the seat of another machine (an id from `license-check machines`), keeping this one.
        #[arg(long, value_name = "ID", conflicts_with = "local")]
        machine: Option<String>,
        /// Only remove the key and the saved verdict from this machine, without the
        /// license server (uninstallers); the seat lapses by itself later.
        #[arg(long)]
        local: bool,
        /// For a machine activated offline: remove the key and the saved verdict and
        /// print a deactivation code, signed by this machine, that frees its seat at
        /// the license server's /offline page.
        #[arg(long, conflicts_with_all = ["machine", "local"])]
        offline: bool,
    },
    /// Lists the machines holding the license's seats (id, name, last seen) and marks
    /// this one; `--json` adds `machines` {used, max, list}.
    #[command(after_help = AFTER_HELP)]
    Machines {
        /// The license key to list the seats of, or `-` for standard input, instead
        /// of the stored one (this machine may hold none).
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Checks a seat of a floating license out for this machine (a short lease while
    /// the app runs; exit 1 with SEATS_IN_USE lists who holds the seats and since when).
    /// Stores KEY and the signed verdict like activate.
    #[command(after_help = AFTER_HELP)]
    Checkout {
        /// The license key, or `-` to read it from standard input.
        #[arg(value_name = "KEY")]
        key: String,
        /// Hold the seat this many days for offline use (borrow), up to the license's
        /// max_borrow_days; return it early with `checkin`.
        #[arg(long, value_name = "DAYS")]
        borrow: Option<u32>,
        /// A name for this machine in the list of holders (at most 64 characters).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// Returns this machine's floating seat and removes the saved verdict; the key stays.
    #[command(after_help = AFTER_HELP)]
    Checkin,
    /// Starts this machine's trial of a product (or shows the one it started): TRIAL
    /// until its end, then TRIAL_EXPIRED; NO_TRIAL for a product without one.
    #[command(after_help = AFTER_HELP)]
    Trial {
        /// The product to try (wins over LICENSE_CHECK_PRODUCT and `product` in the
        /// config file).
        #[arg(long, value_name = "PRODUCT")]
        product: Option<String>,
    },
}

/// An error that is the caller's to fix: exit 64.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

pub(crate) fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    Usage(message.to_string()).into()
}

fn main() -> ExitCode {
    // Before parsing, so that a usage error also answers in JSON when it was asked for.
    let json = std::env::args_os().skip(1).any(|arg| arg == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(parse_failure(&e, json)),
    };
    let json = cli.json;
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let (code, exit) = if e.downcast_ref::<Usage>().is_some() {
                (USAGE_ERROR, EXIT_USAGE)
            } else if let Some(error) = e.downcast_ref::<Error>() {
                (error.kind().as_str(), EXIT_UNDETERMINED)
            } else {
                (ErrorKind::Internal.as_str(), EXIT_UNDETERMINED)
            };
            let _ = print_failure(json, code, exit, &e);
            ExitCode::from(exit)
        }
    }
}

/// The `code` of every exit 64 in `--json`.
const USAGE_ERROR: &str = "USAGE_ERROR";

/// Arguments clap could not read (exit 64), or `--help` and `--version` (exit 0): with
/// `--json` one object on standard output, else clap's own text.
fn parse_failure(e: &clap::Error, json: bool) -> u8 {
    let (code, exit) = match e.kind() {
        clap::error::ErrorKind::DisplayHelp
        | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            if !e.use_stderr() =>
        {
            ("HELP", 0)
        }
        clap::error::ErrorKind::DisplayVersion => ("VERSION", 0),
        _ if e.use_stderr() => (USAGE_ERROR, EXIT_USAGE),
        _ => ("HELP", 0),
    };
    if !json {
        let _ = e.print();
        return exit;
    }
    let text = e.render().to_string();
    let message = license_client::clean_text(text.trim().trim_start_matches("error: "));
    println!(
        "{}",
        serde_json::json!({"licensed": false, "code": code, "message": message, "exit_code": exit})
    );
    exit
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let json = cli.json;
    let settings = Settings::resolve(cli.broker_url, cli.app_id)?;
    let store = settings.key_store();
    match cli.command {
        Command::Status { offline, refresh } => status(settings, store, json, offline, refresh),
        Command::Activate {
            offline_response: Some(code),
            ..
        } => offline::install(settings, store, &code, json),
        Command::Activate {
            key: Some(key),
            offline_request: true,
            out,
            ..
        } => offline::request(settings, store, read_key(key)?, out, json),
        Command::Activate {
            key, name, replace, ..
        } => {
            let key = key.ok_or_else(|| usage("KEY is required"))?;
            let asked = Activation { key, name, replace };
            activate(settings, store, asked, json)
        }
        Command::Deactivate { offline: true, .. } => offline::deactivate(settings, store, json),
        Command::Deactivate { local: true, .. } => deactivate_locally(&settings, &*store, json),
        Command::Deactivate { machine, .. } => deactivate(settings, store, machine, json),
        Command::Machines { key } => machines(settings, store, key, json),
        Command::Checkout { key, borrow, name } => {
            floating::checkout(settings, store, (key, borrow, name), json)
        }
        Command::Checkin => floating::checkin(settings, store, json),
        Command::Trial { product } => floating::trial(settings, store, product, json),
    }
}

/// Where the settings of one run came from: the configuration file, the environment
/// and the flags, read once before any subcommand runs.
pub(crate) struct Settings {
    config: ConfigFile,
    kind: KeyStoreKind,
    app_id: String,
    /// `license-check` with the flags that name this app and license server, for the
    /// commands the output suggests.
    pub(crate) relaunch: String,
    machine_id: Option<String>,
    product: Option<String>,
    broker_url: Option<String>,
    paths: Paths,
}

impl Settings {
    /// The configuration file stays where it always was; the data directory is the
    /// app id's own, and an activation of this app left in the directory all apps
    /// once shared moves into it (once).
    fn resolve(broker_url: Option<String>, app_id_flag: Option<String>) -> anyhow::Result<Self> {
        let shared = Paths::from_project_dirs().map_err(usage)?;
        let config = ConfigFile::load(&shared.config_file).map_err(usage)?;
        let kind =
            KeyStoreKind::parse(std::env::var(ENV_KEYSTORE).ok().as_deref()).map_err(usage)?;
        let (app_id, app_id_source) = match (
            app_id_flag,
            non_empty_var(
                ENV_APP_ID,
                "unset it to use the config file's app_id or the default",
                None,
            )?,
            config.app_id.clone(),
        ) {
            (Some(id), _, _) => (id, "--app-id".to_owned()),
            (None, Some(id), _) => (id, ENV_APP_ID.to_owned()),
            (None, None, Some(id)) => (id, format!("app_id in {}", shared.config_file.display())),
            (None, None, None) => (DEFAULT_APP_ID.to_owned(), String::new()),
        };
        if !is_app_id(&app_id) {
            return Err(usage(format!(
                "the app id from {app_id_source} must be 1 to 64 printable ASCII characters without spaces, such as com.example.editor"
            )));
        }
        // The command line that reaches this same app and license server again.
        let mut relaunch = "license-check".to_owned();
        if let Some(url) = broker_url
            .as_deref()
            .filter(|url| std::env::var(ENV_BROKER_URL).ok().as_deref() != Some(*url))
        {
            relaunch.push_str(&format!(" --broker-url {url}"));
        }
        if app_id != DEFAULT_APP_ID && config.app_id.as_deref() != Some(app_id.as_str()) {
            relaunch.push_str(&format!(" --app-id {app_id}"));
        }
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
            if let Err(e) = paths.adopt_earlier(&app_id, fingerprint) {
                eprintln!(
                    "license-check: an earlier activation could not be moved to {}: {e}",
                    paths.data_dir.display()
                );
            }
        }
        let broker_url = broker_url.or(config.broker_url.clone());
        Ok(Self {
            config,
            kind,
            app_id,
            relaunch,
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
            KeyStoreKind::OsElseFile => {
                KeyStorePolicy::KeyringElseFile.store(&self.app_id, &self.paths.data_dir)
            }
        };
        eprintln!("key store: {}", store.describe());
        if let Some(warning) = self.kind.warning(PINNED_KEYS.is_some()) {
            eprintln!("{warning}");
        }
        store
    }

    /// The client for one subcommand, and where its trusted keys came from. Only
    /// `status --offline` needs no license server URL.
    pub(crate) fn client(
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
            // The file store only ever comes from an explicit LICENSE_CHECK_KEYSTORE=file
            // or os_else_file, the opt-in a build with pinned keys requires.
            .allow_file_key_store(self.kind != KeyStoreKind::Os)
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

/// What the library accepts as an app id: 1 to 64 printable ASCII characters.
fn is_app_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic())
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
    let relaunch = settings.relaunch.clone();
    let (client, trust) = settings.client(store, !offline)?;
    let verdict = if offline {
        client.check_offline()
    } else if refresh {
        runtime()?.block_on(client.refresh())
    } else {
        runtime()?.block_on(client.check())
    };
    print_verdict(&verdict, json, &shown(&store_name, trust, &relaunch))?;
    Ok(verdict.outcome().exit_code())
}

/// What `activate` was asked to do.
struct Activation {
    key: String,
    name: Option<String>,
    replace: Option<String>,
}

/// `activate [--replace ID]`: a typo in the key is reported before anything else, and
/// never needs the network.
fn activate(
    settings: Settings,
    store: Box<dyn KeyStore>,
    asked: Activation,
    json: bool,
) -> anyhow::Result<u8> {
    let key = read_key(asked.key)?;
    license_shared::LicenseKey::parse(&key).map_err(usage)?;
    let store_name = store.describe();
    let relaunch = settings.relaunch.clone();
    let (client, trust) = settings.client(store, true)?;
    let shown = shown(&store_name, trust, &relaunch);
    let name = asked.name.as_deref();
    let done = match &asked.replace {
        Some(id) => runtime()?.block_on(client.activate_replacing_named(&key, id, name)),
        None => runtime()?.block_on(client.activate_named(&key, name)),
    };
    match done {
        Ok(verdict) => {
            print_verdict(&verdict, json, &shown)?;
            Ok(verdict.outcome().exit_code())
        }
        // The library's own words already say that nothing was activated.
        Err(e) if e.to_string().starts_with("the license was not activated") => {
            seat_failure(e, json, None)
        }
        Err(e) => seat_failure(e, json, Some("the license could not be activated".into())),
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
            serde_json::json!({"licensed": false, "code": "REMOVED_LOCALLY", "message": message, "exit_code": 0})
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
    let relaunch = settings.relaunch.clone();
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
                &shown(&store_name, trust, &relaunch),
            )?;
            Ok(0)
        }
        Err(e) if e.verdict().is_some_and(|v| v.code == Code::Deactivated) => {
            let code = e.kind().as_str();
            let what = match e.verdict().and_then(|v| v.machines.as_ref()) {
                Some(_) => "this machine's seat was freed, but the license could not be removed from this machine",
                None => "the license server confirmed the deactivation, but the license could not be removed from this machine",
            };
            let error = anyhow::Error::new(e).context(what);
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
            seat_failure(e, json, Some(what))
        }
    }
}

/// `machines [--key KEY]`: the machines holding the license's seats; with `--key`, of
/// that license, without a stored key.
fn machines(
    settings: Settings,
    store: Box<dyn KeyStore>,
    key: Option<String>,
    json: bool,
) -> anyhow::Result<u8> {
    let key = match key {
        Some(key) => {
            let key = read_key(key)?;
            license_shared::LicenseKey::parse(&key).map_err(usage)?;
            Some(key)
        }
        None => None,
    };
    let store_name = store.describe();
    let relaunch = settings.relaunch.clone();
    let (client, trust) = settings.client(store, true)?;
    let listed = match &key {
        Some(key) => runtime()?.block_on(client.machines_for_key(key)),
        None => runtime()?.block_on(client.machines()),
    };
    match listed {
        Ok(verdict) => {
            // A listing that came with a verified deny (`REVOKED`, …) is a deny; for a
            // key in hand, a machine without a seat is what the listing is for.
            let listed = key.is_some() && verdict.code == Code::NotActivated;
            let exit = if listed {
                0
            } else {
                verdict.outcome().exit_code()
            };
            print_machines(&verdict, json, exit, &shown(&store_name, trust, &relaunch))?;
            Ok(exit)
        }
        Err(e) => seat_failure(e, json, Some("the machines could not be listed".into())),
    }
}

/// What `--json` adds about this run: the key store and where the trust came from;
/// and the command line that reaches this app again, for the commands shown.
pub(crate) fn shown<'a>(key_store: &'a str, trust: TrustSource, relaunch: &'a str) -> Shown<'a> {
    Shown {
        key_store,
        trusted_keys_source: trust.describe(),
        relaunch,
    }
}

/// An operation that did not happen: usage errors exit 64, refusals 1, the rest 2.
/// `what` says what did not happen, when the error's own message does not.
pub(crate) fn seat_failure(error: Error, json: bool, what: Option<String>) -> anyhow::Result<u8> {
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
    let error = match what {
        Some(what) => anyhow::Error::new(error).context(what),
        None => anyhow::Error::new(error),
    };
    print_failure(json, code, exit, &error)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `-` reads the key from stdin, so it need not appear in the process list.
pub(crate) fn read_key(arg: String) -> anyhow::Result<String> {
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
