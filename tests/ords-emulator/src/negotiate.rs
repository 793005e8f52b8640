//! `error.responseFormat=auto`: whether an error is answered as JSON or as HTML.
//!
//! ORDS 20.4+ documents these rules (the ORDS PM's draft of the Developer's Guide):
//! HTML when `Accept` prefers `text/html`, or when a request with `Origin` is a
//! form-encoded POST; JSON when `Accept` prefers `application/json` or
//! `application/problem+json`, or `X-Requested-With` is present, or `User-Agent`
//! starts with `curl/`, or `Origin` is present. When no rule matches ORDS keeps its
//! old behaviour, which we infer is HTML (`auto_fallback_format`). The consequence
//! that bites integrators: a programmatic client that sends no `Accept` gets HTML.

use axum::http::{header, HeaderMap, Method};

use crate::options::{EmulatorOptions, ResponseFormat};

/// The two concrete error formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    /// `application/problem+json`.
    Json,
    /// `text/html`.
    Html,
}

/// Picks the error format for a request.
pub fn error_format(
    options: &EmulatorOptions,
    method: &Method,
    headers: &HeaderMap,
) -> ErrorFormat {
    match options.error_response_format {
        ResponseFormat::Json => return ErrorFormat::Json,
        ResponseFormat::Html => return ErrorFormat::Html,
        ResponseFormat::Auto => {}
    }
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(preferred) = text(header::ACCEPT).and_then(accept_preference) {
        return preferred;
    }
    let origin = headers.contains_key(header::ORIGIN);
    let form = text(header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if origin && method == Method::POST && form {
        return ErrorFormat::Html;
    }
    let curl = text(header::USER_AGENT).is_some_and(|ua| ua.starts_with("curl/"));
    if origin || curl || headers.contains_key("x-requested-with") {
        return ErrorFormat::Json;
    }
    match options.auto_fallback_format {
        ResponseFormat::Json => ErrorFormat::Json,
        _ => ErrorFormat::Html,
    }
}

/// Which of HTML or JSON an `Accept` header prefers: the higher quality wins, and on a
/// tie the one listed first. Wildcards (`*/*`, `text/*`) express no preference.
fn accept_preference(accept: &str) -> Option<ErrorFormat> {
    let mut best: Option<(f32, ErrorFormat)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match media.as_str() {
            "text/html" | "application/xhtml+xml" => ErrorFormat::Html,
            "application/json" | "application/problem+json" => ErrorFormat::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, format));
        }
    }
    best.map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_quality() {
        assert_eq!(
            accept_preference("text/html,application/json;q=0.9"),
            Some(ErrorFormat::Html)
        );
        assert_eq!(
            accept_preference("text/html;q=0.5, application/json"),
            Some(ErrorFormat::Json)
        );
        assert_eq!(accept_preference("*/*"), None);
        assert_eq!(accept_preference("application/json;q=0"), None);
    }
}
