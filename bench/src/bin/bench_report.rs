//! `bench-report RESULTS_DIR OUT.md`: renders `BENCHMARKS.md` from the raw results
//! `run.sh` left in RESULTS_DIR, and prints the summary table.

use std::path::Path;

use anyhow::{bail, Context as _};
use license_bench::report;
use license_bench::results::Results;

/// The markers around the section bench/ffi/run.sh (bench-ffi) writes.
const FFI_BEGIN: &str = "<!-- bench-ffi:begin -->";
const FFI_END: &str = "<!-- bench-ffi:end -->";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out] = &args[..] else {
        bail!("usage: bench-report RESULTS_DIR OUT.md");
    };
    let mut text = report::render(&Results {
        dir: Path::new(dir),
    });
    // bench/ffi/run.sh writes its own section between these markers: keep it.
    let previous = std::fs::read_to_string(out).unwrap_or_default();
    if let (Some(begin), Some(end)) = (previous.find(FFI_BEGIN), previous.find(FFI_END)) {
        if begin < end {
            text.push('\n');
            text.push_str(&previous[begin..end + FFI_END.len()]);
            text.push('\n');
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
