//! The decision rules, as pure functions of verified payloads, the clock and the marks;
//! no I/O happens here.
//!
//! - Only a verified deny locks. Network errors, timeouts, non-200 answers and
//!   untrusted answers fall back to the lease.
//! - The lease counts while it verifies, matches this machine, says valid, and `now`
//!   is before its signed `offline_until` (and its signed `expires_at`).
//! - A clock earlier than the high-water mark minus the tolerance is `CLOCK_ROLLBACK`.
//! - An online `VALID` whose `iat` is further from `now` than the skew tolerance is
//!   not trusted to extend anything: `CLOCK_SKEW`, but a lease that is still good keeps
//!   the app running. A wrong clock is not a lockout while the lease is valid: honest
//!   users with skewed clocks being locked out is a known failure of license checks
//!   (e.g. <https://github.com/cymian/mouseless/issues/292>). A skewed *deny*
//!   still locks: the nonce proves it is fresh, and no clock makes a revocation untrue.
//! - Perpetual fallback: an `EXPIRED` verdict of a `MAINTAIN_ACCESS` license licenses a
//!   build released before the license's signed `expires_at` (the app's own build
//!   time, compiled into it), as `PERPETUAL_FALLBACK`, and is then a lease like a
//!   `VALID` one (`app::grants`). For any other build it is the deny it says.

use license_shared::{ExpiryStrategy, Machines, VerdictCode, VerdictPayload};

use crate::app::{fallback_applies, grants, ThisApp};
use crate::text::clean_text;
use crate::transport::TransportError;
use crate::verdict::{format_span, format_time, Code, Source, Verdict};
use crate::verify::Untrusted;

/// Below this much offline time left, the message urges going online.
const WARN_BEFORE_OFFLINE_END: i64 = 48 * 3600;

/// The cached lease, after verification against the keys, this machine and the marks.
#[derive(Debug, Clone)]
pub(crate) enum Lease {
    /// A verified verdict that licenses this build ([`grants`]) still inside its
    /// signed limits.
    Usable(VerdictPayload),
    /// A verified deny: it locks, online or not.
    Deny(VerdictPayload),
    /// A verified verdict that licenses this build, whose offline time is over.
    Expired(VerdictPayload),
    /// Nothing usable; the reason, when there was a file but it failed.
    None(Option<String>),
}

/// The longest a valid verdict is used offline, counted from its signed `iat`, whatever
/// the broker signed: defence in depth against a misconfigured or compromised broker
/// (which caps its grace at 30 days too).
const MAX_OFFLINE: i64 = 30 * 86_400;

/// The signed `offline_until`, capped at `iat` + [`MAX_OFFLINE`].
fn offline_until(payload: &VerdictPayload) -> i64 {
    payload
        .policy
        .offline_until
        .min(payload.iat.saturating_add(MAX_OFFLINE))
}

/// The signed `recheck_after`, never after the (capped) offline end.
pub(crate) fn recheck_after(payload: &VerdictPayload) -> i64 {
    payload.policy.recheck_after.min(offline_until(payload))
}

/// The end of a lease's offline use: the (capped) `offline_until`, and for a `VALID`
/// one never past the license's own signed expiry (a perpetual fallback is a lease
/// after that expiry, by definition).
fn lease_end(payload: &VerdictPayload) -> i64 {
    let expiry = match payload.result.code {
        VerdictCode::Valid | VerdictCode::Trial => payload.license.expires_at.unwrap_or(i64::MAX),
        _ => i64::MAX,
    };
    offline_until(payload).min(expiry)
}

pub(crate) fn classify_lease(payload: VerdictPayload, now: i64, app: &ThisApp) -> Lease {
    if !grants(&payload, app) {
        Lease::Deny(payload)
    } else if now < lease_end(&payload) {
        Lease::Usable(payload)
    } else {
        Lease::Expired(payload)
    }
}

