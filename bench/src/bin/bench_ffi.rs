//! `bench-ffi`: the cost of the C ABI and of each language package over it. Starts the
//! emulator and a broker, activates one license into a data directory, then measures
//! the per-call time of an offline check and of a cached check (a fresh lease answers
//! without the network) in Rust (the library itself, in this process) and in each
//! runner given (`--runner NAME=COMMAND`, see bench/ffi/run.sh), which read the same
//! lease through liblicense_client. Writes the results into BENCHMARKS.md between its
//! markers, with the stripped size of the library.
//!
//! Usage: bench-ffi --library PATH [--size LABEL=PATH]... [--runner NAME=COMMAND]...
//! [--out BENCHMARKS.md]
//! Environment: LC_BENCH_N (calls per round, 2000), LC_BENCH_ROUNDS (7).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context as _};
use license_client::{FileKeyStore, LicenseClient, Paths};
use license_testkit::Stack;

const APP_ID: &str = "com.example.bench";
const MACHINE_ID: &str = "bench-machine";
const PRODUCT: &str = "desktop-pro";
const BEGIN: &str = "<!-- bench-ffi:begin -->";
const END: &str = "<!-- bench-ffi:end -->";

struct Args {
    library: PathBuf,
    /// Other builds of the library whose stripped size is reported (`LABEL=PATH`).
    sizes: Vec<(String, PathBuf)>,
    runners: Vec<(String, String)>,
    out: PathBuf,
}

/// One language's figures, in nanoseconds per call.
struct Figures {
    name: String,
    offline_ns: f64,
    cached_ns: f64,
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let n: u32 = env_number("LC_BENCH_N", 2000)?;
    let rounds: u32 = env_number("LC_BENCH_ROUNDS", 7)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let stack = runtime.block_on(Stack::builder().start())?;
    let dir = tempfile::tempdir()?;
    let client = client_for(&stack, dir.path())?;
    let key = stack.issue_key("1")?;
    let activated = client.activate_blocking(&key)?;
    if !activated.licensed {
        bail!(
            "the benchmark's license did not activate: {}",
            activated.message
        );
    }
    let config = serde_json::json!({
        "broker_url": stack.url(), "app_id": APP_ID, "trusted_keys": stack.trusted().to_text(),
        "product": PRODUCT, "data_dir": dir.path(), "key_store": "file", "machine_id": MACHINE_ID,
    });
    let mut all = vec![rust_figures(&client, n, rounds)?];
    for (name, command) in &args.runners {
        all.push(run(name, command, &config, n, rounds)?);
    }
    let mut sizes = vec![("`--release`".to_owned(), stripped_size(&args.library)?)];
    for (label, path) in &args.sizes {
        sizes.push((label.clone(), stripped_size(path)?));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let section = render(&all, &sizes, n, rounds, &load);
    println!("{section}");
    license_bench::write_section(&args.out, (BEGIN, END), &section)
}

fn client_for(stack: &Stack, dir: &Path) -> anyhow::Result<LicenseClient> {
    Ok(LicenseClient::builder()
        .broker_url(stack.url())
        .app_id(APP_ID)
        .trusted_keys(stack.trusted().clone())
        .product(PRODUCT)
        .paths(Paths {
            config_file: dir.join("config.toml"),
            data_dir: dir.to_path_buf(),
        })
        .key_store(Box::new(FileKeyStore::new(dir)))
        .allow_file_key_store(true)
        .machine_id(MACHINE_ID)
        .build()?)
}

/// The library called from Rust as an async app would: its own runtime, `check().await`.
fn rust_figures(client: &LicenseClient, n: u32, rounds: u32) -> anyhow::Result<Figures> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // The two kinds alternate round by round, so a noisy moment hits both alike.
    let (mut offline_ns, mut cached_ns) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..rounds {
        offline_ns = offline_ns.min(round_ns(n, || client.check_offline().licensed)?);
        cached_ns = cached_ns.min(round_ns(n, || runtime.block_on(client.check()).licensed)?);
    }
    Ok(Figures {
        name: "Rust (the library, no ABI)".into(),
        offline_ns,
        cached_ns,
    })
}

/// One round of `n` checks: the mean time per call.
fn round_ns(n: u32, mut check: impl FnMut() -> bool) -> anyhow::Result<f64> {
    let start = Instant::now();
    for _ in 0..n {
        if !check() {
            bail!("the benchmark's check is not licensed");
        }
    }
    Ok(start.elapsed().as_nanos() as f64 / f64::from(n))
}

