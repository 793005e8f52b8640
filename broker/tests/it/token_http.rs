//! The token manager over real HTTP on 127.0.0.1, against a tiny in-test token
//! endpoint that serves literal JSON exactly as ORDS words it (so a serde mismatch in
//! our response type fails here), on the real clock with short timeouts.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use license_broker::token::{
    FetchResult, SecretSource, TokenConfig, TokenError, TokenHandle, TokenManager, TokenSource,
};
use license_broker::OutboundLimits;
use secrecy::SecretString;
use tokio::sync::Notify;

/// The example credentials from Oracle's documentation (ORDS's alphabet).
const CLIENT_ID: &str = "QvUVx6Gp8P02dTb0C-II1A..";
const SECRET: &str = "szUul--kEJ1Te-kS454_tQ..";
const PATH: &str = "/ords/test/oauth/token";
const ORDS_401: &str = r#"{"code":"Unauthorized","message":"Unauthorized","type":"tag:oracle.com,2020:error/Unauthorized","instance":"tag:oracle.com,2020:ecid/x"}"#;

/// What the stand-in answers to a well-formed request with the right credentials.
#[derive(Clone)]
enum Reply {
    Json(&'static str),
    Status {
        status: u16,
        body: &'static str,
        retry_after: Option<&'static str>,
    },
    Redirect(String),
    /// 100 MiB without a Content-Length.
    Endless,
    Stall,
}

struct Endpoint {
    reply: Mutex<Reply>,
    delay: Mutex<Duration>,
    secret: &'static str,
    posts: AtomicUsize,
    /// Told of each request as it arrives (a permit waits when no one listens yet).
    arrived: Notify,
    /// `(Authorization, Content-Type, body)` of each request.
    seen: Mutex<Vec<(String, String, String)>>,
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn token_endpoint(
    State(ep): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    ep.posts.fetch_add(1, SeqCst);
    ep.arrived.notify_one();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let authorization = text(header::AUTHORIZATION);
    ep.seen.lock().unwrap().push((
        authorization.clone(),
        text(header::CONTENT_TYPE),
        body.clone(),
    ));
    let delay = *ep.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let json = |status: u16, content_type: &str, body: Body| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap()
    };
    if authorization != basic(CLIENT_ID, ep.secret) || body != "grant_type=client_credentials" {
        return json(401, "application/problem+json", Body::from(ORDS_401));
    }
    let reply = ep.reply.lock().unwrap().clone();
    match reply {
        Reply::Json(body) => json(200, "application/json", Body::from(body)),
        Reply::Status {
            status,
            body,
            retry_after,
        } => {
            let mut response = json(status, "application/json", Body::from(body));
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, value.parse().unwrap());
            }
            response
        }
        Reply::Redirect(location) => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .unwrap(),
        Reply::Endless => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = futures::stream::iter(
                (0..1600).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            json(200, "application/json", Body::from_stream(chunks))
        }
        Reply::Stall => std::future::pending().await,
    }
}

struct Stand {
    endpoint: Arc<Endpoint>,
    addr: SocketAddr,
}

impl Stand {
    async fn start(reply: Reply) -> Self {
        Self::with_secret(reply, SECRET).await
    }

    async fn with_secret(reply: Reply, secret: &'static str) -> Self {
        let endpoint = Arc::new(Endpoint {
            reply: Mutex::new(reply),
            delay: Mutex::new(Duration::ZERO),
            secret,
            posts: AtomicUsize::new(0),
            arrived: Notify::new(),
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route(PATH, post(token_endpoint))
            .with_state(endpoint.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { endpoint, addr }
    }

    fn config(&self, secret: &str) -> TokenConfig {
        let url = format!("http://{}{PATH}", self.addr).parse().unwrap();
        let mut config = TokenConfig::new(
            url,
            CLIENT_ID,
            SecretSource::Value(SecretString::from(secret.to_owned())),
        );
        config.limits = OutboundLimits {
            connect_timeout: Duration::from_secs(1),
            total_timeout: Duration::from_millis(1500),
            max_body_bytes: 64 * 1024,
        };
        config
    }

    fn manager(&self) -> TokenHandle {
        TokenManager::spawn(self.config(SECRET)).unwrap()
    }

    fn posts(&self) -> usize {
        self.endpoint.posts.load(SeqCst)
    }
}

const ORDS_TOKEN: &str =
    r#"{"access_token":"ofcRvmc8rQbIlPlzkXbNOg","token_type":"bearer","expires_in":3600}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_on_a_cold_cache_cause_one_post() {
    let stand = Stand::start(Reply::Json(ORDS_TOKEN)).await;
    *stand.endpoint.delay.lock().unwrap() = Duration::from_millis(200);
    let tokens = stand.manager();
    let start = Instant::now();
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token().await })
        })
        .collect();
    for caller in callers {
        let token = caller.await.unwrap().unwrap();
        assert_eq!(token.generation(), 1);
        assert_eq!(token.authorization(), "Bearer ofcRvmc8rQbIlPlzkXbNOg");
    }
    assert_eq!(stand.posts(), 1);
    eprintln!(
        "1000 cold callers: {} POST, all served in {:?}",
        stand.posts(),
        start.elapsed()
    );
    let status = tokens.status();
    assert!(status.has_token && status.generation == 1 && status.fetches.ok == 1);
    assert!(status
        .seconds_to_expiry
        .is_some_and(|s| (3590..=3600).contains(&s)));
}

