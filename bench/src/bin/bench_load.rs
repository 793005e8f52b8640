//! `bench-load`: an open-loop load generator at a fixed rate, for the cold-path
//! overhead. Requests start on a fixed schedule whether or not earlier ones have
//! answered, so a slow answer does not lower the rate (no coordinated omission). Each
//! latency runs from the moment its request is handed to the HTTP client to the last
//! byte of the answer. It cycles through many license ids, so the broker's single
//! flight never merges two requests and every validation reaches ORDS.
//!
//! ```text
//! bench-load direct URL_TEMPLATE IDS_FILE TOKEN RATE SECONDS   # GET URL_TEMPLATE with {id}
//! bench-load broker URL          KEYS_FILE      RATE SECONDS   # POST validate bodies
//! ```
//! Prints one JSON object (see [`license_bench::LoadSummary`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use license_bench::LoadSummary;
use rand::RngCore as _;
use tokio::sync::Mutex;

/// What one scheduled request does.
enum Target {
    Direct {
        template: String,
        ids: Vec<String>,
        token: String,
    },
    Broker {
        url: String,
        keys: Vec<String>,
    },
}

impl Target {
    fn request(&self, client: &reqwest::Client, i: usize) -> reqwest::RequestBuilder {
        match self {
            Target::Direct {
                template,
                ids,
                token,
            } => client
                .get(template.replace("{id}", &ids[i % ids.len()]))
                .bearer_auth(token),
            Target::Broker { url, keys } => {
                let mut nonce = [0u8; 16];
                rand::thread_rng().fill_bytes(&mut nonce);
                let body = serde_json::json!({
                    "license_key": keys[i % keys.len()],
                    "nonce": URL_SAFE_NO_PAD.encode(nonce),
                });
                client.post(url).json(&body)
            }
        }
    }
}

fn lines(path: &str) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if lines.is_empty() {
        bail!("{path} is empty");
    }
    Ok(lines)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (target, rate, seconds) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["direct", template, ids, token, rate, seconds] => (
            Target::Direct {
                template: template.to_owned(),
                ids: lines(ids)?,
                token: token.to_owned(),
            },
            rate,
            seconds,
        ),
        ["broker", url, keys, rate, seconds] => (
            Target::Broker {
                url: url.to_owned(),
                keys: lines(keys)?,
            },
            rate,
            seconds,
        ),
        _ => bail!(
            "usage: bench-load direct URL_TEMPLATE IDS_FILE TOKEN RATE SECONDS\n       \
             bench-load broker URL KEYS_FILE RATE SECONDS"
        ),
    };
    let rate: f64 = rate.parse().context("RATE")?;
    let seconds: f64 = seconds.parse().context("SECONDS")?;
    let total = (rate * seconds).round() as usize;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(10))
        .build()?;
    let target = Arc::new(target);
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    // Warm the connection pool and the token/verdict paths out of the measurement.
    for i in 0..8 {
        let _ = target.request(&client, i).send().await;
    }

    let period = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = started + period.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, target) = (client.clone(), Arc::clone(&target));
        let (latencies, errors) = (Arc::clone(&latencies), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            let begun = Instant::now();
            let ok = match target.request(&client, i).send().await {
                Ok(response) => {
                    let ok = response.status().is_success();
                    ok & response.bytes().await.is_ok()
                }
                Err(_) => false,
            };
            let elapsed = begun.elapsed();
            if ok {
                latencies.lock().await.push(elapsed);
            } else {
                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let wall = started.elapsed();
    let latencies = std::mem::take(&mut *latencies.lock().await);
    let summary = LoadSummary::from_latencies(
        latencies,
        errors.load(std::sync::atomic::Ordering::Relaxed),
        total,
        wall,
    );
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}
