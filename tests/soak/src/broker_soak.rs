//! `license-soak broker`: mixed validations against an in-process broker while the
//! ORDS emulator misbehaves at random, with every invariant checked as it happens.
//!
//! Invariants (each broken one is a [`Violations`] entry and a non-zero exit):
//! 1. every 200 opens with the broker's key, echoes the nonce and fingerprint, names
//!    the customer asked about and carries the verdict that customer has;
//! 2. every status is in the contract set {200, 400, 413, 415, 429, 503, 504} and the
//!    one expected for that request (a forged key is always a signed `NOT_FOUND`),
//!    with the contract's error code and `Retry-After` where due; 500 is a violation;
//! 3. no panic anywhere in the process (a counting panic hook);
//! 4. no request outlives the broker's deadline plus [`DEADLINE_SLACK`];
//! 5. ORDS sees at most the token requests [`token_bound`] allows;
//! 6. resident memory and live Tokio tasks in the last window stay near the first;
//! 7. after each fault clears, `/readyz` answers 200 within [`READY_BOUND`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use license_broker::vars as var;
use license_shared::{base64url_encode, Envelope, Keyset, VerdictCode};
use ords_emulator::Faults;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::probe::{self, Sample};
use crate::report::{table, Violations};
use license_testkit::Stack;

/// The broker's own deadline in the soak (`LICENSE_BROKER_REQUEST_TIMEOUT_SECS`).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// ORDS calls give up after this (`LICENSE_BROKER_UPSTREAM_TIMEOUT_SECS`).
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(1);
/// What a loaded 2-core machine may add to the deadline before the answer arrives.
pub const DEADLINE_SLACK: Duration = Duration::from_millis(1500);
/// Readiness after a fault clears: the token manager's slow retry after refused
/// credentials (60 s, the longest wait it has) + `/readyz`'s own 2 s + slack.
pub const READY_BOUND: Duration = Duration::from_secs(65);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub duration: Duration,
    pub seed: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Secret rotation revokes the old secret's tokens too (the broker then needs a
    /// new token with the new secret, and heals by re-reading the file).
    pub rotation_revokes_sessions: bool,
    /// Shortest and longest fault episode.
    pub episode: (Duration, Duration),
    /// Shortest and longest calm between episodes.
    pub calm: (Duration, Duration),
}

impl Options {
    /// The command-line soak: long episodes, rotation with sessions revoked.
    pub fn full(duration: Duration, seed: u64) -> Self {
        Self {
            duration,
            seed,
            concurrency: 16,
            rotation_revokes_sessions: true,
            episode: (Duration::from_secs(2), Duration::from_secs(7)),
            calm: (Duration::from_secs(1), Duration::from_secs(4)),
        }
    }

    /// The CI soak: short episodes, a rotation that keeps live tokens (so no 60 s
    /// credential retry fits in), few requests in flight.
    pub fn short(duration: Duration, seed: u64) -> Self {
        Self {
            duration,
            seed,
            concurrency: 6,
            rotation_revokes_sessions: false,
            episode: (Duration::from_millis(500), Duration::from_millis(1500)),
            calm: (Duration::from_millis(200), Duration::from_millis(600)),
        }
    }
}

/// The request mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Valid,
    Expired,
    Suspended,
    Unknown,
    Forged,
    MalformedKey,
    BadBody,
    WrongType,
    TooLarge,
}

const MIX: [(Kind, u32); 9] = [
    (Kind::Valid, 30),
    (Kind::Expired, 8),
    (Kind::Suspended, 8),
    (Kind::Unknown, 10),
    (Kind::Forged, 10),
    (Kind::MalformedKey, 8),
    (Kind::BadBody, 12),
    (Kind::WrongType, 8),
    (Kind::TooLarge, 6),
];