/// Why this check has no fresh verified answer.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The caller asked for an offline check.
    Offline,
    Transport(TransportError),
    Untrusted(Untrusted),
    /// A verified `VALID` answer whose `iat` is `offset` seconds from `now`.
    Skew {
        offset: i64,
    },
}

impl Failure {
    /// The HTTP library's own words about a failed exchange, for the log.
    fn detail(&self) -> Option<String> {
        match self {
            Self::Transport(e) => e.detail().map(str::to_owned),
            _ => None,
        }
    }

    /// The license server answered 429: it is there, and asks to wait.
    fn rate_limited(&self) -> bool {
        matches!(
            self,
            Self::Transport(TransportError::Status { status: 429, .. })
        )
    }

    fn reason(&self) -> String {
        match self {
            Self::Offline => "Checked offline, without contacting the license server".into(),
            Self::Transport(TransportError::Status {
                status: 429,
                message,
            }) => format!("The license server turned the check away for now, because of too many requests ({message})"),
            Self::Transport(e) => capitalize(&e.to_string()),
            Self::Untrusted(e) => format!("The license server's answer could not be verified: {e}"),
            Self::Skew { offset } => skew_sentence(*offset),
        }
    }

    fn remedy(&self) -> &'static str {
        match self {
            Self::Offline => "",
            Self::Transport(TransportError::Status { status: 429, .. }) => {
                " Try again after the wait it names."
            }
            Self::Transport(TransportError::Status { status, .. }) if *status >= 500 => {
                " The license server is busy or having trouble; try again in a few minutes."
            }
            Self::Transport(TransportError::NoBrokerUrl) => " Configure the license server's URL.",
            Self::Transport(_) => " Check the network connection and the proxy settings (HTTPS_PROXY, NO_PROXY).",
            Self::Untrusted(_) => " Check the proxy settings and the license server URL: something other than the license server may be answering.",
            Self::Skew { .. } => " Fix the system clock (turn on automatic time).",
        }
    }
}

pub(crate) fn skew_sentence(offset: i64) -> String {
    let direction = if offset > 0 { "ahead of" } else { "behind" };
    format!(
        "The system clock is {} {direction} the license server's time",
        format_span(offset)
    )
}

/// `text` with its first letter in upper case: error texts start lower case, messages
/// are sentences.
pub(crate) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn remaining(until: i64, now: i64) -> String {
    let left = until.saturating_sub(now);
    let mut text = format!("until {} ({} left).", format_time(until), format_span(left));
    if left < WARN_BEFORE_OFFLINE_END {
        text.push_str(" Connect to the internet before then to keep using the app.");
    }
    text
}

fn verdict(
    payload: &VerdictPayload,
    licensed: bool,
    code: Code,
    source: Source,
    message: String,
) -> Verdict {
    Verdict {
        licensed,
        code,
        source,
        expires_at: payload.license.expires_at,
        offline_until: Some(offline_until(payload)),
        message,
        machines: clean_machines(payload.license.machines.as_ref()),
        product: payload.license.product.as_deref().map(clean_text),
        entitlements: if licensed {
            plain_names(&payload.license.entitlements)
        } else {
            Vec::new()
        },
        detail: None,
    }
}

/// The signed entitlement names an app compares with its own: a name holding a
/// control or format character is dropped rather than cleaned, so no cleaning ever
/// makes one name equal another.
fn plain_names(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|name| !name.is_empty() && clean_text(name) == **name)
        .cloned()
        .collect()
}

/// The signed seats, with the machine ids and names (chosen by the server and by
/// whoever named each machine) cleaned for display.
pub(crate) fn clean_machines(machines: Option<&Machines>) -> Option<Machines> {
    let mut machines = machines?.clone();
    for entry in &mut machines.list {
        entry.id = clean_text(&entry.id);
        entry.name = entry.name.as_deref().map(clean_text);
    }
    Some(machines)
}

