//! `bench-report RESULTS_DIR OUT.md`: renders `BENCHMARKS.md` from the raw results
//! `run.sh` left in RESULTS_DIR, and prints the summary table.

use std::path::Path;

use anyhow::{bail, Context as _};
use license_bench::report;
use license_bench::results::Results;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out] = &args[..] else {
        bail!("usage: bench-report RESULTS_DIR OUT.md");
    };
    let text = report::render(&Results {
        dir: Path::new(dir),
    });
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
