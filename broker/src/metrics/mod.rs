//! `/metrics`: a small hand-written registry rendered in the Prometheus text format.
//!
//! Why hand-written: the broker has a dozen fixed series; a few atomics and one
//! mutex-guarded map per labelled family are less code and fewer dependencies than a
//! client library, and the render is a single pass.
//!
//! Only numbers and our own label values are stored: routes are the router's
//! templates (never the raw path), statuses, result and limit kinds, verdict codes.
//! Nothing a caller sends and nothing secret can reach the output. Each labelled
//! family also caps its series ([`MAX_SERIES`]) and folds any excess into `other`,
//! so a wiring mistake (a raw path as the route) cannot grow memory without bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::guard::LimitKind;
use crate::token::FetchResult;

/// Most label combinations one family keeps before folding new ones into `other`.
pub const MAX_SERIES: usize = 256;
/// Histogram bucket bounds in seconds (the Prometheus client defaults).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// The contract's verdict codes, shown at zero before the first answer.
const VERDICT_CODES: [&str; 5] = ["VALID", "EXPIRED", "SUSPENDED", "REVOKED", "NOT_FOUND"];

/// The `result` labels of `broker_token_fetch_total`, in the order they are stored.
const FETCH_RESULTS: [FetchResult; 3] = [
    FetchResult::Ok,
    FetchResult::Transient,
    FetchResult::Permanent,
];

/// The broker's metrics. Share one behind an `Arc`.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Family<u64>,
    request_duration: Family<Histogram>,
    upstream: Family<u64>,
    upstream_duration: Family<Histogram>,
    token_fetch: [AtomicU64; 3],
    token_expires_at: Mutex<Option<Instant>>,
    token_generation: AtomicU64,
    ratelimited: [AtomicU64; LimitKind::ALL.len()],
    inflight: AtomicI64,
    verdicts: Family<u64>,
}

/// Keeps `broker_inflight` raised while alive.
#[must_use = "the request counts as in flight only while the guard lives"]
#[derive(Debug)]
pub struct InflightGuard<'a>(&'a AtomicI64);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Metrics {
    pub fn new() -> Self {
        start_time();
        Self::default()
    }

    /// One answered request. `route` is the matched route template (axum's
    /// `MatchedPath`), or a fixed word such as `unmatched`; never the raw path.
    pub fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        self.requests.update(&[route, &status], |n| *n += 1);
        self.request_duration
            .update(&[route], |h| h.observe(elapsed));
    }

    /// One call to ORDS; `status` is the HTTP status, or `timeout` / `error` when
    /// there was none.
    pub fn observe_upstream(&self, status: &str, elapsed: Duration) {
        self.upstream.update(&[status], |n| *n += 1);
        self.upstream_duration
            .update(&[status], |h| h.observe(elapsed));
    }

    /// The token manager's own fetch counters, read from its status at render time:
    /// the manager counts, so the registry never has to be told about each fetch.
    pub fn set_token_fetches(&self, ok: u64, transient: u64, permanent: u64) {
        for (slot, n) in self.token_fetch.iter().zip([ok, transient, permanent]) {
            slot.store(n, Relaxed);
        }
    }

    /// The current token's expiry (`None`: no token). The gauge is computed at render
    /// time, so it counts down between fetches.
    pub fn set_token_expiry(&self, expires_at: Option<Instant>) {
        *self
            .token_expires_at
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = expires_at;
    }

    pub fn set_token_generation(&self, generation: u64) {
        self.token_generation.store(generation, Relaxed);
    }

    pub fn rate_limited(&self, kind: LimitKind) {
        self.ratelimited[kind as usize].fetch_add(1, Relaxed);
    }

    /// Counts a request as in flight until the guard is dropped.
    pub fn inflight(&self) -> InflightGuard<'_> {
        self.inflight.fetch_add(1, Relaxed);
        InflightGuard(&self.inflight)
    }

    /// One signed verdict with `code` (`VALID`, `NOT_FOUND`, …).
    pub fn verdict(&self, code: &str) {
        self.verdicts.update(&[code], |n| *n += 1);
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let requests = "broker_requests_total";
        header(
            &mut out,
            requests,
            "counter",
            "HTTP requests answered, by route and status.",
        );
        self.requests
            .render_counters(&mut out, requests, &["route", "status"], &[]);

        let duration = "broker_request_duration_seconds";
        header(
            &mut out,
            duration,
            "histogram",
            "Time to answer a request, by route.",
        );
        self.request_duration
            .render_histograms(&mut out, duration, &["route"]);

        let upstream = "broker_upstream_requests_total";
        header(
            &mut out,
            upstream,
            "counter",
            "Calls to ORDS, by HTTP status (or timeout/error).",
        );
        self.upstream
            .render_counters(&mut out, upstream, &["status"], &[]);

        let upstream_duration = "broker_upstream_duration_seconds";
        header(
            &mut out,
            upstream_duration,
            "histogram",
            "Duration of calls to ORDS, by status.",
        );
        self.upstream_duration
            .render_histograms(&mut out, upstream_duration, &["status"]);

        let fetch = "broker_token_fetch_total";
        header(
            &mut out,
            fetch,
            "counter",
            "Token requests to ORDS, by result.",
        );
        for (result, n) in FETCH_RESULTS.iter().zip(&self.token_fetch) {
            let n = n.load(Relaxed);
            sample(&mut out, fetch, &[("result", result.as_str())], n as f64);
        }

        let expiry = "broker_token_seconds_to_expiry";
        header(
            &mut out,
            expiry,
            "gauge",
            "Seconds until the current token expires (0: no token).",
        );
        let expires_at = *self
            .token_expires_at
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let left = expires_at.map_or(0.0, |at| signed_secs(at, Instant::now()));
        sample(&mut out, expiry, &[], left);

        let generation = "broker_token_generation";
        header(
            &mut out,
            generation,
            "gauge",
            "How many tokens the broker has obtained.",
        );
        sample(
            &mut out,
            generation,
            &[],
            self.token_generation.load(Relaxed) as f64,
        );

        let limited = "broker_ratelimited_total";
        header(
            &mut out,
            limited,
            "counter",
            "Requests refused with 429, by the limit that refused.",
        );
        for kind in LimitKind::ALL {
            let n = self.ratelimited[kind as usize].load(Relaxed);
            sample(&mut out, limited, &[("key_type", kind.as_str())], n as f64);
        }

        let inflight = "broker_inflight";
        header(
            &mut out,
            inflight,
            "gauge",
            "Requests being answered right now.",
        );
        sample(&mut out, inflight, &[], self.inflight.load(Relaxed) as f64);

        let verdicts = "broker_verdicts_total";
        header(
            &mut out,
            verdicts,
            "counter",
            "Signed verdicts, by result code.",
        );
        self.verdicts
            .render_counters(&mut out, verdicts, &["code"], &VERDICT_CODES);

        let build = "broker_build_info";
        header(
            &mut out,
            build,
            "gauge",
            "Always 1; the version label says which broker is running.",
        );
        sample(
            &mut out,
            build,
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
        render_process(&mut out);
        out
    }
}

