//! `ords-emulator`: the ORDS stand-in as a process, for curl and for the demo.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use ords_emulator::{Emulator, EmulatorOptions, Seed, SystemClock};

/// A stand-in for Oracle REST Data Services (OAuth client credentials, privileges,
/// json/item and json/collection handlers). Without --config it serves the article's
/// setup: alias `page`, GET /ords/page/customers/validation/:id protected by
/// `license_priv`, client `license_backend_client`.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8181", value_name = "ADDR")]
    listen: SocketAddr,
    /// Seed TOML (see seeds/article.toml), optionally with an [options] table. A file
    /// with only [options] keeps the article's objects.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Fixed client id for the first client (random `…..` otherwise).
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Fixed slot-1 secret for the first client (random otherwise).
    #[arg(long, value_name = "SECRET")]
    client_secret: Option<String>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ords-emulator: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(args: &Args) -> anyhow::Result<(Seed, EmulatorOptions)> {
    let (mut seed, options) = match &args.config {
        None => (Seed::article_default(), EmulatorOptions::default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            ords_emulator::seed::config_from_toml_str(&text)
                .with_context(|| format!("in {}", path.display()))?
        }
    };
    if args.client_id.is_some() || args.client_secret.is_some() {
        let client = seed
            .clients
            .first_mut()
            .context("--client-id/--client-secret: the seed has no client")?;
        if let Some(id) = &args.client_id {
            client.client_id = Some(id.clone());
        }
        if let Some(secret) = &args.client_secret {
            client.client_secret = Some(secret.clone());
        }
    }
    Ok((seed, options))
}

fn run(args: Args) -> anyhow::Result<()> {
    let (seed, options) = load(&args)?;
    let emulator = Emulator::try_new(seed, options, Arc::new(SystemClock))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        for client in emulator.clients() {
            let secret = client
                .client_secret
                .or(client.client_secret_2)
                .unwrap_or_default();
            writeln!(out, "client_id={} client_secret={secret}", client.client_id)?;
        }
        out.flush()?;
        drop(out);
        emulator.serve(listener, shutdown_signal()).await?;
        Ok(())
    })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
