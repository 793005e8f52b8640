//! The real token fetch: the `oauth2` crate's client-credentials grant, carried by a
//! status-aware HTTP client of our own.
//!
//! Why the wrapper: `RequestTokenError` hides the HTTP status (oauth2-rs #302), so an
//! ORDS 401 problem body, a load balancer's 503 HTML page and a malformed 200 would all
//! look alike (`Parse`). [`StatusAware`] implements `oauth2::AsyncHttpClient` over
//! [`crate::ords::outbound::client`] (no redirects, timeouts), reads the body with
//! [`crate::ords::outbound::read_capped`] (`oauth2`'s own reqwest glue reads without a cap),
//! and notes the status and `Retry-After` on the side, so [`classify`] can decide
//! transient or permanent from facts rather than from `oauth2`'s error shape.
//!
//! `RequestTokenError::Parse` keeps the raw body, which for a 200 holds the token; it is
//! never formatted here, only its JSON path is kept (and only if it names a known field).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, RequestTokenError, StandardRevocableToken, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};

use super::config::TokenConfig;
use super::fetch::{safe_oauth_code, Cause, Fetch, FetchError, Grant};
use super::response::OrdsTokenResponse;
use crate::ords::outbound::{self, BodyError};

/// `oauth2::BasicClient` with our lenient token response and only the token URL set.
type OrdsClient = oauth2::Client<
    BasicErrorResponse,
    OrdsTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Fetches tokens from ORDS over HTTP. Holds no secret: the owner passes it per call,
/// so a rotated secret is used as soon as it is re-read.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    http: reqwest::Client,
    token_url: TokenUrl,
    client_id: ClientId,
    max_body: usize,
    /// What to check when the endpoint answers 404 (see [`advice_for_404`]).
    advice_404: String,
}

impl HttpFetcher {
    /// Builds the outbound client from the configured limits.
    pub fn new(config: &TokenConfig) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: outbound::client(&config.limits)?,
            token_url: TokenUrl::from_url(config.token_url.clone()),
            client_id: ClientId::new(config.client_id.clone()),
            max_body: config.limits.max_body_bytes,
            advice_404: advice_for_404(&config.token_url),
        })
    }

    /// A 404 names the setting to fix; every other failure is as classified.
    fn explain(&self, mut error: FetchError) -> FetchError {
        if matches!(error.cause, Cause::Status { status: 404, .. }) {
            error.cause = Cause::NoTokenEndpoint {
                advice: self.advice_404.clone(),
            };
        }
        error
    }
}

/// ORDS answers 404 for a schema alias it does not know and for a path outside any
/// alias, so a token endpoint that is "not found" almost always means the base URL
/// lacks `/ords/<alias>` or names the wrong alias. The URL is shown: the loader
/// refuses URLs with credentials, queries or fragments, so it holds nothing secret.
fn advice_for_404(token_url: &url::Url) -> String {
    let text = token_url.as_str();
    match text.strip_suffix("/oauth/token") {
        Some(base) => format!(
            "check {} ({base}): it must end with /ords/<alias>, the URL alias the schema was REST-enabled with (ORDS answers 404 for an unknown alias); the token endpoint is <base>/oauth/token",
            crate::config::vars::ORDS_BASE_URL
        ),
        None => format!(
            "check {} ({text}): ORDS serves tokens at https://host/ords/<alias>/oauth/token",
            crate::config::vars::TOKEN_URL
        ),
    }
}

impl Fetch for HttpFetcher {
    fn fetch(
        &self,
        secret: &SecretString,
    ) -> impl Future<Output = Result<Grant, FetchError>> + Send {
        // The `oauth2` client is rebuilt per fetch (it is a few small fields) because it
        // owns the secret, and the secret may have been re-read since the last fetch.
        let client: OrdsClient = oauth2::Client::new(self.client_id.clone())
            .set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()))
            .set_auth_type(AuthType::BasicAuth)
            .set_token_uri(self.token_url.clone());
        async move {
            let wire = StatusAware {
                http: self.http.clone(),
                cap: self.max_body,
                seen: Mutex::new(None),
            };
            let result = client
                .exchange_client_credentials()
                .request_async(&wire)
                .await;
            classify(result, wire.seen()).map_err(|e| self.explain(e))
        }
    }
}

/// What the wrapper saw of the response before handing it to `oauth2`.
#[derive(Debug, Clone, Copy)]
struct Seen {
    status: u16,
    retry_after: Option<Duration>,
}

/// The wrapper's own transport error; a unit-like enum, so nothing from the wire
/// (URL, body, header) can end up in it.
#[derive(Debug, thiserror::Error)]
enum WireError {
    #[error("request cannot be built")]
    Build,
    #[error("connect failed")]
    Connect,
    #[error("connection refused")]
    Refused,
    #[error("TLS handshake failed")]
    Tls,
    #[error("DNS lookup failed")]
    Dns,
    #[error("timed out")]
    Timeout,
    #[error("transport error")]
    Transport,
    #[error("body too large")]
    TooLarge,
}

