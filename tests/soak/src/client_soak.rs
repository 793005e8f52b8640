//! `license-soak client`: the desktop client's start-up check, again and again, while
//! the broker is stopped and started, ORDS fails, and the license is suspended
//! part-way. Each verdict is checked against a model of what the client may know:
//!
//! - licensed online (`VALID`): the license is active, or was suspended less than the
//!   broker's verdict-cache TTL ago;
//! - licensed from the cache (`VALID` before `recheck_after`, or `OFFLINE_GRACE`):
//!   an online `VALID` was seen whose signed `offline_until` is still ahead;
//! - `OFFLINE_EXPIRED`: the last signed `offline_until` has passed;
//! - `SUSPENDED`: the license is suspended in ORDS (online), or a verified deny was
//!   already seen (from the cache);
//! - never licensed after a verified deny; nothing else (no `BROKER_UNREACHABLE`
//!   once a lease exists, no clock codes on a real clock).
//!
//! At the end the broker is up and ORDS healthy, so a refresh must bring the deny.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use license_broker::vars as var;
use license_client::{
    Code, Fingerprint, KeyStore, KeyStoreError, LicenseKeyText, Marks, MemoryKeyStore, Paths,
    Source, SystemClock, Verdict,
};
use ords_emulator::Faults;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::probe;
use crate::report::{table, Violations};
use license_testkit::Stack;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub duration: Duration,
    pub seed: u64,
    /// The broker's signed offline grace.
    pub grace_secs: u64,
    /// The broker's signed recheck interval.
    pub recheck_secs: u64,
    /// Pause between start-ups.
    pub pause: (Duration, Duration),
    /// How long the broker stays down once stopped.
    pub outage: (Duration, Duration),
}

impl Options {
    pub fn full(duration: Duration, seed: u64) -> Self {
        Self {
            duration,
            seed,
            grace_secs: 15,
            recheck_secs: 3,
            pause: (Duration::from_millis(100), Duration::from_millis(500)),
            outage: (Duration::from_secs(2), Duration::from_secs(22)),
        }
    }

    pub fn short(duration: Duration, seed: u64) -> Self {
        Self {
            duration,
            seed,
            grace_secs: 3,
            recheck_secs: 1,
            pause: (Duration::from_millis(50), Duration::from_millis(150)),
            outage: (Duration::from_millis(500), Duration::from_millis(4000)),
        }
    }
}

/// The verdict-cache TTL the broker runs with, and the slack for a suspension to be
/// seen by the broker.
const VERDICT_TTL_SECS: i64 = 1;
const SUSPEND_SLACK_SECS: i64 = 3;

/// A key store shared by every start-up, as the OS keyring is.
struct SharedStore(Arc<MemoryKeyStore>);

impl KeyStore for SharedStore {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn get_key(&self) -> Result<Option<LicenseKeyText>, KeyStoreError> {
        self.0.get_key()
    }
    fn set_key(&self, key: &LicenseKeyText) -> Result<(), KeyStoreError> {
        self.0.set_key(key)
    }
    fn delete_key(&self) -> Result<(), KeyStoreError> {
        self.0.delete_key()
    }
    fn get_marks(&self) -> Result<Option<Marks>, KeyStoreError> {
        self.0.get_marks()
    }
    fn set_marks(&self, marks: Marks) -> Result<(), KeyStoreError> {
        self.0.set_marks(marks)
    }
}

