//! The trials call: `POST <trials path>` (`customers/trials/start` by default), the
//! `license_seats.start_trial` function of the vendor's database. One trial per product
//! and machine, remembered there under a key the broker makes (an HMAC of the machine's
//! fingerprint under a broker secret, so the table maps back to no machine); its end is
//! decided by the database's clock. Read strictly, as the seat answers are.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Answered, Exchange, OrdsClient, UpstreamError};

/// What the package answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum TrialOutcome {
    /// This machine's first trial of the product began now.
    TrialStarted,
    /// The trial this machine started earlier, still running.
    Trial,
    /// That trial has ended; there is never a second one.
    TrialExpired,
    /// The product has no trial.
    NoTrial,
}

/// The package's answer: the trial's start and end, except for `NO_TRIAL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrialAnswer {
    pub outcome: TrialOutcome,
    /// Unix seconds; `None` only for `NO_TRIAL`.
    pub expires_at: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    outcome: TrialOutcome,
    started_at: Option<String>,
    expires_at: Option<String>,
}

#[derive(Serialize)]
struct Call<'a> {
    product: &'a str,
    machine_key: &'a str,
}

impl OrdsClient {
    /// Starts (or finds) this machine's trial of `product`.
    pub(crate) async fn trial(&self, product: &str, machine_key: &str) -> Answered<TrialAnswer> {
        let mut upstream_status = None;
        let body = serde_json::to_vec(&Call {
            product,
            machine_key,
        })
        .expect("a trial call serialises");
        let result = match self
            .call(&self.trials_url, Some(&body), &mut upstream_status)
            .await
        {
            Ok(exchange) => interpret_trial(exchange),
            Err(err) => Err(err),
        };
        Answered {
            result,
            upstream_status,
        }
    }
}

fn interpret_trial(exchange: Exchange) -> Result<TrialAnswer, UpstreamError> {
    match exchange.status.as_u16() {
        200 => match exchange.body {
            Ok(body) => read_trial_answer(&body),
            Err(e) => Err(UpstreamError::BadResponse(format!("the trials answer: {e}"))),
        },
        409 => Err(UpstreamError::Unavailable {
            retry_after: Some(std::time::Duration::from_secs(1)),
            cause: "the product row is locked by another trial start (409); retry".into(),
        }),
        404 => Err(UpstreamError::BadResponse(
            "the trials handler answered 404: check LICENSE_BROKER_TRIALS_PATH and that deploy/ords/seats.sql ran".into(),
        )),
        408 | 429 | 500..=599 => Err(UpstreamError::Unavailable {
            retry_after: exchange.retry_after,
            cause: format!(
                "ORDS answered HTTP {} on the trials handler",
                exchange.status.as_u16()
            ),
        }),
        other => Err(UpstreamError::BadResponse(format!(
            "the trials handler answered HTTP {other}"
        ))),
    }
}

/// Strictly: a trial outcome without both times, or `NO_TRIAL` with them, is a broken
/// package, never a verdict.
fn read_trial_answer(body: &[u8]) -> Result<TrialAnswer, UpstreamError> {
    let broken = |why: String| {
        UpstreamError::BadResponse(format!(
            "the trials answer is not what the license_seats package writes: {why}"
        ))
    };
    let parsed: Body = serde_json::from_slice(body).map_err(|e| broken(e.to_string()))?;
    let time = |text: &str| {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(OffsetDateTime::unix_timestamp)
            .map_err(|_| broken(format!("{text:?} is not an RFC 3339 time")))
    };
    match (parsed.outcome, parsed.started_at, parsed.expires_at) {
        (TrialOutcome::NoTrial, None, None) => Ok(TrialAnswer {
            outcome: TrialOutcome::NoTrial,
            expires_at: None,
        }),
        (TrialOutcome::NoTrial, _, _) => Err(broken("NO_TRIAL with times".into())),
        (outcome, Some(started), Some(expires)) => {
            time(&started)?;
            Ok(TrialAnswer {
                outcome,
                expires_at: Some(time(&expires)?),
            })
        }
        (outcome, _, _) => Err(broken(format!(
            "{outcome:?} without started_at and expires_at"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trials_answer_is_read_strictly() {
        let started = read_trial_answer(
            br#"{"outcome":"TRIAL_STARTED","started_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-15T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(started.outcome, TrialOutcome::TrialStarted);
        assert_eq!(started.expires_at, Some(1_736_899_200));
        let none = read_trial_answer(br#"{"outcome":"NO_TRIAL"}"#).unwrap();
        assert_eq!(
            (none.outcome, none.expires_at),
            (TrialOutcome::NoTrial, None)
        );
        for broken in [
            &br#"{"outcome":"TRIAL"}"#[..],
            br#"{"outcome":"NO_TRIAL","started_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-15T00:00:00Z"}"#,
            br#"{"outcome":"MAYBE","started_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-15T00:00:00Z"}"#,
            br#"{"outcome":"TRIAL","started_at":"2025-01-01T00:00:00Z","expires_at":"soon"}"#,
            br#"{"outcome":"TRIAL","started_at":"2025-01-01T00:00:00Z","expires_at":"2025-01-15T00:00:00Z","x":1}"#,
            b"<html>",
        ] {
            assert!(
                matches!(read_trial_answer(broken), Err(UpstreamError::BadResponse(_))),
                "{}",
                String::from_utf8_lossy(broken)
            );
        }
    }
}
