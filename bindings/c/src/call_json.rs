//! `lc_call`: one call described as JSON, with its outcome (verdict or error) written as
//! JSON, for hosts whose foreign calls hop threads. A worker pool (Node's, through
//! koffi's async calls; Java's; a WebAssembly host's) may run the call on one thread and
//! hand the result to another, where `lc_last_error` would read another thread's
//! message: here the message travels with the result.

use serde::Deserialize;

use crate::boundary::Failure;
use crate::calls::{Call, CodeCall, Mode};

/// The request: `{"op": "check", "mode": "auto"}`, `{"op": "activate", "license_key": …,
/// "machine_name": …, "replace": …}`, `{"op": "deactivate"}`, `{"op":
/// "deactivate_machine", "machine_id": …}` or `{"op": "machines", "license_key": …}`
/// (the optional members may be left out).
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Request {
    Check {
        #[serde(default)]
        mode: ModeName,
    },
    Activate {
        license_key: String,
        #[serde(default)]
        machine_name: Option<String>,
        /// Free this machine's seat first (`MACHINE_LIMIT`'s way out).
        #[serde(default)]
        replace: Option<String>,
    },
    Deactivate,
    DeactivateMachine {
        machine_id: String,
    },
    Machines {
        /// List this key's seats instead of the stored license's.
        #[serde(default)]
        license_key: Option<String>,
    },
    Checkout {
        license_key: String,
        #[serde(default)]
        machine_name: Option<String>,
        #[serde(default)]
        borrow_days: Option<u32>,
    },
    Checkin,
    StartTrial,
    /// `"op": "offline_request"` (a variant named `OfflineRequest` would repeat the
    /// enum's name).
    #[serde(rename = "offline_request")]
    OfflineAsk {
        license_key: String,
    },
    InstallOfflineResponse {
        response: String,
    },
    DeactivateOffline,
}

