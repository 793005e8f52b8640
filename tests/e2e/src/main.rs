//! `license-demo`: the whole story on loopback in one process. Exit 0 only when every
//! step behaved as promised.

use std::process::ExitCode;

use license_e2e::demo;
use license_e2e::narrate::Narrator;

#[tokio::main]
async fn main() -> ExitCode {
    let mut out = Narrator::new();
    match demo::run(&mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.failed(format!("{e:#}"));
            eprintln!(
                "license-demo: step {} did not behave as promised: {e:#}",
                out.steps_started()
            );
            ExitCode::FAILURE
        }
    }
}
