//! Where settings come from, and nothing else: the table of every setting
//! ([`vars`]: name, default, doc), the sources (an optional TOML file and the
//! environment, the environment winning) with [`ConfigError`], and the reading of
//! private files ([`files`]). Each domain builds its own settings type from
//! [`Sources`]; the broker's whole configuration is assembled above, in `app`.
//!
//! This module imports no other module of the broker.

pub mod files;
mod sources;
pub mod vars;

pub use sources::{example_toml, unknown_variables, ConfigError, Sources};
