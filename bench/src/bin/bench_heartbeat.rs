//! `bench-heartbeat [SECS] [MACHINES] [OUT.md]`: the heartbeat economy of floating
//! licenses. A floating seat is renewed by checking out again while the app runs; this
//! measures what that costs:
//!
//! 1. ORDS calls per renewal, counted by the emulator's `/__emulator/stats`: with the
//!    license row in the broker's lookup cache (another renewal of the same license
//!    within `LICENSE_BROKER_VERDICT_TTL_SECS`, 60 s by default), and without it (a
//!    second broker with the cache off, which is every renewal of a license whose
//!    other apps renewed more than 60 s ago);
//! 2. renewals per second one broker core serves: the broker alone on a
//!    current-thread runtime on a thread of its own, the emulator and the load (32
//!    connections, MACHINES machines over 20 licenses) on another runtime, for SECS;
//! 3. the ORDS load of 10,000 running apps at the default 900 s lease, from those
//!    figures and the library's renewal interval (a third of the lease left, ±20%).
//!
//! Writes its section of OUT.md (default BENCHMARKS.md) between markers that
//! `bench-report` keeps, and prints `key=value` lines.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use license_broker::vars as var;
use license_testkit::Stack;
use ords_emulator::{EmulatorOptions, License, RunningEmulator, Seed, SystemClock, ARTICLE_CLIENT};
use rand::RngCore as _;

const BEGIN: &str = "<!-- bench-heartbeat:begin -->";
const END: &str = "<!-- bench-heartbeat:end -->";
/// Floating licenses added to the article's seed, from this customer id on.
const FIRST_ID: i64 = 2001;
const LICENSES: i64 = 20;
const CONNECTIONS: usize = 32;
/// The broker's default floating lease, and the fleet the issue asks about.
const DEFAULT_LEASE_SECS: f64 = 900.0;
const FLEET: f64 = 10_000.0;

fn arg(n: usize, default: u64) -> anyhow::Result<u64> {
    match std::env::args().nth(n) {
        Some(s) => s.parse().with_context(|| format!("argument {n}: {s:?}")),
        None => Ok(default),
    }
}

/// The brokers, served on a current-thread runtime of their own (one core's worth).
struct Brokers {
    /// The default settings (lookup cache 60 s).
    warm: String,
    /// The lookup cache off.
    cold: String,
    keys: Vec<String>,
    stop: tokio::sync::oneshot::Sender<()>,
}

