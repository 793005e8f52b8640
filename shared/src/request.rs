//! The body of `POST /v1/license/validate`, and the limits the broker enforces on it.

use serde::{Deserialize, Serialize};

use crate::b64;
use crate::unicode_tables::{in_ranges, is_combining_mark, DEFAULT_IGNORABLE, FORMAT};

/// Fewest random bytes a nonce may carry: below this a replay becomes guessable.
pub const NONCE_MIN_BYTES: usize = 16;
/// Most random bytes a nonce may carry.
pub const NONCE_MAX_BYTES: usize = 64;
/// Longest fingerprint the broker echoes.
pub const FINGERPRINT_MAX_CHARS: usize = 128;
/// Longest `app.id` or `app.version`.
pub const APP_FIELD_MAX_CHARS: usize = 64;
/// Longest `machine_name` an activation may give.
pub const MACHINE_NAME_MAX_CHARS: usize = 64;
/// Most combining marks (general category Mn, Mc or Me) a machine name may stack in a
/// row. Real writing needs few: Vietnamese puts two on a vowel (a vowel mark and a tone,
/// `ệ` is e + U+0323 + U+0302 decomposed) and pointed, cantillated Hebrew three or so on
/// one letter; dozens of stacked marks ("Zalgo" text) only draw over the lines around
/// the name in a dialog or terminal. Four leaves room for every orthography while
/// refusing the tower.
pub const MACHINE_NAME_MAX_COMBINING_RUN: usize = 4;
/// Longest `machine_id` (a seat's short id) a deactivation may name.
pub const MACHINE_ID_MAX_CHARS: usize = 64;
/// Longest product code.
pub const PRODUCT_MAX_CHARS: usize = 64;
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
    /// Activation only: a name for this machine, shown in machine lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_name: Option<String>,
    /// Deactivation only: free the seat with this id (from a machine list) instead of
    /// this machine's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    /// The product code of the app asking (e.g. `desktop-pro`); a license for another
    /// product answers `WRONG_PRODUCT`. Sent only when the app names one, so an app
    /// that names none works with brokers from before products.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Checkout only: hold the floating seat this many days for offline use (borrow),
    /// up to the license's own limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrow_days: Option<u32>,
}

/// Longest borrow a checkout may ask for, in days; the license's `max_borrow_days`
/// caps it further.
pub const BORROW_DAYS_MAX: u32 = 3650;

/// The body of `POST /v1/trial/start`: one trial per machine and product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialRequest {
    /// The product code of the app asking.
    pub product: String,
    /// Base64url of 16 to 64 fresh random bytes; the verdict must echo it.
    pub nonce: String,
    /// This machine's fingerprint: the trial belongs to it.
    pub fingerprint: String,
    /// Optional name and version of the calling app, for the broker's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppInfo>,
}

/// The `request.key` of a trial's verdict: a trial request carries no license key, so
/// it names the digest of the empty one.
pub const TRIAL_KEY: &str = "";

impl TrialRequest {
    /// Checks every bound, naming the first field that breaks one (the same bounds as a
    /// validation's nonce, fingerprint, app and product).
    pub fn check(&self) -> Result<(), RequestError> {
        ValidateRequest {
            license_key: "trial".to_owned(),
            nonce: self.nonce.clone(),
            fingerprint: Some(self.fingerprint.clone()),
            app: self.app.clone(),
            machine_name: None,
            machine_id: None,
            product: Some(self.product.clone()),
            borrow_days: None,
        }
        .check()
    }
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
            .field("machine_name", &self.machine_name)
            .field("machine_id", &self.machine_id)
            .field("product", &self.product)
            .field("borrow_days", &self.borrow_days)
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
    #[error("{0}")]
    MachineName(MachineNameProblem),
    #[error("machine_id must be 1 to {MACHINE_ID_MAX_CHARS} lower-case hex digits, as a machine list shows it")]
    MachineId,
    #[error(
        "product must be 1 to {PRODUCT_MAX_CHARS} characters of A-Z, a-z, 0-9, '.', '_' and '-'"
    )]
    Product,
    #[error("borrow_days must be a whole number of days from 1 to {BORROW_DAYS_MAX}")]
    BorrowDays,
}

