//! Everything said to ORDS. The resource call: `GET <schema root>/<validation path
//! with one id>` with a bearer token, read into a [`Lookup`]; the seat calls; and the
//! token endpoint.
//!
//! - [`config`]: [`OrdsConfig`], with the column names, status values and URL rules.
//! - [`path`]: the URL template and the id-segment checks.
//! - [`answer`]: reading `json/item` and `json/collection` bodies, or refusing to;
//!   [`strict_json`]: JSON in which a member named twice is an error.
//! - [`seats`]: the calls to the `license_seats` package.
//! - [`refusals`]: backing off when ORDS refuses fresh tokens.
//! - [`error`]: [`UpstreamError`], the only error this module returns.
//! - [`outbound`]: the HTTP client every ORDS call uses (the token endpoint's too): no
//!   redirects, timeouts, capped bodies.
//! - [`token`]: the token manager, which gets and refreshes the bearer tokens.
//!
//! A 401 is answered by invalidating that token's generation and replaying once with a
//! fresh token; a second 401 is an error, never a loop. The ORDS body, headers and
//! links never leave this module.

mod answer;
mod config;
mod error;
pub(crate) mod outbound;
mod path;
mod refusals;
mod seats;
mod strict_json;
#[cfg(test)]
mod tests;
pub mod token;
mod trials;

use std::sync::Arc;

use bytes::Bytes;
use license_shared::CustomerId;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use url::Url;

#[cfg(test)]
pub(crate) use answer::LicenseRow;
pub(crate) use answer::{LicenseStatus, Lookup, NotFoundKind};
pub(crate) use config::{Columns, OrdsConfig, StatusValues};
pub(crate) use error::UpstreamError;
pub use outbound::OutboundLimits;
pub(crate) use path::{check_id_segment, SegmentError, ValidationPath};
use refusals::Refusals;
pub(crate) use seats::{Outcome, SeatAnswer, SeatCall};
pub(crate) use trials::TrialOutcome;

use crate::metrics::Metrics;
use outbound::{read_capped, retry_after, BodyError};
use token::{BearerToken, TokenSource};

/// Calls the validation endpoint. Cheap to clone (the reqwest client is shared).
#[derive(Clone)]
pub(crate) struct OrdsClient {
    http: reqwest::Client,
    base_url: Url,
    path: ValidationPath,
    seats_path: ValidationPath,
    trials_url: Url,
    columns: Columns,
    statuses: StatusValues,
    item_404_is_not_found: bool,
    max_body_bytes: usize,
    tokens: Arc<dyn TokenSource>,
    metrics: Option<Arc<Metrics>>,
    refusals: Arc<Refusals>,
}

/// One exchange, before interpretation.
struct Exchange {
    status: StatusCode,
    retry_after: Option<std::time::Duration>,
    body: Result<Bytes, BodyError>,
}

/// An answer and the HTTP status of ORDS's last response on the way to it (`None`
/// when ORDS gave none: a transport error, or an answer served from the cache), for
/// the request log line.
#[derive(Debug, Clone)]
pub(crate) struct Answered<T> {
    pub result: Result<T, UpstreamError>,
    pub upstream_status: Option<u16>,
}

impl<T> Answered<T> {
    /// An answer ORDS was not asked for.
    pub(crate) fn unobserved(result: Result<T, UpstreamError>) -> Self {
        Self {
            result,
            upstream_status: None,
        }
    }

    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Answered<U> {
        Answered {
            result: self.result.map(f),
            upstream_status: self.upstream_status,
        }
    }
}

