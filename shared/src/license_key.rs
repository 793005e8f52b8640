//! License keys people can read aloud, paste with stray spaces, and mistype safely.
//!
//! A key carries the ORDS customer id and a MAC over it under the broker's key secret,
//! so only the broker can mint one and it needs no database of keys. On the wire:
//!
//! ```text
//! data = version (1) | id length (1) | id (ASCII) | mac (16 bytes = 128 bits)
//! data = version (2) | id length (1) | id (ASCII) | serial (4 bytes, big-endian) | mac
//! key  = crockford-base32(data) + 4 check symbols, in groups of 5 joined by '-'
//! ```
//!
//! The serial is the license row's `key_serial`: bumping it replaces a leaked key.
//! Serial 0 is the first layout, so every key issued before serials is a serial-0 key
//! unchanged; a later serial takes the second layout (and a serial-0 key is never
//! spelled in it, so each key has one form). The MAC covers the serial.
//!
//! The 4 check symbols are 20 bits of SHA-256 over `data`, so a typo is caught before
//! any network call with odds of about one in a million of slipping through. Crockford
//! base32 has no `I`, `L`, `O` or `U`; when reading, `I`/`L` count as `1`, `O` as `0`,
//! case is ignored and dashes and spaces may be anywhere. The MAC itself is only
//! checked by the broker (see `broker::license_keys`).

use std::fmt;

use sha2::{Digest, Sha256};

/// Bytes of MAC a key carries: 128 bits, enough that guessing is hopeless.
pub const MAC_LEN: usize = 16;
/// The format version byte of a serial-0 key.
const KEY_VERSION: u8 = 1;
/// The format version byte of a key with a serial above 0.
const KEY_VERSION_SERIAL: u8 = 2;
/// Bytes of the serial in a [`KEY_VERSION_SERIAL`] key.
const SERIAL_LEN: usize = 4;
/// Longest customer id a key may carry.
pub const CUSTOMER_ID_MAX_LEN: usize = 32;
/// Check symbols appended to the data.
const CHECK_SYMBOLS: usize = 4;
/// Symbols per group in the printed form.
const GROUP: usize = 5;
/// The longest data a key carries: version, id length, the longest id, a serial, the MAC.
const MAX_DATA: usize = 2 + CUSTOMER_ID_MAX_LEN + SERIAL_LEN + MAC_LEN;
/// The most symbols a key has: `MAX_DATA` in base32, then the check symbols.
const MAX_SYMBOLS: usize = (MAX_DATA * 8).div_ceil(5) + CHECK_SYMBOLS;
/// The longest printed key: `MAX_SYMBOLS` with a `-` between groups.
const MAX_TEXT: usize = MAX_SYMBOLS + MAX_SYMBOLS / GROUP;

pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// An ORDS customer id as a license key may carry it: 1 to 32 of `A-Z a-z 0-9 _ -`.
/// Anything else could change the shape of the ORDS URL, so it is refused here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(text: &str) -> Result<Self, LicenseKeyError> {
        let ok = !text.is_empty()
            && text.len() <= CUSTOMER_ID_MAX_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(LicenseKeyError::CustomerId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed license key. Its `Debug` hides the MAC: a key is a credential.
#[derive(Clone, PartialEq, Eq)]
pub struct LicenseKey {
    customer_id: CustomerId,
    /// The license row's `key_serial` this key was issued for; 0 for the first key.
    serial: u32,
    mac: [u8; MAC_LEN],
    /// [`LicenseKey::digest`], a function of the two fields above: kept from `parse`,
    /// which computes it for the check symbols, so nothing hashes the key again.
    digest: [u8; 32],
}

/// Why a text is not a license key. Messages say what to do, since users see them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseKeyError {
    #[error("the license key is empty: paste the key you received")]
    Empty,
    #[error("the license key contains {0:?}, which never appears in a key: check for a typo")]
    Character(char),
    #[error("the license key is incomplete or too long: copy the whole key again")]
    Length,
    #[error("the license key has a typo (its check symbols do not match): copy it again")]
    Checksum,
    #[error("the license key is of an unknown version: update the application")]
    Version,
    #[error("a customer id must be 1 to {CUSTOMER_ID_MAX_LEN} of A-Z, a-z, 0-9, '_' and '-'")]
    CustomerId,
}

