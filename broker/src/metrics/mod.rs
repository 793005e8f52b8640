//! `/metrics`: the broker's series in a `prometheus-client` registry, encoded in the
//! Prometheus text format (version 0.0.4), the format `/metrics` has always answered
//! in and that `promtool check metrics` and the tests read.
//!
//! Only numbers and our own label values are stored: routes are the router's
//! templates (never the raw path), statuses, result and limit kinds, verdict codes.
//! Nothing a caller sends and nothing secret can reach the output. Each family with
//! free-form labels also caps its series ([`MAX_SERIES`]) and folds any excess into
//! `other`, so a wiring mistake (a raw path as the route) cannot grow memory without
//! bound.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeMetric, MetricEncoder,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use tokio::time::Instant;

use license_shared::VerdictCode;

use crate::guard::LimitKind;

/// Most label combinations one family keeps before folding new ones into `other`.
pub(crate) const MAX_SERIES: usize = 256;
/// Histogram bucket bounds in seconds (the Prometheus client defaults).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// The `result` labels of `broker_token_fetch_total`, in the order
/// [`Metrics::set_token_fetches`] takes its counts.
const FETCH_RESULTS: [&str; 3] = ["ok", "transient", "permanent"];

/// A series of a family whose labels are all fixed words.
type Fixed = [(&'static str, &'static str); 1];

/// The broker's metrics. Share one behind an `Arc`.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Capped<Counter>,
    request_duration: Capped<Histogram>,
    upstream: Capped<Counter>,
    upstream_duration: Capped<Histogram>,
    token_fetch: Family<Fixed, Counter>,
    token_expires_at: Mutex<Option<Instant>>,
    token_seconds_to_expiry: Gauge<f64, AtomicU64>,
    token_generation: Gauge<u64, AtomicU64>,
    ratelimited: Family<Fixed, Counter>,
    inflight: Gauge,
    /// By code: a fixed set of static words, so no cap and no allocation per verdict.
    verdicts: Family<Fixed, Counter>,
    /// `verdicts`' series, one per code in [`VerdictCode::ALL`]'s order: a counter
    /// shares its value with its clone, so a verdict is one atomic add, not a lookup
    /// of its label set under the family's lock.
    verdict_counters: [Counter; VerdictCode::ALL.len()],
}

