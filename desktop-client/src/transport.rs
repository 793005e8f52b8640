//! The HTTP calls: `POST {broker}/v1/license/{validate,activate,deactivate,machines}`,
//! all with the same body and the same signed answer.
//!
//! Tight connect and total timeouts (an app waits on this at start-up), the system
//! proxy (reqwest reads `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` by default), no redirects
//! (a redirect is not an answer), and a cap on the body. A 200 must be an envelope;
//! any other status is a transient failure whose error body is shown as its reason.

use std::time::Duration;

use license_shared::{Envelope, ErrorBody};

use crate::text::clean_text;

/// No verdict or error body comes close to this.
const BODY_CAP: usize = 64 * 1024;
/// The longest piece of broker text shown to a person.
const MESSAGE_CAP: usize = 200;

/// Why there is no answer to verify. All of these fall back to the cached lease.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("no broker URL is configured")]
    NoBrokerUrl,
    /// No connection, or it broke: `reason` in a few plain words ("connection
    /// refused"); `detail` the HTTP library's own chain of causes, for the log
    /// ([`TransportError::detail`]), never for the message.
    #[error("the license server could not be reached ({reason})")]
    Connect { reason: String, detail: String },
    /// No connection within the connect timeout (a blackholed address, a dead proxy).
    #[error("the license server could not be connected to within the {0} ms connect timeout")]
    ConnectTimeout(u128),
    /// Connected, but no complete answer within the total timeout.
    #[error("the license server did not answer within the {0} ms total timeout")]
    Timeout(u128),
    #[error("the license server answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the license server's answer is larger than {BODY_CAP} bytes")]
    TooLarge,
    /// An answer that is not an envelope; the parser's words are the detail.
    #[error("the answer is not a signed verdict; a proxy or captive portal may be answering instead of the license server")]
    NotEnvelope(String),
}

impl TransportError {
    /// What went wrong in the library's own words (the chain of causes of a failed
    /// connection, the parser's complaint about a body): for a log or a "details"
    /// view, not for the message a person reads first.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Connect { detail, .. } | Self::NotEnvelope(detail) => Some(detail),
            _ => None,
        }
    }
}

/// Which of the broker's endpoints a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// The start-up check.
    Validate,
    /// Claim a seat for this machine.
    Activate,
    /// Free this machine's seat, or another's by its id.
    Deactivate,
    /// List the machines holding the license's seats.
    Machines,
    /// Take or renew a floating license's seat for this running app.
    Checkout,
    /// Return this machine's floating seat.
    Checkin,
    /// Start (or find) this machine's trial of the app's product.
    Trial,
}

impl Call {
    fn path(self) -> &'static str {
        match self {
            Self::Validate => "v1/license/validate",
            Self::Activate => "v1/license/activate",
            Self::Deactivate => "v1/license/deactivate",
            Self::Machines => "v1/license/machines",
            Self::Checkout => "v1/license/checkout",
            Self::Checkin => "v1/license/checkin",
            Self::Trial => "v1/trial/start",
        }
    }
}

/// A 200 answer: the envelope and the exact text it came in, for the cache.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) envelope: Envelope,
    pub(crate) raw: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
    /// The broker's base URL, ending in `/`, so that the paths join under it.
    base: reqwest::Url,
    connect: Duration,
    total: Duration,
}

impl Transport {
    pub(crate) fn new(
        base: reqwest::Url,
        connect: Duration,
        total: Duration,
        user_agent: &str,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .redirect(reqwest::redirect::Policy::none())
            // One request per start-up: pooling buys nothing, and an idle connection
            // would outlive the short runtime `check_blocking` creates.
            .pool_max_idle_per_host(0)
            .user_agent(user_agent)
            .build()?;
        Ok(Self {
            client,
            base,
            connect,
            total,
        })
    }

    pub(crate) async fn post(
        &self,
        call: Call,
        request: &(impl serde::Serialize + Sync),
    ) -> Result<Received, TransportError> {
        // reqwest's timeout covers connect, headers and body; this outer one is a
        // backstop so that no code path here can outlast the promise to the app.
        // (Saturating: an app may pass `Duration::MAX` to mean no limit.)
        let budget = self.total.saturating_add(Duration::from_millis(250));
        match tokio::time::timeout(budget, self.send(call, request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout(self.total.as_millis())),
        }
    }

