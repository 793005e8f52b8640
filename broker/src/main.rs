//! `license-broker`: parses the command line, sets up logging, and hands over to the
//! library. Every failure ends as one line on stderr and a non-zero exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use license_broker::cli_help::{
    CHECK_HELP, ISSUE_KEY_HELP, KEYGEN_HELP, PUBKEY_HELP, SERVE_HELP, TOP_HELP,
};
use license_broker::telemetry::{self, LogFormat};
use license_broker::{Config, IssueKey, Signer};
use license_shared::CustomerId;

/// mimalloc rather than glibc's malloc: a warm validation makes some 60 small
/// allocations (the request, its headers, the JSON, the envelope, the log line), and
/// mimalloc's per-thread free lists serve them in fewer instructions, with no
/// fastbin consolidation on the larger buffers (measured in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    IssueKey(IssueKey),
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
    // The service logs; `check` shows warnings (file permissions, unknown variables),
    // the other one-shot commands answer in one line of their own.
    let default_filter = match cli.command {
        Command::Serve { .. } => "info",
        Command::Check { .. } => "warn",
        _ => "error",
    };
    let format = cli
        .log_format
        .map(Ok)
        .unwrap_or_else(|| LogFormat::from_env().map(Option::unwrap_or_default));
    if let Err(message) = format.and_then(|format| telemetry::init(format, default_filter)) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    if matches!(cli.command, Command::Serve { .. } | Command::Check { .. }) {
        license_broker::warn_about_unknown_variables();
    }
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
        Command::Keygen { out, force } => println!("{}", license_broker::keygen(&out, force)?),
        Command::Pubkey { key } => {
            println!(
                "{}",
                license_broker::key_line(&Signer::from_file(&key, "--key")?)
            );
        }
        Command::IssueKey(args) => println!("{}", args.key()?),
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
            println!("{}", license_broker::check_summary(&config));
            if let (Some(id), Some(code)) = (customer, code) {
                println!("customer {id}: {code}");
            }
        }
        Command::Serve { config } => {
            // Every file is read (and TLS parsed) here, before anything listens.
            let config = Config::load(config.as_deref())?;
            runtime()?.block_on(license_broker::serve_until_signalled(config))?;
        }
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

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