impl LicenseKey {
    /// A serial-0 key (the layout of every key issued before serials).
    pub fn new(customer_id: CustomerId, mac: [u8; MAC_LEN]) -> Self {
        Self::with_serial(customer_id, 0, mac)
    }

    /// A key for the license row's `key_serial` `serial`.
    pub fn with_serial(customer_id: CustomerId, serial: u32, mac: [u8; MAC_LEN]) -> Self {
        let mut data = [0u8; MAX_DATA];
        let len = key_data(&customer_id, serial, &mac, &mut data);
        let digest = Sha256::digest(&data[..len]).into();
        Self {
            customer_id,
            serial,
            mac,
            digest,
        }
    }

    pub fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }

    /// The license row's `key_serial` this key was issued for (0: the first key).
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The MAC the key carries; the broker compares it in constant time.
    pub fn mac(&self) -> &[u8; MAC_LEN] {
        &self.mac
    }

    /// SHA-256 of the bytes the key encodes (version, id length, id, MAC): the same
    /// for every spelling of the key. Its first 20 bits are the check symbols; the
    /// broker takes the key's identity (rate limit, log fingerprint) from the bytes
    /// after those, so a request hashes its key once. It is made from the whole key,
    /// MAC included: what the broker logs of it is four bytes.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The bytes the key encodes (version, id length, id, the serial when not 0, MAC):
    /// its most compact form, half the length of its text (an offline code carries it).
    pub fn to_data(&self) -> Vec<u8> {
        let mut data = [0u8; MAX_DATA];
        let len = key_data(&self.customer_id, self.serial, &self.mac, &mut data);
        data[..len].to_vec()
    }

    /// The key whose bytes are `data` (see [`LicenseKey::to_data`]), checked as a typed
    /// key is.
    pub fn from_data(data: &[u8]) -> Result<Self, LicenseKeyError> {
        if data.len() > MAX_DATA {
            return Err(LicenseKeyError::Length);
        }
        let digest: [u8; 32] = Sha256::digest(data).into();
        let mut symbols = [0u8; MAX_SYMBOLS];
        let n = base32_encode_into(data, &mut symbols);
        symbols[n..n + CHECK_SYMBOLS].copy_from_slice(&check_symbols(&digest));
        let text = std::str::from_utf8(&symbols[..n + CHECK_SYMBOLS])
            .map_err(|_| LicenseKeyError::Length)?;
        Self::parse(text)
    }

    /// The printed form, e.g. `0412C-…-7Q3MA`.
    pub fn encode(&self) -> String {
        let mut data = [0u8; MAX_DATA];
        let len = key_data(&self.customer_id, self.serial, &self.mac, &mut data);
        let mut symbols = [0u8; MAX_SYMBOLS];
        let n = base32_encode_into(&data[..len], &mut symbols);
        symbols[n..n + CHECK_SYMBOLS].copy_from_slice(&check_symbols(&self.digest));
        let mut text = String::with_capacity(MAX_TEXT);
        for (i, &symbol) in symbols[..n + CHECK_SYMBOLS].iter().enumerate() {
            if i > 0 && i % GROUP == 0 {
                text.push('-');
            }
            text.push(char::from(symbol));
        }
        text
    }

    /// Reads a key as a person may have typed it, catching typos by the check symbols.
    /// Works on the stack (the broker parses a key on every request, before any limit
    /// on that key applies); only the customer id is allocated.
    pub fn parse(text: &str) -> Result<Self, LicenseKeyError> {
        let mut symbols = [0u8; MAX_SYMBOLS];
        let mut count = 0;
        for ch in text.chars() {
            if ch == '-' || ch.is_whitespace() {
                continue;
            }
            let value = symbol_value(ch).ok_or(LicenseKeyError::Character(ch))?;
            // Past the longest key, keep checking the characters but store nothing.
            if let Some(slot) = symbols.get_mut(count) {
                *slot = value;
            }
            count += 1;
        }
        if count == 0 {
            return Err(LicenseKeyError::Empty);
        }
        if count <= CHECK_SYMBOLS {
            return Err(LicenseKeyError::Length);
        }
        if count > MAX_SYMBOLS {
            // Longer than any key of this version. The version byte is the first two
            // symbols' top 8 of 10 bits: a later version's longer key says so.
            let version = ((u16::from(symbols[0]) << 5 | u16::from(symbols[1])) >> 2) as u8;
            return Err(if version == KEY_VERSION || version == KEY_VERSION_SERIAL {
                LicenseKeyError::Length
            } else {
                LicenseKeyError::Version
            });
        }
        let (body, check) = symbols[..count].split_at(count - CHECK_SYMBOLS);
        let mut decoded = [0u8; MAX_DATA];
        let len = base32_decode(body, &mut decoded).ok_or(LicenseKeyError::Length)?;
        let data = &decoded[..len];
        let digest: [u8; 32] = Sha256::digest(data).into();
        let expected = check_symbols(&digest);
        if expected.map(|c| symbol_value(char::from(c)).expect("alphabet symbol")) != check {
            return Err(LicenseKeyError::Checksum);
        }
        let (&version, rest) = data.split_first().ok_or(LicenseKeyError::Length)?;
        let serial_len = match version {
            KEY_VERSION => 0,
            KEY_VERSION_SERIAL => SERIAL_LEN,
            _ => return Err(LicenseKeyError::Version),
        };
        let (&id_len, rest) = rest.split_first().ok_or(LicenseKeyError::Length)?;
        let id_len = usize::from(id_len);
        if rest.len() != id_len + serial_len + MAC_LEN {
            return Err(LicenseKeyError::Length);
        }
        let id = std::str::from_utf8(&rest[..id_len]).map_err(|_| LicenseKeyError::CustomerId)?;
        let customer_id = CustomerId::parse(id)?;
        let (serial, mac) = rest[id_len..].split_at(serial_len);
        let serial = match serial_len {
            0 => 0,
            _ => u32::from_be_bytes(serial.try_into().expect("length checked above")),
        };
        // A serial-0 key has one spelling, the first layout.
        if version == KEY_VERSION_SERIAL && serial == 0 {
            return Err(LicenseKeyError::Version);
        }
        let mac = mac.try_into().expect("length checked above");
        Ok(Self {
            customer_id,
            serial,
            mac,
            digest,
        })
    }
}

