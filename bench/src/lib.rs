//! The benchmark harness behind `bench/run.sh`. Figures, not tests: nothing
//! here runs under `cargo test` except the parsers' own unit tests.
//!
//! # Layout
//!
//! `run.sh` starts the real release binaries (`ords-emulator`, `license-broker`,
//! `license-check`) on loopback, drives them with oha, hyperfine, curl and the small
//! binaries of this crate, and leaves raw results in one directory:
//!
//! - `bench-ref`: the minimal axum JSON endpoint the broker is compared with.
//! - `bench-sign`: the signatures per second one core can make (the warm-path ceiling).
//! - `bench-spin`: a closed-loop generator that polls instead of sleeping, for the
//!   pinned warm path (so the broker's core is not billed for waking it).
//! - `bench-load`: a fixed-rate, open-loop generator for the cold path.
//! - `bench-economy`: tokens and ORDS calls for N validations, against the naive flow.
//! - `bench-heartbeat`: the floating licenses' renewals: ORDS calls per renewal,
//!   renewals per second on one broker core, and the load of a fleet.
//! - `bench-report`: reads that directory with the parsers below ([`results`]) and
//!   writes `BENCHMARKS.md` with targets and pass/fail ([`report`]), folding the
//!   callgrind listings into costs per request ([`profile`]).

pub mod profile;
pub mod report;
pub mod results;

pub use results::LoadSummary;

/// Replaces the section between `begin` and `end` in the file `out` (the markers
/// included in `section`), or appends it: the sections that harnesses other than
/// `bench-report` write into BENCHMARKS.md, and which `bench-report` keeps.
pub fn write_section(
    out: &std::path::Path,
    (begin_marker, end_marker): (&str, &str),
    section: &str,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let updated = match (text.find(begin_marker), text.find(end_marker)) {
        (Some(begin), Some(end)) if begin < end => format!(
            "{}{section}{}",
            &text[..begin],
            &text[end + end_marker.len()..].trim_start_matches('\n')
        ),
        _ => format!("{}\n\n{section}", text.trim_end_matches('\n')),
    };
    std::fs::write(out, updated).with_context(|| format!("writing {}", out.display()))
}
