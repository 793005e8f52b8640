//! `bench-sign [SECONDS]`: how many verdicts one core can sign per second, which is
//! the ceiling one fresh Ed25519 signature per response sets on warm-path throughput.
//!
//! `run.sh` pins it to the broker's core (`taskset -c 0`), so the signing rate `S` and
//! the broker's `/healthz` rate `H` come from the same core in the same run.
//!
//! Loops on this one thread, each over the same verdict-sized message, in interleaved
//! rounds of which each loop's best is kept (someone else's burst of work on a shared
//! core hurts one round, not the comparison):
//!
//! - `broker`: `license_broker::Signer::sign_json`, the broker's whole per-response
//!   signing (serialize the payload into the signed buffer, sign, base64url into the
//!   answer's JSON body): this is `S`;
//! - `dalek`: ed25519-dalek's `SigningKey::sign` (curve25519-dalek's serial u64 field
//!   arithmetic and precomputed basepoint table; SHA-512 from sha2 with AVX2);
//! - `dalek_expanded`: ed25519-dalek's `hazmat::raw_sign` with the secret scalar and
//!   nonce prefix expanded once (what `SigningKey::sign` redoes on every call);
//! - `ring`: ring's `Ed25519KeyPair::sign` (BoringSSL's curve25519 C code; ring is in
//!   the build already through rustls);
//! - `compact`: ed25519-compact's `SecretKey::sign` (pure Rust, fiat-crypto field
//!   arithmetic; already in the lock file as a test dependency).
//!
//! Every library must make the same signature (Ed25519 is deterministic); the program
//! stops if one does not. Prints `key=value` lines.
//!
//! The verdict has the shape of the pinned validation's answer (a four-digit customer
//! id, its product, a 32-byte nonce), and the program runs on the broker binary's
//! allocator, so `S` is the broker's own signing of the same answer.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ed25519_dalek::hazmat::{raw_sign, ExpandedSecretKey};
use ed25519_dalek::{Signer as _, SigningKey};
use license_shared::envelope::signed_message;
use license_shared::{
    base64url_decode, Envelope, Keyset, LicenseInfo, Policy, VerdictCode, VerdictPayload,
    VerdictResult, VERDICT_TYP,
};
use sha2::Sha512;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn payload() -> VerdictPayload {
    VerdictPayload {
        typ: VERDICT_TYP.to_owned(),
        iat: 1_767_261_600,
        // 32 random bytes in base64url, as the client and run.sh send.
        nonce: "g7AL5h0-ySTSNp-8t17cjT8Wt4W4hpfjwQQH9pMCero".to_owned(),
        fingerprint: None,
        result: VerdictResult {
            valid: true,
            code: VerdictCode::Valid,
        },
        license: LicenseInfo {
            id: "1001".to_owned(),
            expires_at: Some(1_798_797_600),
            machines: None,
            product: Some("desktop-pro".to_owned()),
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
fn per_second(budget: Duration, f: &mut dyn FnMut()) -> f64 {
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

const ROUNDS: usize = 3;

/// One named loop body.
type Loop<'a> = (&'static str, Box<dyn FnMut() + 'a>);

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    // Each loop gets `seconds` in all, split over the rounds.
    let budget = Duration::from_secs_f64(seconds / ROUNDS as f64);
    let seed = [7u8; 32];
    let key = SigningKey::from_bytes(&seed);
    let verifying = key.verifying_key();
    let payload = payload();
    let bytes = serde_json::to_vec(&payload).expect("a verdict serializes");
    let message = signed_message(&bytes);

    let broker = license_broker::Signer::new(SigningKey::from_bytes(&seed));
    let expanded = ExpandedSecretKey::from(&seed);
    let ring_key = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
        .expect("a 32-byte seed is a key");
    let compact = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));

    // Same signature from every library, and the broker's envelope opens.
    let reference = key.sign(&message).to_bytes();
    assert_eq!(
        raw_sign::<Sha512>(&expanded, &message, &verifying).to_bytes(),
        reference
    );
    assert_eq!(ring_key.sign(&message).as_ref(), reference.as_slice());
    assert_eq!(
        compact.sk.sign(&message, None).as_ref(),
        reference.as_slice()
    );
    let envelope: Envelope =
        serde_json::from_slice(&broker.sign_json(&payload)).expect("the broker's body is JSON");
    assert_eq!(envelope, broker.sign(&payload));
    assert_eq!(
        base64url_decode(&envelope.sig).expect("base64url"),
        reference.to_vec()
    );
    assert_eq!(
        envelope
            .open(&Keyset::new().with_key(verifying))
            .expect("the broker's envelope verifies"),
        payload
    );

    let mut loops: Vec<Loop<'_>> = vec![
        (
            "broker",
            Box::new(|| {
                black_box(broker.sign_json(black_box(&payload)));
            }),
        ),
        (
            "dalek",
            Box::new(|| {
                black_box(key.sign(black_box(&message)));
            }),
        ),
        (
            "dalek_expanded",
            Box::new(|| {
                black_box(raw_sign::<Sha512>(
                    &expanded,
                    black_box(&message),
                    &verifying,
                ));
            }),
        ),
        (
            "ring",
            Box::new(|| {
                black_box(ring_key.sign(black_box(&message)));
            }),
        ),
        (
            "compact",
            Box::new(|| {
                black_box(compact.sk.sign(black_box(&message), None));
            }),
        ),
        (
            // The envelope as the shared crate signs it for any `SigningKey` holder.
            "envelope",
            Box::new(|| {
                black_box(Envelope::sign_verdict(&key, "kid", black_box(&payload)));
            }),
        ),
    ];
    let mut best = vec![0f64; loops.len()];
    for _ in 0..ROUNDS {
        for (slot, (_, f)) in best.iter_mut().zip(loops.iter_mut()) {
            *slot = slot.max(per_second(budget, f.as_mut()));
        }
    }
    println!("payload_bytes={}", bytes.len());
    println!("message_bytes={}", message.len());
    println!("rounds={ROUNDS}");
    for ((name, _), rate) in loops.iter().zip(&best) {
        println!("{name}_per_sec={rate:.0}");
        println!("{name}_us={:.2}", 1e6 / rate);
    }
}