impl fmt::Debug for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LicenseKey")
            .field("customer_id", &self.customer_id.as_str())
            .field("serial", &self.serial)
            .field("mac", &"<redacted>")
            .finish()
    }
}

/// The bytes a key encodes: version, id length, id, the serial when it is not 0, MAC.
/// Writes them into `out` (`MAX_DATA` long) and returns their length.
fn key_data(
    customer_id: &CustomerId,
    serial: u32,
    mac: &[u8; MAC_LEN],
    out: &mut [u8; MAX_DATA],
) -> usize {
    let id = customer_id.as_str().as_bytes();
    let mut at = 2 + id.len();
    out[0] = if serial == 0 {
        KEY_VERSION
    } else {
        KEY_VERSION_SERIAL
    };
    out[1] = id.len() as u8;
    out[2..at].copy_from_slice(id);
    if serial != 0 {
        out[at..at + SERIAL_LEN].copy_from_slice(&serial.to_be_bytes());
        at += SERIAL_LEN;
    }
    out[at..at + MAC_LEN].copy_from_slice(mac);
    at + MAC_LEN
}

/// The check symbols: the first 20 bits of the key data's SHA-256, as 4 symbols.
fn check_symbols(digest: &[u8; 32]) -> [u8; CHECK_SYMBOLS] {
    let bits = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    std::array::from_fn(|i| ALPHABET[((bits >> (27 - 5 * i)) & 31) as usize])
}

