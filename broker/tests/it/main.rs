//! The broker's integration tests, in one binary (one link, one process): the broker
//! over real HTTP, started through the kit with `helpers`' defaults, and the token
//! manager on its own.
//!
//! - `cache`, `input`, `signature`, `ords_answers`, `sentinel`: the validate route
//!   against a literal-JSON ORDS stand-in.
//! - `emulator`, `cli`, `edge_*`: against the ORDS emulator, the `license-broker`
//!   binary, and the public edge (limits, metrics, deadlines, TLS, shutdown).
//! - `seats`: seats and products against the emulator, on its own clock.
//! - `validate_fuzz`, `ords_fuzz`, `license_key_fuzz`: proptest over the request body,
//!   over ORDS answers (the kit's `ords_bodies` holds them and their independent
//!   reading), and over license keys against the key secret.
//! - `token_clock`, `token_http`, `token_emulator`: the token manager on a paused clock,
//!   against a literal-JSON token endpoint, and against the emulator.
//! - `offline`: offline activation codes in and out, and the `/offline` page.
//! - `layers`: the shape of `broker/src`, read from its text: `config` imports no other
//!   broker module, the top-level modules import each other without a cycle, and no
//!   function is over 120 lines.
//!
//! The tests share this process, so none of them changes process-wide state; the two
//! that read the broker's logs install their subscriber for their own thread only.

mod cache;
mod cli;
mod edge_limits;
mod edge_ops;
mod edge_shutdown;
mod emulator;
mod helpers;
mod input;
mod key_serials;
mod layers;
mod license_key_fuzz;
mod offline;
mod ords_answers;
mod ords_fuzz;
mod production;
mod seats;
mod sentinel;
mod signature;
mod token_clock;
mod token_emulator;
mod token_http;
mod validate_fuzz;