/// What a signed deny tells a person.
fn deny_message(payload: &VerdictPayload, app: &ThisApp) -> String {
    match payload.result.code {
        VerdictCode::Expired => match (payload.license.expires_at, payload.license.expiry_strategy) {
            (Some(at), ExpiryStrategy::MaintainAccess) => {
                let at = format_time(at);
                let this_build = match app.build_time {
                    Some(built) => format!("this build was released on {}, after that", format_time(built)),
                    None => "this app does not say when it was built, so it cannot be one of them".into(),
                };
                format!("The license expired on {at}. Builds released before {at} stay licensed, but {this_build}. Renew the license with your vendor to use this build, or use a build released before {at}.")
            }
            (Some(at), _) => format!("The license expired on {}. Renew it with your vendor, then check again.", format_time(at)),
            (None, _) => "The license has expired. Renew it with your vendor, then check again.".into(),
        },
        VerdictCode::Suspended => "The license is suspended (for example, an unpaid invoice). Contact your vendor to reinstate it, then check again.".into(),
        VerdictCode::Revoked => "The license was revoked. Contact your vendor for a new license key.".into(),
        VerdictCode::NotFound => "The license server does not know this license key. Check that it is the key you received, or contact your vendor.".into(),
        VerdictCode::MachineLimit => {
            let taken = match &payload.license.machines {
                Some(Machines { used, max: Some(max), .. }) => format!(" ({used} of {max})"),
                _ => String::new(),
            };
            format!("Every seat of the license{taken} is held by another machine, so it was not activated on this one. Free a seat (deactivate the license on a machine that no longer needs it, or free that machine's seat by its id from here), then activate again.")
        }
        VerdictCode::NotActivated => "The license is not activated on this machine: it limits how many machines may use it, and this one holds no seat. Activate the license on this machine with your license key to claim one.".into(),
        VerdictCode::Deactivated => "This machine holds no seat of the license (it was deactivated). Activate the license on this machine with your license key to use it here again.".into(),
        VerdictCode::WrongProduct => {
            let theirs = match &payload.license.product {
                Some(product) => format!(" ({})", clean_text(product)),
                None => String::new(),
            };
            let ours = match &app.product {
                Some(product) => format!(" ({product})"),
                None => String::new(),
            };
            format!("This license key is for another product{theirs}, not this app{ours}. Use the key you received for this app, or contact your vendor.")
        }
        VerdictCode::SeatsInUse => {
            let holders: Vec<String> = payload
                .license
                .machines
                .iter()
                .flat_map(|m| &m.list)
                .map(|m| {
                    let name = m.name.as_deref().map_or_else(|| m.id.clone(), clean_text);
                    match m.since {
                        Some(since) => format!("{name} (since {})", format_time(since)),
                        None => name,
                    }
                })
                .collect();
            let held = if holders.is_empty() {
                String::new()
            } else {
                format!(" by {}", holders.join(", "))
            };
            format!("Every seat of the floating license is in use{held}. Try again when one of them closes the app; a seat whose app stopped without closing comes back by itself when its lease runs out.")
        }
        VerdictCode::NotFloating => "This license is not a floating license: activate it on this machine instead of checking a seat out.".into(),
        VerdictCode::CheckoutRequired => "This is a floating license: check a seat out (license-check checkout KEY) instead of activating it; the seat is held while the app runs.".into(),
        VerdictCode::TrialExpired => match payload.license.expires_at {
            Some(at) => format!("The trial on this machine ended on {}. Buy a license and activate it to keep using the app.", format_time(at)),
            None => "The trial on this machine has ended. Buy a license and activate it to keep using the app.".into(),
        },
        VerdictCode::NoTrial => "This product has no trial. Buy a license and activate it to use the app.".into(),
        VerdictCode::Valid => "The license is valid.".into(),
        VerdictCode::Trial => "The trial is running.".into(),
    }
}

/// Why a perpetual fallback licenses this build, for a person.
fn fallback_sentence(payload: &VerdictPayload, app: &ThisApp) -> String {
    let expiry = payload
        .license
        .expires_at
        .map(format_time)
        .unwrap_or_default();
    let built = app.build_time.map(format_time).unwrap_or_default();
    format!("The license expired on {expiry}; this build was released on {built} before that, so it stays licensed; newer builds need a renewal")
}