/// Each ASCII character's symbol value, `NOT_A_SYMBOL` for the rest, with the slips a
/// person makes typing a key folded in: either case, I and L for 1, O for 0.
const SYMBOL_VALUES: [u8; 128] = {
    let mut table = [NOT_A_SYMBOL; 128];
    let mut i = 0;
    while i < ALPHABET.len() {
        let c = ALPHABET[i];
        table[c as usize] = i as u8;
        table[c.to_ascii_lowercase() as usize] = i as u8;
        i += 1;
    }
    table[b'I' as usize] = 1;
    table[b'i' as usize] = 1;
    table[b'L' as usize] = 1;
    table[b'l' as usize] = 1;
    table[b'O' as usize] = 0;
    table[b'o' as usize] = 0;
    table
};
const NOT_A_SYMBOL: u8 = u8::MAX;

pub(crate) fn symbol_value(ch: char) -> Option<u8> {
    let value = *SYMBOL_VALUES.get(ch as usize)?;
    (value != NOT_A_SYMBOL).then_some(value)
}

/// Writes `data` as symbols into `out`, returning how many; `out` holds at least
/// `data.len() * 8 / 5 + 1`.
pub(crate) fn base32_encode_into(data: &[u8], out: &mut [u8]) -> usize {
    let mut n = 0;
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in data {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out[n] = ALPHABET[((buffer >> bits) & 31) as usize];
            n += 1;
        }
    }
    if bits > 0 {
        out[n] = ALPHABET[((buffer << (5 - bits)) & 31) as usize];
        n += 1;
    }
    n
}