/// Unix time at which this process first built a registry (the broker's start).
fn start_time() -> f64 {
    static START: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    })
}

/// The standard `process_*` series (the names the Prometheus client libraries use,
/// <https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics>).
/// Resident memory and open descriptors come from `/proc/self` and are left out
/// where it does not exist.
fn render_process(out: &mut String) {
    let start = "process_start_time_seconds";
    header(
        out,
        start,
        "gauge",
        "Start time of the process since unix epoch in seconds.",
    );
    sample(out, start, &[], start_time());
    if let Some(bytes) = resident_memory_bytes() {
        let rss = "process_resident_memory_bytes";
        header(out, rss, "gauge", "Resident memory size in bytes.");
        sample(out, rss, &[], bytes as f64);
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        let fds = "process_open_fds";
        header(out, fds, "gauge", "Number of open file descriptors.");
        sample(out, fds, &[], entries.count() as f64);
    }
    if let Some(max) = max_fds() {
        let name = "process_max_fds";
        header(
            out,
            name,
            "gauge",
            "Maximum number of open file descriptors.",
        );
        sample(out, name, &[], max as f64);
    }
}

/// `VmRSS` from `/proc/self/status`, which is in kB. (`/proc/self/statm` counts pages,
/// and the page size is not known without `sysconf`.)
fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The soft `Max open files` limit from `/proc/self/limits`.
fn max_fds() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `at - now` in seconds, negative once `at` has passed.
fn signed_secs(at: Instant, now: Instant) -> f64 {
    if at >= now {
        (at - now).as_secs_f64()
    } else {
        -(now - at).as_secs_f64()
    }
}

/// A labelled family: label values → value, at most [`MAX_SERIES`] of them.
#[derive(Debug, Default)]
struct Family<V> {
    series: Mutex<BTreeMap<Vec<String>, V>>,
}

impl<V: Default> Family<V> {
    fn update(&self, labels: &[&str], f: impl FnOnce(&mut V)) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let key: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        let key = if series.contains_key(&key) || series.len() < MAX_SERIES {
            key
        } else {
            vec!["other".to_owned(); labels.len()]
        };
        f(series.entry(key).or_default());
    }

    fn snapshot(&self) -> BTreeMap<Vec<String>, V>
    where
        V: Clone,
    {
        self.series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Family<u64> {
    /// `zeros`: values of a one-label family to show at 0 before their first count.
    fn render_counters(&self, out: &mut String, name: &str, names: &[&str], zeros: &[&str]) {
        let mut series = self.snapshot();
        for value in zeros {
            series.entry(vec![(*value).to_owned()]).or_insert(0);
        }
        for (values, n) in series {
            let labels: Vec<_> = names
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            sample(out, name, &labels, n as f64);
        }
    }
}

impl Family<Histogram> {
    fn render_histograms(&self, out: &mut String, name: &str, names: &[&str]) {
        let bucket = format!("{name}_bucket");
        for (values, h) in self.snapshot() {
            let mut labels: Vec<_> = names
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                cumulative += n;
                let le = bound.to_string();
                let mut with_le = labels.clone();
                with_le.push(("le", &le));
                sample(out, &bucket, &with_le, cumulative as f64);
            }
            labels.push(("le", "+Inf"));
            sample(out, &bucket, &labels, h.count as f64);
            labels.pop();
            sample(
                out,
                &format!("{name}_sum"),
                &labels,
                h.sum_nanos as f64 / 1e9,
            );
            sample(out, &format!("{name}_count"), &labels, h.count as f64);
        }
    }
}

/// Per-bucket (not cumulative) counts; cumulated at render time.
#[derive(Debug, Default, Clone, Copy)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_nanos: u64,
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|bound| secs <= *bound) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum_nanos = self
            .sum_nanos
            .saturating_add(elapsed.as_nanos().try_into().unwrap_or(u64::MAX));
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP {name} {}",
        help.replace('\\', r"\\").replace('\n', r"\n")
    );
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{label}=\"{}\"", escape_label(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Label values escape backslash, double quote and newline (the text format's rule).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests;
