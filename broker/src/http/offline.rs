//! Offline activation over HTTP: `POST /v1/license/offline/activate` reads a request
//! code and answers a response code; `POST /v1/license/offline/deactivate` reads a
//! deactivation code and answers the signed verdict; `GET /offline` is the page a
//! person uses for both (see `offline_page`).
//!
//! Both codes become the same checked request an online client sends, and go through
//! the same checks, limits and verdict service (`validate::decide`); what differs is
//! only how the request arrives and how the answer leaves. The verdict of an offline
//! activation names the request's device key in its signed `request`, so only the
//! machine holding that key's private half takes it as its own.

use axum::response::Response;
use license_shared::{
    activation_ref, CodeError, Envelope, OfflineDeactivation, OfflineRequest, OfflineResponse,
    VerdictCode, VerdictPayload,
};
use serde::Deserialize;

use super::error::ApiError;
use super::validate::{json_no_store, Asked, Decided};
use crate::verdict::Operation;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateBody {
    request: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeactivateBody {
    code: String,
}

/// `{"request": "<code>"}`: the activation the request code asks for.
pub(super) fn activation(body: &[u8]) -> Result<Asked, ApiError> {
    let body: ActivateBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidRequest(format!("request body: {e}")))?;
    let code = OfflineRequest::from_code(&body.request).map_err(bad_code("request"))?;
    Ok(Asked {
        request: code.validate_request(),
        operation: Operation::Activate {
            machine_name: None,
            activation_ref: Some(activation_ref(&code.device_key)),
        },
        device_key: Some(code.device_key_text()),
    })
}

/// `{"code": "<code>"}`: the deactivation, once its device signature verifies. A
/// code whose signature does not verify frees nothing and reaches no seat store; one
/// that verifies frees this machine's seat only while it belongs to the activation of
/// that device key (the seat store matches its name).
pub(super) fn deactivation(body: &[u8]) -> Result<Asked, ApiError> {
    let body: DeactivateBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidRequest(format!("request body: {e}")))?;
    let code = OfflineDeactivation::from_code(&body.code).map_err(bad_code("code"))?;
    code.verify().map_err(bad_code("code"))?;
    Ok(Asked {
        request: code.validate_request(),
        operation: Operation::Deactivate {
            machine_id: None,
            activation_ref: Some(activation_ref(&code.device_key)),
        },
        device_key: Some(code.device_key_text()),
    })
}

fn bad_code(member: &'static str) -> impl Fn(CodeError) -> ApiError {
    move |e| ApiError::InvalidRequest(format!("{member}: {e}"))
}

/// `200 {"response": "<code>", …}`: the response code, with what the page shows a
/// person beside it (the code, a sentence, the machines of a full license, a QR
/// code as SVG). Only `response` is read by a client; the rest is for people.
pub(super) fn response_code(decided: &Decided) -> Result<Response, ApiError> {
    let internal = |what: &str| ApiError::Internal(format!("offline response: {what}"));
    let code = decided.code;
    let envelope: Envelope =
        serde_json::from_slice(&decided.envelope).map_err(|_| internal("envelope JSON"))?;
    let payload = license_shared::base64url_decode(&envelope.payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<VerdictPayload>(&bytes).ok())
        .ok_or_else(|| internal("payload"))?;
    let text = OfflineResponse { envelope }
        .to_code()
        .ok_or_else(|| internal("encoding"))?;
    let body = serde_json::json!({
        "response": text,
        "code": code.as_str(),
        "licensed": payload.result.valid,
        "offline_until": payload.policy.offline_until,
        "message": sentence(&payload, decided.repeated),
        "repeated": decided.repeated,
        "machines": payload.license.machines,
        "qr_svg": qr_svg(&text),
    });
    Ok(json_no_store(body.to_string()))
}

/// What the answer means, and what to do with it. `repeated`: the request was
/// answered before (a used request).
fn sentence(payload: &VerdictPayload, repeated: bool) -> String {
    let install = "Type or paste the response code into the offline machine (`license-check activate --offline-response CODE`).";
    let again = match repeated {
        true => "This request was answered before (a used request): its machine already holds the seat, and this is the same answer again. Install it only if the machine has not installed one; a machine that has needs no other (it would say the request is no longer pending). ",
        false => "",
    };
    match payload.result.code {
        VerdictCode::Valid => format!(
            "{again}Activated: this machine holds a seat. {install} It then runs without a network until {} (UTC).",
            time::OffsetDateTime::from_unix_timestamp(payload.policy.offline_until)
                .map(|t| t.date().to_string())
                .unwrap_or_default()
        ),
        VerdictCode::MachineLimit => {
            let list = payload.license.machines.as_ref().map_or_else(String::new, |m| {
                m.list
                    .iter()
                    .map(|e| format!("{} ({})", e.id, e.name.as_deref().unwrap_or("no name")))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            format!("MACHINE_LIMIT: every seat of this license is held by other machines: {list}. Free one (`license-check deactivate` on it, `license-check deactivate --machine ID` from any connected machine, or its deactivation code here), then submit the request again.")
        }
        other => format!(
            "{other}: the license does not allow this activation. {install} to record the answer, or contact your vendor."
        ),
    }
}

/// The response code as a QR code (SVG), which a phone shows and the offline machine's
/// camera or scanner could read; the same characters as the text (QR's alphanumeric
/// mode holds upper-case letters, digits and `-`). Drawn as one stroked path, a line
/// one module thick per horizontal run of dark modules, with relative moves: half the
/// size of the `qrcode` crate's own SVG (a rectangle per module) for a code some 100
/// modules square; with the 4-module quiet zone the QR specification asks for.
fn qr_svg(text: &str) -> Option<String> {
    use std::fmt::Write as _;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::with_capacity(width * width / 2);
    for (y, row) in colors.chunks(width).enumerate() {
        // The pen starts each row at the left edge of the code, on the row's middle.
        let _ = write!(path, "M{QUIET} {}.5", y + QUIET);
        let (mut pen, mut x) = (0, 0);
        while x < width {
            if row[x] == qrcode::Color::Light {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] == qrcode::Color::Dark {
                x += 1;
            }
            let _ = write!(path, "m{} 0h{}", start - pen, x - start);
            pen = x;
        }
    }
    let side = width + 2 * QUIET;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{path}\" stroke=\"#000\" stroke-width=\"1\" fill=\"none\"/></svg>"
    ))
}