/// Decodes symbol values into `out`, returning the length; refuses non-canonical input
/// (leftover bits that are not zero, or a symbol count no byte string encodes to), so
/// each key has exactly one spelling, and input that does not fit `out`.
pub(crate) fn base32_decode(symbols: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &value in symbols {
        buffer = ((buffer << 5) | u32::from(value)) & 0xFFFF;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(len)? = (buffer >> bits) as u8;
            len += 1;
        }
    }
    let canonical = bits < 5 && buffer & ((1 << bits) - 1) == 0;
    canonical.then_some(len)
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    /// Any length of data, for the tests that go past a real key's bounds.
    pub(super) fn base32_encode(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0; data.len() * 8 / 5 + 1];
        let n = base32_encode_into(data, &mut out);
        out.truncate(n);
        out
    }

    fn key(id: &str) -> LicenseKey {
        LicenseKey::new(CustomerId::parse(id).unwrap(), [0xA5; MAC_LEN])
    }

    #[test]
    fn the_digest_is_sha256_of_the_key_data_for_every_spelling() {
        let k = LicenseKey::new(CustomerId::parse("c-42").unwrap(), [9; MAC_LEN]);
        let mut data = vec![KEY_VERSION, 4];
        data.extend_from_slice(b"c-42");
        data.extend_from_slice(&[9; MAC_LEN]);
        let expected: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(k.digest(), &expected);
        let sloppy = k.encode().to_lowercase().replace('-', " ");
        assert_eq!(LicenseKey::parse(&sloppy).unwrap().digest(), &expected);
        let other = LicenseKey::new(CustomerId::parse("c-42").unwrap(), [8; MAC_LEN]);
        assert_ne!(other.digest(), k.digest(), "the MAC is part of it");
    }

    #[test]
    fn prints_grouped_and_reads_back_sloppy_input() {
        let k = key("1");
        let text = k.encode();
        assert!(text.split('-').all(|g| g.len() <= GROUP), "{text}");
        assert!(text.split('-').count() >= 7, "{text}");
        assert_eq!(LicenseKey::parse(&text).unwrap(), k);
        let sloppy = format!(
            "  {}  ",
            text.to_lowercase().replace('-', " - ").replace('1', "l")
        );
        assert_eq!(LicenseKey::parse(&sloppy).unwrap(), k);
    }

    #[test]
    fn a_longer_key_of_a_later_version_asks_for_an_update() {
        let spell = |data: &[u8]| {
            let mut symbols = base32_encode(data);
            symbols.extend(check_symbols(&Sha256::digest(data).into()));
            String::from_utf8(symbols).unwrap()
        };
        // Longer than any key of this version can be.
        let mut data = vec![KEY_VERSION_SERIAL + 1, 60];
        data.extend([b'a'; 60]);
        data.extend([0u8; MAC_LEN]);
        assert_eq!(
            LicenseKey::parse(&spell(&data)),
            Err(LicenseKeyError::Version)
        );
        data[0] = KEY_VERSION;
        assert_eq!(
            LicenseKey::parse(&spell(&data)),
            Err(LicenseKeyError::Length)
        );
    }

    #[test]
    fn a_serial_above_0_is_carried_and_serial_0_is_the_first_layout() {
        let id = CustomerId::parse("c-42").unwrap();
        let first = LicenseKey::new(id.clone(), [9; MAC_LEN]);
        assert_eq!(first, LicenseKey::with_serial(id.clone(), 0, [9; MAC_LEN]));
        assert_eq!(first.serial(), 0);
        let mut data = vec![KEY_VERSION, 4];
        data.extend_from_slice(b"c-42");
        data.extend_from_slice(&[9; MAC_LEN]);
        assert_eq!(first.digest(), &<[u8; 32]>::from(Sha256::digest(&data)));
        for serial in [1, 7, u32::MAX] {
            let key = LicenseKey::with_serial(id.clone(), serial, [9; MAC_LEN]);
            let back = LicenseKey::parse(&key.encode()).unwrap();
            assert_eq!((back.serial(), &back), (serial, &key));
            assert_ne!(key.encode(), first.encode());
            assert!(format!("{key:?}").contains(&format!("serial: {serial}")));
        }
        // The longest key, with a serial, still fits the request's limit.
        let longest = LicenseKey::with_serial(
            CustomerId::parse(&"9".repeat(CUSTOMER_ID_MAX_LEN)).unwrap(),
            u32::MAX,
            [0xFF; MAC_LEN],
        );
        assert!(longest.encode().len() <= MAX_TEXT);
        assert!(longest.encode().len() <= crate::request::LICENSE_KEY_MAX_CHARS);
        // Serial 0 in the second layout is not a key: one spelling per key.
        let spell = |data: &[u8]| {
            let mut symbols = base32_encode(data);
            symbols.extend(check_symbols(&Sha256::digest(data).into()));
            String::from_utf8(symbols).unwrap()
        };
        let mut zero = vec![KEY_VERSION_SERIAL, 4];
        zero.extend_from_slice(b"c-42");
        zero.extend_from_slice(&[0; SERIAL_LEN]);
        zero.extend_from_slice(&[9; MAC_LEN]);
        assert_eq!(
            LicenseKey::parse(&spell(&zero)),
            Err(LicenseKeyError::Version)
        );
    }

    #[test]
    fn typos_are_caught_by_the_checksum() {
        let text = key("12345").encode();
        let mut caught = 0;
        let mut tried = 0;
        for (i, ch) in text.char_indices() {
            if ch == '-' {
                continue;
            }
            for &replacement in ALPHABET.iter() {
                let replacement = char::from(replacement);
                if replacement == ch {
                    continue;
                }
                let mut typo = text.clone();
                typo.replace_range(i..i + 1, &replacement.to_string());
                tried += 1;
                if LicenseKey::parse(&typo).is_err() {
                    caught += 1;
                }
            }
        }
        assert_eq!(caught, tried, "every single-symbol typo must be refused");
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(LicenseKey::parse(" - "), Err(LicenseKeyError::Empty));
        assert_eq!(
            LicenseKey::parse("ABC*"),
            Err(LicenseKeyError::Character('*'))
        );
        assert_eq!(LicenseKey::parse("ABCDE"), Err(LicenseKeyError::Length));
        let text = key("7").encode();
        let short = &text[..text.len() - 7];
        assert!(LicenseKey::parse(short).is_err());
        assert_eq!(CustomerId::parse("../x"), Err(LicenseKeyError::CustomerId));
        assert_eq!(CustomerId::parse(""), Err(LicenseKeyError::CustomerId));
        assert_eq!(
            CustomerId::parse(&"9".repeat(33)),
            Err(LicenseKeyError::CustomerId)
        );
    }

    #[test]
    fn debug_hides_the_mac() {
        let shown = format!("{:?}", key("1"));
        assert!(shown.contains("redacted"), "{shown}");
        assert!(!shown.contains("165"), "{shown}");
    }
}
