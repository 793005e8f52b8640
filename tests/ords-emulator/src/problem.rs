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
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    message: &'a str,
    #[serde(rename = "o:errorCode", skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    #[serde(rename = "type")]
    kind: String,
    instance: String,
}

/// The members a 555 carries beyond the four of every problem body.
struct Detail<'a> {
    title: &'a str,
    error_code: &'a str,
    cause: &'a str,
    action: &'a str,
}

/// The 555's `title`, `message`, `o:errorCode` and `action`, fixed texts.
const UDR_TITLE: &str = "User Defined Resource Error";
const UDR_MESSAGE: &str =
    "The request could not be processed due to an error in a user defined resource";
const UDR_ERROR_CODE: &str = "ORDS-25001";
const UDR_ACTION: &str = "Ask the user defined resource author to check the SQL statement is correctly formed and executes without error";

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
    problem_with_detail(status, message, None, format, ecid)
}

/// The 555 "User Defined Resource Error" ORDS answers when a handler's SQL or PL/SQL
/// raises an error it does not handle. Eight members in this order, as responses
/// recorded from a production ORDS show them (the Spring client's messages kept as
/// test fixtures in github.com/navikt/testnorge,
/// `apps/dolly-backend/src/test/java/no/nav/dolly/bestilling/arenaforvalter/service/ArenaBrukerServiceTest.java`):
/// `code` `UserDefinedResourceError`, `title` "User Defined Resource Error", a fixed
/// `message`, `"o:errorCode"` (ORDS-25001), `cause` "An error occurred when evaluating
/// the SQL statement associated with this resource. SQL Error Code N, Error Message:
/// ORA-…" followed by the error stack, one line each, ending in "ORA-06512: at line 1"
/// and a newline, a fixed `action`, then `type` and `instance`.
pub fn user_defined_error(ora: &str, format: ErrorFormat, ecid: EcidStyle) -> Response {
    let number = ora
        .strip_prefix("ORA-")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    let cause = format!(
        "An error occurred when evaluating the SQL statement associated with this resource. SQL Error Code {number}, Error Message: {ora}\nORA-06512: at line 1\n"
    );
    let status = StatusCode::from_u16(555).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let detail = Detail {
        title: UDR_TITLE,
        error_code: UDR_ERROR_CODE,
        cause: &cause,
        action: UDR_ACTION,
    };
    problem_with_detail(status, Some(UDR_MESSAGE), Some(detail), format, ecid)
}

fn problem_with_detail(
    status: StatusCode,
    message: Option<&str>,
    detail: Option<Detail<'_>>,
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
                title: detail.as_ref().map(|d| d.title),
                message,
                error_code: detail.as_ref().map(|d| d.error_code),
                cause: detail.as_ref().map(|d| d.cause),
                action: detail.as_ref().map(|d| d.action),
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
