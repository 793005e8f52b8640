//! The one way the broker talks to ORDS over HTTP: no redirects, tight timeouts, and
//! bodies read with a cap, so a hostile or broken upstream cannot make the broker
//! follow it elsewhere, wait forever, or buffer without bound.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Limits on every outbound call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundLimits {
    /// Time allowed to open the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time allowed for the whole exchange, body included.
    pub total_timeout: Duration,
    /// Largest response body read; anything longer is an error, not a truncation.
    pub max_body_bytes: usize,
}

impl Default for OutboundLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            // Inside the broker's 4 s request deadline (see `config_edge`).
            total_timeout: Duration::from_secs(3),
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Builds the reqwest client every outbound call uses.
pub(crate) fn client(limits: &OutboundLimits) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.total_timeout)
        .user_agent(concat!("license-broker/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why a body could not be read in full.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("response body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("response body could not be read: {0}")]
    Read(#[source] reqwest::Error),
}

/// Reads the body chunk by chunk and stops as soon as it passes `cap`.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        return Err(BodyError::TooLarge(cap));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// `Retry-After` in its delta-seconds form; an HTTP date is ignored (ORDS sends none)
/// and a huge value is capped so a misbehaving upstream cannot park the broker for days.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    const MAX: u64 = 3600;
    let seconds: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_caps_them() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3600)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
