//! What a check returns to the app: [`Verdict`], its [`Code`], and the [`Outcome`] an
//! app (or the CLI's exit code) acts on.

use serde::Serialize;

use license_shared::{Machines, VerdictCode};

/// Why the app is or is not licensed. The first nine are the broker's signed codes;
/// the rest are decided locally; the broker never sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Code {
    /// The license is valid (online now, or a cached verdict still before its recheck time).
    Valid,
    Expired,
    Suspended,
    Revoked,
    /// The broker does not know the key (or it is forged).
    NotFound,
    /// Activation refused: every seat of the license is held by other machines.
    MachineLimit,
    /// The license limits machines and this one holds no seat: activate it first.
    NotActivated,
    /// This machine's seat was freed (deactivation succeeded).
    Deactivated,
    /// The license is for another product than this app.
    WrongProduct,
    /// Checkout refused: every seat of the floating license is held by a machine
    /// running it now; the message lists them and since when.
    SeatsInUse,
    /// The license is not floating: activate it instead of checking a seat out.
    NotFloating,
    /// The license is floating: check a seat out instead of activating it.
    CheckoutRequired,
    /// Licensed by a running trial of this product on this machine, until its end.
    Trial,
    /// This machine's trial of the product has ended; there is no second one.
    TrialExpired,
    /// The product has no trial.
    NoTrial,
    /// Licensed: the license expired, but it keeps access for the builds released
    /// before its expiry (`MAINTAIN_ACCESS`), and this build is one of them (its
    /// build time, compiled in, is before the signed `expires_at`). Newer builds are
    /// `EXPIRED`. Online, or from the saved lease within its offline grace.
    PerpetualFallback,
    /// The broker could not be asked; a verified cached `VALID` verdict is still in grace.
    OfflineGrace,
    /// The broker could not be asked and the cached verdict's offline grace is over.
    OfflineExpired,
    /// The clock is earlier than a time the client has already seen.
    ClockRollback,
    /// The clock is too far from the broker's signed time.
    ClockSkew,
    /// The broker's answer failed verification and there is no usable lease.
    ResponseUntrusted,
    /// No license key is stored.
    NoLicense,
    /// The broker could not be reached and there is no usable lease.
    BrokerUnreachable,
    /// The OS machine id, which the license is bound to, cannot be read.
    MachineIdUnavailable,
    /// The key store (e.g. the OS keyring) cannot be read.
    KeyStoreUnavailable,
    /// An offline check found no usable saved verdict (missing, corrupt or untrusted).
    NoLease,
    /// The license server turned the check away for now (HTTP 429, too many requests)
    /// and there is no usable lease; the message says how long to wait. Undetermined,
    /// like `BROKER_UNREACHABLE`, but the server is there and nothing is wrong with the
    /// network.
    RateLimited,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::Expired => "EXPIRED",
            Self::Suspended => "SUSPENDED",
            Self::Revoked => "REVOKED",
            Self::NotFound => "NOT_FOUND",
            Self::MachineLimit => "MACHINE_LIMIT",
            Self::NotActivated => "NOT_ACTIVATED",
            Self::Deactivated => "DEACTIVATED",
            Self::WrongProduct => "WRONG_PRODUCT",
            Self::SeatsInUse => "SEATS_IN_USE",
            Self::NotFloating => "NOT_FLOATING",
            Self::CheckoutRequired => "CHECKOUT_REQUIRED",
            Self::Trial => "TRIAL",
            Self::TrialExpired => "TRIAL_EXPIRED",
            Self::NoTrial => "NO_TRIAL",
            Self::PerpetualFallback => "PERPETUAL_FALLBACK",
            Self::OfflineGrace => "OFFLINE_GRACE",
            Self::OfflineExpired => "OFFLINE_EXPIRED",
            Self::ClockRollback => "CLOCK_ROLLBACK",
            Self::ClockSkew => "CLOCK_SKEW",
            Self::ResponseUntrusted => "RESPONSE_UNTRUSTED",
            Self::NoLicense => "NO_LICENSE",
            Self::BrokerUnreachable => "BROKER_UNREACHABLE",
            Self::MachineIdUnavailable => "MACHINE_ID_UNAVAILABLE",
            Self::KeyStoreUnavailable => "KEY_STORE_UNAVAILABLE",
            Self::NoLease => "NO_LEASE",
            Self::RateLimited => "RATE_LIMITED",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<VerdictCode> for Code {
    fn from(code: VerdictCode) -> Self {
        match code {
            VerdictCode::Valid => Self::Valid,
            VerdictCode::Expired => Self::Expired,
            VerdictCode::Suspended => Self::Suspended,
            VerdictCode::Revoked => Self::Revoked,
            VerdictCode::NotFound => Self::NotFound,
            VerdictCode::MachineLimit => Self::MachineLimit,
            VerdictCode::NotActivated => Self::NotActivated,
            VerdictCode::Deactivated => Self::Deactivated,
            VerdictCode::WrongProduct => Self::WrongProduct,
            VerdictCode::SeatsInUse => Self::SeatsInUse,
            VerdictCode::NotFloating => Self::NotFloating,
            VerdictCode::CheckoutRequired => Self::CheckoutRequired,
            VerdictCode::Trial => Self::Trial,
            VerdictCode::TrialExpired => Self::TrialExpired,
            VerdictCode::NoTrial => Self::NoTrial,
        }
    }
}