/// A verified answer to this check's own request.
pub(crate) fn from_answer(
    payload: &VerdictPayload,
    now: i64,
    skew_tolerance: i64,
    app: &ThisApp,
) -> Verdict {
    if fallback_applies(payload, app) {
        let message = format!(
            "{} (confirmed online). It can be used offline {}",
            fallback_sentence(payload, app),
            remaining(lease_end(payload), now)
        );
        return verdict(
            payload,
            true,
            Code::PerpetualFallback,
            Source::Online,
            message,
        );
    }
    if payload.result.valid {
        let expiry = match payload.license.expires_at {
            Some(at) => format!(" It expires on {}.", format_time(at)),
            None => String::new(),
        };
        let what = match payload.result.code {
            VerdictCode::Trial => "The trial is running",
            _ => "The license is valid",
        };
        let message = format!(
            "{what} (confirmed online).{expiry} It can be used offline {}",
            remaining(lease_end(payload), now)
        );
        let code = match payload.result.code {
            VerdictCode::Trial => Code::Trial,
            _ => Code::Valid,
        };
        return verdict(payload, true, code, Source::Online, message);
    }
    let mut message = deny_message(payload, app);
    let offset = now.saturating_sub(payload.iat);
    if offset.saturating_abs() > skew_tolerance {
        message.push_str(&format!(
            " Also: {}; fix the system clock.",
            skew_sentence(offset).to_lowercase()
        ));
    }
    verdict(
        payload,
        false,
        payload.result.code.into(),
        Source::Online,
        message,
    )
}

/// A usable lease before its signed `recheck_after`: answered without the network.
pub(crate) fn from_fresh_lease(payload: &VerdictPayload, now: i64, app: &ThisApp) -> Verdict {
    if fallback_applies(payload, app) {
        let message = format!(
            "{} (confirmed online at {}; next online check after {}). It can be used offline {}",
            fallback_sentence(payload, app),
            format_time(payload.iat),
            format_time(recheck_after(payload)),
            remaining(lease_end(payload), now)
        );
        return verdict(
            payload,
            true,
            Code::PerpetualFallback,
            Source::Cache,
            message,
        );
    }
    let message = format!(
        "The license is valid (confirmed online at {}; next online check after {}). It can be used offline {}",
        format_time(payload.iat),
        format_time(recheck_after(payload)),
        remaining(lease_end(payload), now)
    );
    verdict(payload, true, Code::Valid, Source::Cache, message)
}

/// No fresh verified answer: decide from the lease. `rolled_back` is the high-water
/// mark when the clock is earlier than it allows.
pub(crate) fn without_answer(
    lease: &Lease,
    failure: &Failure,
    rolled_back: Option<i64>,
    now: i64,
    app: &ThisApp,
) -> Verdict {
    let mut verdict = decide_without_answer(lease, failure, rolled_back, now, app);
    verdict.detail = failure.detail();
    verdict
}

