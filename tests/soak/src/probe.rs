//! Self-observation: resident memory, threads, live Tokio tasks and panics.

pub use license_testkit::{install_panic_counter, panics};

/// One sample of the process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Seconds since the soak started.
    pub at_secs: f64,
    /// `VmRSS` in KiB (0 where `/proc` is missing).
    pub rss_kib: u64,
    /// OS threads.
    pub threads: u64,
    /// Live tasks on the Tokio runtime.
    pub tasks: u64,
}

/// Samples the process now; call from inside the runtime.
pub fn sample(at_secs: f64) -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let tasks = tokio::runtime::Handle::try_current()
        .map(|h| h.metrics().num_alive_tasks() as u64)
        .unwrap_or(0);
    Sample {
        at_secs,
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
        tasks,
    }
}

/// The samples of one window: the median and the maximum of a field.
pub fn window_stats(samples: &[Sample], from: f64, to: f64, f: fn(&Sample) -> u64) -> (u64, u64) {
    let mut values: Vec<u64> = samples
        .iter()
        .filter(|s| s.at_secs >= from && s.at_secs <= to)
        .map(f)
        .collect();
    if values.is_empty() {
        return (0, 0);
    }
    values.sort_unstable();
    (values[values.len() / 2], values[values.len() - 1])
}
