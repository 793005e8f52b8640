//! `POST /ords/{alias}/oauth/token`: the client credentials grant.
//!
//! Success is byte-for-byte ORDS: compact JSON with `access_token`, `token_type`
//! (lower-case `bearer`) and `expires_in` (a number) in that order, no `scope`, no
//! `refresh_token`, and a new token on every call. Refusals are 401 (bad or missing
//! client credentials) with ORDS's problem body by default; the body style and the
//! status for GET are guesses and therefore options.

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;
use time::Duration;

use crate::emulator::Inner;
use crate::ids;
use crate::negotiate::ErrorFormat;
use crate::options::TokenErrorStyle;
use crate::problem;
use crate::route::{parse_form, percent_decode};
use crate::state::{State, Token};

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// Why a token request was refused, in RFC 6749 terms.
enum Refusal {
    InvalidClient { used_basic: bool },
    InvalidRequest,
    UnsupportedGrantType,
    UnauthorizedClient,
}

pub(crate) fn handle(
    inner: &Inner,
    alias: &str,
    parts: &Parts,
    body: &Bytes,
    format: ErrorFormat,
) -> Response {
    if parts.method != Method::POST {
        let status = StatusCode::from_u16(inner.options.token_get_status)
            .unwrap_or(StatusCode::METHOD_NOT_ALLOWED);
        let mut response = problem::problem(status, None, format, inner.options.ecid_style);
        if status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        return response;
    }
    match issue(inner, alias, parts, body) {
        Ok(response) => response,
        Err(refusal) => refuse(inner, refusal, format),
    }
}

fn issue(inner: &Inner, alias: &str, parts: &Parts, body: &Bytes) -> Result<Response, Refusal> {
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let form = if is_form {
        parse_form(&String::from_utf8_lossy(body))
    } else {
        Vec::new()
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    let basic = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_credentials);
    let used_basic = basic.is_some();
    let credentials = match basic {
        Some(c) => Some(c),
        None if inner.options.allow_client_secret_post => {
            match (field("client_id"), field("client_secret")) {
                (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
                _ => None,
            }
        }
        None => None,
    };
    let Some((client_id, secret)) = credentials else {
        return Err(Refusal::InvalidClient { used_basic });
    };

    let now = inner.clock.now();
    let mut state = inner.state();
    let client = state
        .client_by_id(alias, &client_id)
        .ok_or(Refusal::InvalidClient { used_basic })?;
    let slot = State::secret_slot(client, &secret).ok_or(Refusal::InvalidClient { used_basic })?;
    match field("grant_type") {
        None => return Err(Refusal::InvalidRequest),
        Some("client_credentials") => {}
        Some(_) => return Err(Refusal::UnsupportedGrantType),
    }
    if client.grant_type != "client_credentials" {
        return Err(Refusal::UnauthorizedClient);
    }
    let lifetime = client
        .token_duration
        .unwrap_or(inner.options.token_lifetime_secs);
    let token = Token {
        client_id: client.client_id.clone(),
        alias: alias.to_owned(),
        slot,
        expires_at: now + Duration::seconds(i64::try_from(lifetime).unwrap_or(i64::MAX / 2)),
    };
    // Forget expired tokens so a long test run does not grow the map without bound.
    state.tokens.retain(|_, t| t.expires_at > now);
    let access_token = ids::access_token();
    state.tokens.insert(access_token.clone(), token);
    drop(state);
    inner.stats().tokens_issued += 1;

    let body = TokenResponse {
        access_token,
        token_type: "bearer",
        expires_in: lifetime,
    };
    let json = serde_json::to_string(&body).unwrap_or_default();
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        ],
        json,
    )
        .into_response())
}

fn refuse(inner: &Inner, refusal: Refusal, format: ErrorFormat) -> Response {
    match inner.options.token_error_style {
        TokenErrorStyle::Problem => problem::problem(
            StatusCode::UNAUTHORIZED,
            None,
            format,
            inner.options.ecid_style,
        ),
        TokenErrorStyle::Rfc6749 => {
            let (status, error) = match refusal {
                Refusal::InvalidClient { .. } => (StatusCode::UNAUTHORIZED, "invalid_client"),
                Refusal::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request"),
                Refusal::UnsupportedGrantType => {
                    (StatusCode::BAD_REQUEST, "unsupported_grant_type")
                }
                Refusal::UnauthorizedClient => (StatusCode::BAD_REQUEST, "unauthorized_client"),
            };
            let mut response = (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{{\"error\":\"{error}\"}}"),
            )
                .into_response();
            // RFC 6749 section 5.2 (https://www.rfc-editor.org/rfc/rfc6749#section-5.2): a failed Basic authentication answers with a challenge.
            if let Refusal::InvalidClient { used_basic: true } = refusal {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="Oracle REST Data Services""#),
                );
            }
            response
        }
    }
}

/// `Basic base64(id:secret)`; RFC 6749 section 2.3.1 (https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1) form-encodes both parts first.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((percent_decode(id), percent_decode(secret)))
}
