//! The verdict cache: a storm for one license costs ORDS one call, yet every answer is
//! signed afresh over its own nonce.

use std::collections::HashSet;

use license_shared::{Envelope, VerdictCode};

use super::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_validations_for_one_license_make_one_ords_call() {
    let delay = std::time::Duration::from_millis(200);
    let ords = FakeOrds::start_with_delay(delay, |_, _, _| {
        (200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#)
    })
    .await;
    let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
    let key = app.key("1");
    let requests = (0..50).map(|_| {
        let nonce = nonce();
        let app = &app;
        let key = &key;
        async move {
            let response = app.validate(key, &nonce).await;
            assert_eq!(response.status(), 200);
            let envelope: Envelope = response.json().await.unwrap();
            (nonce, envelope)
        }
    });
    let answers = futures::future::join_all(requests).await;
    assert_eq!(ords.calls(), 1);
    let mut signatures = HashSet::new();
    for (nonce, envelope) in &answers {
        let payload = envelope.open(&app.trusted).unwrap();
        assert_eq!(&payload.nonce, nonce);
        assert_eq!(payload.result.code, VerdictCode::Valid);
        signatures.insert(envelope.sig.clone());
    }
    assert_eq!(
        signatures.len(),
        50,
        "every answer is signed over its own nonce"
    );
    // Still cached: a later request does not reach ORDS either.
    app.verdict("1").await;
    assert_eq!(ords.calls(), 1);
}

#[tokio::test]
async fn upstream_errors_are_not_cached() {
    let ords = FakeOrds::start(|index, _, _| {
        if index == 0 {
            (503, "down")
        } else {
            (200, r#"{"max_machines":null,"product":null,"entitlements":null,"expiry_strategy":null,"key_serial":null,"license_status":"ACTIVE","expires_at":null}"#)
        }
    })
    .await;
    let app = spawn_app_with_fake(&ords, &FakeTokens::new()).await;
    let response = app.validate(&app.key("1"), &nonce()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(app.verdict("1").await.result.code, VerdictCode::Valid);
    assert_eq!(ords.calls(), 2);
}