    async fn send(
        &self,
        call: Call,
        request: &(impl serde::Serialize + Sync),
    ) -> Result<Received, TransportError> {
        let url = self
            .base
            .join(call.path())
            .map_err(|e| TransportError::Connect {
                reason: "the license server URL is not usable".into(),
                detail: e.to_string(),
            })?;
        let mut response = self
            .client
            .post(url)
            .json(request)
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if body.len() + chunk.len() > BODY_CAP {
                return Err(TransportError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        if status != reqwest::StatusCode::OK {
            let mut message = error_message(status, &body);
            if let Some(wait) = retry_after(response.headers()) {
                if !message.contains("retry in") {
                    message.push_str(&format!("; retry in {wait} s"));
                }
            }
            return Err(TransportError::Status {
                status: status.as_u16(),
                message,
            });
        }
        let raw = String::from_utf8(body)
            .map_err(|_| TransportError::NotEnvelope("the body is not UTF-8".into()))?;
        let envelope = serde_json::from_str::<Envelope>(&raw)
            .map_err(|e| TransportError::NotEnvelope(shorten(&e.to_string())))?;
        Ok(Received { envelope, raw })
    }

    fn classify(&self, error: reqwest::Error) -> TransportError {
        if error.is_timeout() {
            // Name the limit that fired: a connect that never completes stops at the
            // connect timeout, long before the total one.
            return if error.is_connect() {
                TransportError::ConnectTimeout(self.connect.as_millis())
            } else {
                TransportError::Timeout(self.total.as_millis())
            };
        }
        // The chain of causes names the real problem (DNS, refused, TLS, proxy).
        let mut text = error.to_string();
        let mut io_kind = None;
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                io_kind = io_kind.or(Some(io.kind()));
            }
            source = cause.source();
        }
        TransportError::Connect {
            reason: plain_reason(io_kind, &text.to_ascii_lowercase()).into(),
            detail: shorten(&text),
        }
    }
}

/// A failed connection in a few words a person can act on, from the I/O error's kind
/// or, where the HTTP library says more than a kind (name resolution, TLS, a proxy),
/// from its text (`lower`, lower case).
fn plain_reason(io_kind: Option<std::io::ErrorKind>, lower: &str) -> &'static str {
    use std::io::ErrorKind as Kind;
    let says = |words: &[&str]| words.iter().any(|word| lower.contains(word));
    if says(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
    ]) {
        return "the server name could not be resolved; check the license server URL and the network";
    }
    if says(&["proxy"]) {
        return "the proxy refused or failed; check the proxy settings";
    }
    if says(&["certificate", "unknownissuer", "notvalidforname"]) {
        return "its certificate is not trusted; check the license server URL, or a proxy that intercepts HTTPS";
    }
    if says(&["tls", "handshake"]) {
        return "the secure connection (TLS) could not be set up";
    }
    match io_kind {
        Some(Kind::ConnectionRefused) => "connection refused",
        Some(Kind::ConnectionReset) => "the connection was reset",
        Some(Kind::ConnectionAborted | Kind::BrokenPipe | Kind::UnexpectedEof) => {
            "the connection closed before an answer"
        }
        Some(Kind::TimedOut) => "timed out",
        Some(Kind::NetworkUnreachable | Kind::HostUnreachable | Kind::NetworkDown) => {
            "no route to the server; check the network connection"
        }
        Some(Kind::AddrNotAvailable) => "the address is not available",
        _ if says(&["connection closed", "incomplete message"]) => {
            "the connection closed before an answer"
        }
        _ => "the network connection failed",
    }
}

/// A `Retry-After` in seconds (the broker sends seconds, never an HTTP date).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The broker's own message when the body is its error envelope, else the status.
fn error_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => shorten(&format!("{} ({})", error.message, error.error.as_str())),
        Err(_) if status.is_redirection() => {
            "a redirect, which the client does not follow; check the broker URL".into()
        }
        Err(_) => status
            .canonical_reason()
            .unwrap_or("unexpected status")
            .to_owned(),
    }
}

/// Server text goes to a terminal: keep it short and free of control and format
/// characters (see [`clean_text`]).
fn shorten(text: &str) -> String {
    let clean = clean_text(text);
    if clean.chars().count() > MESSAGE_CAP {
        let cut: String = clean.chars().take(MESSAGE_CAP).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_connection_reads_in_plain_words() {
        use std::io::ErrorKind as Kind;
        let refused =
            "client error (connect): tcp connect error: connection refused (os error 111)";
        assert_eq!(
            plain_reason(Some(Kind::ConnectionRefused), refused),
            "connection refused"
        );
        let dns = "client error (connect): dns error: failed to lookup address information";
        assert!(plain_reason(None, dns).starts_with("the server name could not be resolved"));
        assert_eq!(
            plain_reason(None, "something new"),
            "the network connection failed"
        );
        let error = TransportError::Connect {
            reason: "connection refused".into(),
            detail: refused.into(),
        };
        assert_eq!(
            error.to_string(),
            "the license server could not be reached (connection refused)"
        );
        assert_eq!(error.detail(), Some(refused));
    }

    #[test]
    fn error_bodies_become_short_clean_messages() {
        let status = reqwest::StatusCode::TOO_MANY_REQUESTS;
        let body = br#"{"error":"rate_limited","message":"slow\u001b[31m down"}"#;
        assert_eq!(error_message(status, body), "slow [31m down (rate_limited)");
        assert_eq!(error_message(status, b"<html>"), "Too Many Requests");
        let body = br#"{"error":"rate_limited","message":"wait\u202e 03 \u2066s\u2069"}"#;
        assert_eq!(error_message(status, body), "wait 03 s (rate_limited)");
        let long = "x".repeat(500);
        assert_eq!(shorten(&long).chars().count(), MESSAGE_CAP + 1);
    }
}
