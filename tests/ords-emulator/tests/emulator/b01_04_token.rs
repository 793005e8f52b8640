//! Behaviours 1-4 (and 21): the token endpoint.

use ords_emulator::{EmulatorOptions, Seed, TokenErrorStyle};
use reqwest::header::ACCEPT;

use crate::{is_b64url, start, start_toml, start_with, Answer, UNAUTHORIZED};

async fn post_token(env: &crate::Env, id: &str, secret: &str, form: &[(&str, &str)]) -> Answer {
    let response = env
        .http
        .post(env.ords.token_url())
        .header(ACCEPT, "application/json")
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    Answer::from(response).await
}

/// Takes the access token out of an exact token body, checking everything around it.
fn token_of(answer: &Answer, expires_in: u64) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let prefix = r#"{"access_token":""#;
    let suffix = format!(r#"","token_type":"bearer","expires_in":{expires_in}}}"#);
    assert!(
        answer.body.starts_with(prefix) && answer.body.ends_with(&suffix),
        "{}",
        answer.body
    );
    let token = &answer.body[prefix.len()..answer.body.len() - suffix.len()];
    assert!(is_b64url(token, 22), "token {token:?}");
    token.to_owned()
}

#[tokio::test]
async fn b01_success_is_exactly_three_members_in_order_without_refresh_or_scope() {
    let env = start().await;
    let (id, secret) = env.creds();
    let answer = post_token(&env, &id, &secret, &[("grant_type", "client_credentials")]).await;
    let token = token_of(&answer, 3600);
    assert_eq!(
        answer.body,
        format!(r#"{{"access_token":"{token}","token_type":"bearer","expires_in":3600}}"#)
    );
    // A scope is ignored, not echoed.
    let scoped = post_token(
        &env,
        &id,
        &secret,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "license_priv"),
        ],
    )
    .await;
    token_of(&scoped, 3600);
    assert!(!scoped.body.contains("scope") && !scoped.body.contains("refresh_token"));
}

#[tokio::test]
async fn b02_expires_in_is_the_client_duration_else_the_instance_default() {
    let env = start_toml(
        r#"
        [[schemas]]
        alias = "page"
        [[roles]]
        name = "r"
        [[clients]]
        name = "short"
        token_duration = 900
        [[clients]]
        name = "default"
        "#,
    )
    .await;
    for (client, expected) in [("short", 900), ("default", 3600)] {
        let (id, secret) = env.ords.client_credentials(client).unwrap();
        let answer = post_token(&env, &id, &secret, &[("grant_type", "client_credentials")]).await;
        token_of(&answer, expected);
    }
    let options = EmulatorOptions {
        token_lifetime_secs: 120,
        ..EmulatorOptions::default()
    };
    let env = start_with(Seed::article_default(), options).await;
    let (id, secret) = env.creds();
    token_of(
        &post_token(&env, &id, &secret, &[("grant_type", "client_credentials")]).await,
        120,
    );
}

#[tokio::test]
async fn b03_every_request_gets_a_new_token_and_earlier_ones_keep_working() {
    let env = start().await;
    let first = env.token().await;
    let second = env.token().await;
    assert_ne!(first, second);
    for token in [&first, &second] {
        assert_eq!(
            env.get("customers/validation/1", Some(token)).await.status,
            200
        );
    }
}

#[tokio::test]
async fn b04_bad_client_credentials_get_401_with_the_problem_body() {
    let env = start().await;
    let (id, secret) = env.creds();
    let form = [("grant_type", "client_credentials")];
    let wrong_secret = post_token(&env, &id, "nope..", &form).await;
    let unknown_id = post_token(&env, "unknown..", &secret, &form).await;
    // Secrets end in "..", and people drop them when copying.
    let truncated = post_token(&env, &id, secret.trim_end_matches('.'), &form).await;
    let no_basic = Answer::from(
        env.http
            .post(env.ords.token_url())
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    for answer in [wrong_secret, unknown_id, truncated, no_basic] {
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(answer.masked(), UNAUTHORIZED);
    }
    // Problem style: a missing or wrong grant type is a 401 as well.
    for form in [&[][..], &[("grant_type", "password")][..]] {
        let answer = post_token(&env, &id, &secret, form).await;
        assert_eq!(
            (answer.status, answer.masked()),
            (401, UNAUTHORIZED.to_owned())
        );
    }
    assert_eq!(env.ords.stats().tokens_issued, 0);
}

#[tokio::test]
async fn b04_rfc6749_style_is_available_behind_a_switch() {
    let seed = Seed::from_toml_str(
        r#"
        [[schemas]]
        alias = "page"
        [[clients]]
        name = "cc"
        [[clients]]
        name = "code"
        grant_type = "authorization_code"
        "#,
    )
    .unwrap();
    let options = EmulatorOptions {
        token_error_style: TokenErrorStyle::Rfc6749,
        ..EmulatorOptions::default()
    };
    let env = start_with(seed, options).await;
    let (id, secret) = env.ords.client_credentials("cc").unwrap();
    let cc = [("grant_type", "client_credentials")];

    let bad = post_token(&env, &id, "wrong..", &cc).await;
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (401, r#"{"error":"invalid_client"}"#)
    );
    assert_eq!(bad.header("content-type"), Some("application/json"));
    assert_eq!(
        bad.header("www-authenticate"),
        Some(r#"Basic realm="Oracle REST Data Services""#)
    );

    let missing = post_token(&env, &id, &secret, &[]).await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (400, r#"{"error":"invalid_request"}"#)
    );
    let password = post_token(&env, &id, &secret, &[("grant_type", "password")]).await;
    assert_eq!(
        (password.status, password.body.as_str()),
        (400, r#"{"error":"unsupported_grant_type"}"#)
    );
    let (code_id, code_secret) = env.ords.client_credentials("code").unwrap();
    let wrong_grant = post_token(&env, &code_id, &code_secret, &cc).await;
    assert_eq!(
        (wrong_grant.status, wrong_grant.body.as_str()),
        (400, r#"{"error":"unauthorized_client"}"#)
    );
}

#[tokio::test]
async fn b04_client_secret_post_is_refused_unless_enabled() {
    for (allowed, expected) in [(false, 401), (true, 200)] {
        let options = EmulatorOptions {
            allow_client_secret_post: allowed,
            ..EmulatorOptions::default()
        };
        let env = start_with(Seed::article_default(), options).await;
        let (id, secret) = env.creds();
        let response = env
            .http
            .post(env.ords.token_url())
            .header(ACCEPT, "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            expected,
            "allow_client_secret_post={allowed}"
        );
    }
}