impl Kind {
    fn pick(rng: &mut StdRng) -> Kind {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut roll = rng.gen_range(0..total);
        for (kind, weight) in MIX {
            if roll < weight {
                return kind;
            }
            roll -= weight;
        }
        Kind::Valid
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Valid => "valid key",
            Kind::Expired => "expired license",
            Kind::Suspended => "suspended license",
            Kind::Unknown => "unknown customer",
            Kind::Forged => "forged key",
            Kind::MalformedKey => "malformed key",
            Kind::BadBody => "bad body",
            Kind::WrongType => "wrong content type",
            Kind::TooLarge => "oversized body",
        }
    }
}

/// Fault episodes the emulator (or the operator) injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    LatencySpike,
    Resource5xx,
    DroppedConnections,
    TokenEndpointDown,
    TokensRevoked,
    Stall,
    SecretRotated,
}

const FAULTS: [(Fault, u32); 7] = [
    (Fault::LatencySpike, 4),
    (Fault::Resource5xx, 4),
    (Fault::DroppedConnections, 4),
    (Fault::TokenEndpointDown, 3),
    (Fault::TokensRevoked, 3),
    (Fault::Stall, 2),
    (Fault::SecretRotated, 1),
];

impl Fault {
    fn pick(rng: &mut StdRng) -> Fault {
        let total: u32 = FAULTS.iter().map(|(_, w)| w).sum();
        let mut roll = rng.gen_range(0..total);
        for (fault, weight) in FAULTS {
            if roll < weight {
                return fault;
            }
            roll -= weight;
        }
        Fault::LatencySpike
    }

    fn name(self) -> &'static str {
        match self {
            Fault::LatencySpike => "latency spike past the deadline",
            Fault::Resource5xx => "ORDS 5xx",
            Fault::DroppedConnections => "dropped connections",
            Fault::TokenEndpointDown => "token endpoint down (+ tokens revoked)",
            Fault::TokensRevoked => "tokens revoked",
            Fault::Stall => "ORDS stalls",
            Fault::SecretRotated => "client secret rotated",
        }
    }

    /// Whether the broker has to fetch a token because of this fault.
    fn needs_token(self) -> bool {
        matches!(
            self,
            Fault::TokenEndpointDown | Fault::TokensRevoked | Fault::SecretRotated
        )
    }
}

/// What the workers share.
struct Shared {
    http: reqwest::Client,
    validate_url: String,
    trusted: Keyset,
    valid_key: String,
    expired_key: String,
    suspended_key: String,
    forged_key: String,
    key_for_unknown: Box<dyn Fn(u32) -> String + Send + Sync>,
    violations: Violations,
    counts: Mutex<BTreeMap<(Kind, String), u64>>,
    verified: AtomicU64,
    latencies_ms: Mutex<Vec<u32>>,
}

/// The figures of one run.
#[derive(Debug, Default)]
pub struct Summary {
    pub text: String,
    pub requests: u64,
    pub verified_200: u64,
    pub faults: BTreeMap<String, u64>,
    pub violations: u64,
}

