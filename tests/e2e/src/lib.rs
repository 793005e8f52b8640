//! The one-command demo (`cargo run --release --bin license-demo`) and the helpers the
//! end-to-end tests share.
//!
//! # Layout
//!
//! - [`stack`]: starts the ORDS emulator and the broker in this process on loopback,
//!   with a fresh signing key and key secret in a temporary directory.
//! - [`narrate`]: numbered steps with ticks and crosses, coloured on a terminal.
//! - [`demo`]: the article's story step by step, then what the broker adds; each step
//!   checks what it claims and the demo fails on the first step that does not hold.
//! - [`binaries`]: where the end-to-end tests find the real `ords-emulator`,
//!   `license-broker` and `license-check` executables.

pub mod binaries;
pub mod demo;
pub mod narrate;
pub mod stack;
