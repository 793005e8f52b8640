//! Short versions of both soaks, so `cargo test --workspace` exercises them. The long
//! runs are `cargo run --release -p license-soak -- broker|client --minutes N`.

use std::time::Duration;

use license_soak::{broker_soak, client_soak};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_soak_short_holds_every_invariant() {
    let summary = broker_soak::run(broker_soak::Options::short(Duration::from_secs(8), 7))
        .await
        .expect("the soak runs");
    println!("{}", summary.text);
    assert_eq!(summary.violations, 0, "{}", summary.text);
    assert!(summary.requests > 100, "{}", summary.text);
    assert!(summary.verified_200 > 10, "{}", summary.text);
    assert!(!summary.faults.is_empty(), "{}", summary.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_soak_short_explains_every_verdict() {
    let summary = client_soak::run(client_soak::Options::short(Duration::from_secs(7), 7))
        .await
        .expect("the soak runs");
    println!("{}", summary.text);
    assert_eq!(summary.violations, 0, "{}", summary.text);
    assert!(summary.checks > 10, "{}", summary.text);
}
