//! Protected and public resources: the privilege check, then the handler.
//!
//! The order matters: a URI covered by a privilege answers 401 before ORDS even looks
//! for a template, so probing without a token reveals nothing. Without credentials the
//! 401 carries no `WWW-Authenticate` (the 22.1 transcript shows none); a bearer token
//! that is unknown, expired, from another alias or lacks the role gets the
//! `invalid_token` challenge. Never 403: ORDS reports failed authorization as 401.

use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha512};

use crate::emulator::Inner;
use crate::license::{Record, Render};
use crate::model::{Handler, Route, Schema};
use crate::negotiate::ErrorFormat;
use crate::options::PrivilegeWithoutRoles;
use crate::problem;
use crate::seats::{self, SeatFault};
use crate::shapes;

pub(crate) async fn handle(
    inner: &Inner,
    schema: &Schema,
    parts: &Parts,
    sub: &str,
    body: &[u8],
    seat_fault: SeatFault,
    format: ErrorFormat,
) -> Response {
    let ecid = inner.options.ecid_style;
    if let Some(roles) = schema.required_roles(&format!("/{sub}")) {
        match authorize(inner, &schema.alias, &parts.headers, roles) {
            Access::Granted => {}
            Access::NoCredentials => {
                return problem::problem(StatusCode::UNAUTHORIZED, None, format, ecid)
            }
            Access::InvalidToken => return problem::invalid_token(format, ecid),
        }
    }
    let Some(route) = schema.route(sub) else {
        return problem::problem(StatusCode::NOT_FOUND, None, format, ecid);
    };
    let method = if parts.method == Method::HEAD {
        "GET"
    } else {
        parts.method.as_str()
    };
    let Some(handler) = route.template.handlers.iter().find(|h| h.method == method) else {
        let mut response = problem::problem(StatusCode::METHOD_NOT_ALLOWED, None, format, ecid);
        let allow: Vec<&str> = route
            .template
            .handlers
            .iter()
            .map(|h| h.method.as_str())
            .collect();
        if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
            response.headers_mut().insert(header::ALLOW, v);
        }
        return response;
    };
    if let Some(procedure) = handler.call {
        let id = route
            .binds
            .iter()
            .find(|(n, _)| n == "id")
            .map_or("", |(_, v)| v.as_str());
        return seats::handle(inner, procedure, id, body, seat_fault, format).await;
    }
    let rows = match select(inner, &route, handler) {
        Ok(rows) => rows,
        // ORDS answers a failing handler query with 555 and the database error.
        Err(ora) => return problem::user_defined_error(ora, format, ecid),
    };
    let request = shapes::RequestUrl::new(&inner.options.context_root, &schema.alias, parts);
    let per_page = handler
        .items_per_page
        .or(route.module.items_per_page)
        .unwrap_or(inner.options.items_per_page);
    let render = Render::of(&inner.options);
    match shapes::render(&request, &route, handler, &rows, per_page, render) {
        Some(body) => with_etag(&parts.headers, body),
        None => problem::problem(StatusCode::NOT_FOUND, None, format, ecid),
    }
}

enum Access {
    Granted,
    NoCredentials,
    InvalidToken,
}

fn authorize(inner: &Inner, alias: &str, headers: &HeaderMap, roles: &[String]) -> Access {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Access::NoCredentials;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return Access::NoCredentials;
    };
    // Another scheme (Basic) is not an OAuth credential: ORDS treats it as none.
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Access::NoCredentials;
    }
    let now = inner.clock.now();
    let state = inner.state();
    let Some(t) = state.tokens.get(token.trim()) else {
        return Access::InvalidToken;
    };
    if t.alias != alias || now >= t.expires_at {
        return Access::InvalidToken;
    }
    let Some(client) = state.client_by_id(alias, &t.client_id) else {
        return Access::InvalidToken;
    };
    let granted = if roles.is_empty() {
        inner.options.privilege_without_roles == PrivilegeWithoutRoles::AnyAuthenticated
    } else {
        client.roles.iter().any(|r| roles.contains(r))
    };
    if granted {
        Access::Granted
    } else {
        Access::InvalidToken
    }
}

/// The rows a handler's query returns, ordered by primary key.
fn select(
    inner: &Inner,
    route: &Route<'_>,
    handler: &Handler,
) -> Result<Vec<Record>, &'static str> {
    let state = inner.state();
    let mut rows = Vec::new();
    for row in state.licenses.values() {
        let keep = match &handler.filter {
            None => true,
            Some((column, bind)) => {
                let value = route
                    .binds
                    .iter()
                    .find(|(n, _)| n == bind)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("");
                column.matches(row, value)?
            }
        };
        if keep {
            rows.push(row.clone());
        }
    }
    Ok(rows)
}

/// A 200 with `ETag` (SHA-512 of the body, like ORDS's default `HASH` etag type), or
/// a 304 when the client already holds that version.
fn with_etag(headers: &HeaderMap, body: String) -> Response {
    let etag = format!("\"{}\"", STANDARD.encode(Sha512::digest(body.as_bytes())));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::ETAG, etag),
        ],
        body,
    )
        .into_response()
}
