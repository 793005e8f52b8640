//! The seat calls: activate, renew, release, list, and a floating license's checkout
//! and checkin, each one `plsql/block` handler
//! under the seats template (`customers/seats/{id}` by default), answered by the
//! `license_seats` package in the vendor's database.
//!
//! The database is the only thing that counts seats: every activation runs in one
//! transaction that locks the license row, so however many broker replicas race for
//! the last seat, exactly one gets it. The broker only reads the package's answer,
//! and reads it strictly: an outcome it does not know, a missing member or a status
//! other than 200 is an upstream error, never a verdict. The one exception is the
//! package's own 404 `{"outcome":"NO_LICENSE"}`: the license row is gone (deleted
//! while the broker still had it cached), which is the verdict a missing row gets,
//! while any other 404 means the URL reaches no seats handler. ORDS answers an unhandled
//! PL/SQL error with HTTP 555 "User Defined Resource Error"
//! (<https://www.thatjeffsmith.com/archive/2018/10/preventing-500-status-codes-with-oracle-rest-data-services/>);
//! that, too, is unavailable, never a deny.

use license_shared::CustomerId;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::answer::shown;
use super::{Answered, Exchange, OrdsClient, UpstreamError};

/// How much of the package's 400 `message` reaches the log; its own messages are
/// shorter (`<member>: must be an integer from <min> to <max>`).
const MESSAGE_SHOWN_CHARS: usize = 160;

/// What the package did. The strings are the package's own (`license_seats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Outcome {
    /// Activate: this machine took a free seat.
    Activated,
    /// Activate or renew: this machine already held a live seat; its lease is renewed.
    Renewed,
    /// Activate: this machine's live seat already belonged to the offline activation
    /// named (its request answered again); its lease is renewed.
    Repeated,
    /// Activate: every seat is held by other machines; nothing changed.
    MachineLimit,
    /// Renew: this machine holds no live seat (never had one, freed, or lapsed).
    NotActivated,
    /// Release: the seat is free now.
    Released,
    /// Release: the machine held no live seat.
    NotHeld,
    /// Release of another machine's seat: the license's budget for that is spent.
    ReleaseLimit,
    /// List.
    Listed,
    /// Activate of a floating license: nothing changed (check out instead).
    Floating,
    /// Checkout: this machine took a free floating seat.
    CheckedOut,
    /// Checkout: every floating seat is held by machines running now.
    SeatsInUse,
    /// Checkout or checkin of a license that is not floating: nothing changed.
    NotFloating,
    /// Checkin: the floating seat is free.
    CheckedIn,
    /// Any call: there is no such license (its 404). Never read from a 200 body: only
    /// [`interpret_seat`] makes it, with no seats.
    #[serde(skip_deserializing)]
    NoLicense,
}

/// One live seat as the package lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Seat {
    pub machine_hash: String,
    pub machine_name: Option<String>,
    /// When the seat was taken (held since).
    #[serde(deserialize_with = "unix_seconds")]
    pub activated_at: i64,
    #[serde(deserialize_with = "unix_seconds")]
    pub last_seen: i64,
    #[serde(deserialize_with = "unix_seconds")]
    pub lease_until: i64,
}

/// The package's answer to every seat call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeatAnswer {
    pub outcome: Outcome,
    /// `None`: the license limits no machines.
    pub max_machines: Option<u32>,
    /// Live seats after the call.
    pub used: u32,
    /// The live seats after the call, oldest activation first.
    pub machines: Vec<Seat>,
}

/// The seat call to make, with the body the package reads from `:body_text`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum SeatCall<'a> {
    Activate {
        machine_hash: &'a str,
        machine_name: Option<&'a str>,
        lease_seconds: u64,
        /// An offline activation's own name (see `license_shared::activation_ref`):
        /// the seat keeps it, and only a release naming it frees the seat then. An
        /// online activation sends none, which clears an earlier one.
        #[serde(skip_serializing_if = "Option::is_none")]
        activation_ref: Option<&'a str>,
    },
    /// The database gives a floating license's seat `floating_lease_seconds`, a
    /// node-locked one's `lease_seconds`: the broker does not know the model.
    Renew {
        machine_hash: &'a str,
        lease_seconds: u64,
        floating_lease_seconds: u64,
    },
    Release {
        machine_hash: &'a str,
        by_machine_hash: &'a str,
        release_budget: u32,
        release_window_seconds: u64,
        /// An offline deactivation: the seat is freed only when it still belongs to
        /// the activation of that name (a code replayed after the machine activated
        /// again frees nothing).
        #[serde(skip_serializing_if = "Option::is_none")]
        activation_ref: Option<&'a str>,
    },
    Checkout {
        machine_hash: &'a str,
        machine_name: Option<&'a str>,
        lease_seconds: u64,
        borrow_seconds: u64,
    },
    /// `lease_seconds` tells a borrowed seat from a plain one (its lease reaches
    /// further); returning a borrowed one spends the release budget.
    Checkin {
        machine_hash: &'a str,
        lease_seconds: u64,
        release_budget: u32,
        release_window_seconds: u64,
    },
}