/// Keeps `broker_inflight` raised while alive.
#[must_use = "the request counts as in flight only while the guard lives"]
#[derive(Debug)]
pub(crate) struct InflightGuard<'a>(&'a Gauge);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        start_time();
        let m = Self {
            registry: Registry::default(),
            requests: Capped::new(Family::default()),
            request_duration: Capped::new(Family::new_with_constructor(histogram)),
            upstream: Capped::new(Family::default()),
            upstream_duration: Capped::new(Family::new_with_constructor(histogram)),
            token_fetch: Family::default(),
            token_expires_at: Mutex::new(None),
            token_seconds_to_expiry: Gauge::default(),
            token_generation: Gauge::default(),
            ratelimited: Family::default(),
            inflight: Gauge::default(),
            verdicts: Family::default(),
            verdict_counters: Default::default(),
        };
        // The crate adds `_total` to counter names, `_info` to infos and `.` to help.
        let mut r = Registry::default();
        let help = "HTTP requests answered, by route and status";
        r.register("broker_requests", help, m.requests.listed());
        let help = "Time to answer a request, by route";
        let duration = m.request_duration.listed();
        r.register("broker_request_duration_seconds", help, duration);
        let help = "Calls to ORDS, by HTTP status (or timeout/error)";
        r.register("broker_upstream_requests", help, m.upstream.listed());
        let help = "Duration of calls to ORDS, by status";
        let duration = m.upstream_duration.listed();
        r.register("broker_upstream_duration_seconds", help, duration);
        let help = "Token requests to ORDS, by result";
        r.register("broker_token_fetch", help, m.token_fetch.clone());
        let help = "Seconds until the current token expires (0: no token)";
        let expiry = m.token_seconds_to_expiry.clone();
        r.register("broker_token_seconds_to_expiry", help, expiry);
        let help = "How many tokens the broker has obtained";
        r.register("broker_token_generation", help, m.token_generation.clone());
        let help = "Requests refused with 429, by the limit that refused";
        r.register("broker_ratelimited", help, m.ratelimited.clone());
        let help = "Requests being answered right now";
        r.register("broker_inflight", help, m.inflight.clone());
        let help = "Signed verdicts, by result code";
        r.register("broker_verdicts", help, m.verdicts.clone());
        let help = "Always 1; the version label says which broker is running";
        let version = Info::new([("version", env!("CARGO_PKG_VERSION"))]);
        r.register("broker_build", help, version);
        r.register_collector(Box::new(Process));
        // Every fixed label value is shown at 0 before its first count.
        for result in FETCH_RESULTS {
            let _ = m.token_fetch.get_or_create(&[("result", result)]);
        }
        for kind in LimitKind::ALL {
            let _ = m.ratelimited.get_or_create(&[("key_type", kind.as_str())]);
        }
        let verdict_counters = VerdictCode::ALL
            .map(|code| m.verdicts.get_or_create(&[("code", code.as_str())]).clone());
        Self {
            registry: r,
            verdict_counters,
            ..m
        }
    }

    /// One answered request. `route` is the matched route template (axum's
    /// `MatchedPath`), or a fixed word such as `unmatched`; never the raw path.
    pub(crate) fn observe_request(&self, route: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        let labels = [("route", route), ("status", &status)];
        self.requests.with(&labels, Counter::inc);
        self.request_duration
            .with(&[("route", route)], |h| h.observe(elapsed.as_secs_f64()));
    }

    /// One call to ORDS; `status` is the HTTP status, or `timeout` / `error` when
    /// there was none.
    pub(crate) fn observe_upstream(&self, status: &str, elapsed: Duration) {
        self.upstream.with(&[("status", status)], Counter::inc);
        self.upstream_duration
            .with(&[("status", status)], |h| h.observe(elapsed.as_secs_f64()));
    }

    /// The token manager's own fetch counters, read from its status at render time:
    /// the manager counts, so the registry never has to be told about each fetch.
    pub(crate) fn set_token_fetches(&self, ok: u64, transient: u64, permanent: u64) {
        for (result, n) in FETCH_RESULTS.into_iter().zip([ok, transient, permanent]) {
            let counter = self.token_fetch.get_or_create(&[("result", result)]);
            counter.inner().store(n, Relaxed);
        }
    }

    /// The current token's expiry (`None`: no token). The gauge is computed at render
    /// time, so it counts down between fetches.
    pub(crate) fn set_token_expiry(&self, expires_at: Option<Instant>) {
        *self
            .token_expires_at
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = expires_at;
    }

    pub(crate) fn set_token_generation(&self, generation: u64) {
        self.token_generation.set(generation);
    }

    pub(crate) fn rate_limited(&self, kind: LimitKind) {
        self.ratelimited
            .get_or_create(&[("key_type", kind.as_str())])
            .inc();
    }

    /// Counts a request as in flight until the guard is dropped.
    pub(crate) fn inflight(&self) -> InflightGuard<'_> {
        self.inflight.inc();
        InflightGuard(&self.inflight)
    }

    /// One signed verdict with `code`.
    pub(crate) fn verdict(&self, code: VerdictCode) {
        match self.verdict_counters.get(code.index()) {
            Some(counter) => counter.inc(),
            // Only a code missing from `VerdictCode::ALL` gets here: still counted.
            None => self
                .verdicts
                .get_or_create(&[("code", code.as_str())])
                .inc(),
        };
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub(crate) fn render(&self) -> String {
        let expires_at = *self
            .token_expires_at
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        self.token_seconds_to_expiry
            .set(expires_at.map_or(0.0, |at| {
                at.checked_duration_since(now)
                    .map_or_else(|| -(now - at).as_secs_f64(), |left| left.as_secs_f64())
            }));
        let mut out = String::with_capacity(4096);
        prometheus_text::encode(&mut out, &self.registry).expect("a String takes any text");
        out
    }
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Label name and value pairs of a family with free-form label values.
type Labels = Vec<(&'static str, String)>;

/// A family that folds label sets past the [`MAX_SERIES`]th into `other`. Hand-written
/// because `prometheus-client`'s `Family` has no bound (and its `len` is test-only).
#[derive(Debug)]
struct Capped<M> {
    family: Family<Labels, M, fn() -> M>,
    /// How many label sets the family holds; also serialises their creation.
    series: Mutex<usize>,
}

impl<M> Capped<M> {
    fn new(family: Family<Labels, M, fn() -> M>) -> Self {
        Self {
            family,
            series: Mutex::new(0),
        }
    }

    /// The family to register.
    fn listed(&self) -> Listed<M> {
        Listed(self.family.clone())
    }

    fn with<R>(&self, labels: &[(&'static str, &str)], f: impl FnOnce(&M) -> R) -> R {
        let labels: Labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        if let Some(metric) = self.family.get(&labels) {
            return f(&metric);
        }
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let labels = if self.family.get(&labels).is_some() {
            labels
        } else if *series < MAX_SERIES {
            *series += 1;
            labels
        } else {
            labels
                .iter()
                .map(|(k, _)| (*k, "other".to_owned()))
                .collect()
        };
        f(&self.family.get_or_create(&labels))
    }
}

/// A family shown even while empty: the crate leaves an empty family out, HELP and
/// TYPE too, and `/metrics` names each of ours from the start.
#[derive(Debug)]
struct Listed<M>(Family<Labels, M, fn() -> M>);

impl<M: EncodeMetric + TypedMetric> EncodeMetric for Listed<M> {
    fn encode(&self, encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
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
/// <https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics>),
/// read at render time. Hand-written: `prometheus-client` has no process collector.
/// Resident memory and open descriptors come from `/proc/self` and are left out
/// where it does not exist.
#[derive(Debug)]
struct Process;

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let start = ConstGauge::new(start_time());
        let help = "Start time of the process since unix epoch in seconds.";
        let descriptor = encoder.encode_descriptor(
            "process_start_time_seconds",
            help,
            None,
            start.metric_type(),
        )?;
        start.encode(descriptor)?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(Iterator::count);
        let series = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                resident_memory_bytes(),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                open_fds.map(|n| n as u64),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max_fds(),
            ),
        ];
        for (name, help, value) in series.into_iter().filter_map(|(n, h, v)| Some((n, h, v?))) {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
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

#[cfg(test)]
mod tests;
