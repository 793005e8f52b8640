//! The demo is part of the product: it runs here exactly as a newcomer runs it.

use std::process::Command;

#[test]
fn the_demo_runs_every_step_and_exits_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_license-demo"))
        .env("NO_COLOR", "1")
        .output()
        .expect("license-demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "license-demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("All 15 steps behaved as promised."),
        "{stdout}"
    );
    assert_eq!(stdout.matches('✔').count(), 15, "{stdout}");
    assert!(
        !stdout.contains('\x1b'),
        "no colour codes when not on a terminal"
    );
}