/// Runs the broker soak and prints its table; the violations decide the exit code.
pub async fn run(options: Options) -> anyhow::Result<Summary> {
    probe::install_panic_counter();
    let panics_before = probe::panics();
    let deadline_secs = REQUEST_DEADLINE.as_secs().to_string();
    let upstream_secs = UPSTREAM_TIMEOUT.as_secs().to_string();
    let mut stack = Stack::start(&[
        (var::RATE_PER_IP, "0"),
        (var::RATE_PER_KEY, "0"),
        (var::REQUEST_TIMEOUT_SECS, &deadline_secs),
        (var::UPSTREAM_TIMEOUT_SECS, &upstream_secs),
        (var::UPSTREAM_CONNECT_TIMEOUT_SECS, &upstream_secs),
        (var::VERDICT_TTL_SECS, "1"),
        (var::NEGATIVE_TTL_SECS, "1"),
    ])
    .await?;
    let forger_key = stack.forge_key("1")?;
    let keys = stack.config().license_keys.clone();
    let shared = Arc::new(Shared {
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_DEADLINE + Duration::from_secs(10))
            .pool_max_idle_per_host(options.concurrency)
            .build()?,
        validate_url: format!("{}/v1/license/validate", stack.url()),
        trusted: stack.trusted().clone(),
        valid_key: stack.issue_key("1")?,
        expired_key: stack.issue_key("2")?,
        suspended_key: stack.issue_key("3")?,
        forged_key: forger_key,
        key_for_unknown: Box::new(move |id| {
            let id = license_shared::CustomerId::parse(&id.to_string()).expect("digits");
            keys.mint(&id)
        }),
        violations: Violations::new(),
        counts: Mutex::new(BTreeMap::new()),
        verified: AtomicU64::new(0),
        latencies_ms: Mutex::new(Vec::new()),
    });
    wait_ready(&shared.http, stack.url(), READY_BOUND).await?;
    stack.emulator().reset_stats();

    let started = Instant::now();
    let end = started + options.duration;
    let mut workers = Vec::new();
    for n in 0..options.concurrency {
        let shared = Arc::clone(&shared);
        let seed = options.seed.wrapping_mul(1_000_003).wrapping_add(n as u64);
        workers.push(tokio::spawn(worker(shared, seed, end)));
    }
    let sampler = tokio::spawn(sampler(started, end));

    // Faults stop early enough for the final stretch to show recovery and a flat tail.
    let fault_end = started + options.duration.mul_f64(0.8);
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut faults: BTreeMap<Fault, u64> = BTreeMap::new();
    let mut recoveries: Vec<Duration> = Vec::new();
    let mut token_failing = Duration::ZERO;
    let mut revoking = 0u64;
    loop {
        let calm = rand_between(&mut rng, options.calm);
        tokio::time::sleep(calm).await;
        let episode = rand_between(&mut rng, options.episode);
        if Instant::now() + episode >= fault_end {
            break;
        }
        let fault = Fault::pick(&mut rng);
        *faults.entry(fault).or_default() += 1;
        if fault.needs_token() {
            revoking += 1;
        }
        apply(
            &mut stack,
            fault,
            &mut rng,
            options.rotation_revokes_sessions,
        )?;
        tokio::time::sleep(episode).await;
        stack.emulator().clear_faults();
        let recovery = measure_ready(&shared.http, stack.url()).await;
        match recovery {
            Some(took) => recoveries.push(took),
            None => shared.violations.add(
                "readiness did not return within the bound",
                format!(
                    "after {}: no 200 from /readyz within {READY_BOUND:?}",
                    fault.name()
                ),
            ),
        }
        if fault.needs_token() {
            token_failing += episode + recovery.unwrap_or(READY_BOUND);
        }
    }
    stack.emulator().clear_faults();
    let final_recovery = measure_ready(&shared.http, stack.url()).await;
    if final_recovery.is_none() {
        shared.violations.add(
            "readiness did not return within the bound",
            "after the last fault cleared".to_owned(),
        );
    }
    for worker in workers {
        worker.await?;
    }
    let samples = sampler.await?;
    let elapsed = started.elapsed();
    let stats = stack.emulator().stats();
    let episodes: u64 = faults.values().sum();
    let bound = token_bound(episodes, revoking, token_failing, elapsed);
    if stats.token_requests > bound {
        shared.violations.add(
            "token requests exceeded the bound",
            format!("{} token requests, bound {bound}", stats.token_requests),
        );
    }
    let panics = probe::panics() - panics_before;
    if panics > 0 {
        shared
            .violations
            .add("panic", format!("{panics} panics during the soak"));
    }
    let flat = check_flat(
        &samples,
        elapsed.as_secs_f64(),
        options.concurrency,
        &shared.violations,
    );
    stack.stop_within(Duration::from_secs(10)).await?;

    let counts = shared
        .counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let requests: u64 = counts.values().sum();
    let mut by_kind: BTreeMap<Kind, BTreeMap<String, u64>> = BTreeMap::new();
    for ((kind, status), n) in &counts {
        *by_kind
            .entry(*kind)
            .or_default()
            .entry(status.clone())
            .or_default() += n;
    }
    let mut latencies = shared
        .latencies_ms
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let mut rows = vec![
        (
            "duration".to_owned(),
            format!("{:.1} s (seed {})", elapsed.as_secs_f64(), options.seed),
        ),
        ("concurrency".to_owned(), options.concurrency.to_string()),
        (
            "requests".to_owned(),
            format!(
                "{requests} ({:.0}/s)",
                requests as f64 / elapsed.as_secs_f64()
            ),
        ),
        (
            "200s verified".to_owned(),
            shared.verified.load(Ordering::SeqCst).to_string(),
        ),
    ];
    for (kind, statuses) in &by_kind {
        let text = statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        rows.push((format!("  {}", kind.name()), text));
    }
    rows.push((
        "latency p50/p99/max".to_owned(),
        format!(
            "{} / {} / {} ms (deadline {} ms + {} ms slack)",
            pct(0.5),
            pct(0.99),
            pct(1.0),
            REQUEST_DEADLINE.as_millis(),
            DEADLINE_SLACK.as_millis()
        ),
    ));
    rows.push(("fault episodes".to_owned(), episodes.to_string()));
    for (fault, n) in &faults {
        rows.push((format!("  {}", fault.name()), n.to_string()));
    }
    let max_recovery = recoveries
        .iter()
        .chain(final_recovery.iter())
        .max()
        .copied()
        .unwrap_or_default();
    rows.push((
        "readiness after clear (max)".to_owned(),
        format!(
            "{:.2} s over {} clears (bound {} s)",
            max_recovery.as_secs_f64(),
            recoveries.len() + usize::from(final_recovery.is_some()),
            READY_BOUND.as_secs()
        ),
    ));
    rows.push((
        "ORDS token requests".to_owned(),
        format!(
            "{} (bound {bound}); tokens issued {}",
            stats.token_requests, stats.tokens_issued
        ),
    ));
    rows.push((
        "ORDS resource requests".to_owned(),
        format!(
            "{} (dropped connections {})",
            stats.resource_requests, stats.dropped_connections
        ),
    ));
    rows.push(("panics".to_owned(), panics.to_string()));
    rows.extend(flat);
    let mut text = table("license-soak broker", &rows);
    text.push_str(&shared.violations.render());
    let mut fault_names = BTreeMap::new();
    for (fault, n) in faults {
        fault_names.insert(fault.name().to_owned(), n);
    }
    Ok(Summary {
        text,
        requests,
        verified_200: shared.verified.load(Ordering::SeqCst),
        faults: fault_names,
        violations: shared.violations.total(),
    })
}