fn run(
    name: &str,
    command: &str,
    config: &serde_json::Value,
    n: u32,
    rounds: u32,
) -> anyhow::Result<Figures> {
    let mut words = command.split_whitespace();
    let program = words.next().context("an empty runner command")?;
    let get = |member: &str| config[member].as_str().unwrap_or_default().to_owned();
    let output = Command::new(program)
        .args(words)
        .env("LC_BENCH_CONFIG", config.to_string())
        .env("LC_BENCH_N", n.to_string())
        .env("LC_BENCH_ROUNDS", rounds.to_string())
        .env("LC_BENCH_BROKER_URL", get("broker_url"))
        .env("LC_BENCH_APP_ID", get("app_id"))
        .env("LC_BENCH_TRUSTED_KEYS", get("trusted_keys"))
        .env("LC_BENCH_PRODUCT", get("product"))
        .env("LC_BENCH_DATA_DIR", get("data_dir"))
        .env("LC_BENCH_MACHINE_ID", get("machine_id"))
        .output()
        .with_context(|| format!("running {name}: {command}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "{name} failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let value = |key: &str| -> anyhow::Result<f64> {
        let line = stdout.lines().last().unwrap_or_default();
        let text = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .with_context(|| format!("{name} printed no {key}: {stdout}"))?;
        Ok(text.parse()?)
    };
    Ok(Figures {
        name: name.into(),
        offline_ns: value("offline_ns")?,
        cached_ns: value("cached_ns")?,
    })
}

fn stripped_size(library: &Path) -> anyhow::Result<u64> {
    let copy = tempfile::NamedTempFile::new()?;
    let status = Command::new("strip")
        .arg("-o")
        .arg(copy.path())
        .arg(library)
        .status()
        .context("running strip")?;
    if !status.success() {
        bail!("strip failed on {}", library.display());
    }
    Ok(std::fs::metadata(copy.path())?.len())
}

fn render(all: &[Figures], sizes: &[(String, u64)], n: u32, rounds: u32, load: &str) -> String {
    let c = all.iter().find(|f| f.name == "C");
    let rust = &all[0];
    let mut rows = String::new();
    for f in all {
        let against = match (c, f.name.as_str()) {
            (Some(_), "C") => format!("{:.2} × Rust", f.cached_ns / rust.cached_ns),
            (Some(c), name) if !name.starts_with("Rust") => format!(
                "{:+.1} µs offline, {:+.1} µs cached",
                (f.offline_ns - c.offline_ns) / 1000.0,
                (f.cached_ns - c.cached_ns) / 1000.0
            ),
            _ => "the reference".into(),
        };
        rows.push_str(&format!(
            "| {} | {:.1} | {:.1} | {against} |\n",
            f.name,
            f.offline_ns / 1000.0,
            f.cached_ns / 1000.0
        ));
    }
    let c_ratio = c.map(|c| {
        format!(
            "C is {:.2} × Rust offline and {:.2} × cached (target ≤ 1.2 ×)",
            c.offline_ns / rust.offline_ns,
            c.cached_ns / rust.cached_ns
        )
    });
    format!(
        "{BEGIN}\n## 6. The C ABI and the language packages\n\n\
         `bench/ffi/run.sh` (release builds; one license activated into a data directory with \
         the file key store, then {rounds} rounds of {n} calls each, offline and cached rounds alternating, best round's mean per \
         call). Offline: `check(offline)`, the lease read and verified, no network. Cached: \
         `check()` answered from the fresh lease (before its signed recheck time), as an app's \
         every start-up after the first. Each language calls through its own package. Load \
         average at the end of the run: {load} (on 2 cores; above 1, other work shared the \
         machine and the figures are noisier).\n\n\
         | caller | offline µs/call | cached µs/call | against |\n| --- | --- | --- | --- |\n{rows}\n\
         {}. Target for each managed language: within +50 µs of C.\n\n\
         Stripped `liblicense_client.so` (target ≤ 6 MB for what a vendor ships):\n\n\
         | build | MB | bytes |\n| --- | --- | --- |\n{}\n{END}\n",
        c_ratio.unwrap_or_else(|| "No C runner was given".into()),
        sizes
            .iter()
            .map(|(label, bytes)| format!("| {label} | {:.2} | {bytes} |\n", *bytes as f64 / 1e6))
            .collect::<String>(),
    )
}

fn parse_args() -> anyhow::Result<Args> {
    let mut library = None;
    let mut runners = Vec::new();
    let mut sizes = Vec::new();
    let mut out = PathBuf::from("BENCHMARKS.md");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--library" => library = Some(PathBuf::from(value()?)),
            "--out" => out = PathBuf::from(value()?),
            "--size" => {
                let spec = value()?;
                let (label, path) = spec.split_once('=').context("--size takes LABEL=PATH")?;
                sizes.push((label.to_owned(), PathBuf::from(path)));
            }
            "--runner" => {
                let spec = value()?;
                let (name, command) = spec.split_once('=').context("--runner takes NAME=COMMAND")?;
                runners.push((name.to_owned(), command.to_owned()));
            }
            other => bail!("unexpected argument {other:?}; usage: bench-ffi --library PATH [--size LABEL=PATH]... [--runner NAME=COMMAND]... [--out FILE]"),
        }
    }
    Ok(Args {
        library: library.context("--library PATH is required")?,
        sizes,
        runners,
        out,
    })
}

fn env_number(name: &str, default: u32) -> anyhow::Result<u32> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{name}={text:?} is not a number")),
        Err(_) => Ok(default),
    }
}
