//! `bench-embed`: bench/hello plus a start-up license check through license-client,
//! as a vendor's app depends on it (no CLI dependencies): bench/size.sh
//! compares the two stripped binaries.

use license_client::{LicenseClient, PinnedKeys};

const KEYS: PinnedKeys =
    license_client::pinned_keys!("k1:WGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY");

fn main() {
    println!("hello");
    let client = LicenseClient::builder()
        .broker_url("https://license.example.com")
        .app_id("com.example.bench-embed")
        .pinned_keys(KEYS)
        .build();
    match client {
        // Both the online and the offline path are linked in, as an app would have them.
        Ok(client) if std::env::args().any(|a| a == "--online") => {
            println!("{}", client.check_blocking().message)
        }
        Ok(client) => println!("{}", client.check_offline().message),
        Err(e) => eprintln!("{e}"),
    }
}