/// Where the decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A verified answer to this check's request.
    Online,
    /// Local state only: the cached lease, or the lack of one.
    Cache,
}

/// The three things an app can do at start-up, and the CLI's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Run. Exit code 0.
    Licensed,
    /// Do not run; the message says why and what to do. Exit code 1.
    NotLicensed,
    /// No decision could be made (broker unreachable or untrusted and no usable
    /// lease, or the machine cannot be identified). Exit code 2.
    Undetermined,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Licensed => 0,
            Self::NotLicensed => 1,
            Self::Undetermined => 2,
        }
    }
}

/// The answer to "may this app run?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub licensed: bool,
    pub code: Code,
    pub source: Source,
    /// When the license itself expires (signed), unix seconds.
    pub expires_at: Option<i64>,
    /// Until when the cached verdict may be used offline (signed), unix seconds.
    pub offline_until: Option<i64>,
    /// What happened and what to do, for a person.
    pub message: String,
    /// The license's seats (signed), present exactly when it limits machines: `used`
    /// and `max` always, and the machines holding them on a refused activation
    /// (`MACHINE_LIMIT`) and from [`LicenseClient::machines`](crate::LicenseClient::machines).
    pub machines: Option<Machines>,
    /// The product the license is for (signed), see [`product`](Self::product).
    pub(crate) product: Option<String>,
    /// What the license lets the app do (signed), see [`entitlements`](Self::entitlements).
    pub(crate) entitlements: Vec<String>,
    /// The HTTP library's own words about a failed exchange, see [`detail`](Self::detail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

impl Verdict {
    /// The product the license is for, as the broker signed it (also on a deny: a
    /// `WRONG_PRODUCT` names the product the key is for), or `None` for a license for
    /// no product in particular, a verdict decided without one, and brokers from
    /// before products.
    pub fn product(&self) -> Option<&str> {
        self.product.as_deref()
    }

    /// The names the license entitles this app to (signed, e.g. `export`), when this
    /// verdict licenses the app; empty otherwise, and for a license with none.
    pub fn entitlements(&self) -> &[String] {
        if self.licensed {
            &self.entitlements
        } else {
            &[]
        }
    }

    /// Whether the license entitles the app to `name`: in the signed list and
    /// licensed now. Always false when the verdict does not license the app, so a
    /// feature gated by it is off whenever the app is not licensed.
    pub fn has_entitlement(&self, name: &str) -> bool {
        self.entitlements().iter().any(|held| held == name)
    }

