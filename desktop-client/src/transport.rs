//! The HTTP calls: `POST {broker}/v1/license/{validate,activate,deactivate,machines}`,
//! all with the same body and the same signed answer.
//!
//! Tight connect and total timeouts (an app waits on this at start-up), the system
//! proxy (reqwest reads `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` by default), no redirects
//! (a redirect is not an answer), and a cap on the body. A 200 must be an envelope;
//! any other status is a transient failure whose error body is shown as its reason.

use std::time::Duration;

use license_shared::{Envelope, ErrorBody, ValidateRequest};

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
    #[error("the license server could not be reached: {0}")]
    Connect(String),
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
    #[error("the answer is not a signed verdict ({0}); a proxy or captive portal may be answering instead of the license server")]
    NotEnvelope(String),
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
}

impl Call {
    fn path(self) -> &'static str {
        match self {
            Self::Validate => "v1/license/validate",
            Self::Activate => "v1/license/activate",
            Self::Deactivate => "v1/license/deactivate",
            Self::Machines => "v1/license/machines",
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
        request: &ValidateRequest,
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
        request: &ValidateRequest,
    ) -> Result<Received, TransportError> {
        let url = self
            .base
            .join(call.path())
            .map_err(|e| TransportError::Connect(e.to_string()))?;
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
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        TransportError::Connect(shorten(&text))
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
