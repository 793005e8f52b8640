//! `license-demo`: the whole story on loopback in one process. Exit 0 only when every
//! step behaved as promised.

use std::process::ExitCode;

use license_e2e::demo;
use license_e2e::narrate::Narrator;

const HELP: &str = "\
license-demo: the whole story on loopback in one process. Starts the ORDS emulator, the
broker and the desktop client on free loopback ports, narrates each step, and checks it.

Usage: license-demo [--help]

No flags and no settings: every port, key and secret is made for the run and thrown away.
NO_COLOR turns colour off (it is on only on a terminal).

Exit codes: 0 every step behaved as promised; 1 a step did not (stderr names it);
2 usage error.
";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if let Some(arg) = args.first() {
        eprintln!("license-demo: unexpected argument {arg:?}; it takes none (see --help)");
        return ExitCode::from(2);
    }
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
