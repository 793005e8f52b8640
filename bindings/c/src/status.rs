//! `lc_status`: the number every entry point returns. `LC_OK` and the client's
//! [`ErrorKind`] numbers, which are stable, so a status never changes meaning.

use client::ErrorKind;

/// The result of a call. `LC_OK` means the out-parameter was written (for a check or
/// an activation, a verdict: licensed or not, read it). Anything else wrote nothing,
/// and `lc_last_error()` says what went wrong on this thread.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lc_status {
    LC_OK = 0,
    /// The license key given is not a license key (a typo, a truncated paste).
    LC_INVALID_KEY = 1,
    /// A NULL pointer, a string that is not UTF-8, a configuration member that is
    /// unknown or of the wrong type, or a value the client refuses; the message names it.
    LC_INVALID_ARGUMENT = 2,
    /// No license server URL is configured.
    LC_NO_BROKER_URL = 3,
    /// No license key is stored on this machine (activate first), or it is damaged.
    LC_NO_LICENSE = 4,
    /// The OS machine id cannot be read (set `machine_id` in the configuration).
    LC_MACHINE_ID_UNAVAILABLE = 5,
    /// The key store (the OS keyring, or the key file) cannot be read or written.
    LC_KEY_STORE_UNAVAILABLE = 6,
    /// The saved license in the data directory cannot be written or removed.
    LC_CACHE_UNAVAILABLE = 7,
    /// The license server could not be reached, or did not answer in time.
    LC_BROKER_UNREACHABLE = 8,
    /// The license server refused for now (HTTP 429); the message says when to retry.
    LC_RATE_LIMITED = 9,
    /// No machine of this license has the seat id given.
    LC_UNKNOWN_MACHINE = 10,
    /// The license server's answer failed verification.
    LC_RESPONSE_UNTRUSTED = 11,
    /// A verified answer other than the one asked for.
    LC_REFUSED = 12,
    /// A bug inside the library (a panic, caught before it reached the caller).
    LC_INTERNAL = 13,
}

impl lc_status {
    const ALL: [Self; 14] = [
        Self::LC_OK,
        Self::LC_INVALID_KEY,
        Self::LC_INVALID_ARGUMENT,
        Self::LC_NO_BROKER_URL,
        Self::LC_NO_LICENSE,
        Self::LC_MACHINE_ID_UNAVAILABLE,
        Self::LC_KEY_STORE_UNAVAILABLE,
        Self::LC_CACHE_UNAVAILABLE,
        Self::LC_BROKER_UNREACHABLE,
        Self::LC_RATE_LIMITED,
        Self::LC_UNKNOWN_MACHINE,
        Self::LC_RESPONSE_UNTRUSTED,
        Self::LC_REFUSED,
        Self::LC_INTERNAL,
    ];

    /// The status numbered `number`, if any.
    pub(crate) fn from_number(number: u32) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| *status as u32 == number)
    }

    /// The status's name as the C enum spells it, for logs and for `lc_status_name`.
    pub(crate) fn name(self) -> &'static std::ffi::CStr {
        match self {
            Self::LC_OK => c"LC_OK",
            Self::LC_INVALID_KEY => c"LC_INVALID_KEY",
            Self::LC_INVALID_ARGUMENT => c"LC_INVALID_ARGUMENT",
            Self::LC_NO_BROKER_URL => c"LC_NO_BROKER_URL",
            Self::LC_NO_LICENSE => c"LC_NO_LICENSE",
            Self::LC_MACHINE_ID_UNAVAILABLE => c"LC_MACHINE_ID_UNAVAILABLE",
            Self::LC_KEY_STORE_UNAVAILABLE => c"LC_KEY_STORE_UNAVAILABLE",
            Self::LC_CACHE_UNAVAILABLE => c"LC_CACHE_UNAVAILABLE",
            Self::LC_BROKER_UNREACHABLE => c"LC_BROKER_UNREACHABLE",
            Self::LC_RATE_LIMITED => c"LC_RATE_LIMITED",
            Self::LC_UNKNOWN_MACHINE => c"LC_UNKNOWN_MACHINE",
            Self::LC_RESPONSE_UNTRUSTED => c"LC_RESPONSE_UNTRUSTED",
            Self::LC_REFUSED => c"LC_REFUSED",
            Self::LC_INTERNAL => c"LC_INTERNAL",
        }
    }
}

impl From<ErrorKind> for lc_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidKey => Self::LC_INVALID_KEY,
            ErrorKind::InvalidArgument => Self::LC_INVALID_ARGUMENT,
            ErrorKind::NoBrokerUrl => Self::LC_NO_BROKER_URL,
            ErrorKind::NoLicense => Self::LC_NO_LICENSE,
            ErrorKind::MachineIdUnavailable => Self::LC_MACHINE_ID_UNAVAILABLE,
            ErrorKind::KeyStoreUnavailable => Self::LC_KEY_STORE_UNAVAILABLE,
            ErrorKind::CacheUnavailable => Self::LC_CACHE_UNAVAILABLE,
            ErrorKind::BrokerUnreachable => Self::LC_BROKER_UNREACHABLE,
            ErrorKind::RateLimited => Self::LC_RATE_LIMITED,
            ErrorKind::UnknownMachine => Self::LC_UNKNOWN_MACHINE,
            ErrorKind::ResponseUntrusted => Self::LC_RESPONSE_UNTRUSTED,
            ErrorKind::Refused => Self::LC_REFUSED,
            // Internal, and any kind a newer client adds before this enum learns it.
            _ => Self::LC_INTERNAL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_are_no_status_have_none() {
        assert_eq!(lc_status::from_number(0), Some(lc_status::LC_OK));
        assert_eq!(lc_status::from_number(14), None);
        assert_eq!(lc_status::from_number(u32::MAX), None);
    }

    #[test]
    fn every_kind_keeps_its_number_across_the_abi() {
        let kinds = [
            ErrorKind::InvalidKey,
            ErrorKind::InvalidArgument,
            ErrorKind::NoBrokerUrl,
            ErrorKind::NoLicense,
            ErrorKind::MachineIdUnavailable,
            ErrorKind::KeyStoreUnavailable,
            ErrorKind::CacheUnavailable,
            ErrorKind::BrokerUnreachable,
            ErrorKind::RateLimited,
            ErrorKind::UnknownMachine,
            ErrorKind::ResponseUntrusted,
            ErrorKind::Refused,
            ErrorKind::Internal,
        ];
        for kind in kinds {
            let status = lc_status::from(kind);
            assert_eq!(status as u32, kind as u32, "{kind:?}");
            assert_eq!(lc_status::from_number(kind as u32), Some(status));
            assert_eq!(
                status.name().to_str().unwrap(),
                format!("LC_{}", kind.as_str()).replace("_ERROR", ""),
            );
        }
    }
}
