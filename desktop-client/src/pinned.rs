//! [`PinnedKeys`]: verdict-signing keys compiled into the app, checked while it
//! compiles ([`pinned_keys!`](crate::pinned_keys)), so that a typo or a truncated paste
//! fails the build instead of every user's first start.
//!
//! The check runs in a `const fn` (no dependency, no build script): the text's shape
//! (`kid:base64url[,kid:base64url…]`), the base64url alphabet without padding, exactly
//! 32 bytes per key in its one canonical spelling, and no kid twice. Whether the 32
//! bytes are a point on the Ed25519 curve is checked when the client is built
//! ([`BuildError::PinnedKeys`](crate::BuildError::PinnedKeys)): that needs field
//! arithmetic a `const fn` does not do.

use license_shared::{Keyset, KeysetError};

/// Characters of a 32-byte key in base64url without padding: ceil(32 * 8 / 6).
const KEY_CHARS: usize = 43;

/// Verdict-signing keys pinned into the app at compile time. Make them with
/// [`pinned_keys!`](crate::pinned_keys) and give them to
/// [`LicenseClientBuilder::pinned_keys`](crate::LicenseClientBuilder::pinned_keys): the
/// client then trusts only them, and, like a build with `LICENSE_CHECK_PINNED_KEYS`,
/// takes the file key store only when the app chooses it explicitly.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinnedKeys(&'static str);

impl PinnedKeys {
    /// `text` (`kid:base64url[,kid:base64url…]`, as `license-broker keygen` and
    /// `pubkey` print each key) after the compile-time check; in a `const` (which
    /// [`pinned_keys!`](crate::pinned_keys) makes) a bad text stops the build with the
    /// reason.
    ///
    /// # Panics
    /// When `text` is not a list of pinned keys; at compile time in a `const`.
    pub const fn new(text: &'static str) -> Self {
        match check(text.as_bytes()) {
            Ok(()) => Self(text),
            Err(reason) => panic!("{}", reason),
        }
    }

    /// The text as written.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }

    /// The keys, with the one check that is left for run time: each is a point on the
    /// Ed25519 curve.
    pub fn keyset(&self) -> Result<Keyset, KeysetError> {
        Keyset::parse(self.0)
    }
}

impl std::fmt::Debug for PinnedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PinnedKeys").field(&self.0).finish()
    }
}

/// Verdict-signing keys compiled into the app, checked while it compiles: a text that
/// is not `kid:base64url[,kid:base64url…]` with 32-byte keys stops the build.
///
/// ```
/// const KEYS: license_client::PinnedKeys =
///     license_client::pinned_keys!("_oEsEvOrTOas:6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw");
/// assert_eq!(KEYS.keyset().unwrap().len(), 1);
/// ```
///
/// A key one character short does not compile:
///
/// ```compile_fail,E0080
/// let keys = license_client::pinned_keys!("_oEsEvOrTOas:6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0i");
/// ```
///
/// Nor does a character outside base64url, or a kid listed twice:
///
/// ```compile_fail,E0080
/// let keys = license_client::pinned_keys!("_oEsEvOrTOas:6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0i+");
/// ```
///
/// ```compile_fail,E0080
/// let keys = license_client::pinned_keys!(
///     "_oEsEvOrTOas:6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw,_oEsEvOrTOas:6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw"
/// );
/// ```
#[macro_export]
macro_rules! pinned_keys {
    ($text:expr) => {{
        const KEYS: $crate::PinnedKeys = $crate::PinnedKeys::new($text);
        KEYS
    }};
}

/// The compile-time check of [`PinnedKeys::new`]: `Err` names what is wrong.
const fn check(text: &[u8]) -> Result<(), &'static str> {
    let mut start = 0;
    let mut keys = 0;
    while start <= text.len() {
        let end = next_comma(text, start);
        let (from, to) = trimmed(text, start, end);
        if from < to {
            let Some(colon) = find_colon(text, from, to) else {
                return Err("pinned_keys!: an entry is not of the form kid:base64url-public-key");
            };
            let (kid_from, kid_to) = trimmed(text, from, colon);
            let (key_from, key_to) = trimmed(text, colon + 1, to);
            if kid_from == kid_to || key_from == key_to {
                return Err("pinned_keys!: an entry is not of the form kid:base64url-public-key");
            }
            if let Err(reason) = check_key(text, key_from, key_to) {
                return Err(reason);
            }
            if kid_seen_before(text, kid_from, kid_to) {
                return Err("pinned_keys!: a kid is listed twice");
            }
            keys += 1;
        }
        start = end + 1;
    }
    if keys == 0 {
        return Err("pinned_keys!: no keys were given");
    }
    Ok(())
}

