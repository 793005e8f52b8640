//! Finds the workspace's executables for tests that run them as real processes.
//!
//! Cargo only exposes `CARGO_BIN_EXE_*` for a package's own binaries, so the
//! emulator's, the broker's and the client's are looked up next to the test executable
//! (`target/<profile>/`). `cargo test --workspace` builds every binary before it runs
//! any test, so they are there; running this package's tests alone needs
//! `cargo build --workspace --bins` first, and the error says so.

use std::path::PathBuf;

/// The path of the workspace binary `name`, built in the same profile as this test.
pub fn path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test-binary> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let candidate = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        candidate.is_file(),
        "{} is missing: run `cargo test --workspace` (or `cargo build --workspace --bins` \
         before testing this package alone)",
        candidate.display()
    );
    candidate
}
