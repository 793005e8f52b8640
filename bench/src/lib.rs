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
//! - `bench-report`: reads that directory with the parsers below ([`results`]) and
//!   writes `BENCHMARKS.md` with targets and pass/fail ([`report`]), folding the
//!   callgrind listings into costs per request ([`profile`]).

pub mod profile;
pub mod report;
pub mod results;

pub use results::LoadSummary;
