//! Envelope signing and verification, checked against a second, independent Ed25519
//! implementation (`ed25519-compact`) over the exact bytes the contract specifies.

use ed25519_dalek::SigningKey;
use license_shared::{
    base64url_decode, base64url_encode, kid_for, Envelope, EnvelopeError, Keyset, LicenseInfo,
    Policy, VerdictCode, VerdictPayload, VerdictResult, VERDICT_TYP,
};
use proptest::prelude::*;

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn verdict() -> VerdictPayload {
    VerdictPayload {
        typ: VERDICT_TYP.into(),
        iat: 1_800_000_000,
        nonce: base64url_encode(&[9; 32]),
        fingerprint: Some("fp".into()),
        result: VerdictResult {
            valid: true,
            code: VerdictCode::Valid,
        },
        license: LicenseInfo {
            id: "1".into(),
            expires_at: Some(1_900_000_000),
            machines: None,
            product: None,
            entitlements: Vec::new(),
            expiry_strategy: license_shared::ExpiryStrategy::RevokeAccess,
        },
        policy: Policy {
            recheck_after: 1_800_086_400,
            offline_until: 1_800_604_800,
        },
    }
}

fn signed(seed: u8) -> (Envelope, Keyset) {
    let key = signing_key(seed);
    let kid = kid_for(&key.verifying_key());
    let envelope = Envelope::sign_verdict(&key, &kid, &verdict());
    (envelope, Keyset::new().with_key(key.verifying_key()))
}

#[test]
fn a_second_implementation_verifies_the_exact_bytes() {
    let (envelope, _) = signed(3);
    let public =
        ed25519_compact::PublicKey::from_slice(signing_key(3).verifying_key().as_bytes()).unwrap();
    let payload = base64url_decode(&envelope.payload).unwrap();
    let mut message = b"license-broker/v1\0".to_vec();
    message.extend_from_slice(&payload);
    let sig =
        ed25519_compact::Signature::from_slice(&base64url_decode(&envelope.sig).unwrap()).unwrap();
    public
        .verify(&message, &sig)
        .expect("independent verification");
    // Without the domain prefix the same signature must not verify.
    assert!(public.verify(&payload, &sig).is_err());
}

#[test]
fn opens_a_good_envelope_and_its_json_shape_is_the_contracts() {
    let (envelope, keys) = signed(4);
    assert_eq!(envelope.open(&keys).unwrap(), verdict());
    let json: serde_json::Value = serde_json::to_value(&envelope).unwrap();
    let members: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(members.len(), 5);
    for m in ["v", "kid", "alg", "payload", "sig"] {
        assert!(members.contains(&m), "missing {m}");
    }
    assert_eq!(json["alg"], "Ed25519");
    assert_eq!(json["v"], 1);
}

#[test]
fn refuses_in_the_documented_order() {
    let (good, keys) = signed(5);

    let mut e = good.clone();
    e.v = 2;
    assert_eq!(e.open(&keys), Err(EnvelopeError::Version(2)));

    let mut e = good.clone();
    e.alg = "none".into();
    assert_eq!(e.open(&keys), Err(EnvelopeError::Algorithm("none".into())));

    let (foreign, _) = signed(6);
    assert!(matches!(
        foreign.open(&keys),
        Err(EnvelopeError::UnknownKid(_))
    ));

    // A trusted kid naming a key that did not sign it.
    let mut e = foreign.clone();
    e.kid = good.kid.clone();
    assert_eq!(e.open(&keys), Err(EnvelopeError::BadSignature));

    // A payload edited after signing, even by one member.
    let mut payload = verdict();
    payload.policy.offline_until += 86_400;
    let mut e = good.clone();
    e.payload = base64url_encode(&serde_json::to_vec(&payload).unwrap());
    assert_eq!(e.open(&keys), Err(EnvelopeError::BadSignature));

    let mut e = good.clone();
    e.sig = "!!".into();
    assert_eq!(e.open(&keys), Err(EnvelopeError::Encoding("sig")));
}

#[test]
fn a_signed_but_incoherent_payload_is_refused_after_verification() {
    let key = signing_key(7);
    let kid = kid_for(&key.verifying_key());
    let keys = Keyset::new().with_key(key.verifying_key());
    let mut liar = verdict();
    liar.result.code = VerdictCode::Revoked;
    let e = Envelope::sign_verdict(&key, &kid, &liar);
    assert!(matches!(e.open(&keys), Err(EnvelopeError::Payload(_))));
    let e = Envelope::sign(&key, &kid, b"not json");
    assert!(matches!(e.open(&keys), Err(EnvelopeError::Payload(_))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_bit_flip_in_the_payload_is_refused(byte in 0usize..200, bit in 0u8..8) {
        let (envelope, keys) = signed(8);
        let mut payload = base64url_decode(&envelope.payload).unwrap();
        let index = byte % payload.len();
        payload[index] ^= 1 << bit;
        let mut e = envelope.clone();
        e.payload = base64url_encode(&payload);
        prop_assert_eq!(e.open(&keys), Err(EnvelopeError::BadSignature));
    }

    #[test]
    fn arbitrary_envelopes_never_panic(kid in "\\PC{0,20}", payload in "\\PC{0,100}", sig in "\\PC{0,100}") {
        let (_, keys) = signed(9);
        let e = Envelope { v: 1, kid, alg: "Ed25519".into(), payload, sig };
        prop_assert!(e.open(&keys).is_err());
    }
}