/// A parsed call: one answered by a verdict, or one answered by an offline code.
#[derive(Debug)]
pub(crate) enum Parsed {
    Verdict(Call),
    Code(CodeCall),
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModeName {
    #[default]
    Auto,
    Refresh,
    Offline,
}

/// The call `json` describes.
pub(crate) fn parse(json: &str) -> Result<Parsed, Failure> {
    let request: Request = serde_json::from_str(json).map_err(|e| {
        Failure::invalid(format!(
            "call_json: {e}; it is {{\"op\": \"check\", \"mode\": \"auto\"|\"refresh\"|\"offline\"}}, \
             {{\"op\": \"activate\", \"license_key\": …, \"machine_name\": …, \"replace\": …}}, \
             {{\"op\": \"deactivate\"}}, {{\"op\": \"deactivate_machine\", \"machine_id\": …}}, \
             {{\"op\": \"machines\", \"license_key\": …}}, {{\"op\": \"offline_request\", \"license_key\": …}}, \
             {{\"op\": \"install_offline_response\", \"response\": …}}, {{\"op\": \"deactivate_offline\"}}, \
             {{\"op\": \"checkout\", \"license_key\": …, \"machine_name\": …, \"borrow_days\": …}}, \
             {{\"op\": \"checkin\"}} or {{\"op\": \"start_trial\"}}"
        ))
    })?;
    let call = match request {
        Request::OfflineAsk { license_key } => {
            return Ok(Parsed::Code(CodeCall::OfflineRequest(license_key)))
        }
        Request::DeactivateOffline => return Ok(Parsed::Code(CodeCall::DeactivateOffline)),
        Request::InstallOfflineResponse { response } => Call::InstallOfflineResponse(response),
        Request::Check { mode } => Call::Check(match mode {
            ModeName::Auto => Mode::Auto,
            ModeName::Refresh => Mode::Refresh,
            ModeName::Offline => Mode::Offline,
        }),
        Request::Activate {
            license_key,
            machine_name,
            replace,
        } => Call::Activate {
            key: license_key,
            name: machine_name,
            replace,
        },
        Request::Deactivate => Call::Deactivate,
        Request::DeactivateMachine { machine_id } => Call::DeactivateMachine(machine_id),
        Request::Machines { license_key } => Call::Machines(license_key),
        Request::Checkout {
            license_key,
            machine_name,
            borrow_days,
        } => Call::Checkout {
            key: license_key,
            name: machine_name,
            borrow_days,
        },
        Request::Checkin => Call::Checkin,
        Request::StartTrial => Call::StartTrial,
    };
    Ok(Parsed::Verdict(call))
}

/// What a call answered: a verdict's JSON, or an offline code.
pub(crate) enum Answer {
    Verdict(String),
    Code(String),
}

/// `{"status": 0, "verdict": {…}}`, `{"status": 0, "code": "…"}` (an offline code) or
/// `{"status": n, "error": "…"}`.
pub(crate) fn outcome(result: &Result<Answer, Failure>) -> String {
    match result {
        // The verdict is already JSON: embedded as it is, not parsed again.
        Ok(Answer::Verdict(verdict)) => format!("{{\"status\":0,\"verdict\":{verdict}}}"),
        Ok(Answer::Code(code)) => serde_json::json!({"status": 0, "code": code}).to_string(),
        Err(failure) => serde_json::json!({
            "status": failure.status as u32,
            "error": failure.message,
        })
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::lc_status;

    #[test]
    fn requests_parse_and_bad_ones_name_the_shape() {
        assert!(matches!(
            parse(r#"{"op":"check"}"#),
            Ok(Parsed::Verdict(Call::Check(Mode::Auto)))
        ));
        assert!(matches!(
            parse(r#"{"op":"check","mode":"offline"}"#),
            Ok(Parsed::Verdict(Call::Check(Mode::Offline)))
        ));
        assert!(matches!(
            parse(r#"{"op":"activate","license_key":"K","machine_name":"N"}"#),
            Ok(Parsed::Verdict(Call::Activate { key, name: Some(name), replace: None })) if key == "K" && name == "N"
        ));
        assert!(matches!(
            parse(r#"{"op":"activate","license_key":"K","replace":"0123456789ab"}"#),
            Ok(Parsed::Verdict(Call::Activate { replace: Some(id), .. })) if id == "0123456789ab"
        ));
        assert!(matches!(
            parse(r#"{"op":"machines"}"#),
            Ok(Parsed::Verdict(Call::Machines(None)))
        ));
        assert!(matches!(
            parse(r#"{"op":"machines","license_key":"K"}"#),
            Ok(Parsed::Verdict(Call::Machines(Some(key)))) if key == "K"
        ));
        assert!(matches!(
            parse(r#"{"op":"deactivate_machine","machine_id":"ab"}"#),
            Ok(Parsed::Verdict(Call::DeactivateMachine(id))) if id == "ab"
        ));
        let unknown = parse(r#"{"op":"check","mood":"auto"}"#).unwrap_err();
        assert_eq!(unknown.status, lc_status::LC_INVALID_ARGUMENT);
        assert!(unknown.message.contains("mood"), "{}", unknown.message);
        assert!(parse(r#"{"op":"dance"}"#)
            .unwrap_err()
            .message
            .contains("dance"));
        assert!(parse(r#"{"op":"check","mode":"sometimes"}"#).is_err());
        assert!(matches!(
            parse(r#"{"op":"offline_request","license_key":"K"}"#),
            Ok(Parsed::Code(CodeCall::OfflineRequest(key))) if key == "K"
        ));
        assert!(matches!(
            parse(r#"{"op":"deactivate_offline"}"#),
            Ok(Parsed::Code(CodeCall::DeactivateOffline))
        ));
        assert!(matches!(
            parse(r#"{"op":"install_offline_response","response":"R"}"#),
            Ok(Parsed::Verdict(Call::InstallOfflineResponse(code))) if code == "R"
        ));
        let code = outcome(&Ok(Answer::Code("ABCDE-F".into())));
        assert_eq!(code, r#"{"code":"ABCDE-F","status":0}"#);
        assert!(matches!(
            parse(r#"{"op":"checkout","license_key":"K","borrow_days":3}"#),
            Ok(Parsed::Verdict(Call::Checkout { key, name: None, borrow_days: Some(3) })) if key == "K"
        ));
        assert!(matches!(
            parse(r#"{"op":"checkin"}"#),
            Ok(Parsed::Verdict(Call::Checkin))
        ));
        assert!(matches!(
            parse(r#"{"op":"start_trial"}"#),
            Ok(Parsed::Verdict(Call::StartTrial))
        ));
    }

    #[test]
    fn an_outcome_carries_the_verdict_or_the_error() {
        let ok = outcome(&Ok(Answer::Verdict(r#"{"code":"VALID"}"#.into())));
        let ok: serde_json::Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(ok["status"], 0);
        assert_eq!(ok["verdict"]["code"], "VALID");
        let failed = outcome(&Err(Failure::new(
            lc_status::LC_RATE_LIMITED,
            "wait \"1 h\"",
        )));
        let failed: serde_json::Value = serde_json::from_str(&failed).unwrap();
        assert_eq!(failed["status"], 9);
        assert_eq!(failed["error"], "wait \"1 h\"");
    }
}
