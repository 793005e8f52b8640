//! `bench-report RESULTS_DIR OUT.md`: renders `BENCHMARKS.md` from the raw results
//! `run.sh` left in RESULTS_DIR, and prints the summary table.

use std::path::Path;

use anyhow::{bail, Context as _};
use license_bench::report;
use license_bench::results::Results;

/// The markers around the sections other harnesses write into BENCHMARKS.md.
const KEPT_SECTIONS: [(&str, &str); 3] = [
    ("<!-- bench-ffi:begin -->", "<!-- bench-ffi:end -->"),
    ("<!-- bench-size:begin -->", "<!-- bench-size:end -->"),
    (
        "<!-- bench-heartbeat:begin -->",
        "<!-- bench-heartbeat:end -->",
    ),
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out] = &args[..] else {
        bail!("usage: bench-report RESULTS_DIR OUT.md");
    };
    let mut text = report::render(&Results {
        dir: Path::new(dir),
    });
    // bench/ffi/run.sh, bench/size.sh and bench-heartbeat write their own sections between markers:
    // keep them.
    let previous = std::fs::read_to_string(out).unwrap_or_default();
    for (begin_marker, end_marker) in KEPT_SECTIONS {
        if let (Some(begin), Some(end)) = (previous.find(begin_marker), previous.find(end_marker)) {
            if begin < end {
                text.push('\n');
                text.push_str(&previous[begin..end + end_marker.len()]);
                text.push('\n');
            }
        }
    }
    std::fs::write(out, &text).with_context(|| format!("writing {out}"))?;
    let summary: String = text
        .lines()
        .skip_while(|l| !l.starts_with("## Targets"))
        .take_while(|l| !l.starts_with("## 1."))
        .map(|l| format!("{l}\n"))
        .collect();
    println!("{summary}");
    Ok(())
}
