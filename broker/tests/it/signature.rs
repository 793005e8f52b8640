//! The envelope verifies with a second, independent Ed25519 implementation over the
//! exact bytes the contract names: `license-broker/v1`, one zero byte, the payload.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use license_shared::Envelope;

use super::helpers::*;

#[tokio::test]
async fn envelope_verifies_with_ed25519_compact() {
    let ords = FakeOrds::answering(200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#).await;
    let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
    let response = app.validate(&app.key("1"), &nonce()).await;
    let envelope: Envelope = response.json().await.unwrap();
    assert_eq!((envelope.v, envelope.alg.as_str()), (1, "Ed25519"));
    assert_eq!(envelope.kid, app.config().signer.kid());

    let public =
        ed25519_compact::PublicKey::from_slice(app.config().signer.verifying_key().as_bytes())
            .unwrap();
    let payload = URL_SAFE_NO_PAD.decode(&envelope.payload).unwrap();
    let signature =
        ed25519_compact::Signature::from_slice(&URL_SAFE_NO_PAD.decode(&envelope.sig).unwrap())
            .unwrap();
    let mut message = b"license-broker/v1\0".to_vec();
    message.extend_from_slice(&payload);
    public
        .verify(&message, &signature)
        .expect("verifies over prefix + exact payload bytes");
    // Without the domain prefix, or with one payload byte changed, it does not.
    assert!(public.verify(&payload, &signature).is_err());
    let mut tampered = message.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert!(public.verify(&tampered, &signature).is_err());

    let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(json["typ"], "license.validation");
    assert_eq!(json["result"]["code"], "VALID");
    assert!(json["policy"]["offline_until"].is_i64());
}
