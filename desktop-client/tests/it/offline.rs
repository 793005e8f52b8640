//! Offline activation through the library against the real broker and the ORDS
//! emulator: only the latest pending request of this machine can be answered, a
//! reinstall loses it, an altered response fails the one verifier, and the clock marks
//! hold for an installed response as for an online one.

use std::sync::Arc;

use license_client::{
    Clock, Code, ErrorKind, Fingerprint, LicenseClient, ManualClock, MemoryKeyStore, Paths,
    SystemClock,
};
use license_shared::{Envelope, OfflineResponse};
use license_testkit::Stack;

struct Machine {
    dir: tempfile::TempDir,
    clock: ManualClock,
}

impl Machine {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            clock: ManualClock::new(SystemClock.now()),
        }
    }

    /// This machine's client, with no license server URL: it is offline.
    fn client(&self, stack: &Stack) -> LicenseClient {
        LicenseClient::builder()
            .app_id("com.example.editor")
            .trusted_keys(stack.trusted().clone())
            .key_store(Box::new(MemoryKeyStore::new()))
            .paths(Paths::in_dir(self.dir.path()))
            .clock(Arc::new(self.clock.clone()))
            .fingerprint(Fingerprint::from_machine_id(
                "offline-machine",
                "com.example.editor",
            ))
            .build()
            .unwrap()
    }
}

/// The broker's response code to `request`.
async fn answer(stack: &Stack, request: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(stack.url_for("/v1/license/offline/activate"))
        .json(&serde_json::json!({ "request": request }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["response"]
        .as_str()
        .expect("a response code")
        .to_owned()
}

#[tokio::test]
async fn only_the_latest_pending_request_of_this_machine_can_be_answered() {
    let stack = Stack::start(&[]).await.unwrap();
    let key = stack.issue_key("1").unwrap();
    let machine = Machine::new();
    let client = machine.client(&stack);
    let first = client.offline_request(&key).unwrap();
    let second = client.offline_request(&key).unwrap();
    assert_ne!(first, second, "a fresh nonce and device key each time");
    let stale = answer(&stack, &first).await;
    let error = client.install_offline_response(&stale).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert!(error.to_string().contains("pending request"), "{error}");
    let verdict = client
        .install_offline_response(&answer(&stack, &second).await)
        .unwrap();
    assert!(
        verdict.licensed && verdict.code == Code::Valid,
        "{verdict:?}"
    );
    assert!(
        verdict.message.contains("offline response code"),
        "{verdict:?}"
    );
    assert!(client.check_offline().licensed);

    // A reinstall (the data directory lost) keeps no pending request.
    let reinstalled = Machine::new();
    let again = reinstalled.client(&stack);
    again.offline_request(&key).unwrap();
    let error = again
        .install_offline_response(&answer(&stack, &second).await)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
}

#[tokio::test]
async fn an_altered_response_fails_the_verifier_and_installs_nothing() {
    let stack = Stack::start(&[]).await.unwrap();
    let key = stack.issue_key("1").unwrap();
    let machine = Machine::new();
    let client = machine.client(&stack);
    let request = client.offline_request(&key).unwrap();
    let response = OfflineResponse::from_code(&answer(&stack, &request).await).unwrap();
    // A longer offline term written into the payload, the code re-encoded with valid
    // check characters: the signature no longer covers it.
    let payload = license_shared::base64url_decode(&response.envelope.payload).unwrap();
    let longer = String::from_utf8(payload)
        .unwrap()
        .replace("\"offline_until\":", "\"offline_until\":9");
    let altered = OfflineResponse {
        envelope: Envelope {
            payload: license_shared::base64url_encode(longer.as_bytes()),
            ..response.envelope.clone()
        },
    };
    let error = client
        .install_offline_response(&altered.to_code().unwrap())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ResponseUntrusted, "{error}");
    assert_eq!(client.check_offline().code, Code::NoLicense);
    // The real one still installs: the pending request was kept.
    let verdict = client
        .install_offline_response(
            &OfflineResponse {
                envelope: response.envelope,
            }
            .to_code()
            .unwrap(),
        )
        .unwrap();
    assert!(verdict.licensed, "{verdict:?}");
}

#[tokio::test]
async fn a_clock_set_back_after_installing_is_caught_as_for_an_online_lease() {
    let stack = Stack::start(&[]).await.unwrap();
    let key = stack.issue_key("1").unwrap();
    let machine = Machine::new();
    let client = machine.client(&stack);
    let request = client.offline_request(&key).unwrap();
    let verdict = client
        .install_offline_response(&answer(&stack, &request).await)
        .unwrap();
    assert!(verdict.licensed);
    machine.clock.advance(10 * 86_400);
    assert!(client.check_offline().licensed, "within the offline term");
    machine.clock.advance(-5 * 86_400);
    assert_eq!(client.check_offline().code, Code::ClockRollback);
    machine.clock.advance(30 * 86_400);
    assert!(!client.check_offline().licensed, "past the offline term");
}