/// What the client may know, built from the verdicts it gave.
#[derive(Debug, Default)]
struct Model {
    /// Unix time the license was suspended in ORDS.
    suspended_at: Option<i64>,
    /// The signed `offline_until` of the last online `VALID`.
    offline_until: Option<i64>,
    /// A verified deny was seen.
    denied: bool,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Model {
    /// `Ok(explanation)` or `Err(why not)`.
    fn explain(&mut self, v: &Verdict, started_at: i64) -> Result<&'static str, String> {
        let now = now();
        let desc = format!("{} from {:?} at +{} s", v.code, v.source, now - started_at);
        if v.licensed && self.denied {
            return Err(format!("licensed after a verified deny: {desc}"));
        }
        match (v.code, v.source, v.licensed) {
            (Code::Valid, Source::Online, true) => match self.suspended_at {
                Some(at) if now > at + VERDICT_TTL_SECS + SUSPEND_SLACK_SECS => Err(format!(
                    "online VALID {} s after the license was suspended: {desc}",
                    now - at
                )),
                _ => {
                    self.offline_until = v.offline_until;
                    Ok("online VALID, license active")
                }
            },
            (Code::Valid | Code::OfflineGrace, Source::Cache, true) => {
                match (self.offline_until, v.offline_until) {
                    (Some(known), Some(lease)) if lease == known && now < lease + 1 => {
                        Ok(if v.code == Code::Valid {
                            "fresh cached VALID (before recheck_after)"
                        } else {
                            "offline grace from the cached VALID"
                        })
                    }
                    _ => Err(format!(
                        "licensed from a cache the model cannot explain (lease {:?}, last online VALID {:?}): {desc}",
                        v.offline_until, self.offline_until
                    )),
                }
            }
            (Code::Suspended, Source::Online, false) => match self.suspended_at {
                Some(_) => {
                    self.denied = true;
                    Ok("verified deny (online)")
                }
                None => Err(format!("SUSPENDED before the suspension: {desc}")),
            },
            (Code::Suspended, Source::Cache, false) if self.denied => Ok("cached verified deny"),
            (Code::OfflineExpired, _, false) => match self.offline_until {
                Some(until) if now + 1 >= until => Ok("offline grace over"),
                other => Err(format!(
                    "OFFLINE_EXPIRED with the lease good until {other:?}: {desc}"
                )),
            },
            _ => Err(format!("unexplained verdict {desc}: {}", v.message)),
        }
    }
}

/// The figures of one run.
#[derive(Debug, Default)]
pub struct Summary {
    pub text: String,
    pub checks: u64,
    pub violations: u64,
}

