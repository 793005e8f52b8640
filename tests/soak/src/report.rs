//! Violations and the summary table.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Every broken invariant, by kind, with the first few examples kept for the report.
#[derive(Debug, Default)]
pub struct Violations {
    inner: Mutex<BTreeMap<String, (u64, Vec<String>)>>,
}

/// Examples kept per kind.
const EXAMPLES: usize = 3;

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one violation of `kind`.
    pub fn add(&self, kind: &str, example: impl Into<String>) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(kind.to_owned()).or_default();
        entry.0 += 1;
        if entry.1.len() < EXAMPLES {
            entry.1.push(example.into());
        }
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().map(|(n, _)| n).sum()
    }

    pub fn snapshot(&self) -> BTreeMap<String, (u64, Vec<String>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Writes the violations (or "none") under a heading.
    pub fn render(&self) -> String {
        let map = self.snapshot();
        if map.is_empty() {
            return "invariant violations: 0\n".into();
        }
        let mut out = format!("invariant violations: {}\n", self.total());
        for (kind, (n, examples)) in map {
            out.push_str(&format!("  {kind}: {n}\n"));
            for e in examples {
                out.push_str(&format!("    e.g. {e}\n"));
            }
        }
        out
    }
}

/// A two-column table with a title.
pub fn table(title: &str, rows: &[(String, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = format!("{title}\n{}\n", "-".repeat(title.len()));
    for (k, v) in rows {
        out.push_str(&format!("{k:<width$}  {v}\n"));
    }
    out
}