/// 43 base64url characters without padding, the last one with its two unused bits
/// clear (the one spelling of 32 bytes).
const fn check_key(text: &[u8], from: usize, to: usize) -> Result<(), &'static str> {
    if to - from != KEY_CHARS {
        return Err("pinned_keys!: a key is not 32 bytes: it must be 43 base64url characters without padding");
    }
    let mut i = from;
    while i < to {
        if sextet(text[i]).is_none() {
            return Err("pinned_keys!: a key holds a character outside base64url (A-Z a-z 0-9 - _, no padding)");
        }
        i += 1;
    }
    match sextet(text[to - 1]) {
        Some(last) if last & 0b11 == 0 => Ok(()),
        _ => Err("pinned_keys!: a key's last character is not the canonical end of 32 bytes"),
    }
}

const fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

const fn next_comma(text: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < text.len() && text[i] != b',' {
        i += 1;
    }
    i
}

const fn find_colon(text: &[u8], from: usize, to: usize) -> Option<usize> {
    let mut i = from;
    while i < to {
        if text[i] == b':' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// `from..to` without the ASCII whitespace at either end.
const fn trimmed(text: &[u8], mut from: usize, mut to: usize) -> (usize, usize) {
    while from < to && text[from].is_ascii_whitespace() {
        from += 1;
    }
    while to > from && text[to - 1].is_ascii_whitespace() {
        to -= 1;
    }
    (from, to)
}

/// Whether an entry before `from` has the kid `text[from..to]`.
const fn kid_seen_before(text: &[u8], from: usize, to: usize) -> bool {
    let mut start = 0;
    while start < from {
        let end = next_comma(text, start);
        let (entry_from, entry_to) = trimmed(text, start, end);
        if let Some(colon) = find_colon(text, entry_from, entry_to) {
            let (kid_from, kid_to) = trimmed(text, entry_from, colon);
            if kid_from < from && same(text, kid_from, kid_to, from, to) {
                return true;
            }
        }
        start = end + 1;
    }
    false
}

const fn same(text: &[u8], a_from: usize, a_to: usize, b_from: usize, b_to: usize) -> bool {
    if a_to - a_from != b_to - b_from {
        return false;
    }
    let mut i = 0;
    while i < a_to - a_from {
        if text[a_from + i] != text[b_from + i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_text(seed: u8) -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
        Keyset::new().with_key(key).to_text()
    }

    #[test]
    fn what_keygen_prints_passes_and_reads_as_the_same_keyset() {
        let one = key_text(1);
        let two = format!("{one}, {}", key_text(2));
        for text in [one.as_str(), two.as_str()] {
            assert_eq!(check(text.as_bytes()), Ok(()), "{text}");
            let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
            assert_eq!(PinnedKeys::new(text).keyset(), Keyset::parse(text));
        }
    }

    #[test]
    fn every_kind_of_bad_text_is_named() {
        let good = key_text(1);
        let (kid, key) = good.split_once(':').unwrap();
        let cases = [
            (String::new(), "no keys"),
            (" , ".into(), "no keys"),
            (key.into(), "form"),
            (format!(":{key}"), "form"),
            (format!("{kid}:"), "form"),
            (format!("{kid}:{}", &key[1..]), "43 base64url"),
            (format!("{kid}:{key}="), "43 base64url"),
            (format!("{kid}:{}+", &key[1..]), "outside base64url"),
            (format!("{kid}:{}B", &key[..42]), "canonical"),
            (format!("{good},{good}"), "twice"),
        ];
        for (text, needle) in cases {
            let error = check(text.as_bytes()).unwrap_err();
            assert!(error.contains(needle), "{text:?}: {error}");
            assert!(
                Keyset::parse(&text).is_err() || needle == "canonical",
                "{text:?}"
            );
        }
    }
}
