//! The body of `POST /v1/license/validate`, and the limits the broker enforces on it.

use serde::{Deserialize, Serialize};

use crate::b64;

/// Fewest random bytes a nonce may carry: below this a replay becomes guessable.
pub const NONCE_MIN_BYTES: usize = 16;
/// Most random bytes a nonce may carry.
pub const NONCE_MAX_BYTES: usize = 64;
/// Longest fingerprint the broker echoes.
pub const FINGERPRINT_MAX_CHARS: usize = 128;
/// Longest `app.id` or `app.version`.
pub const APP_FIELD_MAX_CHARS: usize = 64;
/// Longest license key text accepted before it is even parsed.
pub const LICENSE_KEY_MAX_CHARS: usize = 128;

/// What a desktop app sends to learn whether its license is good. `Debug` hides the
/// license key: it is a credential, and requests end up in logs by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// The license key as the user typed or pasted it.
    pub license_key: String,
    /// Base64url of 16 to 64 fresh random bytes; the verdict must echo it.
    pub nonce: String,
    /// Optional machine fingerprint, echoed into the signed verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Optional name and version of the calling app, for the broker's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppInfo>,
}

/// The calling application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppInfo {
    /// A stable application identifier, such as `com.example.editor`.
    pub id: String,
    /// The application's version string.
    pub version: String,
}

impl std::fmt::Debug for ValidateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidateRequest")
            .field("license_key", &"<redacted>")
            .field("nonce", &self.nonce)
            .field("fingerprint", &self.fingerprint)
            .field("app", &self.app)
            .finish()
    }
}

/// Which field of a [`ValidateRequest`] is unacceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("license_key is empty or longer than {LICENSE_KEY_MAX_CHARS} characters")]
    LicenseKeyLength,
    #[error("nonce must be base64url without padding")]
    NonceEncoding,
    #[error(
        "nonce must carry {NONCE_MIN_BYTES} to {NONCE_MAX_BYTES} random bytes, it carries {0}"
    )]
    NonceLength(usize),
    #[error("fingerprint must be 1 to {FINGERPRINT_MAX_CHARS} printable ASCII characters")]
    Fingerprint,
    #[error("app.{0} must be 1 to {APP_FIELD_MAX_CHARS} printable ASCII characters")]
    AppField(&'static str),
}

impl ValidateRequest {
    /// Checks every bound the contract sets, naming the first field that breaks one.
    pub fn check(&self) -> Result<(), RequestError> {
        if self.license_key.is_empty() || self.license_key.chars().count() > LICENSE_KEY_MAX_CHARS {
            return Err(RequestError::LicenseKeyLength);
        }
        let nonce = b64::decode(&self.nonce).map_err(|_| RequestError::NonceEncoding)?;
        if !(NONCE_MIN_BYTES..=NONCE_MAX_BYTES).contains(&nonce.len()) {
            return Err(RequestError::NonceLength(nonce.len()));
        }
        if let Some(fingerprint) = &self.fingerprint {
            if !is_printable_ascii(fingerprint, FINGERPRINT_MAX_CHARS) {
                return Err(RequestError::Fingerprint);
            }
        }
        if let Some(app) = &self.app {
            if !is_printable_ascii(&app.id, APP_FIELD_MAX_CHARS) {
                return Err(RequestError::AppField("id"));
            }
            if !is_printable_ascii(&app.version, APP_FIELD_MAX_CHARS) {
                return Err(RequestError::AppField("version"));
            }
        }
        Ok(())
    }
}

/// Echoed values end up in logs and signed payloads, so only visible ASCII is allowed.
fn is_printable_ascii(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(nonce_bytes: usize) -> ValidateRequest {
        ValidateRequest {
            license_key: "KEY".into(),
            nonce: b64::encode(&vec![7u8; nonce_bytes]),
            fingerprint: Some("fp-1".into()),
            app: Some(AppInfo {
                id: "com.example.app".into(),
                version: "1.2.3".into(),
            }),
        }
    }

    #[test]
    fn accepts_nonces_of_16_to_64_bytes_only() {
        assert_eq!(request(15).check(), Err(RequestError::NonceLength(15)));
        assert_eq!(request(16).check(), Ok(()));
        assert_eq!(request(64).check(), Ok(()));
        assert_eq!(request(65).check(), Err(RequestError::NonceLength(65)));
        let mut padded = request(32);
        padded.nonce.push('=');
        assert_eq!(padded.check(), Err(RequestError::NonceEncoding));
    }

    #[test]
    fn rejects_oversized_or_unprintable_echo_fields() {
        let mut r = request(32);
        r.fingerprint = Some("x".repeat(129));
        assert_eq!(r.check(), Err(RequestError::Fingerprint));
        r.fingerprint = Some("line\nbreak".into());
        assert_eq!(r.check(), Err(RequestError::Fingerprint));
        r.fingerprint = None;
        r.app.as_mut().unwrap().version = String::new();
        assert_eq!(r.check(), Err(RequestError::AppField("version")));
        r.app = None;
        r.license_key = "k".repeat(129);
        assert_eq!(r.check(), Err(RequestError::LicenseKeyLength));
    }

    #[test]
    fn debug_hides_the_license_key() {
        let mut r = request(16);
        r.license_key = "SENTINEL-KEY-12345".into();
        let shown = format!("{r:?}");
        assert!(!shown.contains("SENTINEL"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn unknown_members_are_refused() {
        let body = r#"{"license_key":"K","nonce":"AAAAAAAAAAAAAAAAAAAAAA","extra":1}"#;
        assert!(serde_json::from_str::<ValidateRequest>(body).is_err());
        let body = r#"{"license_key":"K","nonce":"AAAAAAAAAAAAAAAAAAAAAA"}"#;
        let parsed: ValidateRequest = serde_json::from_str(body).unwrap();
        assert_eq!(parsed.fingerprint, None);
        assert_eq!(parsed.check(), Ok(()));
    }
}
