//! What the client keeps on this machine, each file with one owner.
//!
//! From the bottom up; nothing here imports a module above it:
//!
//! - `fs`: how a small private file is replaced atomically and read with a cap (a leaf).
//! - `paths`: where the files live ([`Paths`], a plain value).
//! - `marks`: the clock marks ([`Marks`], `state.json`).
//! - `keystore`: the license key and the second copy of the marks (OS keyring, a 0600
//!   file, or memory).
//! - `lease`: the signed lease (`license.json`), tied to the key by its hash.
//! - `offline`: an offline activation's pending request and device key.
//! - `adopt`: the one-time move of an activation out of the location every app once
//!   shared ([`Paths::adopt_from`]); it knows every store, so it sits above them.

mod adopt;
pub(crate) mod fs;
pub(crate) mod keystore;
pub(crate) mod lease;
pub(crate) mod marks;
pub(crate) mod offline;
pub(crate) mod paths;