fn main() -> anyhow::Result<()> {
    let secs = arg(1, 5)?;
    let machines = arg(2, 200)? as usize;
    let out = std::env::args()
        .nth(3)
        .unwrap_or_else(|| "BENCHMARKS.md".into());
    if secs == 0 || machines == 0 {
        bail!("SECS and MACHINES must be positive");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let section = runtime.block_on(run(secs, machines))?;
    license_bench::write_section(std::path::Path::new(&out), (BEGIN, END), &section)?;
    println!("wrote {out}");
    Ok(())
}

async fn run(secs: u64, machines: usize) -> anyhow::Result<String> {
    let emulator = ords_emulator::spawn(
        Seed::article_default(),
        EmulatorOptions::default(),
        Arc::new(SystemClock),
    )
    .await;
    add_floating_licenses(&emulator, machines);
    let brokers = start_brokers(&emulator)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let body = |i: usize| {
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        serde_json::json!({
            "license_key": brokers.keys[i % brokers.keys.len()],
            "nonce": URL_SAFE_NO_PAD.encode(nonce),
            "fingerprint": format!("machine-{i}"),
        })
    };
    let checkout = |base: &str, i: usize| {
        let request = http
            .post(format!("{base}/v1/license/checkout"))
            .json(&body(i));
        async move {
            let response = request.send().await?;
            if response.status() != 200 {
                bail!("checkout: HTTP {}", response.status());
            }
            response.bytes().await?;
            anyhow::Ok(())
        }
    };

    // Every machine checks a seat out on both brokers (the same database), then each
    // renews once through each broker, counted.
    for i in 0..machines {
        checkout(&brokers.warm, i).await?;
    }
    let mut per_renewal = Vec::new();
    for base in [&brokers.warm, &brokers.cold] {
        emulator.reset_stats();
        for i in 0..machines {
            checkout(base, i).await?;
        }
        let stats = emulator.stats();
        per_renewal.push(stats.resource_requests as f64 / machines as f64);
    }

    // Throughput: CONNECTIONS callers renewing for `secs` against the warm broker.
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|w| {
            let (done, http, base) = (Arc::clone(&done), http.clone(), brokers.warm.clone());
            let keys = brokers.keys.clone();
            tokio::spawn(async move {
                let mut i = w;
                while Instant::now() < deadline {
                    let mut nonce = [0u8; 16];
                    rand::thread_rng().fill_bytes(&mut nonce);
                    let machine = i % machines;
                    let body = serde_json::json!({
                        "license_key": keys[machine % keys.len()],
                        "nonce": URL_SAFE_NO_PAD.encode(nonce),
                        "fingerprint": format!("machine-{machine}"),
                    });
                    let response = http
                        .post(format!("{base}/v1/license/checkout"))
                        .json(&body)
                        .send()
                        .await?;
                    if response.status() != 200 {
                        bail!("renewal: HTTP {}", response.status());
                    }
                    response.bytes().await?;
                    done.fetch_add(1, Relaxed);
                    i += CONNECTIONS;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    let started = Instant::now();
    for worker in workers {
        worker.await??;
    }
    let rate = done.load(Relaxed) as f64 / started.elapsed().as_secs_f64();
    let _ = brokers.stop.send(());
    Ok(render(per_renewal[0], per_renewal[1], rate, secs, machines))
}

/// LICENSES floating licenses with room for every machine.
fn add_floating_licenses(emulator: &RunningEmulator, machines: usize) {
    let now = time::OffsetDateTime::now_utc();
    for k in 0..LICENSES {
        let id = FIRST_ID + k;
        emulator.upsert_license(License {
            customer_id: id,
            product: Some("desktop-pro".into()),
            license_status: "ACTIVE".into(),
            expires_at: Some(now + time::Duration::days(365)),
            updated_at: Some(now),
        });
        emulator.set_max_machines(id, Some(machines as i64));
        emulator.set_license_model(id, true, 0);
    }
}

/// Two brokers on a thread of their own with a current-thread runtime: the warm one
/// with the default settings, the cold one with the lookup cache off. Both with the
/// default floating lease and no rate limits (the load is this benchmark's own).
fn start_brokers(emulator: &RunningEmulator) -> anyhow::Result<Brokers> {
    let (id, secret) = emulator
        .client_credentials(ARTICLE_CLIENT)
        .context("the seed has the article's client")?;
    let schema = emulator.schema_url.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => return drop(ready_tx.send(Err(anyhow::Error::new(e)))),
        };
        runtime.block_on(async move {
            let start = |ttl: &'static str| {
                Stack::builder()
                    .ords_at_as(&schema, &id, &secret)
                    .settings(&[
                        (var::RATE_PER_IP, "0"),
                        (var::RATE_PER_KEY, "0"),
                        (var::ACTIVATIONS_PER_HOUR, "0"),
                        (var::MAX_CONCURRENT, "100000"),
                        (var::VERDICT_TTL_SECS, ttl),
                    ])
                    .start()
            };
            let started = async {
                let warm = start("60").await?;
                // The same key secret, so one key works on both.
                let cold = Stack::builder()
                    .ords_at_as(&schema, &id, &secret)
                    .settings(
                        &warm
                            .env()
                            .vars()
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect::<Vec<_>>(),
                    )
                    .set(var::VERDICT_TTL_SECS, "0")
                    .start()
                    .await?;
                let keys = (0..LICENSES)
                    .map(|k| warm.issue_key(&(FIRST_ID + k).to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                anyhow::Ok((warm, cold, keys))
            };
            match started.await {
                Ok((warm, cold, keys)) => {
                    let urls = (warm.url().to_owned(), cold.url().to_owned());
                    let _ = ready_tx.send(Ok((urls, keys)));
                    let _ = stopped.await;
                    drop((warm, cold));
                }
                Err(e) => drop(ready_tx.send(Err(e))),
            }
        });
    });
    let ((warm, cold), keys) = ready_rx.recv().context("the broker thread ended")??;
    Ok(Brokers {
        warm,
        cold,
        keys,
        stop,
    })
}

/// The broker's default lookup-cache lifetime of a license row, seconds.
const ROW_TTL_SECS: f64 = 60.0;

/// ORDS calls per renewal for a license run by `apps` apps at once, each renewing every
/// `interval` s ±20% (the library's jitter), the row cached for [`ROW_TTL_SECS`]: one
/// checkout each, plus a lookup whenever the row has aged out of the cache. Simulated
/// over 24 h with a fixed seed, so the figure is the same on every run.
fn simulated_calls_per_renewal(apps: usize, interval: f64) -> f64 {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut uniform = move || {
        // xorshift64*: enough for a jitter, and reproducible.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut renewals: Vec<f64> = Vec::new();
    for _ in 0..apps {
        let mut t = uniform() * interval;
        while t < 86_400.0 {
            renewals.push(t);
            t += interval * (0.8 + 0.4 * uniform());
        }
    }
    renewals.sort_by(f64::total_cmp);
    let (mut calls, mut cached_until) = (0.0, f64::MIN);
    for t in &renewals {
        calls += 1.0;
        if *t >= cached_until {
            calls += 1.0;
            cached_until = t + ROW_TTL_SECS;
        }
    }
    calls / renewals.len() as f64
}

/// The section of BENCHMARKS.md.
fn render(warm: f64, cold: f64, rate: f64, secs: u64, machines: usize) -> String {
    // The library renews at a third of the lease left (±20% jitter): every 300 s on
    // average at the default lease.
    let interval = DEFAULT_LEASE_SECS / 3.0;
    let renewals = FLEET / interval;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("ords_calls_per_renewal_warm={warm:.3}");
    println!("ords_calls_per_renewal_cold={cold:.3}");
    println!("renewals_per_second_one_core={rate:.0}");
    println!("fleet_renewals_per_second={renewals:.1}");
    let per_license: Vec<String> = [1, 2, 5, 20, 100]
        .iter()
        .map(|&apps| {
            let calls = simulated_calls_per_renewal(apps, interval);
            println!("ords_calls_per_renewal_{apps}_apps_per_license={calls:.3}");
            format!("| {apps} | {calls:.2} |\n")
        })
        .collect();
    format!(
        "{BEGIN}\n## 8. Heartbeat economy of floating licenses\n\n\
         `cargo run --release -p license-bench --bin bench-heartbeat -- {secs} {machines}`: \
         {LICENSES} floating licenses, {machines} machines each holding a seat, renewing by \
         checking out again (`POST /v1/license/checkout`). The broker runs alone on a \
         current-thread runtime on its own thread (one core's worth), the emulator and the \
         load ({CONNECTIONS} connections, {secs} s) on another; ORDS calls are the emulator's \
         own count (`/__emulator/stats`). Load average at the end: {} (2 cores, shared).\n\n\
         | measure | figure | target |\n| --- | --- | --- |\n\
         | ORDS calls per renewal, license row in the lookup cache | {warm:.2} | 1 |\n\
         | ORDS calls per renewal, lookup cache off | {cold:.2} | |\n\
         | renewals per second, one broker core | {rate:.0} | |\n\
         | renewals per second of {fleet} apps at the default 900 s lease (one every {interval:.0} s each) | {renewals:.1} | |\n\
         | their ORDS calls per second | {low:.1} to {high:.1} | |\n\
         | broker cores they keep busy | {cores:.3} | |\n\n\
         A renewal is one call to the seats package (`license_seats.checkout`, one \
         transaction with the row lock) when the license's row is cached in the broker, as \
         it is whenever another app of the same license renewed within the cache's 60 s; a \
         license whose apps renew more rarely than that costs a lookup too (the second \
         figure). Sleeping laptops do not storm: each renewal waits a third of the lease \
         left with ±20% jitter, so a fleet woken together spreads over a minute and more.\n\n\
         Which of the two a fleet pays depends on how many apps run each license: with the \
         default lease and row cache, simulated over a day (one checkout per renewal, plus \
         a lookup whenever the row has aged out of the 60 s cache):\n\n\
         | apps running one license | ORDS calls per renewal |\n| --- | --- |\n{}\n\
         {END}\n",
        load.join(" "),
        per_license.concat(),
        fleet = FLEET as u64,
        low = renewals * warm,
        high = renewals * cold,
        cores = renewals / rate,
    )
}
