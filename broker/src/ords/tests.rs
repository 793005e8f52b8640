//! The ORDS client against stand-ins over real HTTP on loopback: what ORDS (or
//! something in front of it) answers, and what the broker makes of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use license_shared::CustomerId;
use secrecy::SecretString;

use super::*;
use crate::ords::token::{BearerToken, TokenError, TokenFuture, TokenSource};
use crate::ords::{Columns, OrdsConfig, StatusValues};

/// Hands out a new generation after each invalidation, counting both.
#[derive(Default)]
struct CountingTokens {
    generation: AtomicUsize,
    handed: AtomicUsize,
}

impl TokenSource for CountingTokens {
    fn token(&self) -> TokenFuture<'_> {
        self.handed.fetch_add(1, Ordering::SeqCst);
        let generation = self.generation.load(Ordering::SeqCst) as u64;
        Box::pin(async move {
            Ok::<_, TokenError>(BearerToken::new(
                generation,
                SecretString::from(format!("SENTINEL_TOKEN_{generation}")),
            ))
        })
    }

    fn invalidate(&self, generation: u64) {
        let _ = self.generation.compare_exchange(
            generation as usize,
            generation as usize + 1,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

/// Serves `answer` at every path, counting requests; the base URL of its schema.
async fn stand_in(
    status: u16,
    content_type: &'static str,
    body: &'static str,
) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = Router::new().fallback(get(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", content_type)],
                body,
            )
                .into_response()
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/ords/page"), calls)
}

fn client(base: &str, tokens: Arc<dyn TokenSource>) -> OrdsClient {
    let base_url = url::Url::parse(base).unwrap();
    let config = OrdsConfig {
        token_url: base_url.join("oauth/token").unwrap(),
        base_url,
        validation_path: ValidationPath::default(),
        seats_path: ValidationPath::parse("customers/seats/{id}").unwrap(),
        trials_url: url::Url::parse(base)
            .unwrap()
            .join("customers/trials/start")
            .unwrap(),
        columns: Columns::default(),
        statuses: StatusValues::default(),
        item_404_is_not_found: true,
        limits: OutboundLimits::default(),
    };
    OrdsClient::new(&config, tokens).unwrap()
}

#[tokio::test]
async fn a_404_problem_body_that_ords_did_not_send_is_never_no_row() {
    let bodies = [
        (
            "application/problem+json",
            r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404,"traceId":"00-1"}"#,
        ),
        (
            "application/json",
            r#"{"type":"about:blank","title":"Not Found","status":404,"detail":"No static resource customers/validation/1."}"#,
        ),
        ("application/json", r#"{"code":"NotFound"}"#),
    ];
    let id = CustomerId::parse("1").unwrap();
    for (content_type, body) in bodies {
        let (base, _) = stand_in(404, content_type, body).await;
        let looked = client(&base, Arc::new(CountingTokens::default()))
            .lookup(&id)
            .await;
        assert!(
            matches!(looked.result, Err(UpstreamError::BadResponse(_))),
            "{body}: {:?}",
            looked.result
        );
        assert_eq!(looked.upstream_status, Some(404));
    }
    let ords = r#"{"code":"NotFound","message":"Not Found","type":"tag:oracle.com,2020:error/NotFound","instance":"tag:oracle.com,2020:ecid/x"}"#;
    let (base, _) = stand_in(404, "application/problem+json", ords).await;
    let looked = client(&base, Arc::new(CountingTokens::default()))
        .lookup(&id)
        .await;
    assert_eq!(looked.result, Ok(Lookup::NoRow), "ORDS's own NotFound");
}

#[tokio::test]
async fn when_ords_refuses_every_token_the_broker_backs_off_instead_of_minting_more() {
    let (base, calls) = stand_in(401, "application/problem+json", r#"{"code":"Unauthorized","message":"Unauthorized","type":"tag:oracle.com,2020:error/Unauthorized"}"#).await;
    let tokens = Arc::new(CountingTokens::default());
    let ords = client(&base, tokens.clone());
    let id = CustomerId::parse("1").unwrap();
    for _ in 0..60 {
        let looked = ords.lookup(&id).await;
        assert!(matches!(
            looked.result,
            Err(UpstreamError::Unavailable {
                retry_after: Some(_),
                ..
            })
        ));
    }
    // Before: 60 invalidations (a token request each) and 120 resource calls.
    assert_eq!(
        tokens.generation.load(Ordering::SeqCst),
        1,
        "one refresh, then the refusal is remembered"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the first call and its one replay"
    );
}

#[tokio::test]
async fn validations_refused_together_start_the_shortest_back_off() {
    let (base, _) = stand_in(401, "application/problem+json", r#"{"code":"Unauthorized","message":"Unauthorized","type":"tag:oracle.com,2020:error/Unauthorized"}"#).await;
    let ords = client(&base, Arc::new(CountingTokens::default()));
    let id = CustomerId::parse("1").unwrap();
    let looked = futures::future::join_all((0..8).map(|_| ords.lookup(&id))).await;
    let looked_later = ords.lookup(&id).await;
    for looked in looked.iter().chain([&looked_later]) {
        match &looked.result {
            Err(UpstreamError::Unavailable {
                retry_after: Some(wait),
                ..
            }) => assert!(
                *wait <= std::time::Duration::from_secs(5),
                "each refusal in flight doubled the back-off: {wait:?}"
            ),
            other => panic!("not the refusal: {other:?}"),
        }
    }
}