impl OrdsClient {
    pub(crate) fn new(
        config: &OrdsConfig,
        tokens: Arc<dyn TokenSource>,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: outbound::client(&config.limits)?,
            base_url: config.base_url.clone(),
            path: config.validation_path.clone(),
            seats_path: config.seats_path.clone(),
            trials_url: config.trials_url.clone(),
            columns: config.columns.clone(),
            statuses: config.statuses.clone(),
            item_404_is_not_found: config.item_404_is_not_found,
            max_body_bytes: config.limits.max_body_bytes,
            tokens,
            metrics: None,
            refusals: Arc::default(),
        })
    }

    /// Records every ORDS call in `metrics` (`broker_upstream_*`).
    pub(crate) fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The URL for `id`; refused ids never reach the network.
    pub(crate) fn url_for(&self, id: &str) -> Result<Url, SegmentError> {
        self.path.url(&self.base_url, id)
    }

    /// Looks one customer up, with at most one replay after a 401.
    pub(crate) async fn lookup(&self, id: &CustomerId) -> Answered<Lookup> {
        let mut upstream_status = None;
        let result = self.lookup_noting(id, &mut upstream_status).await;
        Answered {
            result,
            upstream_status,
        }
    }

    async fn lookup_noting(
        &self,
        id: &CustomerId,
        status: &mut Option<u16>,
    ) -> Result<Lookup, UpstreamError> {
        let url = self.url_for(id.as_str()).map_err(|e| {
            UpstreamError::BadResponse(format!("refused to build the ORDS URL: {e}"))
        })?;
        let exchange = self.call(&url, None, status).await?;
        self.interpret(exchange, id)
    }

    /// One authorised ORDS call (a GET, or a POST of `body`): a 401 invalidates that
    /// token's generation and replays once with a fresh token; a second 401 is an
    /// error, never a loop. When even a fresh token is refused (the client's role lost
    /// its privilege) that is remembered: calls with that token fail fast and one
    /// probe goes out per back-off period (5 s doubling to 60 s, however many calls
    /// were refused together), instead of every validation minting a token and
    /// calling twice.
    async fn call(
        &self,
        url: &Url,
        body: Option<&[u8]>,
        status: &mut Option<u16>,
    ) -> Result<Exchange, UpstreamError> {
        let token = self.tokens.token().await?;
        let pass = self.refusals.check(token.generation())?;
        let first = self.send(url, &token, body, status).await?;
        if first.status != StatusCode::UNAUTHORIZED {
            self.refusals.clear();
            return Ok(first);
        }
        if self.refusals.holds(token.generation()) {
            // Already known to be refused (this is the probe, or it was in flight when
            // the refusal landed): a new token would be refused too.
            return Err(self.refusals.refused(token.generation(), pass));
        }
        tracing::info!(
            token_generation = token.generation(),
            "ORDS answered 401; refreshing the token and replaying once"
        );
        self.tokens.invalidate(token.generation());
        let fresh = self.tokens.token().await?;
        let second = self.send(url, &fresh, body, status).await?;
        if second.status == StatusCode::UNAUTHORIZED {
            return Err(self.refusals.refused(fresh.generation(), pass));
        }
        self.refusals.clear();
        Ok(second)
    }

    async fn send(
        &self,
        url: &Url,
        token: &BearerToken,
        body: Option<&[u8]>,
        seen: &mut Option<u16>,
    ) -> Result<Exchange, UpstreamError> {
        let started = tokio::time::Instant::now();
        let request = match body {
            Some(body) => self
                .http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec()),
            None => self.http.get(url.clone()),
        };
        let sent = request
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, token.authorization())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let err = UpstreamError::from_transport(&e);
                let label = if err == UpstreamError::Timeout {
                    "timeout"
                } else {
                    "error"
                };
                self.observe(label, started);
                return Err(err);
            }
        };
        let status = response.status();
        *seen = Some(status.as_u16());
        let retry_after = retry_after(response.headers());
        let body = read_capped(response, self.max_body_bytes).await;
        self.observe(status.as_str(), started);
        tracing::debug!(
            upstream_status = status.as_u16(),
            token_generation = token.generation(),
            latency_ms = started.elapsed().as_millis() as u64,
            "ORDS answered"
        );
        Ok(Exchange {
            status,
            retry_after,
            body,
        })
    }

    fn observe(&self, status: &str, started: tokio::time::Instant) {
        if let Some(metrics) = &self.metrics {
            metrics.observe_upstream(status, started.elapsed());
        }
    }

    /// A `404` is "no row" only when it is ORDS's own `NotFound` problem JSON (and the
    /// item-handler reading is on); an unmapped URL, an HTML page or a proxy's 404
    /// means the request never reached the handler, and answering `NOT_FOUND` would
    /// deny every customer at once.
    fn interpret_404(&self, exchange: &Exchange) -> Result<Lookup, UpstreamError> {
        let body = exchange.body.as_deref().unwrap_or_default();
        let reason = match answer::classify_404(body) {
            NotFoundKind::NoRow if self.item_404_is_not_found => return Ok(Lookup::NoRow),
            NotFoundKind::NoRow => {
                "ORDS answered 404 NotFound, and with LICENSE_BROKER_ITEM_404_IS_NOT_FOUND=false only an empty collection means no row"
            }
            NotFoundKind::Unmapped => {
                "ORDS answered 404 \"could not be mapped to any database\": the schema alias in the URL is unknown"
            }
            NotFoundKind::NotOrds => {
                "the 404 is not ORDS's NotFound problem JSON (an HTML page, a proxy or another server, or an ORDS before 20.4)"
            }
        };
        // A BadResponse is logged at error by the API layer (and printed by `check`).
        Err(UpstreamError::BadResponse(format!(
            "{reason}; check LICENSE_BROKER_ORDS_BASE_URL ({}) and LICENSE_BROKER_VALIDATION_PATH ({}), and that the ORDS module is published",
            self.base_url, self.path
        )))
    }

    fn interpret(&self, exchange: Exchange, id: &CustomerId) -> Result<Lookup, UpstreamError> {
        let status = exchange.status;
        match status.as_u16() {
            200 => {
                let body = exchange.body.map_err(|e| match e {
                    BodyError::TooLarge(cap) => {
                        UpstreamError::BadResponse(format!("the answer is larger than {cap} bytes"))
                    }
                    BodyError::Read(err) => UpstreamError::from_transport(&err),
                })?;
                answer::read(&body, &self.columns, &self.statuses, id)
            }
            404 => self.interpret_404(&exchange),
            403 => Err(UpstreamError::BadResponse(
                "ORDS answered 403: the OAuth client's role lacks the privilege".into(),
            )),
            408 | 429 | 500..=599 => Err(UpstreamError::Unavailable {
                retry_after: exchange.retry_after,
                cause: format!("ORDS answered HTTP {}", status.as_u16()),
            }),
            300..=399 => Err(UpstreamError::BadResponse(
                "ORDS answered with a redirect, which is never followed".into(),
            )),
            other => Err(UpstreamError::BadResponse(format!(
                "ORDS answered HTTP {other}"
            ))),
        }
    }
}

impl std::fmt::Debug for OrdsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdsClient")
            .field("base_url", &self.base_url.as_str())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