/// Token requests ORDS may see: the first token, per episode one spare, per episode
/// that invalidates the token one refresh plus one retry, one failed attempt per
/// second while the token endpoint fails (the manager's backoff floor is 1 s), and a
/// proactive refresh per 48 minutes (80 % of ORDS's 3600 s).
pub fn token_bound(
    episodes: u64,
    revoking: u64,
    token_failing: Duration,
    elapsed: Duration,
) -> u64 {
    3 + episodes + 2 * revoking + token_failing.as_secs() + 1 + elapsed.as_secs() / 2880
}

fn rand_between(rng: &mut StdRng, (lo, hi): (Duration, Duration)) -> Duration {
    if hi <= lo {
        return lo;
    }
    Duration::from_millis(rng.gen_range(lo.as_millis() as u64..=hi.as_millis() as u64))
}

fn apply(
    stack: &mut Stack,
    fault: Fault,
    rng: &mut StdRng,
    revoke_sessions: bool,
) -> anyhow::Result<()> {
    let emulator = stack.emulator();
    match fault {
        Fault::LatencySpike => emulator.set_faults(Faults {
            latency_ms: Some(rng.gen_range(2_500..4_500)),
            ..Faults::default()
        }),
        Fault::Resource5xx => emulator.set_faults(Faults {
            resource_status: Some([500, 502, 503, 504][rng.gen_range(0..4)]),
            ..Faults::default()
        }),
        Fault::DroppedConnections => emulator.set_faults(Faults {
            drop_connections: rng.gen_bool(0.5),
            drop_resource_connections: true,
            ..Faults::default()
        }),
        Fault::TokenEndpointDown => {
            let drop = rng.gen_bool(0.3);
            emulator.set_faults(Faults {
                token_status: (!drop).then_some(503),
                drop_token_connections: drop,
                revoke_tokens: true,
                ..Faults::default()
            })
        }
        Fault::TokensRevoked => emulator.set_faults(Faults {
            revoke_tokens: true,
            ..Faults::default()
        }),
        Fault::Stall => emulator.set_faults(Faults {
            stall: true,
            ..Faults::default()
        }),
        Fault::SecretRotated => stack.rotate_secret(revoke_sessions)?,
    }
    Ok(())
}

