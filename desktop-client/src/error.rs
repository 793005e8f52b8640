//! [`Error`]: why an activation, deactivation or machine listing did not reach a
//! verified answer it could act on. One type with a stable [`ErrorKind`], in the shape
//! of `std::io::Error`: a program branches on the kind (a C ABI numbers it), a person
//! reads the message. A check never fails this way: it always answers with a
//! [`Verdict`], whose [`Code`](crate::Code) says why it is not licensed.
//!
//! Never contains the license key.

use std::fmt;

use crate::fingerprint::FingerprintError;
use crate::store::keystore::KeyStoreError;
use crate::transport::TransportError;
use crate::verdict::Verdict;
use crate::verify::Untrusted;

/// What kind of failure an [`Error`] is. The numbers are stable: the C ABI and every
/// language package expose them, and a new kind only ever gets a new number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum ErrorKind {
    /// The license key given is not a license key (a typo, or a truncated paste).
    InvalidKey = 1,
    /// A value the app passed is not acceptable (a machine name too long or with
    /// control characters, a machine id that is not one); the message names it.
    InvalidArgument = 2,
    /// The client was built without a license server URL.
    NoBrokerUrl = 3,
    /// No license key is stored on this machine, or the stored one is damaged.
    NoLicense = 4,
    /// The OS machine id, which the license is bound to, cannot be read.
    MachineIdUnavailable = 5,
    /// The key store (the OS keyring, or the key file) cannot be read or written.
    KeyStoreUnavailable = 6,
    /// The saved license (the lease file in the data directory) cannot be written or
    /// removed.
    CacheUnavailable = 7,
    /// The license server could not be reached, or did not answer in time.
    BrokerUnreachable = 8,
    /// The license server refused for now (HTTP 429): too many activations, or too
    /// many freed seats, in the current window. The message says when to retry.
    RateLimited = 9,
    /// No machine of this license has the seat id given.
    UnknownMachine = 10,
    /// The answer failed verification (signature, nonce, machine, license, product).
    ResponseUntrusted = 11,
    /// A verified answer other than the one asked for ([`Error::verdict`] holds it,
    /// such as `REVOKED` to a deactivation).
    Refused = 12,
    /// A bug or a runtime failure inside the client; the message says what.
    Internal = 13,
}

