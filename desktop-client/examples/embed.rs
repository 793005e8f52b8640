//! How a desktop app embeds the start-up check. Run it against a broker:
//!
//! ```sh
//! MYAPP_BROKER_URL=http://127.0.0.1:8080 MYAPP_TRUSTED_KEYS="kid:base64url" \
//!   cargo run -p license-client --example embed
//! ```
//!
//! A shipping app compiles its keys in (`env!` at build time) instead of reading them
//! at run time, so a user cannot swap in a key of their own.
//!
//! It needs only this crate, without the CLI:
//! `license-client = { version = "…", default-features = false }`
//! (`cargo build -p license-client --no-default-features --examples` builds it so).

use std::process::ExitCode;

use license_client::{Keyset, LicenseClient, Outcome};

fn main() -> ExitCode {
    let broker_url =
        std::env::var("MYAPP_BROKER_URL").unwrap_or_else(|_| "https://license.example.com".into());
    let keys = match std::env::var("MYAPP_TRUSTED_KEYS").map(|text| Keyset::parse(&text)) {
        Ok(Ok(keys)) => keys,
        _ => {
            eprintln!("set MYAPP_TRUSTED_KEYS to the broker's `kid:public_key` (license-broker keygen prints it)");
            return ExitCode::from(64);
        }
    };

    // Defaults: the OS keyring, the platform's directories, the system clock and this
    // machine's id; 2 s to connect and 5 s in all.
    let client = match LicenseClient::builder()
        .broker_url(broker_url)
        .app_id("com.example.editor")
        .app_version(env!("CARGO_PKG_VERSION"))
        .trusted_keys(keys)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("license check unavailable: {e}");
            return ExitCode::from(2);
        }
    };

    // Synchronous apps call check_blocking(); async apps `client.check().await`.
    let verdict = client.check_blocking();
    match verdict.outcome() {
        Outcome::Licensed => {
            println!("licensed ({}): {}", verdict.code.as_str(), verdict.message);
            ExitCode::SUCCESS
        }
        Outcome::NotLicensed => {
            eprintln!("not licensed: {}", verdict.message);
            ExitCode::from(1)
        }
        Outcome::Undetermined => {
            eprintln!("could not check the license: {}", verdict.message);
            ExitCode::from(2)
        }
    }
}