    /// When the license server could not be asked: what the HTTP library said (the
    /// chain of causes, e.g. `tcp connect error: Connection refused (os error 111)`),
    /// for a log or a "details" view. The [`message`](Self::message) says the same in
    /// plain words. `None` otherwise.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    pub fn outcome(&self) -> Outcome {
        if self.licensed {
            return Outcome::Licensed;
        }
        match self.code {
            Code::BrokerUnreachable
            | Code::ResponseUntrusted
            | Code::MachineIdUnavailable
            | Code::KeyStoreUnavailable
            | Code::NoLease
            | Code::RateLimited => Outcome::Undetermined,
            _ => Outcome::NotLicensed,
        }
    }

    /// The verdict as the one JSON object that `license-check --json` prints and every
    /// language package reads: `licensed`, `code`, `source`, `expires_at`,
    /// `offline_until`, `message`, `machines` (`{used, max, list}`, or null for a
    /// license that does not limit machines), `product`, `entitlements` (only while
    /// licensed), `exit_code` (the [`Outcome`]'s) and `detail` (see
    /// [`detail`](Self::detail), or null).
    pub fn to_json(&self) -> serde_json::Value {
        let machines = match &self.machines {
            Some(m) => serde_json::json!({"used": m.used, "max": m.max, "list": m.list}),
            None => serde_json::Value::Null,
        };
        serde_json::json!({
            "licensed": self.licensed,
            "code": self.code,
            "source": self.source,
            "expires_at": self.expires_at,
            "offline_until": self.offline_until,
            "message": self.message,
            "machines": machines,
            "product": self.product(),
            "entitlements": self.entitlements(),
            "exit_code": self.outcome().exit_code(),
            "detail": self.detail(),
        })
    }

    pub(crate) fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// A verdict decided without a lease, e.g. "no key stored".
    pub(crate) fn local(code: Code, message: impl Into<String>) -> Self {
        Self {
            licensed: false,
            code,
            source: Source::Cache,
            expires_at: None,
            offline_until: None,
            message: message.into(),
            machines: None,
            product: None,
            entitlements: Vec::new(),
            detail: None,
        }
    }

    /// Adds each note once (a check that tried to save twice says so once).
    pub(crate) fn append_notes<'a>(&mut self, notes: impl IntoIterator<Item = &'a String>) {
        let mut seen: Vec<&str> = Vec::new();
        for note in notes {
            if !seen.contains(&note.as_str()) {
                seen.push(note);
                self.message.push_str(&format!(" Note: {note}."));
            }
        }
    }
}

/// A unix time as people read it, e.g. `2026-05-01 12:00 UTC`.
///
/// In UTC only, on purpose. The local zone's offset cannot be had soundly here on
/// Unix: the `time` crate's `UtcOffset::current_local_offset` refuses whenever the
/// process has more than one thread, because `localtime_r` reads the environment that
/// another thread's `setenv` may be changing (RUSTSEC-2020-0071,
/// <https://rustsec.org/advisories/RUSTSEC-2020-0071>; the method's documentation,
/// <https://docs.rs/time/0.3/time/struct.UtcOffset.html#method.current_local_offset>),
/// and an app, like the check's own blocking pool, always has more than one. A
/// message that showed the local time on one start and not on the next would be worse
/// than one that always says UTC. An app that knows its zone formats the verdict's
/// signed times ([`Verdict::expires_at`], [`Verdict::offline_until`]) itself.
pub fn format_time(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("unix time {unix}"))
}