impl ErrorKind {
    /// The kind as the CLI's and the packages' `code` string, e.g. `"RATE_LIMITED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidKey => "INVALID_KEY",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::NoBrokerUrl => "NO_BROKER_URL",
            Self::NoLicense => "NO_LICENSE",
            Self::MachineIdUnavailable => "MACHINE_ID_UNAVAILABLE",
            Self::KeyStoreUnavailable => "KEY_STORE_UNAVAILABLE",
            Self::CacheUnavailable => "CACHE_UNAVAILABLE",
            Self::BrokerUnreachable => "BROKER_UNREACHABLE",
            Self::RateLimited => "RATE_LIMITED",
            Self::UnknownMachine => "UNKNOWN_MACHINE",
            Self::ResponseUntrusted => "RESPONSE_UNTRUSTED",
            Self::Refused => "REFUSED",
            Self::Internal => "INTERNAL_ERROR",
        }
    }

    /// Whether the app passed something wrong (a usage error), as opposed to a failure
    /// of the machine, the network or the server.
    pub fn is_usage(self) -> bool {
        matches!(
            self,
            Self::InvalidKey | Self::InvalidArgument | Self::NoBrokerUrl
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an activation, a deactivation or a machine listing did not reach a verified
/// answer it could act on. See the [module](self) and [`ErrorKind`].
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    untrusted: Option<Untrusted>,
    verdict: Option<Box<Verdict>>,
    detail: Option<String>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            untrusted: None,
            verdict: None,
            detail: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Why the answer was not trusted, for [`ErrorKind::ResponseUntrusted`].
    pub fn untrusted(&self) -> Option<&Untrusted> {
        self.untrusted.as_ref()
    }

    /// The verified answer that came with the failure: the refusal for
    /// [`ErrorKind::Refused`]; for a deactivation whose seat was freed but whose key or
    /// lease could not be removed, the `DEACTIVATED` verdict.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_deref()
    }

    /// When the license server could not be reached: what the HTTP library said (the
    /// chain of causes), for a log or a "details" view; the message says it in plain
    /// words. `None` otherwise.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// Keeps `verdict` as the answer that came with this failure.
    pub(crate) fn with_verdict(mut self, verdict: Verdict) -> Self {
        self.verdict = Some(Box::new(verdict));
        self
    }

    pub(crate) fn invalid_key(e: license_shared::LicenseKeyError) -> Self {
        Self::new(ErrorKind::InvalidKey, e.to_string())
    }

    pub(crate) fn invalid_argument(e: license_shared::RequestError) -> Self {
        Self::new(ErrorKind::InvalidArgument, e.to_string())
    }

    pub(crate) fn no_broker_url() -> Self {
        Self::new(
            ErrorKind::NoBrokerUrl,
            "no license server URL is configured",
        )
    }

    pub(crate) fn no_license() -> Self {
        Self::new(
            ErrorKind::NoLicense,
            "no license key is stored on this machine; activate the license first",
        )
    }

    pub(crate) fn damaged_key() -> Self {
        Self::new(
            ErrorKind::NoLicense,
            "the stored license key is damaged; activate the license again",
        )
    }

    pub(crate) fn machine_id(e: FingerprintError) -> Self {
        Self::new(ErrorKind::MachineIdUnavailable, e.to_string())
    }

    /// `doing` completes "the license key could not be …": "stored in", "read from".
    pub(crate) fn key_store(doing: &str, e: KeyStoreError) -> Self {
        Self::new(
            ErrorKind::KeyStoreUnavailable,
            format!("the license key could not be {doing} the {e}"),
        )
    }

    /// The data directory `dir` cannot take the lease.
    pub(crate) fn cache_write(dir: &std::path::Path, e: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::CacheUnavailable,
            format!(
                "the saved license could not be written in {} ({e}); make that directory writable, or give the app another data directory",
                dir.display()
            ),
        )
    }

    /// `context` (what did not happen, lower case) before the message: "context: message".
    pub(crate) fn prefixed(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// `sentence` after the message, which is ended first.
    pub(crate) fn suffixed(mut self, sentence: &str) -> Self {
        self.message = format!("{} {sentence}", crate::text::end_sentence(&self.message));
        self
    }

    pub(crate) fn cache(e: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::CacheUnavailable,
            format!("the saved license could not be removed: {e}"),
        )
    }

    /// A failed HTTP exchange. A 429 is the server's rate limit, never a network
    /// failure; `machine_id` names the seat a deactivation asked to free, so that a 400
    /// to it reads as an unknown machine.
    pub(crate) fn transport(e: TransportError, machine_id: Option<&str>) -> Self {
        let detail = e.detail().map(str::to_owned);
        let mut error = Self::transport_kind(e, machine_id);
        error.detail = detail;
        error
    }

    fn transport_kind(e: TransportError, machine_id: Option<&str>) -> Self {
        match (e, machine_id) {
            (TransportError::Status { status: 429, message }, _) => Self::new(
                ErrorKind::RateLimited,
                format!("the license server refused for now: {message}; try again later"),
            ),
            (TransportError::Status { status: 400, .. }, Some(id)) => Self::new(
                ErrorKind::UnknownMachine,
                format!("no machine of this license has the id {id}; list them to see their ids"),
            ),
            // The server is there but in trouble: nothing for the network settings.
            (e @ TransportError::Status { status: 500.., .. }, _) => Self::new(
                ErrorKind::BrokerUnreachable,
                format!("{e}; try again in a few minutes"),
            ),
            (e, _) => Self::new(
                ErrorKind::BrokerUnreachable,
                format!("{e}; check the network connection and the proxy settings (HTTPS_PROXY), then try again"),
            ),
        }
    }

    pub(crate) fn untrusted_answer(why: Untrusted) -> Self {
        let mut error = Self::new(
            ErrorKind::ResponseUntrusted,
            format!("the license server's answer could not be verified: {why}; check the proxy settings and the license server URL"),
        );
        error.untrusted = Some(why);
        error
    }

    /// A verified answer other than the one asked for.
    pub(crate) fn refused(verdict: Verdict) -> Self {
        Self::new(
            ErrorKind::Refused,
            format!(
                "the license server answered {}: {}",
                verdict.code, verdict.message
            ),
        )
        .with_verdict(verdict)
    }

    pub(crate) fn internal(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Internal, format!("internal error: {message}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_is_rate_limited_and_never_a_network_failure() {
        for machine in [None, Some("0123456789ab")] {
            let status = TransportError::Status {
                status: 429,
                message: "too many activations; retry in 3600 s".into(),
            };
            let error = Error::transport(status, machine);
            assert_eq!(error.kind(), ErrorKind::RateLimited);
            assert!(error.to_string().contains("retry in 3600 s"), "{error}");
            assert!(!error.to_string().contains("network"), "{error}");
        }
    }

    #[test]
    fn a_400_names_the_unknown_machine_only_when_one_was_named() {
        let status = || TransportError::Status {
            status: 400,
            message: "bad request".into(),
        };
        let named = Error::transport(status(), Some("ffffffffffff"));
        assert_eq!(named.kind(), ErrorKind::UnknownMachine);
        assert!(named.to_string().contains("ffffffffffff"));
        let plain = Error::transport(status(), None);
        assert_eq!(plain.kind(), ErrorKind::BrokerUnreachable);
    }

    #[test]
    fn kinds_keep_their_numbers_and_names() {
        // The C ABI and the packages publish these numbers: they never change.
        let kinds = [
            (ErrorKind::InvalidKey, 1, "INVALID_KEY"),
            (ErrorKind::InvalidArgument, 2, "INVALID_ARGUMENT"),
            (ErrorKind::NoBrokerUrl, 3, "NO_BROKER_URL"),
            (ErrorKind::NoLicense, 4, "NO_LICENSE"),
            (ErrorKind::MachineIdUnavailable, 5, "MACHINE_ID_UNAVAILABLE"),
            (ErrorKind::KeyStoreUnavailable, 6, "KEY_STORE_UNAVAILABLE"),
            (ErrorKind::CacheUnavailable, 7, "CACHE_UNAVAILABLE"),
            (ErrorKind::BrokerUnreachable, 8, "BROKER_UNREACHABLE"),
            (ErrorKind::RateLimited, 9, "RATE_LIMITED"),
            (ErrorKind::UnknownMachine, 10, "UNKNOWN_MACHINE"),
            (ErrorKind::ResponseUntrusted, 11, "RESPONSE_UNTRUSTED"),
            (ErrorKind::Refused, 12, "REFUSED"),
            (ErrorKind::Internal, 13, "INTERNAL_ERROR"),
        ];
        for (kind, number, name) in kinds {
            assert_eq!(kind as u32, number, "{kind:?}");
            assert_eq!(kind.as_str(), name);
        }
    }
}
