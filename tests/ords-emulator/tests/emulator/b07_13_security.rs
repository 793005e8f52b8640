//! Behaviours 7-13: protected resources, privileges, roles, aliases, expiry.

use ords_emulator::{EmulatorOptions, PrivilegeWithoutRoles, Seed};
use reqwest::header::ACCEPT;
use time::Duration;

use crate::{start, start_toml, start_with, Env, INVALID_TOKEN, UNAUTHORIZED};

/// The article's row for customer 1 under the default seed and START.
fn row_1(env: &Env) -> String {
    format!(
        r#"{{"customer_id":1,"product":"desktop-pro","license_status":"ACTIVE","expires_at":"2026-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00.000Z","max_machines":null,"entitlements":"export,sync","expiry_strategy":null,"key_serial":null,"links":[{{"rel":"collection","href":"{}/ords/page/customers/validation/"}}]}}"#,
        env.ords.base_url
    )
}

#[tokio::test]
async fn b07_no_token_is_401_problem_json_without_a_challenge() {
    let env = start().await;
    let first = env.get("customers/validation/1", None).await;
    assert_eq!(first.status, 401);
    assert_eq!(
        first.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(first.header("www-authenticate"), None);
    assert_eq!(first.masked(), UNAUTHORIZED);
    // 182 bytes of body plus the newline: the transcript's Content-Length.
    assert_eq!(first.header("content-length"), Some("183"));
    let second = env.get("customers/validation/1", None).await;
    assert_ne!(first.body, second.body, "the ecid is per request");
    // Protection does not depend on a row or a template existing.
    for path in [
        "customers/validation/99",
        "customers/nothing-here",
        "customers/",
    ] {
        let answer = env.get(path, None).await;
        assert_eq!(
            (answer.status, answer.masked()),
            (401, UNAUTHORIZED.to_owned()),
            "{path}"
        );
    }
    // Another scheme is no OAuth credential: the same plain 401.
    let basic = env
        .http
        .get(env.ords.url("customers/validation/1"))
        .header(ACCEPT, "application/json")
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert!(basic.headers().get("www-authenticate").is_none());
}

#[tokio::test]
async fn b08_unknown_malformed_or_expired_tokens_get_the_invalid_token_challenge() {
    let env = start().await;
    let valid = env.token().await;
    env.clock.advance(Duration::seconds(3600));
    for token in ["AAAAAAAAAAAAAAAAAAAAAA", "not a token", valid.as_str()] {
        let answer = env.get("customers/validation/1", Some(token)).await;
        assert_eq!(answer.status, 401, "{token}");
        assert_eq!(answer.header("www-authenticate"), Some(INVALID_TOKEN));
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(answer.masked(), UNAUTHORIZED);
    }
}

const TWO_CLIENTS: &str = r#"
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
[[roles]]
name = "other_role"
[[privileges]]
name = "license_priv"
roles = ["license_role", "other_role"]
modules = ["customers"]
[[clients]]
name = "with_role"
roles = ["other_role"]
[[clients]]
name = "without_role"
[[licenses]]
customer_id = 1
license_status = "ACTIVE"
"#;

#[tokio::test]
async fn b09_a_token_without_any_of_the_roles_is_401_never_403() {
    let env = start_toml(TWO_CLIENTS).await;
    let token = env.token_for("without_role").await;
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.header("www-authenticate"), Some(INVALID_TOKEN));
    assert_eq!(answer.masked(), UNAUTHORIZED);
    // Granting the role works on the next request, with the same token.
    assert!(env.ords.grant_client_role("without_role", "license_role"));
    assert_eq!(
        env.get("customers/validation/1", Some(&token)).await.status,
        200
    );
    assert!(env.ords.revoke_client_role("without_role", "license_role"));
    assert_eq!(
        env.get("customers/validation/1", Some(&token)).await.status,
        401
    );
}

#[tokio::test]
async fn b10_a_token_holding_one_of_the_roles_gets_the_handler_response() {
    let env = start_toml(TWO_CLIENTS).await;
    let token = env.token_for("with_role").await;
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!(answer.status, 200);
    let env = start().await;
    let token = env.token().await;
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!((answer.status, answer.body.clone()), (200, row_1(&env)));
}

const PATTERNS: &str = r#"
[[schemas]]
alias = "page"
[[modules]]
name = "reports"
base_path = "reports/"
[[modules.templates]]
pattern = ""
[[modules.templates.handlers]]
source_type = "json/collection"
columns = ["customer_id"]
[[modules.templates]]
pattern = "public/:id"
[[modules.templates.handlers]]
source_type = "json/item"
columns = ["customer_id"]
filter_column = "customer_id"
[[modules.templates]]
pattern = "secret/:id"
[[modules.templates.handlers]]
source_type = "json/item"
columns = ["customer_id"]
filter_column = "customer_id"
[[modules]]
name = "open"
base_path = "open/"
[[modules.templates]]
pattern = ":id"
[[modules.templates.handlers]]
source_type = "json/item"
columns = ["customer_id"]
filter_column = "customer_id"
[[roles]]
name = "reader"
[[roles]]
name = "admin"
[[privileges]]
name = "reports_priv"
roles = ["admin"]
patterns = ["/reports/*"]
[[privileges]]
name = "public_reports_priv"
roles = ["reader"]
patterns = ["/reports/public/*"]
[[privileges]]
name = "anyone"
patterns = ["/open/2"]
[[clients]]
name = "reader"
roles = ["reader"]
[[clients]]
name = "admin"
roles = ["admin"]
[[licenses]]
customer_id = 1
license_status = "ACTIVE"
[[licenses]]
customer_id = 2
license_status = "ACTIVE"
"#;

