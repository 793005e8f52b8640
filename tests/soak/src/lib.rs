//! Soaks with chaos for the broker and the desktop client, run by one command
//! (`license-soak broker|client`).
//!
//! # Layout
//!
//! The ORDS emulator and the broker come from `license_testkit::Stack` (fresh key
//! material, a secret file that can be rotated, a broker that can be stopped and
//! started again on the same port).
//!
//! - [`probe`]: what the process can tell about itself: resident memory, threads,
//!   live Tokio tasks, and a panic counter installed as the panic hook.
//! - [`broker_soak`]: mixed validations under random ORDS faults, with the invariants
//!   checked on every answer and the summary table.
//! - [`client_soak`]: repeated start-up checks while the broker flaps and the license
//!   is suspended mid-run; every verdict must be explained by a model of the world.
//! - [`report`]: the violations list and the table printer both soaks use.

pub mod broker_soak;
pub mod client_soak;
pub mod probe;
pub mod report;