async fn wait_ready(http: &reqwest::Client, base: &str, bound: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < bound {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the broker was not ready within {bound:?}")
}

/// Time until `/readyz` says 200, or `None` past [`READY_BOUND`].
async fn measure_ready(http: &reqwest::Client, base: &str) -> Option<Duration> {
    let start = Instant::now();
    wait_ready(http, base, READY_BOUND).await.ok()?;
    Some(start.elapsed())
}

async fn sampler(started: Instant, end: Instant) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while Instant::now() < end {
        tick.tick().await;
        samples.push(probe::sample(started.elapsed().as_secs_f64()));
    }
    samples
}

/// Compares the first window (after a short warm-up) with the last one.
fn check_flat(
    samples: &[Sample],
    total: f64,
    concurrency: usize,
    violations: &Violations,
) -> Vec<(String, String)> {
    let window = (total / 4.0).min(60.0);
    let warm = (total / 10.0).min(10.0);
    let (first_rss_med, first_rss_max) =
        probe::window_stats(samples, warm, warm + window, |s| s.rss_kib);
    let (last_rss_med, last_rss_max) =
        probe::window_stats(samples, total - window, total, |s| s.rss_kib);
    let (first_tasks_med, first_tasks_max) =
        probe::window_stats(samples, warm, warm + window, |s| s.tasks);
    let (last_tasks_med, last_tasks_max) =
        probe::window_stats(samples, total - window, total, |s| s.tasks);
    let (_, first_threads) = probe::window_stats(samples, warm, warm + window, |s| s.threads);
    let (_, last_threads) = probe::window_stats(samples, total - window, total, |s| s.threads);
    let rss_limit = first_rss_max + (first_rss_max / 4).max(24 * 1024);
    if first_rss_max > 0 && last_rss_med > rss_limit {
        violations.add(
            "memory grew",
            format!("VmRSS median {last_rss_med} KiB in the last window > {rss_limit} KiB (first window max {first_rss_max} KiB)"),
        );
    }
    let task_limit = first_tasks_max + first_tasks_max / 2 + 4 * concurrency as u64 + 32;
    if last_tasks_med > task_limit {
        violations.add(
            "tasks grew",
            format!("live tasks median {last_tasks_med} in the last window > {task_limit} (first window max {first_tasks_max})"),
        );
    }
    vec![
        (
            format!("VmRSS first/last {window:.0} s"),
            format!("median {} / {} MiB, max {} / {} MiB (limit {} MiB)", first_rss_med / 1024, last_rss_med / 1024, first_rss_max / 1024, last_rss_max / 1024, rss_limit / 1024),
        ),
        (
            format!("tokio tasks first/last {window:.0} s"),
            format!("median {first_tasks_med} / {last_tasks_med}, max {first_tasks_max} / {last_tasks_max} (limit {task_limit})"),
        ),
        ("OS threads first/last".to_owned(), format!("{first_threads} / {last_threads}")),
    ]
}

async fn worker(shared: Arc<Shared>, seed: u64, end: Instant) {
    let mut rng = StdRng::seed_from_u64(seed);
    while Instant::now() < end {
        let kind = Kind::pick(&mut rng);
        one(&shared, kind, &mut rng).await;
    }
}

