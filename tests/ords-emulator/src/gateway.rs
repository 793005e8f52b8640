//! What a client meets when something sits between it and ORDS: a load balancer or
//! reverse proxy answering with its own HTML page, and answers streamed with
//! `Transfer-Encoding: chunked`.
//!
//! * An OCI load balancer's 502 is `Content-Type: text/html` with no ORDS body
//!   (https://docs.oracle.com/en-us/iaas/Content/Balance/Reference/troubleshooting_load_balancer.htm);
//!   the page here is nginx's default error page with `server_tokens off`
//!   (https://github.com/nginx/nginx/blob/master/src/http/ngx_http_special_response.c;
//!   current releases, older ones write `<body bgcolor="white">`), CRLF line ends
//!   included.
//! * The ORDS 22.1 transcript's token answer has `Transfer-Encoding: chunked` and no
//!   `Content-Length`
//!   (https://github.com/oracle/microservices-datadriven/blob/1aba4b1e50ef0130cc1efc6b90a1097efd8bc103/workshops/dcms-ords-sec/oauth_ords/three-legged-oauth.md).
//!   hyper chunks an HTTP/1.1 body whose size it does not know, so [`chunked`] hands
//!   it a body that never tells.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Frame;

/// The title nginx gives a status: its own wording where it has one.
fn title(status: StatusCode) -> String {
    let reason = match status.as_u16() {
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    format!("{} {reason}", status.as_u16())
}

/// nginx's error page for `status`, e.g. for 502:
///
/// ```text
/// <html>
/// <head><title>502 Bad Gateway</title></head>
/// <body>
/// <center><h1>502 Bad Gateway</h1></center>
/// <hr><center>nginx</center>
/// </body>
/// </html>
/// ```
pub(crate) fn page_body(status: StatusCode) -> String {
    let t = title(status);
    format!(
        "<html>\r\n<head><title>{t}</title></head>\r\n<body>\r\n<center><h1>{t}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// A gateway's answer: `status`, `Content-Type: text/html`, [`page_body`].
pub(crate) fn page(status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        page_body(status),
    )
        .into_response()
}

/// Adds `Retry-After: secs` when `response` is a 429 or a 503.
pub(crate) fn retry_after(response: &mut Response, secs: u64) {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

/// The same answer, sent with `Transfer-Encoding: chunked` and no `Content-Length`.
pub(crate) async fn chunked(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::new(UnsizedBody(Some(bytes))))
}

/// One data frame whose length the body does not announce.
struct UnsizedBody(Option<Bytes>);

impl hyper::body::Body for UnsizedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.get_mut().0.take().filter(|b| !b.is_empty());
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }
    // The default `size_hint` (no exact size) is the point: hyper then chunks.
}