/// What is wrong with an activation's `machine_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MachineNameProblem {
    #[error(
        "machine_name must be 1 to {MACHINE_NAME_MAX_CHARS} characters; shorten it or leave it out"
    )]
    Length,
    #[error(
        "machine_name contains U+{:04X}, a control, line-break, bidirectional, formatting or \
         invisible character; use only visible characters and plain spaces",
        u32::from(*.0)
    )]
    InvisibleChar(char),
    #[error("machine_name is only whitespace; give a visible name or leave it out")]
    WhitespaceOnly,
    #[error(
        "machine_name stacks more than {MACHINE_NAME_MAX_COMBINING_RUN} combining marks on one \
         character; use at most {MACHINE_NAME_MAX_COMBINING_RUN}"
    )]
    CombiningMarks,
}

/// Checks a machine name: it is shown in machine lists, terminals and dialogs, so every
/// character of it must be one a reader can see, and none may draw outside its place.
pub fn check_machine_name(name: &str) -> Result<(), MachineNameProblem> {
    let chars = name.chars().count();
    if chars == 0 || chars > MACHINE_NAME_MAX_CHARS {
        return Err(MachineNameProblem::Length);
    }
    if let Some(c) = name.chars().find(|&c| is_unsafe_char(c)) {
        return Err(MachineNameProblem::InvisibleChar(c));
    }
    if name.chars().all(char::is_whitespace) {
        return Err(MachineNameProblem::WhitespaceOnly);
    }
    let mut run = 0;
    for c in name.chars() {
        run = if is_combining_mark(c) { run + 1 } else { 0 };
        if run > MACHINE_NAME_MAX_COMBINING_RUN {
            return Err(MachineNameProblem::CombiningMarks);
        }
    }
    Ok(())
}

