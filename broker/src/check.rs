//! `license-broker check`: the preflight that proves the ORDS route before a broker is
//! put behind a load balancer.

use std::sync::Arc;
use std::time::Duration;

use license_shared::{CustomerId, VerdictCode};

use crate::config::Config;
use crate::ords::OrdsClient;
use crate::token::{TokenManager, TokenSource};
use crate::verdict::{decide, system_clock};

/// How long `license-broker check` waits for its one token.
const CHECK_DEADLINE: Duration = Duration::from_secs(20);

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
    let tokens = TokenManager::spawn(config.token_config()).map_err(|e| e.to_string())?;
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
            .result
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
