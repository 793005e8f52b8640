//! Everything under the context root: find the alias, count, apply faults, then hand
//! over to the token endpoint or the resource handlers.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;

use crate::emulator::{Emulator, Inner};
use crate::faults::{self, Kind};
use crate::negotiate::{self, ErrorFormat};
use crate::problem::{self, NOT_MAPPED};
use crate::server::ConnKill;
use crate::{gateway, resource, token};

/// Request bodies beyond this are not read: a token request is a few dozen bytes.
const MAX_BODY: usize = 64 * 1024;

pub(crate) async fn dispatch(
    State(emulator): State<Emulator>,
    kill: Option<Extension<ConnKill>>,
    request: Request<Body>,
) -> Response {
    let inner = &emulator.inner;
    let (parts, body) = request.into_parts();
    let format = negotiate::error_format(&inner.options, &parts.method, &parts.headers);
    let not_found = |message: Option<&str>| {
        inner.stats().record_response("unmapped", "404");
        problem::problem(
            StatusCode::NOT_FOUND,
            message,
            format,
            inner.options.ecid_style,
        )
    };

    let root = inner.options.context_root.as_str();
    let Some(under_root) = parts
        .uri
        .path()
        .strip_prefix(root)
        .and_then(|p| p.strip_prefix('/'))
    else {
        inner.stats().endpoint("unmapped").requests += 1;
        return not_found(None);
    };
    let (alias, sub) = under_root.split_once('/').unwrap_or((under_root, ""));
    let Some(schema) = inner.schemas.iter().find(|s| s.alias == alias) else {
        inner.stats().endpoint("unmapped").requests += 1;
        return not_found(Some(NOT_MAPPED));
    };

    let method = parts.method.as_str();
    let mut seat = false;
    let (kind, key) = if sub == "oauth/token" {
        (Kind::Token, format!("{method} {root}/{alias}/oauth/token"))
    } else {
        let key = match schema.route(sub) {
            Some(r) => {
                seat = r.template.handlers.iter().any(|h| h.call.is_some());
                format!(
                    "{method} {root}/{alias}/{}{}",
                    r.module.base_path, r.template.raw
                )
            }
            None => format!("{method} {root}/{alias}/ (no template)"),
        };
        (Kind::Resource, key)
    };
    {
        let mut stats = inner.stats();
        match kind {
            Kind::Token => stats.token_requests += 1,
            Kind::Resource => stats.resource_requests += 1,
        }
        if seat {
            stats.seat_requests += 1;
        }
        stats.endpoint(&key).requests += 1;
    }

    let mut verdict = None;
    inner.faults.send_if_modified(|f| {
        let before = f.clone();
        verdict = Some(faults::decide(f, kind));
        *f != before
    });
    let verdict = verdict.unwrap_or_default();
    if let Some(ms) = verdict.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if verdict.stall {
        wait_while_stalled(inner).await;
    }
    if verdict.drop {
        {
            let mut stats = inner.stats();
            stats.dropped_connections += 1;
            stats.record_response(&key, "dropped");
        }
        if let Some(Extension(kill)) = kill {
            kill.kill();
        }
        // The connection task drops this future together with the connection.
        return std::future::pending().await;
    }

    let gateway = verdict
        .gateway_status
        .and_then(|s| StatusCode::from_u16(s).ok());
    let fault = verdict.status.and_then(|s| StatusCode::from_u16(s).ok());
    let mut response = if let Some(status) = gateway {
        // The gateway answers; ORDS never sees the request.
        gateway::page(status)
    } else if let Some(status) = fault {
        fault_response(inner, status, format)
    } else {
        let body = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(bytes) => bytes,
            Err(_) => {
                let status = StatusCode::PAYLOAD_TOO_LARGE;
                inner.stats().record_response(&key, status.as_str());
                return problem::problem(status, None, format, inner.options.ecid_style);
            }
        };
        match kind {
            Kind::Token => token::handle(inner, alias, &parts, &body, format),
            Kind::Resource => {
                resource::handle(inner, schema, &parts, sub, &body, verdict.seats, format).await
            }
        }
    };
    if let (Some(secs), true) = (
        verdict.retry_after_secs,
        gateway.is_some() || fault.is_some(),
    ) {
        gateway::retry_after(&mut response, secs);
    }
    if verdict.chunked {
        response = gateway::chunked(response).await;
    }
    inner
        .stats()
        .record_response(&key, response.status().as_str());
    response
}

fn fault_response(inner: &Inner, status: StatusCode, format: ErrorFormat) -> Response {
    if status.is_success() {
        // A success status with an error body would be a lie nobody asked for.
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        return response;
    }
    problem::problem(status, None, format, inner.options.ecid_style)
}

async fn wait_while_stalled(inner: &Inner) {
    let mut rx = inner.faults.subscribe();
    loop {
        if !rx.borrow_and_update().stall {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}