impl ValidateRequest {
    /// Checks every bound the contract sets, naming the first field that breaks one.
    pub fn check(&self) -> Result<(), RequestError> {
        if self.license_key.is_empty() || self.license_key.chars().count() > LICENSE_KEY_MAX_CHARS {
            return Err(RequestError::LicenseKeyLength);
        }
        let nonce_len = b64::decoded_len::<NONCE_MAX_BYTES>(&self.nonce)
            .map_err(|_| RequestError::NonceEncoding)?;
        if !(NONCE_MIN_BYTES..=NONCE_MAX_BYTES).contains(&nonce_len) {
            return Err(RequestError::NonceLength(nonce_len));
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
        if let Some(name) = &self.machine_name {
            check_machine_name(name).map_err(RequestError::MachineName)?;
        }
        if let Some(product) = &self.product {
            if !is_product_code(product) {
                return Err(RequestError::Product);
            }
        }
        if self
            .borrow_days
            .is_some_and(|d| d == 0 || d > BORROW_DAYS_MAX)
        {
            return Err(RequestError::BorrowDays);
        }
        if let Some(id) = &self.machine_id {
            let ok = !id.is_empty()
                && id.len() <= MACHINE_ID_MAX_CHARS
                && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !ok {
                return Err(RequestError::MachineId);
            }
        }
        Ok(())
    }
}

/// A product code: the same alphabet on both sides, so comparing is comparing bytes.
pub fn is_product_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= PRODUCT_MAX_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A character a machine name may not hold: controls (Cc), format characters (Cf:
/// bidirectional controls such as U+061C and U+202E, zero-width spaces and joiners,
/// U+FEFF, invisible operators such as U+2062, tag characters), the line and paragraph
/// separators U+2028 and U+2029, and every other default-ignorable code point (fillers,
/// variation selectors, the whole tag block U+E0000..U+E0FFF): each either draws nothing
/// or changes how the text around it reads.
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || in_ranges(FORMAT, c)
        || in_ranges(DEFAULT_IGNORABLE, c)
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
            machine_name: None,
            machine_id: None,
            product: None,
            borrow_days: None,
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

    #[test]
    fn product_codes_are_plain_and_bounded() {
        let mut asking = request(32);
        asking.product = Some("desktop-pro".into());
        assert_eq!(asking.check(), Ok(()));
        for bad in ["", "desktop pro", "pro/../lite", &"p".repeat(65)] {
            asking.product = Some(bad.into());
            assert_eq!(asking.check(), Err(RequestError::Product), "{bad:?}");
        }
        let json = serde_json::to_string(&request(16)).unwrap();
        assert!(
            !json.contains("product"),
            "an app naming none sends nothing new: {json}"
        );
    }

    #[test]
    fn machine_names_and_ids_are_bounded_and_safe_to_show() {
        let mut named = request(32);
        named.machine_name = Some("Anna's laptop (Zürich)".into());
        assert_eq!(named.check(), Ok(()));
        for bad in ["", &"x".repeat(65)] {
            named.machine_name = Some(bad.into());
            let expected = RequestError::MachineName(MachineNameProblem::Length);
            assert_eq!(named.check(), Err(expected), "{bad:?}");
        }
        for bad in ["evil\u{202E}txt.exe", "line\nbreak"] {
            named.machine_name = Some(bad.into());
            assert!(
                matches!(named.check(), Err(RequestError::MachineName(_))),
                "{bad:?}"
            );
        }
        let mut targeted = request(32);
        targeted.machine_id = Some("0a1b2c3d4e5f".into());
        assert_eq!(targeted.check(), Ok(()));
        for bad in ["", "0A1B", "../x", &"a".repeat(65)] {
            targeted.machine_id = Some(bad.into());
            assert_eq!(targeted.check(), Err(RequestError::MachineId), "{bad:?}");
        }
    }

    #[test]
    fn machine_names_refuse_invisible_format_and_stacked_characters() {
        let invisible = [
            '\u{061C}',
            '\u{200B}',
            '\u{200D}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{2029}',
            '\u{2062}',
            '\u{206A}',
            '\u{E0000}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{00AD}',
            '\u{3164}',
            '\u{FE0F}',
            '\u{0007}',
            '\u{0085}',
        ];
        for c in invisible {
            let name = format!("lap{c}top");
            assert_eq!(
                check_machine_name(&name),
                Err(MachineNameProblem::InvisibleChar(c)),
                "U+{:04X}",
                u32::from(c)
            );
        }
        for blank in [" ", "   ", "\u{00A0}\u{3000}", "\t"] {
            let problem = check_machine_name(blank).unwrap_err();
            assert!(
                matches!(
                    problem,
                    MachineNameProblem::WhitespaceOnly | MachineNameProblem::InvisibleChar(_)
                ),
                "{blank:?}: {problem:?}"
            );
        }
        assert_eq!(
            check_machine_name(" \u{00A0} "),
            Err(MachineNameProblem::WhitespaceOnly)
        );
        let zalgo = format!("a{}", "\u{0301}".repeat(63));
        assert_eq!(
            check_machine_name(&zalgo),
            Err(MachineNameProblem::CombiningMarks)
        );
        let five = format!("a{}", "\u{0301}".repeat(5));
        assert_eq!(
            check_machine_name(&five),
            Err(MachineNameProblem::CombiningMarks)
        );
        // What real names need still passes: decomposed Vietnamese, four marks, scripts
        // whose vowel signs are marks, spaces inside a name.
        for good in [
            "Nguye\u{0323}\u{0302}n's PC",
            &format!("a{}", "\u{0301}".repeat(4)),
            "\u{0915}\u{094D}\u{0937}\u{093F} desk",
            "Büro 2",
            "写字楼 电脑",
        ] {
            assert_eq!(check_machine_name(good), Ok(()), "{good:?}");
        }
        let mut named = request(32);
        named.machine_name = Some("a\u{200B}".into());
        let message = named.check().unwrap_err().to_string();
        assert!(
            message.contains("machine_name") && message.contains("U+200B"),
            "{message}"
        );
    }
}
