//! `license-broker check`: the preflight that proves the ORDS route before a broker is
//! put behind a load balancer, or before systemd starts it (`ExecStartPre=`).
//!
//! By the time [`check_route`] runs, [`Config::load`] has read every file `serve`
//! reads (the client secret, the signing key, the key secret, the TLS certificate and
//! key) and printed the permission warnings `serve` would print; a missing or
//! unreadable file has already stopped `check` with one line naming its variable.
//! Then one token is asked for directly (not through the token manager), so a failure
//! reports its real cause: a 404 names the base URL, a refused connection, a TLS
//! failure and a DNS failure each name themselves.

use std::sync::Arc;
use std::time::Duration;

use license_shared::{CustomerId, VerdictCode};

use super::Config;
use crate::ords::token::{
    BearerToken, Fetch as _, HttpFetcher, TokenError, TokenFuture, TokenSource,
};
use crate::ords::OrdsClient;
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
    let token_url = &config.ords.token_url;
    let result = tokio::time::timeout(CHECK_DEADLINE, async {
        let token = one_token(config)
            .await
            .map_err(|cause| format!("no token from {token_url}: {cause}"))?;
        let Some(id) = customer else {
            return Ok(None);
        };
        let source: Arc<dyn TokenSource> = Arc::new(OneToken(token));
        let ords = OrdsClient::new(&config.ords, source)
            .map_err(|e| format!("cannot build the ORDS client: {e}"))?;
        let lookup = ords
            .lookup(id)
            .await
            .result
            .map_err(|err| format!("lookup of customer {id} failed: {err}"))?;
        let code = decide(&lookup, system_clock()(), None);
        Ok(Some(code))
    })
    .await;
    result.unwrap_or_else(|_| {
        Err(format!(
            "no answer from ORDS ({}) within {} s",
            config.ords.base_url,
            CHECK_DEADLINE.as_secs()
        ))
    })
}

/// What `check` prints when the configuration is valid and ORDS issued a token.
pub fn summary(config: &Config) -> String {
    format!(
        "ok: configuration valid and ORDS issued a token (listen {}, {}, signing kid {})",
        config.listen,
        if config.edge.tls.is_some() {
            "HTTPS"
        } else {
            "plain HTTP"
        },
        config.signer.kid()
    )
}

/// One token POST with the configured secret and limits; the error is the classified
/// cause (which never holds a secret, a token or a body).
async fn one_token(config: &Config) -> Result<BearerToken, String> {
    let secret = config.client_secret.read().map_err(|e| e.to_string())?;
    let token_config = config.token_config();
    let fetcher =
        HttpFetcher::new(&token_config).map_err(|_| "cannot build the HTTP client".to_owned())?;
    let grant = fetcher
        .fetch(&secret)
        .await
        .map_err(|e| e.cause.to_string())?;
    Ok(BearerToken::new(1, grant.access_token))
}

/// The one token `check` obtained, for its one lookup.
struct OneToken(BearerToken);

impl TokenSource for OneToken {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok::<_, TokenError>(token) })
    }

    fn invalidate(&self, _generation: u64) {}
}
