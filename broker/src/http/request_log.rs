//! One structured log line and one set of metric updates per request.
//!
//! The line carries `request_id`, `route` (the route template, never the raw path),
//! `status`, the verdict's `code` or the error's `error` code, the `client` address,
//! `upstream_status`, `key` and `latency_ms`. Handlers report what only they
//! know by putting [`RequestFacts`] into the *response* extensions; this layer takes
//! them out again, so they never leave the process. A license key only ever appears
//! as its fingerprint: eight hex digits of the SHA-256 of its data, enough to correlate
//! lines, useless for recovering the key.
//!
//! The request id is ours, not the caller's (a caller-chosen id could forge
//! correlations); it is returned in `x-request-id` so a support ticket can quote it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::guard::Fingerprint;
use crate::metrics::Metrics;

/// The response header that carries the request id.
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label for requests no route matched.
pub(crate) const UNMATCHED: &str = "unmatched";

/// What a handler knows that the log line should carry, set on its response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RequestFacts {
    /// The fingerprint ([`KeyId::fingerprint`](crate::guard::KeyId)) of the request's license key.
    pub key: Option<Fingerprint>,
    /// The HTTP status ORDS answered this request's own lookup with.
    pub upstream_status: Option<u16>,
    /// The signed verdict's code, when the answer is one.
    pub code: Option<&'static str>,
    /// The client address the limits used (the TCP peer, or via trusted proxies).
    pub client: Option<std::net::IpAddr>,
}

/// Set by [`ApiError`](super::ApiError)'s response: its error code, for the log line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoggedError(pub &'static str);

/// A fresh random request id: 16 hex digits.
pub(crate) fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The middleware: `axum::middleware::from_fn_with_state(metrics, log_and_measure)`,
/// added with `Router::layer` so the matched route is known.
pub(crate) async fn log_and_measure(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let _inflight = metrics.inflight();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let request_id = new_request_id();

    // Lines logged while answering (rate limited, ORDS unavailable…) carry the id too.
    let span = tracing::info_span!("request", request_id = request_id.as_str());
    let mut response = next.run(request).instrument(span).await;

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics.observe_request(&route, status, elapsed);
    let facts = response
        .extensions_mut()
        .remove::<RequestFacts>()
        .unwrap_or_default();
    let error = response
        .extensions_mut()
        .remove::<LoggedError>()
        .map(|e| e.0);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    log_line(&request_id, &method, &route, status, &facts, error, elapsed);
    response
}

fn log_line(
    request_id: &str,
    method: &http::Method,
    route: &str,
    status: u16,
    facts: &RequestFacts,
    error: Option<&str>,
    elapsed: Duration,
) {
    // The codes and the fingerprint are plain ASCII words: shown as they are, not
    // through `Debug`'s quoting and escaping, which costs more than the rest of them.
    use tracing::field::display;
    let upstream_status = facts.upstream_status;
    let key = facts.key.map(display);
    let code = facts.code.map(display);
    let error = error.map(display);
    let client = facts.client.map(|ip| display(ClientAddr(ip)));
    // Whole microseconds, shown in milliseconds: `0.285`, not `0.28477199999999997`.
    let latency_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "license_broker::request",
                request_id,
                %method,
                route,
                status,
                code,
                error,
                client,
                upstream_status,
                key,
                latency_ms,
                "request"
            )
        };
    }
    // Server faults are warnings; everything else, including 4xx and 429, is routine.
    if status >= 500 {
        line!(warn);
    } else {
        line!(info);
    }
}

/// The client address as the line shows it: what `IpAddr`'s `Display` writes, with an
/// IPv4 address spelled on the stack and written once (the standard one writes each of
/// its four numbers through the formatter, which costs more than the rest of the field).
struct ClientAddr(std::net::IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let std::net::IpAddr::V4(v4) = self.0 else {
            return self.0.fmt(f);
        };
        let mut text = [0u8; 15];
        let mut len = 0;
        for (i, octet) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                text[len] = b'.';
                len += 1;
            }
            if octet >= 100 {
                text[len] = b'0' + octet / 100;
                len += 1;
            }
            if octet >= 10 {
                text[len] = b'0' + octet / 10 % 10;
                len += 1;
            }
            text[len] = b'0' + octet % 10;
            len += 1;
        }
        f.write_str(std::str::from_utf8(&text[..len]).map_err(|_| std::fmt::Error)?)
    }
}

#[cfg(test)]
mod tests;
