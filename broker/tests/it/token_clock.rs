//! The token manager's timing, on a paused clock, through an in-memory fetcher.
//!
//! Real sockets and auto-advancing time do not mix (a pending read lets tokio jump to
//! the next timer), so these tests plug a fake [`Fetch`] into the same owner task the
//! real HTTP fetcher uses; `token_http.rs` covers the wire on the real clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use license_broker::token::{
    Cause, ExpiresIn, Fetch, FetchError, FetchResult, Grant, SecretSource, TokenConfig, TokenError,
    TokenHandle, TokenManager, TokenSource,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::{sleep, Instant};

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// What the fake token endpoint answers.
#[derive(Clone)]
enum Mode {
    Grant(ExpiresIn),
    Down {
        retry_after: Option<Duration>,
    },
    /// Grants 3600 s tokens to this secret only; refuses any other (401).
    OnlySecret(&'static str),
}

struct Endpoint {
    mode: Mutex<Mode>,
    delay: Mutex<Duration>,
    /// When each fetch started, and with which secret.
    calls: Mutex<Vec<(Instant, String)>>,
}

#[derive(Clone)]
struct Fake(Arc<Endpoint>);

impl Fake {
    fn new(mode: Mode) -> Self {
        Self(Arc::new(Endpoint {
            mode: Mutex::new(mode),
            delay: Mutex::new(Duration::ZERO),
            calls: Mutex::new(Vec::new()),
        }))
    }
    fn set(&self, mode: Mode) {
        *self.0.mode.lock().unwrap() = mode;
    }
    fn delay(&self, delay: Duration) {
        *self.0.delay.lock().unwrap() = delay;
    }
    fn times(&self) -> Vec<Instant> {
        self.0.calls.lock().unwrap().iter().map(|c| c.0).collect()
    }
    fn count(&self) -> usize {
        self.0.calls.lock().unwrap().len()
    }
}

impl Fetch for Fake {
    fn fetch(
        &self,
        secret: &SecretString,
    ) -> impl std::future::Future<Output = Result<Grant, FetchError>> + Send {
        let endpoint = self.0.clone();
        let secret = secret.expose_secret().to_owned();
        async move {
            let n = {
                let mut calls = endpoint.calls.lock().unwrap();
                calls.push((Instant::now(), secret.clone()));
                calls.len()
            };
            let delay = *endpoint.delay.lock().unwrap();
            if !delay.is_zero() {
                sleep(delay).await;
            }
            let mode = endpoint.mode.lock().unwrap().clone();
            let grant = |expires_in| Grant {
                access_token: SecretString::from(format!("tok-{n}")),
                expires_in,
            };
            let refused = FetchError::from_status(401, Some("invalid_client".into()), None);
            match mode {
                Mode::Grant(expires_in) => Ok(grant(expires_in)),
                Mode::Down { retry_after } => Err(FetchError {
                    retry_after,
                    ..FetchError::from_status(503, None, None)
                }),
                Mode::OnlySecret(good) if secret == good => Ok(grant(ExpiresIn::Seconds(3600))),
                Mode::OnlySecret(_) => Err(refused),
            }
        }
    }
}

fn config(secret: SecretSource) -> TokenConfig {
    let url = "http://127.0.0.1:9/ords/test/oauth/token".parse().unwrap();
    TokenConfig::new(url, "client", secret)
}

fn spawn(fake: &Fake) -> TokenHandle {
    let secret = SecretSource::Value(SecretString::from("s3cret"));
    TokenManager::spawn_with(config(secret), fake.clone())
}

/// Every token handed out must have more than the 30 s floor left: token `n` was
/// requested at the n-th call and lives `lifetime` from then.
fn assert_above_floor(fake: &Fake, generation: u64, lifetime: Duration) {
    let issued = fake.times()[usize::try_from(generation).unwrap() - 1];
    let left = (issued + lifetime).saturating_duration_since(Instant::now());
    assert!(
        left > secs(30),
        "generation {generation} handed out with {left:?} left"
    );
}

#[tokio::test(start_paused = true)]
async fn refresh_fires_at_80_percent_and_the_floor_is_never_crossed() {
    let fake = Fake::new(Mode::Grant(ExpiresIn::Seconds(3600)));
    let tokens = spawn(&fake);
    let t0 = Instant::now();
    assert_eq!(tokens.token().await.unwrap().generation(), 1);
    // Ask every 10 s for three lifetimes: refreshes happen in the background.
    while t0.elapsed() < secs(3 * 3600) {
        let token = tokens.token().await.unwrap();
        assert_above_floor(&fake, token.generation(), secs(3600));
        sleep(secs(10)).await;
    }
    let times = fake.times();
    assert_eq!(times.len(), 4, "one fetch per 2880 s: {times:?}");
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            (secs(2844)..=secs(2916)).contains(&gap),
            "refresh after {gap:?}"
        );
    }
    eprintln!(
        "refresh interval for expires_in=3600: {:?}",
        times[1] - times[0]
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_background_refresh_adds_no_latency() {
    let fake = Fake::new(Mode::Grant(ExpiresIn::Seconds(3600)));
    let tokens = spawn(&fake);
    tokens.token().await.unwrap();
    fake.delay(secs(2));
    sleep(secs(2880) + Duration::from_millis(500)).await;
    assert!(tokens.status().fetching, "the refresh is in flight");
    let asked = Instant::now();
    assert_eq!(tokens.token().await.unwrap().generation(), 1);
    assert_eq!(asked.elapsed(), Duration::ZERO);
    sleep(secs(2)).await;
    assert_eq!(tokens.token().await.unwrap().generation(), 2);
    assert_eq!(fake.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn outage_serves_the_old_token_until_the_floor_then_unavailable() {
    let fake = Fake::new(Mode::Grant(ExpiresIn::Seconds(3600)));
    let tokens = spawn(&fake);
    let t0 = Instant::now();
    tokens.token().await.unwrap();
    sleep(secs(2879)).await;
    fake.set(Mode::Down { retry_after: None });
    let (mut served, mut refused) = (0, 0);
    while t0.elapsed() < secs(3600 + 600) {
        match tokens.token().await {
            Ok(token) => {
                assert_eq!(token.generation(), 1);
                assert_above_floor(&fake, 1, secs(3600));
                served += 1;
            }
            Err(TokenError::Unavailable { retry_after }) => {
                assert!(t0.elapsed() >= secs(3570), "refused at {:?}", t0.elapsed());
                let wait = retry_after.expect("Retry-After");
                assert!(wait >= secs(1) && wait <= secs(60), "{wait:?}");
                refused += 1;
            }
            Err(other) => panic!("{other:?}"),
        }
        sleep(secs(1)).await;
    }
    assert!(
        served >= 690 && refused >= 600,
        "served {served}, refused {refused}"
    );
    // Attempts are spaced by the jittered backoff: at least 1 s, at most the window.
    let times = fake.times();
    let outage: Vec<Duration> = times.windows(2).skip(1).map(|p| p[1] - p[0]).collect();
    for (n, gap) in outage.iter().enumerate() {
        let ceiling = secs(1 << n.min(6)).min(secs(60));
        assert!(
            *gap >= secs(1) && *gap <= ceiling,
            "attempt {n}: {gap:?} > {ceiling:?}"
        );
    }
    let status = tokens.status();
    assert_eq!(status.last_fetch, Some(FetchResult::Transient));
    assert!(!status.has_token);
    assert_eq!(
        status.fetches.transient,
        u64::try_from(times.len() - 1).unwrap()
    );
    eprintln!(
        "outage of 1320 s: {} attempts, gaps {outage:?}",
        times.len() - 1
    );
    // The endpoint comes back: a token within one backoff window.
    fake.set(Mode::Grant(ExpiresIn::Seconds(3600)));
    let back = Instant::now();
    while tokens.token().await.is_err() {
        sleep(secs(1)).await;
    }
    assert!(back.elapsed() <= secs(60), "{:?}", back.elapsed());
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let fake = Fake::new(Mode::Down {
        retry_after: Some(secs(20)),
    });
    let tokens = spawn(&fake);
    let err = tokens.token().await.unwrap_err();
    assert_eq!(
        err,
        TokenError::Unavailable {
            retry_after: Some(secs(20))
        }
    );
    sleep(secs(300)).await;
    let times = fake.times();
    assert!(
        times.windows(2).all(|p| p[1] - p[0] >= secs(20)),
        "{times:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_refusal_retries_once_a_minute_and_heals_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client_secret");
    std::fs::write(&path, "wrong\n").unwrap();
    let fake = Fake::new(Mode::OnlySecret("right"));
    let tokens = TokenManager::spawn_with(config(SecretSource::File(path.clone())), fake.clone());
    let t0 = Instant::now();
    // Callers asking every second for 10 minutes never cause an extra attempt.
    while t0.elapsed() < secs(600) {
        match tokens.token().await {
            Err(TokenError::Rejected {
                retry_after: Some(wait),
            }) => assert!(wait <= secs(60)),
            other => panic!("{other:?}"),
        }
        sleep(secs(1)).await;
    }
    let times = fake.times();
    assert!(times.len() <= 11, "{} attempts in 600 s", times.len());
    assert!(
        times.windows(2).all(|p| p[1] - p[0] >= secs(60)),
        "{times:?}"
    );
    let status = tokens.status();
    assert_eq!(status.last_fetch, Some(FetchResult::Permanent));
    assert!(!status.has_token && status.fetches.permanent >= 10);
    // Rotate the secret in the file: the next attempt re-reads it and heals.
    std::fs::write(&path, "right\n").unwrap();
    let rotated = Instant::now();
    while tokens.token().await.is_err() {
        sleep(secs(1)).await;
    }
    assert!(
        rotated.elapsed() <= secs(60),
        "healed after {:?}",
        rotated.elapsed()
    );
    assert_eq!(fake.0.calls.lock().unwrap().last().unwrap().1, "right");
}

#[tokio::test(start_paused = true)]
async fn a_secret_rotated_before_the_refusal_heals_within_seconds_not_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client_secret");
    std::fs::write(&path, "old\n").unwrap();
    let fake = Fake::new(Mode::OnlySecret("old"));
    let tokens = TokenManager::spawn_with(config(SecretSource::File(path.clone())), fake.clone());
    let first = tokens.token().await.expect("the old secret works");
    // The operator's order: write the new secret, then revoke the old one with its
    // tokens. The manager still holds the old secret when ORDS refuses it.
    std::fs::write(&path, "new\n").unwrap();
    fake.set(Mode::OnlySecret("new"));
    tokens.invalidate(first.generation());
    let revoked = Instant::now();
    let healed = loop {
        match tokens.token().await {
            Ok(token) => break token,
            Err(_) => sleep(Duration::from_millis(100)).await,
        }
    };
    assert!(healed.generation() > first.generation());
    assert!(
        revoked.elapsed() <= secs(2),
        "healed after {:?}",
        revoked.elapsed()
    );
    let secrets: Vec<String> = fake
        .0
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.1.clone())
        .collect();
    assert_eq!(
        secrets,
        ["old", "old", "new"],
        "one refusal, then the new secret"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_invalidations_of_one_generation_cause_one_refresh() {
    let fake = Fake::new(Mode::Grant(ExpiresIn::Seconds(3600)));
    let tokens = spawn(&fake);
    assert_eq!(tokens.token().await.unwrap().generation(), 1);
    fake.delay(Duration::from_millis(200));
    // 100 requests all saw a 401 for generation 1: invalidate, then ask again.
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move {
                TokenSource::invalidate(&tokens, 1);
                tokens.token().await.map(|t| t.generation())
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap(), Ok(2));
    }
    assert_eq!(fake.count(), 2);
    // A late 401 for the old generation must not throw the new token away.
    tokens.invalidate(1);
    tokens.invalidate(0);
    tokens.invalidate(7);
    assert_eq!(tokens.token().await.unwrap().generation(), 2);
    sleep(secs(1)).await;
    assert_eq!(fake.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn cancelled_callers_do_not_cancel_a_refresh() {
    let fake = Fake::new(Mode::Grant(ExpiresIn::Seconds(3600)));
    let tokens = spawn(&fake);
    tokens.token().await.unwrap();
    fake.delay(Duration::from_millis(200));
    tokens.invalidate(1);
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token().await })
        })
        .collect();
    sleep(Duration::from_millis(50)).await;
    callers.iter().for_each(tokio::task::JoinHandle::abort);
    sleep(Duration::from_millis(300)).await;
    let start = Instant::now();
    assert_eq!(tokens.token().await.unwrap().generation(), 2);
    assert_eq!(start.elapsed(), Duration::ZERO, "served from cache");
    assert_eq!(fake.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn waiters_get_the_error_as_soon_as_the_fetch_fails() {
    let fake = Fake::new(Mode::Down { retry_after: None });
    fake.delay(Duration::from_millis(100));
    let tokens = spawn(&fake);
    let start = Instant::now();
    let waiters: Vec<_> = (0..50)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.ready_token().await })
        })
        .collect();
    for waiter in waiters {
        assert!(matches!(
            waiter.await.unwrap(),
            Err(TokenError::Unavailable { .. })
        ));
    }
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(fake.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn odd_lifetimes_never_loop_faster_than_a_second() {
    // (expires_in, usable, fetches in 10 minutes of one request per second)
    let table = [
        (ExpiresIn::Seconds(0), false, None),
        (ExpiresIn::Seconds(-5), false, None),
        (ExpiresIn::Seconds(30), false, None),
        (ExpiresIn::Missing, true, Some(3)),
        (ExpiresIn::Seconds(1_000_000_000), true, Some(1)),
        (ExpiresIn::Seconds(3600), true, Some(1)),
    ];
    for (expires_in, usable, fetches) in table {
        let fake = Fake::new(Mode::Grant(expires_in));
        let tokens = spawn(&fake);
        let t0 = Instant::now();
        while t0.elapsed() < secs(600) {
            let got = tokens.token().await;
            assert_eq!(got.is_ok(), usable, "{expires_in:?}: {got:?}");
            sleep(secs(1)).await;
        }
        let times = fake.times();
        assert!(
            times.windows(2).all(|p| p[1] - p[0] >= secs(1)),
            "{expires_in:?}"
        );
        if let Some(n) = fetches {
            assert_eq!(times.len(), n, "{expires_in:?}");
        }
        if !usable {
            assert_eq!(tokens.status().last_fetch, Some(FetchResult::Transient));
        }
        tokens.shutdown();
    }
}

#[tokio::test(start_paused = true)]
async fn a_day_costs_at_most_31_token_requests() {
    let fake = Fake::new(Mode::Grant(ExpiresIn::Seconds(3600)));
    let tokens = spawn(&fake);
    let t0 = Instant::now();
    while t0.elapsed() < secs(24 * 3600) {
        tokens.token().await.unwrap();
        sleep(secs(60)).await;
    }
    assert!(
        fake.count() <= 31,
        "{} token requests in 24 h",
        fake.count()
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_and_dropping_every_handle_stop_the_owner() {
    let fake = Fake::new(Mode::Grant(ExpiresIn::Seconds(3600)));
    let tokens = spawn(&fake);
    tokens.token().await.unwrap();
    tokens.shutdown();
    assert_eq!(tokens.token().await.unwrap_err(), TokenError::Stopped);

    let fake = Fake::new(Mode::Grant(ExpiresIn::Seconds(3600)));
    let tokens = spawn(&fake);
    tokens.token().await.unwrap();
    assert_eq!(Arc::strong_count(&fake.0), 2, "the owner holds the fetcher");
    drop(tokens);
    sleep(Duration::from_millis(1)).await;
    assert_eq!(Arc::strong_count(&fake.0), 1, "the owner task ended");
}

#[test]
fn errors_say_what_failed_without_values() {
    let error = FetchError::from_status(401, Some("invalid_client".into()), None);
    assert_eq!(
        error.to_string(),
        "permanent token fetch failure: HTTP 401 (invalid_client)"
    );
    let error = FetchError::transient(Cause::Malformed {
        field: "expires_in".into(),
    });
    assert_eq!(
        error.to_string(),
        "transient token fetch failure: malformed token response (at `expires_in`)"
    );
}
