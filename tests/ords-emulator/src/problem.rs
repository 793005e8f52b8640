//! ORDS error responses: the problem JSON body, its HTML twin, and the bearer header.
//!
//! The JSON body is exactly what ORDS 22.1 sends: four members in this order,
//! pretty-printed with four spaces, followed by one newline (the transcript's
//! `Content-Length: 183` for a 182-byte body), with a fresh ecid per request:
//!
//! ```text
//! {
//!     "code": "Unauthorized",
//!     "message": "Unauthorized",
//!     "type": "tag:oracle.com,2020:error/Unauthorized",
//!     "instance": "tag:oracle.com,2020:ecid/w4UbuYdZgYcyPtP86tRUrg"
//! }
//! ```

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ids;
use crate::negotiate::ErrorFormat;
use crate::options::EcidStyle;

/// `WWW-Authenticate` on 401s for bad, expired or insufficient bearer tokens.
pub const INVALID_TOKEN: &str =
    r#"Bearer realm="Oracle REST Data Services", error="invalid_token""#;

/// Message of the 404 for a URL that matches no schema alias.
pub const NOT_MAPPED: &str = "The request could not be mapped to any database. Check the request URL is correct, and that URL to database mappings have been correctly configured";

#[derive(Serialize)]
struct Problem<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
    #[serde(rename = "type")]
    kind: String,
    instance: String,
}

/// ORDS's `code` and default `message` for a status.
fn code_and_message(status: StatusCode) -> (String, String) {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = match status.as_u16() {
        555 => "UserDefinedResourceError".to_owned(),
        _ => reason.split([' ', '-']).collect::<String>(),
    };
    let message = match status.as_u16() {
        555 => "User Defined Resource Error".to_owned(),
        _ => reason.to_owned(),
    };
    (code, message)
}

/// An error response in the negotiated format. `message` overrides the status's
/// default message (the "could not be mapped" 404, for one).
pub fn problem(
    status: StatusCode,
    message: Option<&str>,
    format: ErrorFormat,
    ecid: EcidStyle,
) -> Response {
    problem_with_cause(status, message, None, format, ecid)
}

/// The 555 "User Defined Resource Error" ORDS answers when a handler's SQL or PL/SQL
/// raises an error it does not handle: `code` `UserDefinedResourceError`, and the
/// database error (`ORA-01722: invalid number`) in `message` and in `cause`
/// (https://www.thatjeffsmith.com/archive/2018/10/preventing-500-status-codes-with-oracle-rest-data-services/,
/// https://peterobrien.blog/tag/chatgpt/). The exact member set beyond `code` and the
/// ORA text is a guess.
pub fn user_defined_error(ora: &str, format: ErrorFormat, ecid: EcidStyle) -> Response {
    let number = ora
        .strip_prefix("ORA-")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    let message = format!(
        "The request could not be processed because an error occurred whilst attempting to evaluate the SQL statement associated with this resource. Please check the SQL statement is correctly formed and executes without error. SQL Error Code: {number}, Error Message: {ora}"
    );
    let status = StatusCode::from_u16(555).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    problem_with_cause(status, Some(&message), Some(ora), format, ecid)
}

fn problem_with_cause(
    status: StatusCode,
    message: Option<&str>,
    cause: Option<&str>,
    format: ErrorFormat,
    ecid: EcidStyle,
) -> Response {
    let (code, default_message) = code_and_message(status);
    let message = message.unwrap_or(&default_message);
    let instance = format!(
        "tag:oracle.com,2020:ecid/{}",
        ids::ecid(ecid == EcidStyle::Hex)
    );
    match format {
        ErrorFormat::Json => {
            let body = Problem {
                code: &code,
                message,
                cause,
                kind: format!("tag:oracle.com,2020:error/{code}"),
                instance,
            };
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
            if body.serialize(&mut ser).is_err() {
                return status.into_response();
            }
            out.push(b'\n');
            (
                status,
                [(header::CONTENT_TYPE, "application/problem+json")],
                out,
            )
                .into_response()
        }
        ErrorFormat::Html => {
            let title = format!("{} {}", status.as_u16(), default_message);
            let body = format!(
                "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n<p>{}</p>\n<p>{instance}</p>\n</body>\n</html>\n",
                html_escape(message)
            );
            (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
        }
    }
}

/// A 401 for a bearer token that is unknown, expired, from another alias, or whose
/// client lacks the role: the problem body plus `WWW-Authenticate ... invalid_token`.
pub fn invalid_token(format: ErrorFormat, ecid: EcidStyle) -> Response {
    let mut response = problem(StatusCode::UNAUTHORIZED, None, format, ecid);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(INVALID_TOKEN),
    );
    response
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
