//! `GET /offline`: the page where a person on any connected device (a phone will do)
//! pastes a request code and takes the response code away (as text, a QR code or a
//! file), or pastes a deactivation code to free a seat. One static page; its script
//! and style are served by the broker too, so it makes no request to any other site,
//! and a strict Content-Security-Policy holds it to that: no inline script, nothing
//! from elsewhere, no framing.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("offline_page/page.html");
const SCRIPT: &str = include_str!("offline_page/page.js");
const STYLE: &str = include_str!("offline_page/page.css");

/// Only the broker's own script, style and API; the QR code is a `data:` image.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; \
     base-uri 'none'";

pub(super) async fn page() -> Response {
    serve("text/html; charset=utf-8", PAGE)
}

pub(super) async fn script() -> Response {
    serve("text/javascript; charset=utf-8", SCRIPT)
}

pub(super) async fn style() -> Response {
    serve("text/css; charset=utf-8", STYLE)
}

fn serve(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_SECURITY_POLICY, CSP),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (X_FRAME_OPTIONS, "DENY"),
            (REFERRER_POLICY, "no-referrer"),
            (CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
