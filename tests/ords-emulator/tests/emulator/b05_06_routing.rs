//! Behaviours 5 and 6: GET on the token endpoint, unknown aliases and paths.

use ords_emulator::{EmulatorOptions, Seed};
use reqwest::header::ACCEPT;

use crate::{start, start_with, Answer, NOT_FOUND};

#[tokio::test]
async fn b05_get_on_the_token_endpoint_is_405_and_issues_nothing() {
    let env = start().await;
    let (id, secret) = env.creds();
    let response = env
        .http
        .get(format!(
            "{}?grant_type=client_credentials",
            env.ords.token_url()
        ))
        .header(ACCEPT, "application/json")
        .basic_auth(&id, Some(&secret))
        .send()
        .await
        .unwrap();
    let answer = Answer::from(response).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST"));
    assert_eq!(
        answer.masked(),
        r#"{
    "code": "MethodNotAllowed",
    "message": "Method Not Allowed",
    "type": "tag:oracle.com,2020:error/MethodNotAllowed",
    "instance": "tag:oracle.com,2020:ecid/ECID"
}
"#
    );
    let stats = env.ords.stats();
    assert_eq!((stats.token_requests, stats.tokens_issued), (1, 0));
}

#[tokio::test]
async fn b05_the_get_status_is_configurable() {
    let options = EmulatorOptions {
        token_get_status: 401,
        ..EmulatorOptions::default()
    };
    let env = start_with(Seed::article_default(), options).await;
    let answer = Answer::from(
        env.http
            .get(env.ords.token_url())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.header("allow"), None);
}

#[tokio::test]
async fn b06_an_unknown_alias_is_404_could_not_be_mapped() {
    let env = start().await;
    for path in [
        "/ords/nope/customers/validation/1",
        "/ords/nope/oauth/token",
    ] {
        let answer = Answer::from(
            env.http
                .get(format!("{}{path}", env.ords.base_url))
                .header(ACCEPT, "application/json")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            answer.masked(),
            r#"{
    "code": "NotFound",
    "message": "The request could not be mapped to any database. Check the request URL is correct, and that URL to database mappings have been correctly configured",
    "type": "tag:oracle.com,2020:error/NotFound",
    "instance": "tag:oracle.com,2020:ecid/ECID"
}
"#,
            "{path}"
        );
    }
    let stats = env.ords.stats();
    assert_eq!((stats.token_requests, stats.resource_requests), (0, 0));
}

#[tokio::test]
async fn b06_unknown_paths_under_a_known_alias_are_the_plain_404() {
    let env = start().await;
    // oauth2/token is a classic typo; it is not the token endpoint.
    let answer = Answer::from(
        env.http
            .post(env.ords.url("oauth2/token"))
            .header(ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (answer.status, answer.masked()),
        (404, NOT_FOUND.to_owned())
    );
    // Test endpoints are never reachable under the alias.
    let answer = env.get("__emulator/stats", None).await;
    assert_eq!(
        (answer.status, answer.masked()),
        (404, NOT_FOUND.to_owned())
    );
}
