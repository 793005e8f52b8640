//! `license-soak broker --minutes N [--seed S]` and `license-soak client --minutes N`:
//! the soaks with chaos; exit 1 on any invariant violation.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use license_soak::{broker_soak, client_soak};

#[derive(Parser)]
#[command(
    name = "license-soak",
    about = "Soak the broker and the desktop client under faults"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mixed validations against an in-process broker while ORDS faults at random.
    Broker {
        /// How long to run.
        #[arg(long, default_value_t = 5.0)]
        minutes: f64,
        /// Seed for the request mix and the fault schedule.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Repeated start-up checks while the broker flaps and the license is suspended.
    Client {
        #[arg(long, default_value_t = 2.0)]
        minutes: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("license-soak: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Broker {
                minutes,
                seed,
                concurrency,
            } => {
                let mut options =
                    broker_soak::Options::full(Duration::from_secs_f64(minutes * 60.0), seed);
                options.concurrency = concurrency.max(1);
                broker_soak::run(options)
                    .await
                    .map(|s| (s.text, s.violations))
            }
            Command::Client { minutes, seed } => client_soak::run(client_soak::Options::full(
                Duration::from_secs_f64(minutes * 60.0),
                seed,
            ))
            .await
            .map(|s| (s.text, s.violations)),
        }
    });
    match result {
        Ok((text, violations)) => {
            println!("{text}");
            if violations == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("license-soak: {e:#}");
            ExitCode::from(2)
        }
    }
}