/// What a request of each kind may be answered with.
fn expected(kind: Kind) -> (&'static [u16], Option<(&'static str, VerdictCode)>) {
    const ORDS: &[u16] = &[200, 503, 504];
    match kind {
        Kind::Valid => (ORDS, Some(("1", VerdictCode::Valid))),
        Kind::Expired => (ORDS, Some(("2", VerdictCode::Expired))),
        Kind::Suspended => (ORDS, Some(("3", VerdictCode::Suspended))),
        Kind::Unknown => (ORDS, Some(("", VerdictCode::NotFound))),
        Kind::Forged => (&[200], Some(("1", VerdictCode::NotFound))),
        Kind::MalformedKey | Kind::BadBody => (&[400], None),
        Kind::WrongType => (&[415], None),
        Kind::TooLarge => (&[413], None),
    }
}

const DOCUMENTED_STATUSES: [u16; 7] = [200, 400, 413, 415, 429, 503, 504];

async fn one(shared: &Shared, kind: Kind, rng: &mut StdRng) {
    let nonce = {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes);
        base64url_encode(&bytes)
    };
    let fingerprint = format!("soak-{}", rng.gen_range(0..1000));
    let unknown_id = rng.gen_range(1000..1_000_000u32);
    let key = match kind {
        Kind::Valid => shared.valid_key.clone(),
        Kind::Expired => shared.expired_key.clone(),
        Kind::Suspended => shared.suspended_key.clone(),
        Kind::Unknown => (shared.key_for_unknown)(unknown_id),
        Kind::Forged => shared.forged_key.clone(),
        Kind::MalformedKey => typo(&shared.valid_key, rng),
        _ => shared.valid_key.clone(),
    };
    let body = serde_json::json!({
        "license_key": key,
        "nonce": nonce,
        "fingerprint": fingerprint,
        "app": {"id": "com.example.soak", "version": "1.0"},
    })
    .to_string();
    let (content_type, body) = match kind {
        Kind::BadBody => ("application/json", bad_body(rng, &body)),
        Kind::WrongType => ("text/plain", body),
        Kind::TooLarge => (
            "application/json",
            format!("{{\"pad\":\"{}\"}}", "x".repeat(20 * 1024)),
        ),
        _ => ("application/json", body),
    };
    let sent = Instant::now();
    let response = shared
        .http
        .post(&shared.validate_url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            record(shared, kind, "no answer", sent);
            shared
                .violations
                .add("no answer from the broker", format!("{}: {e}", kind.name()));
            return;
        }
    };
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let bytes = response.bytes().await;
    let elapsed = sent.elapsed();
    record(shared, kind, &status.to_string(), sent);
    if elapsed > REQUEST_DEADLINE + DEADLINE_SLACK {
        shared.violations.add(
            "request outlived its deadline",
            format!(
                "{} answered {status} after {} ms",
                kind.name(),
                elapsed.as_millis()
            ),
        );
    }
    let Ok(bytes) = bytes else {
        shared.violations.add(
            "no answer from the broker",
            format!("{}: body cut off", kind.name()),
        );
        return;
    };
    if !DOCUMENTED_STATUSES.contains(&status) {
        shared.violations.add(
            "status outside the contract",
            format!(
                "{} answered {status}: {}",
                kind.name(),
                String::from_utf8_lossy(&bytes)
            ),
        );
        return;
    }
    let (allowed, verdict) = expected(kind);
    if !allowed.contains(&status) {
        shared.violations.add(
            "unexpected status for the request",
            format!(
                "{} answered {status}: {}",
                kind.name(),
                String::from_utf8_lossy(&bytes)
            ),
        );
        return;
    }
    if status != 200 {
        check_error_body(shared, kind, status, retry_after, &bytes);
        return;
    }
    let Some((id, code)) = verdict else { return };
    let id = if id.is_empty() {
        unknown_id.to_string()
    } else {
        id.to_owned()
    };
    match verify(&shared.trusted, &bytes, &nonce, &fingerprint, &id, code) {
        Ok(()) => {
            shared.verified.fetch_add(1, Ordering::Relaxed);
        }
        Err(why) => shared
            .violations
            .add("a 200 did not verify", format!("{}: {why}", kind.name())),
    }
}

