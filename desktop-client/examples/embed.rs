//! How a desktop app embeds the start-up check. Run it against a broker:
//!
//! ```sh
//! MYAPP_BROKER_URL=http://127.0.0.1:8080 MYAPP_TRUSTED_KEYS="kid:base64url" \
//!   cargo run -p license-client --example embed
//! ```
//!
//! A shipping app compiles its keys in (`env!` at build time) instead of reading them
//! at run time, so a user cannot swap in a key of their own. It names its product, and
//! its build time is compiled in too (`MYAPP_BUILD_TIME=$(date +%s) cargo build …`):
//! an expired license with the `MAINTAIN_ACCESS` strategy keeps licensing the builds
//! made before it expired.
//!
//! It needs only this crate, without the CLI:
//! `license-client = { version = "…", default-features = false }`
//! (`cargo build -p license-client --no-default-features --examples` builds it so).

use std::process::ExitCode;

use license_client::{Keyset, LicenseClient, Outcome, Verdict};

/// The product this app is; a key for another product is refused (`WRONG_PRODUCT`).
const PRODUCT: &str = "desktop-pro";

/// When this build was made, unix seconds, set by the build (never read from the
/// user's files or clock at run time): `MYAPP_BUILD_TIME=$(date +%s) cargo build`.
fn build_time() -> Option<i64> {
    option_env!("MYAPP_BUILD_TIME").and_then(|text| text.parse().ok())
}

/// A feature the license must entitle: on only while licensed and entitled.
fn export_menu(verdict: &Verdict) {
    if verdict.has_entitlement("export") {
        println!("export: enabled");
    } else {
        println!("export: not included in this license");
    }
}

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
    let mut builder = LicenseClient::builder()
        .broker_url(broker_url)
        .app_id("com.example.editor")
        .app_version(env!("CARGO_PKG_VERSION"))
        .product(PRODUCT)
        .trusted_keys(keys);
    if let Some(built) = build_time() {
        builder = builder.build_time(built);
    }
    let client = match builder.build() {
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
            // VALID, OFFLINE_GRACE, or PERPETUAL_FALLBACK (an expired license that
            // keeps this older build licensed: suggest a renewal for updates).
            println!("licensed ({}): {}", verdict.code.as_str(), verdict.message);
            export_menu(&verdict);
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