#[tokio::test]
async fn the_post_is_http_basic_with_a_client_credentials_form() {
    let stand = Stand::start(Reply::Json(ORDS_TOKEN)).await;
    stand.manager().token().await.unwrap();
    let seen = stand.endpoint.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(
            basic(CLIENT_ID, SECRET),
            "application/x-www-form-urlencoded".to_owned(),
            "grant_type=client_credentials".to_owned()
        )]
    );
}

#[tokio::test]
async fn refused_credentials_are_rejected_in_both_error_styles() {
    for (status, body) in [
        (401, ORDS_401),
        (401, r#"{"error":"invalid_client"}"#),
        (400, r#"{"error":"unauthorized_client"}"#),
    ] {
        let stand = Stand::start(Reply::Status {
            status,
            body,
            retry_after: None,
        })
        .await;
        let err = stand.manager().token().await.unwrap_err();
        assert!(
            matches!(err, TokenError::Rejected { retry_after: Some(d) } if d <= Duration::from_secs(60)),
            "{body}: {err:?}"
        );
    }
    // Wrong secret against ORDS's problem body.
    let stand = Stand::with_secret(Reply::Json(ORDS_TOKEN), "other").await;
    let tokens = stand.manager();
    assert!(matches!(
        tokens.token().await,
        Err(TokenError::Rejected { .. })
    ));
    assert_eq!(tokens.status().last_fetch, Some(FetchResult::Permanent));
    assert_eq!(stand.posts(), 1);
}

#[tokio::test]
async fn server_errors_are_unavailable_and_honour_retry_after() {
    let stand = Stand::start(Reply::Status {
        status: 503,
        body: "<html>down</html>",
        retry_after: Some("7"),
    })
    .await;
    let tokens = stand.manager();
    assert_eq!(
        tokens.token().await.unwrap_err(),
        TokenError::Unavailable {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(tokens.status().last_fetch, Some(FetchResult::Transient));
    let stand = Stand::start(Reply::Status {
        status: 429,
        body: "{}",
        retry_after: None,
    })
    .await;
    assert!(matches!(
        stand.manager().token().await,
        Err(TokenError::Unavailable { .. })
    ));
}

#[tokio::test]
async fn expires_in_as_ords_and_its_variants_over_the_wire() {
    let table = [
        (ORDS_TOKEN, true),
        (
            r#"{"access_token":"t","token_type":"bearer","expires_in":"3600"}"#,
            true,
        ),
        (r#"{"access_token":"t","token_type":"Bearer"}"#, true),
        (
            r#"{"access_token":"t","token_type":"bearer","expires_in":1e9}"#,
            true,
        ),
        (
            r#"{"access_token":"t","token_type":"bearer","expires_in":0}"#,
            false,
        ),
        (
            r#"{"access_token":"t","token_type":"bearer","expires_in":-5}"#,
            false,
        ),
        (
            r#"{"access_token":"t","token_type":"bearer","expires_in":"x"}"#,
            false,
        ),
        (r#"{"token_type":"bearer","expires_in":3600}"#, false),
        ("<html>maintenance</html>", false),
    ];
    for (body, ok) in table {
        let stand = Stand::start(Reply::Json(body)).await;
        let tokens = stand.manager();
        let got = tokens.token().await;
        if ok {
            let lifetime = tokens.status().seconds_to_expiry.unwrap();
            assert!(got.is_ok() && lifetime >= 299, "{body}: {got:?}");
        } else {
            assert!(
                matches!(got, Err(TokenError::Unavailable { .. })),
                "{body}: {got:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_oversized_token_response_is_an_error_not_a_hang() {
    let stand = Stand::start(Reply::Endless).await;
    let start = Instant::now();
    let err = stand.manager().token().await.unwrap_err();
    assert!(matches!(err, TokenError::Unavailable { .. }), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_redirect_from_the_token_endpoint_is_not_followed() {
    let target = Stand::start(Reply::Json(ORDS_TOKEN)).await;
    let stand = Stand::start(Reply::Redirect(format!("http://{}{PATH}", target.addr))).await;
    let err = stand.manager().token().await.unwrap_err();
    assert!(matches!(err, TokenError::Rejected { .. }), "{err:?}");
    assert_eq!((stand.posts(), target.posts()), (1, 0));
}

#[tokio::test]
async fn a_stalled_token_endpoint_times_out() {
    let stand = Stand::start(Reply::Stall).await;
    let start = Instant::now();
    let err = stand.manager().token().await.unwrap_err();
    assert!(matches!(err, TokenError::Unavailable { .. }), "{err:?}");
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500 + 500), "{took:?}");
    eprintln!("stalled endpoint: error after {took:?} (total timeout 1.5 s)");
}

#[tokio::test]
async fn callers_dropped_mid_fetch_do_not_cancel_it() {
    let stand = Stand::start(Reply::Json(ORDS_TOKEN)).await;
    *stand.endpoint.delay.lock().unwrap() = Duration::from_millis(200);
    let tokens = stand.manager();
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token().await })
        })
        .collect();
    // The fetch has begun: its request is at the endpoint, which answers 200 ms later.
    stand.endpoint.arrived.notified().await;
    callers.iter().for_each(tokio::task::JoinHandle::abort);
    // It completes without any caller: the manager's own state says so.
    tokio::time::timeout(Duration::from_secs(5), async {
        while !tokens.status().has_token {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the abandoned fetch completes");
    let start = Instant::now();
    assert_eq!(tokens.token().await.unwrap().generation(), 1);
    assert!(
        start.elapsed() < Duration::from_millis(50),
        "served from cache"
    );
    assert_eq!(stand.posts(), 1);
}

#[tokio::test]
async fn sentinels_never_appear_in_logs_errors_or_debug() {
    const SENTINEL_SECRET: &str = "SENTINEL_SECRET_Zq9..";
    const GOOD: &str =
        r#"{"access_token":"SENTINEL_TOKEN_Xy7","token_type":"bearer","expires_in":3600}"#;
    const BAD: &str =
        r#"{"access_token":"SENTINEL_TOKEN_Xy7","token_type":"bearer","expires_in":"x"}"#;
    let (capture, _guard) = super::helpers::LogCapture::trace();
    let mut shown = Vec::new();

    // Success, then a 401 for the token (invalidate), then a refresh.
    let stand = Stand::with_secret(Reply::Json(GOOD), SENTINEL_SECRET).await;
    let config = stand.config(SENTINEL_SECRET);
    shown.push(format!("{config:?}"));
    let tokens = TokenManager::spawn(config).unwrap();
    let token = tokens.token().await.unwrap();
    assert_eq!(token.authorization(), "Bearer SENTINEL_TOKEN_Xy7");
    tokens.invalidate(token.generation());
    let token = tokens.token().await.unwrap();
    shown.extend([
        format!("{token:?}"),
        format!("{tokens:?}"),
        format!("{:?}", tokens.status()),
    ]);

    // A 200 whose body holds the token but fails to parse (oauth2's `Parse` keeps it).
    let stand = Stand::with_secret(Reply::Json(BAD), SENTINEL_SECRET).await;
    let tokens = TokenManager::spawn(stand.config(SENTINEL_SECRET)).unwrap();
    let err = tokens.token().await.unwrap_err();
    shown.extend([format!("{err:?}"), err.to_string(), format!("{tokens:?}")]);

    // Refused credentials.
    let stand = Stand::with_secret(Reply::Json(GOOD), "another").await;
    let tokens = TokenManager::spawn(stand.config(SENTINEL_SECRET)).unwrap();
    let err = tokens.token().await.unwrap_err();
    shown.extend([format!("{err:?}"), err.to_string()]);

    let logs = capture.text();
    assert!(logs.contains("obtained an ORDS access token"), "{logs}");
    assert!(
        logs.contains("malformed token response (at `expires_in`)"),
        "{logs}"
    );
    assert!(logs.contains("HTTP 401"), "{logs}");
    for text in shown.iter().chain([&logs]) {
        assert!(!text.contains("SENTINEL"), "leak: {text}");
    }
}