impl SeatCall<'_> {
    fn action(&self) -> &'static str {
        match self {
            Self::Activate { .. } => "activate",
            Self::Renew { .. } => "renew",
            Self::Release { .. } => "release",
            Self::Checkout { .. } => "checkout",
            Self::Checkin { .. } => "checkin",
        }
    }

    /// The outcomes this call may answer with; any other is a broken package.
    fn allows(&self, outcome: Outcome) -> bool {
        use Outcome::*;
        match self {
            Self::Activate { .. } => {
                matches!(
                    outcome,
                    Activated | Renewed | Repeated | MachineLimit | Floating
                )
            }
            Self::Renew { .. } => matches!(outcome, Renewed | NotActivated),
            Self::Release { .. } => matches!(outcome, Released | NotHeld | ReleaseLimit),
            Self::Checkout { .. } => {
                matches!(outcome, CheckedOut | Renewed | SeatsInUse | NotFloating)
            }
            Self::Checkin { .. } => {
                matches!(outcome, CheckedIn | NotHeld | ReleaseLimit | NotFloating)
            }
        }
    }
}

impl OrdsClient {
    /// `POST <seats>/{id}/<action>` with the call's JSON body.
    pub(crate) async fn seat(&self, id: &CustomerId, call: &SeatCall<'_>) -> Answered<SeatAnswer> {
        let body = serde_json::to_vec(call).expect("seat calls serialise");
        let answered = self
            .seat_exchange(id, Some(call.action()), Some(body))
            .await;
        let allowed = |answer: SeatAnswer| {
            if answer.outcome == Outcome::NoLicense || call.allows(answer.outcome) {
                Ok(answer)
            } else {
                Err(UpstreamError::BadResponse(format!(
                    "the seats handler answered {:?} to {}",
                    answer.outcome,
                    call.action()
                )))
            }
        };
        Answered {
            result: answered.result.and_then(allowed),
            upstream_status: answered.upstream_status,
        }
    }

    /// `GET <seats>/{id}`: the live seats.
    pub(crate) async fn seats(&self, id: &CustomerId) -> Answered<SeatAnswer> {
        let answered = self.seat_exchange(id, None, None).await;
        let listed = |answer: SeatAnswer| match answer.outcome {
            Outcome::Listed | Outcome::NoLicense => Ok(answer),
            other => Err(UpstreamError::BadResponse(format!(
                "the seats handler answered {other:?} to a listing"
            ))),
        };
        Answered {
            result: answered.result.and_then(listed),
            upstream_status: answered.upstream_status,
        }
    }

    async fn seat_exchange(
        &self,
        id: &CustomerId,
        action: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answered<SeatAnswer> {
        let mut upstream_status = None;
        let result = async {
            let mut url = self
                .seats_path
                .url(&self.base_url, id.as_str())
                .map_err(|e| {
                    UpstreamError::BadResponse(format!("refused to build the seats URL: {e}"))
                })?;
            if let (Some(action), Ok(mut path)) = (action, url.path_segments_mut()) {
                path.push(action);
            }
            let exchange = self
                .call(&url, body.as_deref(), &mut upstream_status)
                .await?;
            let answer = interpret_seat(exchange)?;
            if answer.outcome == Outcome::NoLicense {
                tracing::info!(
                    customer_id = %id,
                    "the seats handler found no license row (deleted since its lookup was cached); answering NOT_FOUND"
                );
            }
            Ok(answer)
        }
        .await;
        Answered {
            result,
            upstream_status,
        }
    }
}

/// The body of the package's other answers (`fail` in deploy/ords/seats.sql).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Failure {
    outcome: String,
    message: Option<String>,
}

/// The package's failure JSON, if that is what the body is.
fn failure(exchange: &Exchange) -> Option<Failure> {
    serde_json::from_slice(exchange.body.as_deref().ok()?).ok()
}

