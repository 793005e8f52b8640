//! The one-command demo (`cargo run --release --bin license-demo`) and the helpers the
//! end-to-end tests share.
//!
//! # Layout
//!
//! The ORDS emulator and the broker run in this process on loopback, started by
//! `license_testkit::Stack` with a fresh signing key and key secret.
//!
//! - [`narrate`]: numbered steps with ticks and crosses, coloured on a terminal.
//! - [`demo`]: the article's story step by step, then what the broker adds; each step
//!   checks what it claims and the demo fails on the first step that does not hold.
//! - [`binaries`]: where the end-to-end tests find the real `ords-emulator`,
//!   `license-broker` and `license-check` executables.

pub mod binaries;
pub mod demo;
pub mod narrate;
