//! How an offline code's bytes become text a person can type, and back.
//!
//! The bytes are `[format version, kind, body…, 2-byte digest]`, written in the same
//! base32 alphabet as license keys (digits and upper-case letters without I, L, O, U;
//! Crockford's, <https://www.crockford.com/base32.html>), in groups of
//! [`GROUP_DATA`] symbols, each followed by one check symbol and joined by `-`:
//! `7Q2MX4-…`. The check symbol is Luhn mod 32 over the group's symbols, salted by the
//! group's position, so any one wrong character is caught by its own group and the
//! error names that group; the digest at the end catches what slips between groups
//! (a group pasted twice or two groups swapped). Reading forgives what people and
//! copy-paste do: lower case, spaces, line breaks, dashes anywhere, and I or L for 1,
//! O for 0.

use sha2::{Digest as _, Sha256};

use super::{CodeError, CodeKind, CODE_VERSION};
use crate::license_key::{base32_decode, base32_encode_into, symbol_value, ALPHABET};

/// Data symbols per group; a group is these and its check symbol.
pub const GROUP_DATA: usize = 5;
/// Digest bytes at the end of every code.
const DIGEST_BYTES: usize = 2;
/// The most bytes a code carries: a response holds a whole signed verdict.
pub const MAX_CODE_BYTES: usize = 4096;

/// The code's text for `kind` and `body`.
pub(crate) fn encode(kind: CodeKind, body: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(body.len() + 2 + DIGEST_BYTES);
    bytes.push(CODE_VERSION);
    bytes.push(kind as u8);
    bytes.extend_from_slice(body);
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(&digest[..DIGEST_BYTES]);
    let mut symbols = vec![0u8; bytes.len() * 8 / 5 + 1];
    let n = base32_encode_into(&bytes, &mut symbols);
    symbols.truncate(n);
    let mut text = String::with_capacity(n + n / GROUP_DATA * 2 + 2);
    for (index, group) in symbols.chunks(GROUP_DATA).enumerate() {
        if index > 0 {
            text.push('-');
        }
        text.extend(group.iter().map(|&s| char::from(s)));
        text.push(char::from(ALPHABET[check_value(index, group) as usize]));
    }
    text
}

/// The body of a code of `expected` kind, or what is wrong with the text.
pub(crate) fn decode(text: &str, expected: CodeKind) -> Result<Vec<u8>, CodeError> {
    let values = symbols_of(text)?;
    let group_len = GROUP_DATA + 1;
    let groups = values.len().div_ceil(group_len);
    if values.len() % group_len == 1 {
        return Err(CodeError::Cut { groups });
    }
    let mut data = Vec::with_capacity(values.len());
    for (index, group) in values.chunks(group_len).enumerate() {
        let (body, check) = group.split_at(group.len() - 1);
        let canonical: Vec<u8> = body.iter().map(|&v| ALPHABET[v as usize]).collect();
        if check_value(index, &canonical) != check[0] {
            return Err(CodeError::Group {
                group: index + 1,
                groups,
            });
        }
        data.extend_from_slice(body);
    }
    let mut bytes = vec![0u8; data.len() * 5 / 8 + 1];
    let len = base32_decode(&data, &mut bytes).ok_or(CodeError::Damaged)?;
    bytes.truncate(len);
    if bytes.len() < 2 + DIGEST_BYTES {
        return Err(CodeError::Damaged);
    }
    let (framed, digest) = bytes.split_at(bytes.len() - DIGEST_BYTES);
    if Sha256::digest(framed)[..DIGEST_BYTES] != *digest {
        return Err(CodeError::Damaged);
    }
    if framed[0] != CODE_VERSION {
        return Err(CodeError::Version(framed[0]));
    }
    let found = CodeKind::from_byte(framed[1]).ok_or(CodeError::Damaged)?;
    if found != expected {
        return Err(CodeError::Kind { found, expected });
    }
    Ok(framed[2..].to_vec())
}

/// The symbol values of `text`, skipping dashes and white space.
fn symbols_of(text: &str) -> Result<Vec<u8>, CodeError> {
    let mut values = Vec::new();
    for ch in text.chars() {
        if ch == '-' || ch.is_whitespace() {
            continue;
        }
        let group = values.len() / (GROUP_DATA + 1) + 1;
        let value = symbol_value(ch).ok_or(CodeError::Character { ch, group })?;
        if values.len() >= MAX_CODE_BYTES * 2 {
            return Err(CodeError::TooLong);
        }
        values.push(value);
    }
    if values.is_empty() {
        return Err(CodeError::Empty);
    }
    Ok(values)
}

/// Luhn mod 32 over `group` (canonical symbols), salted by the group's position: the
/// value whose symbol makes the group check. Doubling in Luhn mod N maps the 32 values
/// onto themselves one to one, so any single wrong symbol changes the sum.
fn check_value(index: usize, group: &[u8]) -> u8 {
    const N: u32 = 32;
    let mut sum = (index as u32) % N;
    for (i, &symbol) in group.iter().rev().enumerate() {
        let value = u32::from(symbol_value(char::from(symbol)).unwrap_or(0));
        let addend = if i % 2 == 0 { value * 2 } else { value };
        sum += addend / N + addend % N;
    }
    ((N - sum % N) % N) as u8
}