/// Runs the client soak and prints its table.
pub async fn run(options: Options) -> anyhow::Result<Summary> {
    probe::install_panic_counter();
    let panics_before = probe::panics();
    let grace = options.grace_secs.to_string();
    let recheck = options.recheck_secs.to_string();
    let ttl = VERDICT_TTL_SECS.to_string();
    let mut stack = Stack::start(&[
        (var::RATE_PER_IP, "0"),
        (var::RATE_PER_KEY, "0"),
        (var::OFFLINE_GRACE_SECS, &grace),
        (var::RECHECK_AFTER_SECS, &recheck),
        (var::VERDICT_TTL_SECS, &ttl),
        (var::NEGATIVE_TTL_SECS, &ttl),
        (var::REQUEST_TIMEOUT_SECS, "2"),
        (var::UPSTREAM_TIMEOUT_SECS, "1"),
        (var::UPSTREAM_CONNECT_TIMEOUT_SECS, "1"),
    ])
    .await?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(MemoryKeyStore::new());
    let fingerprint = Fingerprint::from_machine_id("soak-machine", "com.example.soak");
    let build = |stack: &Stack| {
        stack
            .client()
            .app_id("com.example.soak")
            .app_version("1.0")
            .connect_timeout(Duration::from_secs(1))
            .key_store(Box::new(SharedStore(Arc::clone(&store))))
            .paths(Paths::in_dir(dir.path()))
            .clock(Arc::new(SystemClock))
            .fingerprint(fingerprint.clone())
            .build()
    };
    let violations = Violations::new();
    let mut model = Model::default();
    let started_at = now();
    let activated = build(&stack)?.activate(&stack.issue_key("1")?).await?;
    if activated.code != Code::Valid {
        anyhow::bail!("activation gave {}: {}", activated.code, activated.message);
    }
    model.offline_until = activated.offline_until;

    let mut rng = StdRng::seed_from_u64(options.seed);
    let started = Instant::now();
    let end = started + options.duration;
    let suspend_at = started + options.duration.mul_f64(0.6);
    let mut down_until: Option<Instant> = None;
    let mut fault_until: Option<Instant> = None;
    let mut tally: BTreeMap<String, u64> = BTreeMap::new();
    let mut explanations: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut outages = 0u64;
    let mut ords_faults = 0u64;
    let mut checks = 0u64;
    while Instant::now() < end {
        let t = Instant::now();
        if model.suspended_at.is_none() && t >= suspend_at {
            let mut license = stack
                .emulator()
                .license(1)
                .ok_or_else(|| anyhow::anyhow!("no license 1"))?;
            license.license_status = "SUSPENDED".into();
            stack.emulator().upsert_license(license);
            model.suspended_at = Some(now());
        }
        match down_until {
            Some(until) if t >= until => {
                stack.restart().await?;
                down_until = None;
            }
            None if rng.gen_bool(0.12) => {
                stack.stop_within(Duration::from_secs(10)).await?;
                outages += 1;
                down_until = Some(t + between(&mut rng, options.outage));
            }
            _ => {}
        }
        match fault_until {
            Some(until) if t >= until => {
                stack.emulator().clear_faults();
                fault_until = None;
            }
            None if rng.gen_bool(0.08) => {
                let faults = match rng.gen_range(0..3) {
                    0 => Faults {
                        resource_status: Some(503),
                        ..Faults::default()
                    },
                    1 => Faults {
                        stall: true,
                        ..Faults::default()
                    },
                    _ => Faults {
                        drop_connections: true,
                        ..Faults::default()
                    },
                };
                stack.emulator().set_faults(faults);
                ords_faults += 1;
                fault_until = Some(t + between(&mut rng, options.outage));
            }
            _ => {}
        }
        let client = build(&stack)?;
        let verdict = match rng.gen_range(0..10) {
            0 => tokio::task::spawn_blocking(move || client.check_offline()).await?,
            1..=3 => client.refresh().await,
            _ => client.check().await,
        };
        checks += 1;
        *tally
            .entry(format!("{} ({:?})", verdict.code, verdict.source))
            .or_default() += 1;
        match model.explain(&verdict, started_at) {
            Ok(why) => *explanations.entry(why).or_default() += 1,
            Err(why) => violations.add("unexplained verdict", why),
        }
        tokio::time::sleep(between(&mut rng, options.pause)).await;
    }
    // The world heals: the deny must now arrive and stick.
    stack.emulator().clear_faults();
    stack.restart().await?;
    if model.suspended_at.is_some() {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut got_deny = model.denied;
        while !got_deny && Instant::now() < deadline {
            let verdict = build(&stack)?.refresh().await;
            checks += 1;
            *tally
                .entry(format!("{} ({:?})", verdict.code, verdict.source))
                .or_default() += 1;
            match model.explain(&verdict, started_at) {
                Ok(why) => *explanations.entry(why).or_default() += 1,
                Err(why) => violations.add("unexplained verdict", why),
            }
            got_deny = model.denied;
            if !got_deny {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        if !got_deny {
            violations.add(
                "no verified deny",
                "the broker never said SUSPENDED once healthy".to_owned(),
            );
        }
    }
    let panics = probe::panics() - panics_before;
    if panics > 0 {
        violations.add("panic", format!("{panics} panics during the soak"));
    }
    stack.stop_within(Duration::from_secs(10)).await?;
    let elapsed = started.elapsed();
    let mut rows = vec![
        (
            "duration".to_owned(),
            format!("{:.1} s (seed {})", elapsed.as_secs_f64(), options.seed),
        ),
        ("start-up checks".to_owned(), checks.to_string()),
        (
            "broker outages (stop/start)".to_owned(),
            outages.to_string(),
        ),
        ("ORDS fault episodes".to_owned(), ords_faults.to_string()),
        (
            "signed grace / recheck".to_owned(),
            format!("{} s / {} s", options.grace_secs, options.recheck_secs),
        ),
        (
            "license suspended at".to_owned(),
            format!("+{} s", model.suspended_at.map_or(-1, |t| t - started_at)),
        ),
    ];
    for (verdict, n) in &tally {
        rows.push((format!("  verdict {verdict}"), n.to_string()));
    }
    for (why, n) in &explanations {
        rows.push((format!("  explained: {why}"), n.to_string()));
    }
    rows.push(("panics".to_owned(), panics.to_string()));
    let mut text = table("license-soak client", &rows);
    text.push_str(&violations.render());
    Ok(Summary {
        text,
        checks,
        violations: violations.total(),
    })
}

fn between(rng: &mut StdRng, (lo, hi): (Duration, Duration)) -> Duration {
    if hi <= lo {
        return lo;
    }
    Duration::from_millis(rng.gen_range(lo.as_millis() as u64..=hi.as_millis() as u64))
}
