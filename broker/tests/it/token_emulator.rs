//! The token manager against the ORDS emulator over real HTTP: the token it obtains
//! opens the protected validation endpoint, single flight holds against ORDS's real
//! token endpoint, a revocation costs one refresh, and a rotated secret heals.

use std::time::{Duration, Instant};

use license_broker::token::{
    SecretSource, TokenConfig, TokenError, TokenHandle, TokenManager, TokenSource,
};
use ords_emulator::{EmulatorOptions, Faults, RunningEmulator, Seed, TokenErrorStyle};
use secrecy::SecretString;

const CLIENT: &str = "license_backend_client";

async fn emulator(options: EmulatorOptions) -> RunningEmulator {
    license_testkit::emulator(Seed::article_default(), options).await
}

fn config(ords: &RunningEmulator, secret: SecretSource) -> TokenConfig {
    let (client_id, _) = ords.client_credentials(CLIENT).unwrap();
    let mut config = TokenConfig::new(ords.token_url().parse().unwrap(), client_id, secret);
    config.permanent_retry = Duration::from_secs(1);
    config
}

fn manager(ords: &RunningEmulator) -> TokenHandle {
    let (_, secret) = ords.client_credentials(CLIENT).unwrap();
    TokenManager::spawn(config(
        ords,
        SecretSource::Value(SecretString::from(secret)),
    ))
    .unwrap()
}

/// Status of the protected validation call made with this `Authorization` value.
async fn validate(ords: &RunningEmulator, authorization: &str) -> u16 {
    reqwest::Client::new()
        .get(ords.url("customers/validation/1"))
        .header("accept", "application/json")
        .header("authorization", authorization)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cold_callers_cost_ords_one_token_request() {
    let ords = emulator(EmulatorOptions::default()).await;
    ords.set_faults(Faults {
        latency_ms: Some(200),
        times: Some(1),
        ..Faults::default()
    });
    let tokens = manager(&ords);
    let start = Instant::now();
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token().await })
        })
        .collect();
    let mut last = None;
    for caller in callers {
        last = Some(caller.await.unwrap().unwrap());
    }
    let stats = ords.stats();
    assert_eq!((stats.token_requests, stats.tokens_issued), (1, 1));
    eprintln!(
        "emulator: 1000 cold callers, {} token request, {:?}",
        stats.token_requests,
        start.elapsed()
    );
    // ORDS says "bearer"; we send "Bearer", and the token opens the protected handler.
    let authorization = last.unwrap().authorization();
    assert!(authorization.starts_with("Bearer "));
    assert_eq!(validate(&ords, &authorization).await, 200);
}

#[tokio::test]
async fn revoked_tokens_cost_one_refresh_for_a_hundred_401s() {
    let ords = emulator(EmulatorOptions::default()).await;
    let tokens = manager(&ords);
    let first = tokens.token().await.unwrap();
    assert_eq!(validate(&ords, &first.authorization()).await, 200);
    // 100 requests in flight with generation 1 when ORDS revokes it.
    ords.revoke_all_tokens();
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let (tokens, used) = (tokens.clone(), first.clone());
            let ords_url = ords.url("customers/validation/1");
            tokio::spawn(async move {
                let status = reqwest::Client::new()
                    .get(ords_url)
                    .header("authorization", used.authorization())
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 401);
                tokens.invalidate(used.generation());
                tokens.token().await.unwrap()
            })
        })
        .collect();
    for caller in callers {
        let replay = caller.await.unwrap();
        assert_eq!(replay.generation(), 2);
    }
    assert_eq!(ords.stats().token_requests, 2, "one refresh");
    assert_eq!(
        validate(&ords, &tokens.token().await.unwrap().authorization()).await,
        200
    );
}

#[tokio::test]
async fn a_refused_secret_heals_when_the_rotated_one_is_written_to_the_file() {
    for style in [TokenErrorStyle::Problem, TokenErrorStyle::Rfc6749] {
        let ords = emulator(EmulatorOptions {
            token_error_style: style,
            ..EmulatorOptions::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client_secret");
        std::fs::write(&path, "not-the-secret..\n").unwrap();
        let tokens = TokenManager::spawn(config(&ords, SecretSource::File(path.clone()))).unwrap();
        assert!(
            matches!(tokens.token().await, Err(TokenError::Rejected { .. })),
            "{style:?}"
        );
        let (_, secret) = ords.client_credentials(CLIENT).unwrap();
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        let written = Instant::now();
        let token = loop {
            match tokens.token().await {
                Ok(token) => break token,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        assert!(
            written.elapsed() < Duration::from_secs(3),
            "{:?}",
            written.elapsed()
        );
        assert_eq!(validate(&ords, &token.authorization()).await, 200);
    }
}

#[tokio::test]
async fn a_token_endpoint_that_is_down_or_unreachable_is_unavailable() {
    for faults in [
        Faults {
            token_status: Some(503),
            ..Faults::default()
        },
        Faults {
            drop_token_connections: true,
            ..Faults::default()
        },
    ] {
        let ords = emulator(EmulatorOptions::default()).await;
        ords.set_faults(faults.clone());
        let tokens = manager(&ords);
        let err = tokens.token().await.unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::Unavailable {
                    retry_after: Some(_)
                }
            ),
            "{faults:?}: {err:?}"
        );
    }
}
