//! `license-stack`: the emulator and a broker on loopback for the language packages'
//! tests (C, Python, C#, Node), which cannot start them from their own runtimes. Prints
//! one JSON line with what a client needs, then serves until its standard input closes.

use std::io::Read as _;
use std::process::ExitCode;

use license_testkit::Stack;
use serde_json::json;

const HELP: &str = "\
license-stack: the ORDS emulator and a broker on free loopback ports, for tests written
in other languages. Prints one JSON line on stdout:

  {\"broker_url\": …, \"trusted_keys\": \"kid:base64url\", \"keys\": {\"1\": …, …, \"7\": …},
   \"forged_key\": …}

(the license keys of the emulator's seeded customers 1 to 6, and a well-formed key the
broker did not issue), then serves until standard input closes. The broker's floating
lease is 3 s, so a client's background renewal of a floating seat (customer 7) runs,
and its loss is heard, within a test's few seconds.

Usage: license-stack [--help]

Exit codes: 0 served and stopped when stdin closed; 1 the stack could not start;
2 usage error.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if let Some(arg) = args.first() {
        eprintln!("license-stack: unexpected argument {arg:?}; it takes none (see --help)");
        return ExitCode::from(2);
    }
    match serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("license-stack: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn serve() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut stack = runtime.block_on(
        Stack::builder()
            // Every language's suite runs against one stack from one address.
            .settings(&[
                ("LICENSE_BROKER_RATE_PER_IP", "100000"),
                ("LICENSE_BROKER_RATE_PER_KEY", "100000"),
                ("LICENSE_BROKER_ACTIVATIONS_PER_HOUR", "100000"),
                ("LICENSE_BROKER_RELEASE_BUDGET", "100000"),
                // A floating seat is renewed about every second, so a package's test
                // sees a lost seat reported without waiting out the default 900 s.
                ("LICENSE_BROKER_FLOATING_LEASE_SECS", "3"),
            ])
            .start(),
    )?;
    let mut keys = serde_json::Map::new();
    for customer in ["1", "2", "3", "4", "5", "6", "7"] {
        keys.insert(customer.into(), stack.issue_key(customer)?.into());
    }
    let line = json!({
        "broker_url": stack.url(),
        "trusted_keys": stack.trusted().to_text(),
        "keys": keys,
        "forged_key": stack.forge_key("1")?,
    });
    println!("{line}");
    // Blocks until the parent closes our stdin (or exits): then stop cleanly.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    runtime.block_on(stack.stop())
}
