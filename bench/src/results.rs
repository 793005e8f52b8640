//! Parsers for the raw results `run.sh` leaves behind: oha's and hyperfine's JSON,
//! `bench-load`'s summary, and `key=value` text files.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What `bench-load` prints: latency percentiles of the answered requests, in ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Requests scheduled.
    pub sent: usize,
    /// Answered with a 2xx.
    pub ok: usize,
    /// Failed or answered with another status.
    pub errors: usize,
    /// Requests per second actually achieved.
    pub rate: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LoadSummary {
    pub fn from_latencies(
        mut latencies: Vec<Duration>,
        errors: usize,
        sent: usize,
        wall: Duration,
    ) -> Self {
        latencies.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mean_ms = if latencies.is_empty() {
            0.0
        } else {
            latencies.iter().map(|d| ms(*d)).sum::<f64>() / latencies.len() as f64
        };
        Self {
            sent,
            ok: latencies.len(),
            errors,
            rate: sent as f64 / wall.as_secs_f64().max(1e-9),
            mean_ms,
            p50_ms: percentile(&latencies, 50.0).map_or(0.0, ms),
            p90_ms: percentile(&latencies, 90.0).map_or(0.0, ms),
            p99_ms: percentile(&latencies, 99.0).map_or(0.0, ms),
            max_ms: latencies.last().copied().map_or(0.0, ms),
        }
    }
}

/// The nearest-rank percentile of sorted values.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The figures we use from one oha run (`--output-format json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Oha {
    pub rps: f64,
    pub success_rate: f64,
    /// Answers with a 2xx status.
    pub ok: u64,
    /// Every answer with a status.
    pub answered: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Oha {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let v: Value = serde_json::from_str(text).context("oha output is not JSON")?;
        let num = |path: &[&str]| -> f64 {
            path.iter()
                .try_fold(&v, |v, k| v.get(k))
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        };
        let (mut ok, mut answered) = (0, 0);
        if let Some(codes) = v.get("statusCodeDistribution").and_then(Value::as_object) {
            for (code, count) in codes {
                let count = count.as_u64().unwrap_or(0);
                answered += count;
                if code.starts_with('2') {
                    ok += count;
                }
            }
        }
        Ok(Self {
            rps: num(&["summary", "requestsPerSec"]),
            success_rate: num(&["summary", "successRate"]),
            ok,
            answered,
            p50_ms: num(&["latencyPercentiles", "p50"]) * 1e3,
            p99_ms: num(&["latencyPercentiles", "p99"]) * 1e3,
        })
    }

    /// Requests per second that got a 2xx: a server that answers 429 or 503 fast must
    /// not look fast.
    pub fn ok_rps(&self) -> f64 {
        if self.answered == 0 {
            0.0
        } else {
            self.rps * self.ok as f64 / self.answered as f64
        }
    }
}

/// One command's timing from `hyperfine --export-json`, in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub command: String,
    pub mean_ms: f64,
    pub stddev_ms: f64,
    pub median_ms: f64,
    pub min_ms: f64,
    pub runs: usize,
}

/// Every command of a `hyperfine --export-json` file, in order.
pub fn parse_hyperfine(text: &str) -> anyhow::Result<Vec<Timing>> {
    let v: Value = serde_json::from_str(text).context("hyperfine output is not JSON")?;
    let results = v
        .get("results")
        .and_then(Value::as_array)
        .context("hyperfine JSON has no results")?;
    Ok(results
        .iter()
        .map(|r| {
            let ms = |k: &str| r.get(k).and_then(Value::as_f64).unwrap_or(0.0) * 1e3;
            Timing {
                command: r
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                mean_ms: ms("mean"),
                stddev_ms: ms("stddev"),
                median_ms: ms("median"),
                min_ms: ms("min"),
                runs: r.get("times").and_then(Value::as_array).map_or(0, Vec::len),
            }
        })
        .collect())
}

/// `key=value` lines; blank lines and `#` comments are skipped, later keys win.
pub fn parse_kv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The `VmHWM` (peak RSS) or `VmRSS` line of `/proc/<pid>/status`, in KiB.
pub fn proc_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// A results directory, read lazily: a missing file is a missing figure, not a crash,
/// so one failed measurement still leaves a report that says which.
pub struct Results<'a> {
    pub dir: &'a Path,
}

impl Results<'_> {
    pub fn text(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(name)).ok()
    }

    pub fn kv(&self, name: &str) -> BTreeMap<String, String> {
        self.text(name).map(|t| parse_kv(&t)).unwrap_or_default()
    }

    pub fn oha(&self, name: &str) -> Option<Oha> {
        Oha::parse(&self.text(name)?).ok()
    }

    pub fn load(&self, name: &str) -> Option<LoadSummary> {
        serde_json::from_str(self.text(name)?.trim()).ok()
    }

    pub fn hyperfine(&self, name: &str) -> Vec<Timing> {
        self.text(name)
            .and_then(|t| parse_hyperfine(&t).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oha_json_gives_rps_percentiles_and_2xx_share() {
        let oha = Oha::parse(
            r#"{"summary":{"successRate":1.0,"total":8.0,"requestsPerSec":1000.0},
                "latencyPercentiles":{"p50":0.0012,"p99":0.0051},
                "statusCodeDistribution":{"200":750,"429":250},"errorDistribution":{}}"#,
        )
        .unwrap();
        assert_eq!(oha.ok, 750);
        assert_eq!(oha.answered, 1000);
        assert!((oha.ok_rps() - 750.0).abs() < 1e-9);
        assert!((oha.p50_ms - 1.2).abs() < 1e-9);
        assert!((oha.p99_ms - 5.1).abs() < 1e-9);
    }

    #[test]
    fn hyperfine_kv_and_proc_status() {
        let t = parse_hyperfine(
            r#"{"results":[{"command":"curl x","mean":0.004,"stddev":0.001,"median":0.0039,
                "min":0.003,"times":[0.004,0.004]}]}"#,
        )
        .unwrap();
        assert_eq!(t[0].command, "curl x");
        assert!((t[0].mean_ms - 4.0).abs() < 1e-9);
        assert_eq!(t[0].runs, 2);

        let kv = parse_kv("# c\na=1\n\nb = two=2\na=3\n");
        assert_eq!(kv["a"], "3");
        assert_eq!(kv["b"], "two=2");

        let status = "Name:\tlicense-broker\nVmHWM:\t   18432 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(proc_status_kib(status, "VmHWM"), Some(18432));
        assert_eq!(proc_status_kib(status, "VmRSS"), Some(9000));
        assert_eq!(proc_status_kib(status, "VmPeak"), None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
        assert_eq!(percentile(&[7], 1.0), Some(7));
    }
}
