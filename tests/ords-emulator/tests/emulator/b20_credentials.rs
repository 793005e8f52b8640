//! Behaviour 20: credential shapes, fixed credentials, two secret slots.

use reqwest::header::ACCEPT;

use crate::{is_b64url, start, start_toml};

fn is_credential(s: &str) -> bool {
    s.strip_suffix("..").is_some_and(|head| is_b64url(head, 22))
}

async fn token_status(env: &crate::Env, id: &str, secret: &str) -> u16 {
    env.http
        .post(env.ords.token_url())
        .header(ACCEPT, "application/json")
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn b20_generated_ids_and_secrets_look_like_ords_and_differ_per_start() {
    let a = start().await;
    let b = start().await;
    let (id_a, secret_a) = a.creds();
    let (id_b, secret_b) = b.creds();
    for s in [&id_a, &secret_a, &id_b, &secret_b] {
        assert!(
            is_credential(s),
            "{s:?} is not 22 base64url characters and '..'"
        );
    }
    assert_ne!((id_a, secret_a), (id_b, secret_b));
    let token = a.token().await;
    assert!(is_b64url(&token, 22), "{token:?}");
}

const FIXED: &str = r#"
[[schemas]]
alias = "page"
[[modules]]
name = "customers"
base_path = "customers/"
[[modules.templates]]
pattern = "validation/:id"
[[modules.templates.handlers]]
source_type = "json/item"
filter_column = "customer_id"
[[roles]]
name = "license_role"
[[privileges]]
name = "license_priv"
roles = ["license_role"]
modules = ["customers"]
[[clients]]
name = "license_backend_client"
roles = ["license_role"]
client_id = "fixedclientid_________.."
client_secret = "slot-one-secret"
client_secret_2 = "slot-two-secret"
[[licenses]]
customer_id = 1
license_status = "ACTIVE"
"#;

#[tokio::test]
async fn b20_fixed_credentials_and_both_slots_are_valid_at_once() {
    let env = start_toml(FIXED).await;
    let id = "fixedclientid_________..";
    assert_eq!(env.creds(), (id.to_owned(), "slot-one-secret".to_owned()));
    assert_eq!(token_status(&env, id, "slot-one-secret").await, 200);
    assert_eq!(token_status(&env, id, "slot-two-secret").await, 200);
    assert_eq!(token_status(&env, id, "slot-three-secret").await, 401);
}

async fn token_with(env: &crate::Env, secret: &str) -> String {
    let body: serde_json::Value = env
        .http
        .post(env.ords.token_url())
        .basic_auth("fixedclientid_________..", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn b20_revoking_a_slot_ends_its_secret_and_with_revoke_sessions_its_tokens() {
    let env = start_toml(FIXED).await;
    let id = "fixedclientid_________..";
    let admin = format!(
        "{}/__emulator/clients/license_backend_client/secrets",
        env.ords.base_url
    );
    let one = token_with(&env, "slot-one-secret").await;
    let two = token_with(&env, "slot-two-secret").await;

    // Revoke slot 1, keeping sessions: the secret stops working, its token does not.
    let r = env.http.delete(format!("{admin}/1")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(token_status(&env, id, "slot-one-secret").await, 401);
    assert_eq!(
        env.get("customers/validation/1", Some(&one)).await.status,
        200
    );

    // Rotate a new secret into slot 1; slot 2 keeps working meanwhile.
    let r = env
        .http
        .post(format!("{admin}/1"))
        .body(r#"{"secret":"new-one"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        format!(r#"{{"client_id":"{id}","client_secret":"new-one","slot":1}}"#)
    );
    assert_eq!(token_status(&env, id, "new-one").await, 200);
    assert_eq!(token_status(&env, id, "slot-two-secret").await, 200);

    // Revoke slot 2 with its sessions: tokens from slot 2 die, slot 1's live on.
    let r = env
        .http
        .delete(format!("{admin}/2?revoke_sessions=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(token_status(&env, id, "slot-two-secret").await, 401);
    assert_eq!(
        env.get("customers/validation/1", Some(&two)).await.status,
        401
    );
    assert_eq!(
        env.get("customers/validation/1", Some(&one)).await.status,
        200
    );

    // A generated secret has the ORDS shape.
    let r: serde_json::Value = env
        .http
        .post(format!("{admin}/2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(is_credential(r["client_secret"].as_str().unwrap()));
    assert_eq!(
        env.http
            .delete(format!("{admin}/4"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
