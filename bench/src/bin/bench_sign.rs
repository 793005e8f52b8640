//! `bench-sign [SECONDS]`: how many verdicts one core can sign per second, which is
//! the ceiling one fresh Ed25519 signature per response sets on warm-path throughput.
//!
//! Three loops on this one thread: the bare `SigningKey::sign` over a verdict-sized
//! message, and `Envelope::sign_verdict` (serialize the payload, sign, base64url), which
//! is what the broker does per response; and ring's `Ed25519KeyPair::sign` over the
//! same message, for comparison. Prints `key=value` lines.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use license_shared::envelope::signed_message;
use license_shared::{
    Envelope, LicenseInfo, Policy, VerdictCode, VerdictPayload, VerdictResult, VERDICT_TYP,
};

fn payload() -> VerdictPayload {
    VerdictPayload {
        typ: VERDICT_TYP.to_owned(),
        iat: 1_767_261_600,
        nonce: "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6".to_owned(),
        fingerprint: None,
        result: VerdictResult {
            valid: true,
            code: VerdictCode::Valid,
        },
        license: LicenseInfo {
            id: "1".to_owned(),
            expires_at: Some(1_798_797_600),
            machines: None,
            product: None,
            entitlements: Vec::new(),
            expiry_strategy: license_shared::ExpiryStrategy::RevokeAccess,
        },
        policy: Policy {
            recheck_after: 1_767_265_200,
            offline_until: 1_767_866_400,
        },
    }
}

/// Runs `f` repeatedly for about `budget`; returns operations per second.
fn per_second(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Warm-up, so the first measured call is not the one that faults pages in.
    for _ in 0..100 {
        f();
    }
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < budget {
        for _ in 0..100 {
            f();
        }
        count += 100;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let budget = Duration::from_secs_f64(seconds);
    let key = SigningKey::from_bytes(&[7; 32]);
    let payload = payload();
    let bytes = serde_json::to_vec(&payload).expect("a verdict serializes");
    let message = signed_message(&bytes);

    let bare = per_second(budget, || {
        black_box(key.sign(black_box(&message)));
    });
    let envelope = per_second(budget, || {
        black_box(Envelope::sign_verdict(&key, "kid", black_box(&payload)));
    });
    // The same signature from ring (BoringSSL's curve25519 code): what a signer
    // built on it instead of ed25519-dalek would allow on this machine.
    let ring_key = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[7; 32])
        .expect("a 32-byte seed is a key");
    let ring = per_second(budget, || {
        black_box(ring_key.sign(black_box(&message)));
    });
    assert_eq!(
        ring_key.sign(&message).as_ref(),
        key.sign(&message).to_bytes().as_slice(),
        "Ed25519 is deterministic: both libraries make the same signature"
    );
    println!("payload_bytes={}", bytes.len());
    println!("sign_per_sec={bare:.0}");
    println!("sign_us={:.2}", 1e6 / bare);
    println!("envelope_per_sec={envelope:.0}");
    println!("envelope_us={:.2}", 1e6 / envelope);
    println!("ring_sign_per_sec={ring:.0}");
    println!("ring_sign_us={:.2}", 1e6 / ring);
}