/// What a seats handler's answer means: `Ok` for a readable 200, and for the
/// package's own 404 (as [`Outcome::NoLicense`]).
fn interpret_seat(exchange: Exchange) -> Result<SeatAnswer, UpstreamError> {
    match exchange.status.as_u16() {
        200 => match exchange.body {
            Ok(body) => read_seat_answer(&body),
            Err(e) => Err(UpstreamError::BadResponse(format!("the seats answer: {e}"))),
        },
        // The row lock was not had within the package's wait: another seat change of
        // the same license holds it. Worth retrying at once.
        409 => Err(UpstreamError::Unavailable {
            retry_after: Some(std::time::Duration::from_secs(1)),
            cause: "the license row is locked by another seat change (409); retry".into(),
        }),
        555 => Err(UpstreamError::unavailable(
            "the seats handler raised a PL/SQL error (ORDS 555 User Defined Resource Error); see the ORDS log",
        )),
        404 => match failure(&exchange) {
            Some(Failure {
                outcome,
                message: None,
            }) if outcome == "NO_LICENSE" => Ok(SeatAnswer {
                outcome: Outcome::NoLicense,
                max_machines: None,
                used: 0,
                machines: Vec::new(),
            }),
            _ => Err(UpstreamError::BadResponse(
                "the seats handler answered 404: check LICENSE_BROKER_SEATS_PATH and that deploy/ords/seats.sql ran".into(),
            )),
        },
        // The broker's settings are checked at load against the package's bounds, so
        // a 400 most likely means the installed package differs from
        // deploy/ords/seats.sql; its reason is what an operator needs to see.
        400 => Err(UpstreamError::BadResponse(match failure(&exchange) {
            Some(Failure {
                outcome,
                message: Some(message),
            }) if outcome == "BAD_REQUEST" => format!(
                "the seats handler refused the call (HTTP 400 BAD_REQUEST): {}; compare the installed license_seats package with deploy/ords/seats.sql",
                shown(&message, MESSAGE_SHOWN_CHARS)
            ),
            _ => "the seats handler answered HTTP 400".into(),
        })),
        408 | 429 | 500..=599 => Err(UpstreamError::Unavailable {
            retry_after: exchange.retry_after,
            cause: format!(
                "ORDS answered HTTP {} on the seats handler",
                exchange.status.as_u16()
            ),
        }),
        other => Err(UpstreamError::BadResponse(format!(
            "the seats handler answered HTTP {other}"
        ))),
    }
}

/// The package's JSON, strictly: every member, no unknown ones, no duplicates.
pub(super) fn read_seat_answer(body: &[u8]) -> Result<SeatAnswer, UpstreamError> {
    serde_json::from_slice(body).map_err(|e| {
        UpstreamError::BadResponse(format!(
            "the seats answer is not what the license_seats package writes: {e}"
        ))
    })
}

