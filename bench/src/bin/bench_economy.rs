//! `bench-economy [N] [M] [C]`: token and ORDS economy. N validations of M licenses
//! from C concurrent callers through the broker, against the naive flow of the
//! article's Postman steps (a token, then the resource call, for every validation),
//! both counted by the ORDS emulator's own stats. Everything runs in this process on
//! loopback; counts, not timings, are the result. Prints `key=value` lines.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use license_broker::vars as var;
use license_testkit::Stack;
use ords_emulator::License;
use rand::RngCore as _;

/// The broker's verdict cache TTL in this run, seconds (the broker's default).
const TTL_SECS: u64 = 60;
/// Customer ids of the licenses added to the article's seed.
const FIRST_ID: i64 = 1001;

fn arg(n: usize, default: usize) -> anyhow::Result<usize> {
    match std::env::args().nth(n) {
        Some(s) => s.parse().with_context(|| format!("argument {n}: {s:?}")),
        None => Ok(default),
    }
}

/// Runs `n` jobs from `c` workers; job `i` is `job(i)`.
async fn fan_out<F, Fut>(n: usize, c: usize, job: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let workers: Vec<_> = (0..c)
        .map(|_| {
            let (next, job) = (Arc::clone(&next), Arc::clone(&job));
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Relaxed);
                    if i >= n {
                        return Ok::<(), anyhow::Error>(());
                    }
                    job(i).await?;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = arg(1, 2000)?;
    let m = arg(2, 20)?;
    let c = arg(3, 32)?;
    if n == 0 || m == 0 || c == 0 {
        bail!("N, M and C must be positive");
    }

    // The broker, as `license-broker serve` would run it, rate limits off.
    let ttl = TTL_SECS.to_string();
    let mut stack = Stack::start(&[
        (var::RATE_PER_IP, "0"),
        (var::RATE_PER_KEY, "0"),
        (var::VERDICT_TTL_SECS, &ttl),
        (var::MAX_CONCURRENT, "100000"),
    ])
    .await?;
    let emulator = stack.emulator();
    let now = time::OffsetDateTime::now_utc();
    for k in 0..m as i64 {
        emulator.upsert_license(License {
            customer_id: FIRST_ID + k,
            product: Some("desktop-pro".into()),
            license_status: "ACTIVE".into(),
            expires_at: Some(now + time::Duration::days(365)),
            updated_at: Some(now),
        });
    }
    let (client_id, client_secret) = (
        stack.client_id().to_owned(),
        stack.client_secret().to_owned(),
    );
    let keys: Arc<Vec<String>> = Arc::new(
        (0..m as i64)
            .map(|k| stack.issue_key(&(FIRST_ID + k).to_string()))
            .collect::<Result<_, _>>()?,
    );
    let validate_url = stack.url_for("/v1/license/validate");

    // No reset here: the emulator is fresh, and the broker may fetch its token as it
    // starts, which belongs to its count.
    let http = reqwest::Client::new();
    let started = Instant::now();
    {
        let (http, url, keys) = (http.clone(), validate_url.clone(), Arc::clone(&keys));
        fan_out(n, c, move |i| {
            let (http, url, keys) = (http.clone(), url.clone(), Arc::clone(&keys));
            async move {
                let mut nonce = [0u8; 16];
                rand::thread_rng().fill_bytes(&mut nonce);
                let body = serde_json::json!({
                    "license_key": keys[i % keys.len()],
                    "nonce": URL_SAFE_NO_PAD.encode(nonce),
                });
                let response = http.post(&url).json(&body).send().await?;
                if !response.status().is_success() {
                    bail!("validation {i}: HTTP {}", response.status());
                }
                response.bytes().await?;
                Ok(())
            }
        })
        .await?;
    }
    let broker_wall = started.elapsed();
    let broker_stats = stack.emulator().stats();
    stack.stop().await?;
    let emulator = stack.emulator();

    // The naive flow: a token, then the call, for every validation.
    emulator.reset_stats();
    let token_url = emulator.token_url();
    let resource = emulator.url("customers/validation/{id}");
    let started = Instant::now();
    {
        let basic = STANDARD.encode(format!("{client_id}:{client_secret}"));
        fan_out(n, c, move |i| {
            let (http, token_url, resource, basic) = (
                http.clone(),
                token_url.clone(),
                resource.clone(),
                basic.clone(),
            );
            async move {
                let token: serde_json::Value = http
                    .post(&token_url)
                    .header("authorization", format!("Basic {basic}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=client_credentials")
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let token = token["access_token"]
                    .as_str()
                    .context("a token answer has access_token")?;
                let id = FIRST_ID + (i % m) as i64;
                http.get(resource.replace("{id}", &id.to_string()))
                    .bearer_auth(token)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                Ok(())
            }
        })
        .await?;
    }
    let naive_wall = started.elapsed();
    let naive_stats = emulator.stats();

    let lifetime = emulator.options().token_lifetime_secs;
    println!("validations={n}");
    println!("licenses={m}");
    println!("callers={c}");
    println!("verdict_ttl_secs={TTL_SECS}");
    println!("token_lifetime_secs={lifetime}");
    println!("broker_wall_ms={}", broker_wall.as_millis());
    println!("broker_token_requests={}", broker_stats.token_requests);
    println!("broker_ords_calls={}", broker_stats.resource_requests);
    println!("naive_wall_ms={}", naive_wall.as_millis());
    println!("naive_token_requests={}", naive_stats.token_requests);
    println!("naive_ords_calls={}", naive_stats.resource_requests);
    // The targets' allowances for this run's duration.
    let periods = |wall: std::time::Duration, period: u64| wall.as_secs() / period + 1;
    println!("allowed_tokens={}", periods(broker_wall, lifetime.max(1)));
    println!(
        "allowed_ords_calls={}",
        m as u64 * periods(broker_wall, TTL_SECS)
    );
    Ok(())
}
