//! Behaviour 14: `error.responseFormat` — JSON or HTML errors.

use ords_emulator::{EmulatorOptions, ResponseFormat, Seed};

use crate::{start, start_with, Answer, UNAUTHORIZED};

const JSON: &str = "application/problem+json";
const HTML: &str = "text/html";

async fn get_401(env: &crate::Env, headers: &[(&str, &str)]) -> Answer {
    let mut request = env.http.get(env.ords.url("customers/validation/1"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    Answer::from(request.send().await.unwrap()).await
}

#[tokio::test]
async fn b14_auto_rules() {
    let env = start().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        // No rule matches (reqwest sends `Accept: */*` and no User-Agent): HTML.
        (&[], HTML),
        (&[("accept", "application/json")], JSON),
        (&[("accept", "application/problem+json")], JSON),
        (&[("accept", "text/html")], HTML),
        (
            &[(
                "accept",
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            )],
            HTML,
        ),
        (&[("accept", "text/html;q=0.5, application/json")], JSON),
        (&[("x-requested-with", "XMLHttpRequest")], JSON),
        (&[("origin", "https://app.example")], JSON),
        (&[("user-agent", "curl/8.5.0")], JSON),
        (
            &[("user-agent", "curl/8.5.0"), ("accept", "text/html")],
            HTML,
        ),
        (&[("user-agent", "Mozilla/5.0 curl/8")], HTML),
    ];
    for (headers, expected) in cases {
        let answer = get_401(&env, headers).await;
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.header("content-type"),
            Some(*expected),
            "{headers:?}"
        );
        if *expected == JSON {
            assert_eq!(answer.masked(), UNAUTHORIZED);
        } else {
            assert!(
                answer.body.starts_with("<!DOCTYPE html>"),
                "{}",
                answer.body
            );
            assert!(
                answer.body.contains("<title>401 Unauthorized</title>"),
                "{}",
                answer.body
            );
        }
    }
}

#[tokio::test]
async fn b14_a_form_post_with_origin_gets_html() {
    let env = start().await;
    let post = |origin: bool| {
        let mut request = env
            .http
            .post(env.ords.token_url())
            .basic_auth("wrong..", Some("wrong.."))
            .form(&[("grant_type", "client_credentials")]);
        if origin {
            request = request.header("origin", "https://app.example");
        }
        async move { Answer::from(request.send().await.unwrap()).await }
    };
    let with_origin = post(true).await;
    assert_eq!(
        (with_origin.status, with_origin.header("content-type")),
        (401, Some(HTML))
    );
    // With curl's User-Agent (and no Origin) the same request gets JSON.
    let curl = Answer::from(
        env.http
            .post(env.ords.token_url())
            .header("user-agent", "curl/8.5.0")
            .basic_auth("wrong..", Some("wrong.."))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((curl.status, curl.masked()), (401, UNAUTHORIZED.to_owned()));
}

#[tokio::test]
async fn b14_json_and_html_force_the_format_and_the_fallback_is_an_option() {
    let force = |f| EmulatorOptions {
        error_response_format: f,
        ..EmulatorOptions::default()
    };
    let env = start_with(Seed::article_default(), force(ResponseFormat::Json)).await;
    assert_eq!(
        get_401(&env, &[("accept", "text/html")])
            .await
            .header("content-type"),
        Some(JSON)
    );
    let env = start_with(Seed::article_default(), force(ResponseFormat::Html)).await;
    assert_eq!(
        get_401(&env, &[("accept", "application/json")])
            .await
            .header("content-type"),
        Some(HTML)
    );
    let fallback = EmulatorOptions {
        auto_fallback_format: ResponseFormat::Json,
        ..EmulatorOptions::default()
    };
    let env = start_with(Seed::article_default(), fallback).await;
    assert_eq!(get_401(&env, &[]).await.header("content-type"), Some(JSON));
}