/// A duration as people read it, in its two largest units, the smaller one rounded
/// to the nearest: `6 days and 23 hours`, `7 days`, `5 hours and 40 minutes`,
/// `12 minutes`, `1 second`. Never a whole unit less than it is: 6 days and 23 hours
/// is not "6 days".
pub(crate) fn format_span(seconds: i64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 3600;
    const DAY: u64 = 86_400;
    let s = seconds.unsigned_abs();
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| match small {
        0 => plural(big, big_unit),
        _ => format!(
            "{} and {}",
            plural(big, big_unit),
            plural(small, small_unit)
        ),
    };
    if s >= 2 * DAY {
        let hours = (s + HOUR / 2) / HOUR;
        two(hours / 24, "day", hours % 24, "hour")
    } else if s >= 2 * HOUR {
        let minutes = (s + MINUTE / 2) / MINUTE;
        two(minutes / 60, "hour", minutes % 60, "minute")
    } else if s >= 2 * MINUTE {
        plural((s + MINUTE / 2) / MINUTE, "minute")
    } else {
        plural(s, "second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_the_cli_exit_codes() {
        let mut v = Verdict::local(Code::NoLicense, "x");
        assert_eq!(v.outcome().exit_code(), 1);
        v.code = Code::BrokerUnreachable;
        assert_eq!(v.outcome().exit_code(), 2);
        v.licensed = true;
        v.code = Code::OfflineGrace;
        assert_eq!(v.outcome().exit_code(), 0);
        assert_eq!(
            serde_json::to_value(Code::OfflineGrace).unwrap(),
            "OFFLINE_GRACE"
        );
        assert_eq!(serde_json::to_value(Source::Cache).unwrap(), "cache");
        assert_eq!(
            serde_json::to_value(Code::PerpetualFallback).unwrap(),
            Code::PerpetualFallback.as_str()
        );
    }

    #[test]
    fn entitlements_count_only_while_licensed() {
        let mut v = Verdict::local(Code::Valid, "x");
        v.entitlements = vec!["export".into()];
        assert!(!v.has_entitlement("export"));
        assert!(v.entitlements().is_empty());
        v.licensed = true;
        assert!(v.has_entitlement("export"));
        assert!(!v.has_entitlement("sync"));
        assert_eq!(v.entitlements(), ["export".to_owned()]);
    }

    #[test]
    fn the_json_shape_has_every_member_and_hides_entitlements_unless_licensed() {
        let mut v = Verdict::local(Code::NotFound, "no such license");
        v.entitlements = vec!["export".into()];
        v.product = Some("desktop-pro".into());
        let json = v.to_json();
        let members: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for member in [
            "licensed",
            "code",
            "source",
            "expires_at",
            "offline_until",
            "message",
            "machines",
            "product",
            "entitlements",
            "exit_code",
        ] {
            assert!(members.contains(&member), "{member} missing from {json}");
        }
        assert_eq!(json["code"], "NOT_FOUND");
        assert_eq!(json["exit_code"], 1);
        assert_eq!(json["machines"], serde_json::Value::Null);
        assert_eq!(json["entitlements"], serde_json::json!([]));
        v.licensed = true;
        v.code = Code::Valid;
        v.machines = Some(Machines {
            used: 1,
            max: Some(2),
            list: Vec::new(),
        });
        let json = v.to_json();
        assert_eq!(json["entitlements"], serde_json::json!(["export"]));
        assert_eq!(
            json["machines"],
            serde_json::json!({"used": 1, "max": 2, "list": []})
        );
        assert_eq!(json["exit_code"], 0);
    }

    #[test]
    fn times_read_well() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(i64::MAX), format!("unix time {}", i64::MAX));
        assert_eq!(format_span(3 * 86_400 + 5), "3 days");
        assert_eq!(format_span(-600), "10 minutes");
        assert_eq!(format_span(1), "1 second");
        // Whole days as people count them: never a day less than it is.
        assert_eq!(format_span(6 * 86_400 + 23 * 3600), "6 days and 23 hours");
        assert_eq!(format_span(7 * 86_400 - 60), "7 days");
        assert_eq!(format_span(2 * 86_400 + 3600), "2 days and 1 hour");
        assert_eq!(
            format_span(5 * 3600 + 40 * 60 + 10),
            "5 hours and 40 minutes"
        );
        assert_eq!(format_span(2 * 3600 - 1), "120 minutes");
        let _ = (format_span(i64::MIN), format_span(i64::MAX));
    }
}
