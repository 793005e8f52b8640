//! Wiring a [`Config`] into a running broker, so `main` stays a thin shell and tests
//! start exactly what production starts.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use license_shared::{CustomerId, VerdictCode};
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::edge::tls;
use crate::ords::OrdsClient;
use crate::token::{TokenConfig, TokenHandle, TokenManager, TokenSetupError};
use crate::token_source::TokenSource;
use crate::verdicts::{decide, system_clock};

/// How long `license-broker check` waits for its one token.
const CHECK_DEADLINE: Duration = Duration::from_secs(20);

/// The token manager's settings for `config`: its endpoint, client and secret, the same
/// outbound limits as the resource call (an operator who tightens the ORDS timeout
/// means every ORDS call), and the manager's own defaults for refresh and backoff.
pub fn token_config(config: &Config) -> TokenConfig {
    let mut token = TokenConfig::new(
        config.ords.token_url.clone(),
        config.client_id.clone(),
        config.client_secret.clone(),
    );
    token.limits = config.ords.limits;
    token
}

/// Starts the token manager (its owner task runs until the last handle is dropped).
pub fn start_tokens(config: &Config) -> Result<TokenHandle, TokenSetupError> {
    TokenManager::spawn(token_config(config))
}

/// [`start_tokens`], as the trait object the rest of the broker consumes.
pub fn token_source(config: &Config) -> Result<Arc<dyn TokenSource>, TokenSetupError> {
    Ok(Arc::new(start_tokens(config)?))
}

/// Runs the broker on `listener` until `shutdown` completes, then drains: readiness
/// turns 503 at once, the listener keeps accepting for the configured drain delay (so
/// a load balancer sees the 503 instead of refused connections), then stops, and
/// in-flight requests get what is left of the shutdown grace. Either way the token
/// manager is stopped and the result is `Ok`, so the process exits 0.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tls = match &config.edge.tls {
        Some(files) => Some(tls::server_config(&files.cert, &files.key)?),
        None => None,
    };
    let tokens = start_tokens(&config)?;
    let state = AppState::from_config(&config, Arc::new(tokens.clone()))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        tls = tls.is_some(),
        ords = %config.ords.base_url,
        kid = config.signer.kid(),
        trusted_proxies = %config.edge.trusted_proxies,
        "license broker serving"
    );
    let draining = state.draining().clone();
    let drain_delay = config.edge.drain_delay;
    let stop_accepting = {
        let draining = draining.clone();
        async move {
            shutdown.await;
            draining.start();
            tracing::info!(
                drain_delay_s = drain_delay.as_secs(),
                "draining: /readyz answers 503; in-flight requests will finish"
            );
            tokio::time::sleep(drain_delay).await;
        }
    };
    let serving = async move {
        match tls {
            Some(tls) => api::serve_tls(listener, tls, state, stop_accepting).await,
            None => api::serve(listener, state, stop_accepting).await,
        }
    };
    let grace = config.edge.shutdown_grace;
    let served = draining.run_with_grace(serving, grace).await;
    tokens.shutdown();
    match served {
        Some(result) => result?,
        None => tracing::warn!(
            grace_s = grace.as_secs(),
            "shutdown grace elapsed with requests still in flight; exiting anyway"
        ),
    }
    tracing::info!("license broker stopped");
    Ok(())
}

/// `license-broker check`: the configuration loaded (the caller did that) and ORDS
/// gave one token; then (given a `customer`) one real lookup of that customer through
/// the same ORDS client the service uses, read into the code a validation would sign.
/// Any definitive answer (`NOT_FOUND` included) is `Ok`; an error is one line.
/// With a known canary id this proves the whole route: base URL, alias, module,
/// validation path, privilege and the answer's shape.
pub async fn check_route(
    config: &Config,
    customer: Option<&CustomerId>,
) -> Result<Option<VerdictCode>, String> {
    let tokens = start_tokens(config).map_err(|e| e.to_string())?;
    let result = tokio::time::timeout(CHECK_DEADLINE, async {
        tokens
            .ready_token()
            .await
            .map_err(|err| format!("no token from {}: {err}", config.ords.token_url))?;
        let Some(id) = customer else {
            return Ok(None);
        };
        let source: Arc<dyn TokenSource> = Arc::new(tokens.clone());
        let ords = OrdsClient::new(&config.ords, source)
            .map_err(|e| format!("cannot build the ORDS client: {e}"))?;
        let lookup = ords
            .lookup(id)
            .await
            .map_err(|err| format!("lookup of customer {id} failed: {err}"))?;
        let (code, _) = decide(&lookup, system_clock()());
        Ok(Some(code))
    })
    .await;
    tokens.shutdown();
    result.unwrap_or_else(|_| {
        Err(format!(
            "no answer from ORDS ({}) within {} s",
            config.ords.base_url,
            CHECK_DEADLINE.as_secs()
        ))
    })
}