impl WireError {
    fn from_reqwest(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connect() {
            connect_failure(e)
        } else if e.is_builder() {
            Self::Build
        } else {
            Self::Transport
        }
    }

    fn into_fetch_error(self) -> FetchError {
        match self {
            Self::Build => FetchError::permanent(Cause::Request),
            Self::Connect => FetchError::transient(Cause::Connect),
            Self::Refused => FetchError::transient(Cause::ConnectRefused),
            Self::Tls => FetchError::transient(Cause::Tls),
            Self::Dns => FetchError::transient(Cause::Dns),
            Self::Timeout => FetchError::transient(Cause::Timeout),
            Self::Transport => FetchError::transient(Cause::Transport),
            Self::TooLarge => FetchError::transient(Cause::BodyTooLarge),
        }
    }
}

/// Why a connect failed, from the error's `source()` chain: an `io::Error` of kind
/// `ConnectionRefused`, a `rustls::Error` (hyper-util wraps tokio-rustls's
/// `io::Error` in another, and `io::Error::source()` skips the error it wraps, so
/// `get_ref()` is followed down instead), or
/// hyper-util's resolver error, whose type is private and whose text starts with
/// `dns error`. Only the kind is kept: the chain's texts may name the URL.
fn connect_failure(e: &reqwest::Error) -> WireError {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.is::<rustls::Error>() {
            return WireError::Tls;
        }
        // io::Error inside io::Error (hyper-util wraps tokio-rustls's) down to rustls.
        let mut io = err.downcast_ref::<std::io::Error>();
        while let Some(e) = io {
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                return WireError::Refused;
            }
            let inner = e.get_ref();
            if inner.is_some_and(|inner| inner.is::<rustls::Error>()) {
                return WireError::Tls;
            }
            io = inner.and_then(|inner| inner.downcast_ref::<std::io::Error>());
        }
        let text = err.to_string();
        if text.starts_with("dns error") || text.contains("failed to lookup address") {
            return WireError::Dns;
        }
        next = err.source();
    }
    WireError::Connect
}

/// An `oauth2` HTTP client that records status and `Retry-After` and caps the body.
struct StatusAware {
    /// Owned (a reqwest client is an `Arc`): a borrowed one trips rustc's higher-ranked
    /// `Send` check on the returned future.
    http: reqwest::Client,
    cap: usize,
    seen: Mutex<Option<Seen>>,
}

impl StatusAware {
    fn seen(&self) -> Option<Seen> {
        *self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<'c> AsyncHttpClient<'c> for StatusAware {
    type Error = WireError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, WireError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(|_| WireError::Build)?;
            let response = self
                .http
                .execute(request)
                .await
                .map_err(|e| WireError::from_reqwest(&e))?;
            let status = response.status();
            let headers = response.headers().clone();
            *self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Seen {
                status: status.as_u16(),
                retry_after: outbound::retry_after(&headers),
            });
            let body = outbound::read_capped(response, self.cap)
                .await
                .map_err(|e| match e {
                    BodyError::TooLarge(_) => WireError::TooLarge,
                    BodyError::Read(e) => WireError::from_reqwest(&e),
                })?;
            let mut builder = http::Response::builder().status(status);
            if let Some(headers_mut) = builder.headers_mut() {
                *headers_mut = headers;
            }
            builder
                .body(body.to_vec())
                .map_err(|_| WireError::Transport)
        })
    }
}

/// Turns `oauth2`'s answer plus what the wrapper saw into a grant or a classified error.
fn classify(
    result: Result<OrdsTokenResponse, RequestTokenError<WireError, BasicErrorResponse>>,
    seen: Option<Seen>,
) -> Result<Grant, FetchError> {
    let err = match result {
        Ok(response) if *response.token_type() != BasicTokenType::Bearer => {
            return Err(FetchError::permanent(Cause::NotBearer))
        }
        Ok(response) => {
            return Ok(Grant {
                access_token: SecretString::from(response.access_token().secret().to_owned()),
                expires_in: response.raw_expires_in(),
            })
        }
        Err(RequestTokenError::Request(wire)) => return Err(wire.into_fetch_error()),
        Err(err) => err,
    };
    let Some(seen) = seen else {
        // `oauth2` failed before any response (it could not prepare the request).
        return Err(FetchError::permanent(Cause::Request));
    };
    if seen.status == 200 {
        let field = match &err {
            RequestTokenError::Parse(e, _body) => known_field(&e.path().to_string()),
            _ => "(body)".to_owned(),
        };
        let mut error = FetchError::transient(Cause::Malformed { field });
        error.retry_after = seen.retry_after;
        return Err(error);
    }
    let code = match &err {
        RequestTokenError::ServerResponse(response) => safe_oauth_code(response.error().as_ref()),
        _ => None,
    };
    Err(FetchError::from_status(seen.status, code, seen.retry_after))
}

/// The JSON path of a parse failure, if it is one of the fields we read.
fn known_field(path: &str) -> String {
    match path {
        "access_token" | "token_type" | "expires_in" => path.to_owned(),
        _ => "(body)".to_owned(),
    }
}

#[cfg(test)]
mod tests;