#[tokio::test]
async fn b11_patterns_modules_specificity_and_public_uris() {
    let env = start_toml(PATTERNS).await;
    let reader = env.token_for("reader").await;
    let admin = env.token_for("admin").await;
    // `/reports/*` covers `/reports/` itself.
    assert_eq!(env.get("reports/", None).await.status, 401);
    assert_eq!(env.get("reports/", Some(&reader)).await.status, 401);
    assert_eq!(env.get("reports/", Some(&admin)).await.status, 200);
    // The more specific `/reports/public/*` decides for what it covers.
    assert_eq!(env.get("reports/public/1", Some(&reader)).await.status, 200);
    assert_eq!(env.get("reports/public/1", Some(&admin)).await.status, 401);
    assert_eq!(env.get("reports/secret/1", Some(&reader)).await.status, 401);
    assert_eq!(env.get("reports/secret/1", Some(&admin)).await.status, 200);
    // Covered by no privilege: public.
    let open = env.get("open/1", None).await;
    assert_eq!((open.status, open.body.as_str()), (200, format!(r#"{{"customer_id":1,"links":[{{"rel":"collection","href":"{}/ords/page/open/"}}]}}"#, env.ords.base_url).as_str()));
}

#[tokio::test]
async fn b11_a_privilege_without_roles_follows_the_option() {
    let env = start_toml(PATTERNS).await;
    let reader = env.token_for("reader").await;
    assert_eq!(env.get("open/2", None).await.status, 401);
    assert_eq!(env.get("open/2", Some(&reader)).await.status, 200);

    let seed = Seed::from_toml_str(PATTERNS).unwrap();
    let options = EmulatorOptions {
        privilege_without_roles: PrivilegeWithoutRoles::DenyAll,
        ..EmulatorOptions::default()
    };
    let env = start_with(seed, options).await;
    let reader = env.token_for("reader").await;
    let answer = env.get("open/2", Some(&reader)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.header("www-authenticate"), Some(INVALID_TOKEN));
}

#[tokio::test]
async fn b12_tokens_only_work_on_the_alias_that_issued_them() {
    let env = start_toml(
        r#"
        [[schemas]]
        alias = "page"
        [[schemas]]
        alias = "other"
        [[modules]]
        schema = "other"
        name = "customers"
        base_path = "customers/"
        [[modules.templates]]
        pattern = "validation/:id"
        [[modules.templates.handlers]]
        source_type = "json/item"
        filter_column = "customer_id"
        [[roles]]
        schema = "page"
        name = "license_role"
        [[roles]]
        schema = "other"
        name = "license_role"
        [[privileges]]
        schema = "other"
        name = "license_priv"
        roles = ["license_role"]
        modules = ["customers"]
        [[clients]]
        schema = "page"
        name = "page_client"
        roles = ["license_role"]
        [[clients]]
        schema = "other"
        name = "other_client"
        roles = ["license_role"]
        [[licenses]]
        customer_id = 1
        license_status = "ACTIVE"
        "#,
    )
    .await;
    let page_token = env.token_for("page_client").await;
    let other_token = env.token_for("other_client").await;
    let url = format!("{}/ords/other/customers/validation/1", env.ords.base_url);
    let get = |token: String| {
        let request = env
            .http
            .get(&url)
            .header(ACCEPT, "application/json")
            .bearer_auth(token);
        async move { request.send().await.unwrap() }
    };
    let foreign = get(page_token).await;
    assert_eq!(foreign.status(), 401);
    assert_eq!(foreign.headers()["www-authenticate"], INVALID_TOKEN);
    assert_eq!(get(other_token).await.status(), 200);
    // A client cannot get a token from another alias's endpoint either.
    let (id, secret) = env.ords.client_credentials("page_client").unwrap();
    let response = env
        .http
        .post(format!("{}/ords/other/oauth/token", env.ords.base_url))
        .header(ACCEPT, "application/json")
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn b13_a_token_expires_after_expires_in_seconds_by_the_clock() {
    let env = start().await;
    let token = env.token().await;
    env.clock.advance(Duration::seconds(3599));
    assert_eq!(
        env.get("customers/validation/1", Some(&token)).await.status,
        200
    );
    env.clock.advance(Duration::seconds(1));
    let answer = env.get("customers/validation/1", Some(&token)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.header("www-authenticate"), Some(INVALID_TOKEN));
    // A fresh token works again.
    let fresh = env.token().await;
    assert_eq!(
        env.get("customers/validation/1", Some(&fresh)).await.status,
        200
    );
}