fn record(shared: &Shared, kind: Kind, status: &str, sent: Instant) {
    *shared
        .counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry((kind, status.to_owned()))
        .or_default() += 1;
    shared
        .latencies_ms
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(sent.elapsed().as_millis().min(u128::from(u32::MAX)) as u32);
}

fn check_error_body(shared: &Shared, kind: Kind, status: u16, retry_after: bool, bytes: &[u8]) {
    let Ok(body) = serde_json::from_slice::<license_shared::ErrorBody>(bytes) else {
        shared.violations.add(
            "error body outside the contract",
            format!(
                "{} {status}: {}",
                kind.name(),
                String::from_utf8_lossy(bytes)
            ),
        );
        return;
    };
    if body.error.status() != status {
        shared.violations.add(
            "error code does not match the status",
            format!("{} {status} with {}", kind.name(), body.error.as_str()),
        );
    }
    if matches!(status, 429 | 503) && !retry_after {
        shared.violations.add(
            "429/503 without Retry-After",
            format!("{} {status}", kind.name()),
        );
    }
}

/// Opens a 200 and checks it answers this request about this customer, correctly.
pub fn verify(
    trusted: &Keyset,
    bytes: &[u8],
    nonce: &str,
    fingerprint: &str,
    id: &str,
    code: VerdictCode,
) -> Result<(), String> {
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|e| format!("not an envelope: {e}"))?;
    let payload = envelope
        .open(trusted)
        .map_err(|e| format!("does not open: {e}"))?;
    if payload.nonce != nonce {
        return Err("nonce not echoed".into());
    }
    if payload.fingerprint.as_deref() != Some(fingerprint) {
        return Err("fingerprint not echoed".into());
    }
    if payload.license.id != id {
        return Err(format!(
            "license.id {} for customer {id}",
            payload.license.id
        ));
    }
    if payload.result.code != code {
        return Err(format!(
            "{} for customer {id}, expected {code}",
            payload.result.code
        ));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if (payload.iat - now).abs() > 60 {
        return Err(format!(
            "iat {} is {} s from now",
            payload.iat,
            payload.iat - now
        ));
    }
    if !payload.is_coherent() {
        return Err("incoherent payload".into());
    }
    Ok(())
}

/// One symbol of the key changed: caught by the check symbols, a 400.
fn typo(key: &str, rng: &mut StdRng) -> String {
    let positions: Vec<usize> = key
        .char_indices()
        .filter(|(_, c)| *c != '-')
        .map(|(i, _)| i)
        .collect();
    let at = positions[rng.gen_range(0..positions.len())];
    let old = key.as_bytes()[at];
    let alphabet = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut new = old;
    while new == old || (old == b'1' && matches!(new, b'I' | b'L')) || (old == b'0' && new == b'O')
    {
        new = alphabet[rng.gen_range(0..alphabet.len())];
    }
    let mut out = key.as_bytes().to_vec();
    out[at] = new;
    String::from_utf8(out).expect("ASCII")
}

/// A body the broker must refuse with 400.
fn bad_body(rng: &mut StdRng, good: &str) -> String {
    match rng.gen_range(0..7) {
        0 => good[..good.len() / 2].to_owned(),
        1 => "[]".to_owned(),
        2 => "null".to_owned(),
        3 => good.replace("\"nonce\"", "\"nonce_\""),
        4 => good.replace('}', ",\"extra\":1}"),
        5 => serde_json::json!({"license_key": "", "nonce": "AAAA"}).to_string(),
        _ => {
            let mut bytes: Vec<u8> = (0..rng.gen_range(1..64)).map(|_| rng.gen()).collect();
            bytes.retain(|b| *b != b'{');
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}