fn decide_without_answer(
    lease: &Lease,
    failure: &Failure,
    rolled_back: Option<i64>,
    now: i64,
    app: &ThisApp,
) -> Verdict {
    let reason = failure.reason();
    let remedy = failure.remedy();
    if let (Some(high_water), false) = (rolled_back, matches!(lease, Lease::Deny(_))) {
        return Verdict::local(
            Code::ClockRollback,
            format!(
                "The system clock ({}) is earlier than a time this app has already seen ({}), so the saved license cannot be used. Fix the system clock (turn on automatic time), then check again while connected to the internet.",
                format_time(now),
                format_time(high_water)
            ),
        );
    }
    match lease {
        Lease::Deny(payload) => {
            let message = format!(
                "{} (The saved answer of the license server. {reason}.)",
                deny_message(payload, app)
            );
            verdict(
                payload,
                false,
                payload.result.code.into(),
                Source::Cache,
                message,
            )
        }
        Lease::Usable(payload) => {
            if matches!(failure, Failure::Offline) && now < recheck_after(payload) {
                return from_fresh_lease(payload, now, app);
            }
            let mut message = format!(
                "{reason}.{remedy} Using the saved license, which works offline {}",
                remaining(lease_end(payload), now)
            );
            if fallback_applies(payload, app) {
                message.push_str(&format!(" {}.", fallback_sentence(payload, app)));
                return verdict(
                    payload,
                    true,
                    Code::PerpetualFallback,
                    Source::Cache,
                    message,
                );
            }
            verdict(payload, true, Code::OfflineGrace, Source::Cache, message)
        }
        Lease::Expired(_) if failure.rate_limited() => Verdict::local(
            Code::RateLimited,
            format!("{reason}, and the saved license's offline time is over.{remedy}"),
        )
        .with_source(Source::Online),
        Lease::Expired(payload) => {
            let message = format!(
                "{reason}, and the saved license could only be used offline until {}.{remedy} Connect to the internet so the license can be confirmed.",
                format_time(lease_end(payload))
            );
            verdict(payload, false, Code::OfflineExpired, Source::Cache, message)
        }
        Lease::None(why) => {
            let no_lease = match why {
                Some(why) => format!(" The saved license cannot be used: {why}."),
                None => " There is no saved license to fall back on.".into(),
            };
            let (code, source) = match failure {
                Failure::Offline => (Code::NoLease, Source::Cache),
                _ if failure.rate_limited() => (Code::RateLimited, Source::Online),
                Failure::Transport(_) => (Code::BrokerUnreachable, Source::Online),
                Failure::Untrusted(_) => (Code::ResponseUntrusted, Source::Online),
                Failure::Skew { .. } => (Code::ClockSkew, Source::Online),
            };
            let tail = if matches!(failure, Failure::Offline) {
                " Check the license while connected to the internet."
            } else {
                ""
            };
            Verdict::local(code, format!("{reason}.{remedy}{no_lease}{tail}")).with_source(source)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use license_shared::{LicenseInfo, Policy, VerdictResult, VERDICT_TYP};

    fn payload(code: VerdictCode, iat: i64, until: i64, expires_at: Option<i64>) -> VerdictPayload {
        VerdictPayload {
            typ: VERDICT_TYP.into(),
            iat,
            nonce: "n".into(),
            fingerprint: None,
            result: VerdictResult {
                valid: code == VerdictCode::Valid,
                code,
            },
            license: LicenseInfo {
                id: "1".into(),
                expires_at,
                machines: None,
                product: None,
                entitlements: Vec::new(),
                expiry_strategy: ExpiryStrategy::RevokeAccess,
            },
            policy: Policy {
                recheck_after: until,
                offline_until: until,
            },
        }
    }

    /// Signed times come from the broker, marks from files: none of them may make
    /// the arithmetic overflow (a panic in debug builds, a wrong answer in release).
    #[test]
    fn extreme_times_do_not_overflow() {
        let extremes = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        let apps = [
            ThisApp::default(),
            ThisApp {
                product: Some("desktop-pro".into()),
                build_time: Some(i64::MIN),
            },
        ];
        for code in [
            VerdictCode::Valid,
            VerdictCode::Revoked,
            VerdictCode::Expired,
        ] {
            for &iat in &extremes {
                for &until in &extremes {
                    for &now in &extremes {
                        let mut p = payload(code, iat, until, Some(until));
                        p.license.expiry_strategy = ExpiryStrategy::MaintainAccess;
                        for app in &apps {
                            let _ = from_answer(&p, now, 300, app);
                            let _ = from_fresh_lease(&p, now, app);
                            let lease = classify_lease(p.clone(), now, app);
                            for failure in [Failure::Offline, Failure::Skew { offset: now }] {
                                let _ = without_answer(&lease, &failure, Some(iat), now, app);
                                let _ = without_answer(&lease, &failure, None, now, app);
                            }
                        }
                    }
                }
            }
        }
    }
}
