//! Oracle's implicit conversion of text to NUMBER, for a URI bind (`:id`, always text)
//! compared with a NUMBER column or passed to a NUMBER parameter.
//!
//! Oracle converts the text as `TO_NUMBER` would with the default
//! `NLS_NUMERIC_CHARACTERS` (`.` as the decimal point): "When comparing a character
//! value with a numeric value, Oracle converts the character data to a numeric value"
//! (SQL Language Reference, Data Type Comparison Rules, "Implicit and Explicit Data
//! Conversion":
//! <https://docs.oracle.com/en/database/oracle/oracle-database/23/sqlrf/Data-Type-Comparison-Rules.html>).
//! What converts is a numeric literal: an optional sign, digits with an optional
//! decimal point, and an optional exponent `e`/`E` with an optional sign (SQL Language
//! Reference, Literals, "Numeric Literals":
//! <https://docs.oracle.com/en/database/oracle/oracle-database/23/sqlrf/Literals.html>),
//! with surrounding blanks ignored. So `1e3` is 1000 and `4.0` is 4; `4.5` is a number
//! no integer id equals; `abc` raises ORA-01722 in SQL (ORA-06502 in PL/SQL).

/// What a text converts to, as far as an integer id column can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Number {
    /// A whole number that fits an `i64`.
    Integer(i64),
    /// A valid number that equals no `i64`: it has a fraction, or it is beyond the
    /// range of the ids the emulator stores. A comparison with it finds no row.
    Other,
}

/// Converts `text` as Oracle's implicit `TO_NUMBER` does; `None` is the conversion
/// error (not a number).
pub(crate) fn to_number(text: &str) -> Option<Number> {
    let text = text.trim_matches(' ');
    let (negative, rest) = match text.as_bytes().first()? {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (mantissa, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let unsigned = e.strip_prefix(['+', '-']).unwrap_or(e);
            if unsigned.is_empty() || !digits(unsigned) {
                return None;
            }
            // Anything this large is far outside every id either way.
            e.parse::<i64>().unwrap_or(if e.starts_with('-') {
                i64::MIN / 2
            } else {
                i64::MAX / 2
            })
        }
    };
    // The value is 0.<digits> shifted: all digits, with the decimal point after
    // `point` of them.
    let all: String = format!("{whole}{fraction}");
    let significant = all.trim_start_matches('0');
    if significant.is_empty() {
        return Some(Number::Integer(0));
    }
    let point = i64::try_from(whole.len()).ok()?
        - i64::try_from(all.len() - significant.len()).ok()?
        + exponent;
    let significant = significant.trim_end_matches('0');
    let length = i64::try_from(significant.len()).ok()?;
    if point < length {
        // Some significant digit is after the decimal point.
        return Some(Number::Other);
    }
    if point > 19 {
        return Some(Number::Other);
    }
    let zeros = usize::try_from(point - length).ok()?;
    let magnitude: i128 = format!("{significant}{}", "0".repeat(zeros)).parse().ok()?;
    let value = if negative { -magnitude } else { magnitude };
    Some(i64::try_from(value).map_or(Number::Other, Number::Integer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_oracles_to_number() {
        for (text, expected) in [
            ("4", Number::Integer(4)),
            ("4.0", Number::Integer(4)),
            ("04.00", Number::Integer(4)),
            ("+4", Number::Integer(4)),
            (" 4 ", Number::Integer(4)),
            ("4.", Number::Integer(4)),
            ("1e3", Number::Integer(1000)),
            ("1E+3", Number::Integer(1000)),
            ("0.5e1", Number::Integer(5)),
            ("12345e-3", Number::Other),
            ("4000e-3", Number::Integer(4)),
            ("-7", Number::Integer(-7)),
            ("0", Number::Integer(0)),
            ("-0.0", Number::Integer(0)),
            ("4.5", Number::Other),
            (".5", Number::Other),
            ("1e400", Number::Other),
            ("1e-400", Number::Other),
            ("99999999999999999999", Number::Other),
            ("9223372036854775807", Number::Integer(i64::MAX)),
        ] {
            assert_eq!(to_number(text), Some(expected), "{text:?}");
        }
        for bad in [
            "", "abc", "4a", "1e", "e3", ".", "--4", "4.0.0", "1e3.5", "0x10", "1_000",
        ] {
            assert_eq!(to_number(bad), None, "{bad:?}");
        }
    }
}