fn unix_seconds<'de, D: serde::Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    let text = String::deserialize(de)?;
    OffsetDateTime::parse(&text, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_answer_is_read_strictly() {
        let answer = read_seat_answer(
            br#"{"outcome":"MACHINE_LIMIT","max_machines":2,"used":2,"machines":[
                {"machine_hash":"ab","machine_name":"laptop","activated_at":"2026-11-30T07:00:00Z","last_seen":"2026-12-01T07:00:00Z","lease_until":"2026-12-08T07:00:00Z"},
                {"machine_hash":"cd","machine_name":null,"activated_at":"2026-12-01T08:00:00Z","last_seen":"2026-12-01T08:00:00Z","lease_until":"2026-12-08T08:00:00Z"}]}"#,
        )
        .unwrap();
        assert_eq!(answer.outcome, Outcome::MachineLimit);
        assert_eq!(answer.max_machines, Some(2));
        assert_eq!(answer.machines[0].last_seen, 1_796_108_400);
        assert_eq!(answer.machines[1].machine_name, None);
        for broken in [
            &br#"{"outcome":"MAYBE","max_machines":2,"used":0,"machines":[]}"#[..],
            br#"{"outcome":"LISTED","max_machines":2,"machines":[]}"#,
            br#"{"outcome":"LISTED","max_machines":"2","used":0,"machines":[]}"#,
            br#"{"outcome":"LISTED","max_machines":2,"used":0,"machines":[],"extra":1}"#,
            br#"{"outcome":"LISTED","outcome":"LISTED","max_machines":2,"used":0,"machines":[]}"#,
            br#"{"outcome":"LISTED","max_machines":2,"used":1,"machines":[{"machine_hash":"ab","machine_name":null,"activated_at":"2026-12-01T07:00:00Z","last_seen":"yesterday","lease_until":"2026-12-08T07:00:00Z"}]}"#,
            br#"{"outcome":"LISTED","max_machines":2,"used":1,"machines":[{"machine_hash":"ab","machine_name":null,"last_seen":"2026-12-01T07:00:00Z","lease_until":"2026-12-08T07:00:00Z"}]}"#,
            b"<html>",
        ] {
            assert!(
                matches!(read_seat_answer(broken), Err(UpstreamError::BadResponse(_))),
                "{}",
                String::from_utf8_lossy(broken)
            );
        }
    }

    fn answered(status: u16, body: &str) -> Exchange {
        Exchange {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            body: Ok(bytes::Bytes::from(body.to_owned())),
        }
    }

    #[test]
    fn a_bad_request_puts_the_packages_reason_in_the_logged_error() {
        let reason = "lease_seconds: must be an integer from 60 to 315360000";
        let err = interpret_seat(answered(
            400,
            &format!(r#"{{"outcome":"BAD_REQUEST","message":"{reason}"}}"#),
        ))
        .unwrap_err();
        assert!(matches!(err, UpstreamError::BadResponse(_)), "{err:?}");
        assert!(err.to_string().contains(reason), "{err}");
        // The text is the database's: control characters are escaped and it is cut
        // short, so it cannot forge or flood log lines.
        let hostile = format!(
            r#"{{"outcome":"BAD_REQUEST","message":"a\u001b[31mred\nforged {}"}}"#,
            "x".repeat(5000)
        );
        let shown = interpret_seat(answered(400, &hostile))
            .unwrap_err()
            .to_string();
        assert!(shown.contains("red"), "{shown}");
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\n'),
            "{shown}"
        );
        let bidi = r#"{"outcome":"BAD_REQUEST","message":"x\u202eevil"}"#;
        let shown = interpret_seat(answered(400, bidi)).unwrap_err().to_string();
        assert!(!shown.contains('\u{202e}'), "{shown}");
        assert!(shown.len() < 400, "{shown}");
        // Not the package's JSON: only the status, never the body.
        let shown = interpret_seat(answered(400, "<html>oops</html>"))
            .unwrap_err()
            .to_string();
        assert!(
            shown.contains("HTTP 400") && !shown.contains("oops"),
            "{shown}"
        );
    }

    #[test]
    fn only_the_packages_no_license_404_is_no_such_license() {
        let gone = interpret_seat(answered(404, r#"{"outcome":"NO_LICENSE"}"#)).unwrap();
        assert_eq!(gone.outcome, Outcome::NoLicense);
        assert!(gone.machines.is_empty() && gone.max_machines.is_none());
        // Anything else is a URL that reaches no seats handler: a deny signed on it
        // would lock every seat-limited customer out at once.
        for other in [
            r#"{"code":"NotFound","message":"Not Found","type":"tag:oracle.com,2020:error/NotFound"}"#,
            r#"{"outcome":"NO_LICENSE","message":"x"}"#,
            r#"{"outcome":"NO_LICENSE","extra":1}"#,
            r#"{"outcome":"NO_LICENSE","outcome":"NO_LICENSE"}"#,
            r#"{"outcome":"BUSY"}"#,
            "<html>Not Found</html>",
            "",
        ] {
            let err = interpret_seat(answered(404, other)).unwrap_err();
            assert!(
                err.to_string().contains("LICENSE_BROKER_SEATS_PATH"),
                "{other}: {err}"
            );
        }
        // Only the 404 says so: a 200 cannot.
        let err = interpret_seat(answered(
            200,
            r#"{"outcome":"NO_LICENSE","max_machines":null,"used":0,"machines":[]}"#,
        ))
        .unwrap_err();
        assert!(matches!(err, UpstreamError::BadResponse(_)), "{err}");
    }

    #[test]
    fn each_call_accepts_only_its_own_outcomes() {
        let renew = SeatCall::Renew {
            machine_hash: "ab",
            lease_seconds: 60,
            floating_lease_seconds: 900,
        };
        assert!(renew.allows(Outcome::NotActivated));
        assert!(
            !renew.allows(Outcome::Activated),
            "renew never creates a seat"
        );
        assert_eq!(
            serde_json::to_string(&renew).unwrap(),
            r#"{"machine_hash":"ab","lease_seconds":60,"floating_lease_seconds":900}"#
        );
        let checkout = SeatCall::Checkout {
            machine_hash: "ab",
            machine_name: None,
            lease_seconds: 900,
            borrow_seconds: 0,
        };
        assert!(checkout.allows(Outcome::SeatsInUse) && checkout.allows(Outcome::NotFloating));
        assert!(!checkout.allows(Outcome::MachineLimit));
        assert_eq!(
            serde_json::to_string(&checkout).unwrap(),
            r#"{"machine_hash":"ab","machine_name":null,"lease_seconds":900,"borrow_seconds":0}"#
        );
        let activate = SeatCall::Activate {
            machine_hash: "ab",
            machine_name: None,
            lease_seconds: 60,
            activation_ref: None,
        };
        assert!(activate.allows(Outcome::Floating) && !activate.allows(Outcome::CheckedOut));
    }
}
