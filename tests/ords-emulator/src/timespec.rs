//! Seed times that can be relative to the emulator's start.
//!
//! A seed file is written once but the article wants "valid for a year from now", so
//! license dates may be `now`, `+365d`, `-30d`, `+2h`, `+15m`, `+10s`, or an absolute
//! RFC 3339 instant such as `2026-01-01T00:00:00Z`.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// A validated time expression; resolve it with [`TimeSpec::resolve`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeSpec(String);

#[derive(Debug, Clone, Copy)]
enum Parsed {
    Relative(Duration),
    Absolute(OffsetDateTime),
}

fn parse(s: &str) -> Result<Parsed, String> {
    let s = s.trim();
    if s == "now" {
        return Ok(Parsed::Relative(Duration::ZERO));
    }
    if let Some(rest) = s.strip_prefix('+').or_else(|| s.strip_prefix('-')) {
        let negative = s.starts_with('-');
        let (digits, unit) = rest.split_at(rest.len().saturating_sub(1));
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("{s:?}: expected a number before the unit (d, h, m, s)"))?;
        let d = match unit {
            "d" => Duration::days(n),
            "h" => Duration::hours(n),
            "m" => Duration::minutes(n),
            "s" => Duration::seconds(n),
            _ => return Err(format!("{s:?}: the unit must be one of d, h, m, s")),
        };
        return Ok(Parsed::Relative(if negative { -d } else { d }));
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .map(Parsed::Absolute)
        .map_err(|_| {
            format!("{s:?}: expected \"now\", \"+365d\"-style offset, or an RFC 3339 instant")
        })
}

impl TimeSpec {
    /// Parses and validates `s`.
    pub fn new(s: impl Into<String>) -> Result<TimeSpec, String> {
        let s = s.into();
        parse(&s)?;
        Ok(TimeSpec(s))
    }

    /// The instant this names, given the emulator's start time.
    pub fn resolve(&self, start: OffsetDateTime) -> OffsetDateTime {
        match parse(&self.0) {
            Ok(Parsed::Relative(d)) => start + d,
            Ok(Parsed::Absolute(t)) => t,
            // Unreachable: the constructor validated the text.
            Err(_) => start,
        }
    }
}

impl TryFrom<String> for TimeSpec {
    type Error = String;
    fn try_from(s: String) -> Result<TimeSpec, String> {
        TimeSpec::new(s)
    }
}

impl From<TimeSpec> for String {
    fn from(t: TimeSpec) -> String {
        t.0
    }
}

impl fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn relative_and_absolute() {
        let start = datetime!(2025-01-01 00:00 UTC);
        let r = |s: &str| TimeSpec::new(s).map(|t| t.resolve(start));
        assert_eq!(r("now"), Ok(start));
        assert_eq!(r("+365d"), Ok(datetime!(2026-01-01 00:00 UTC)));
        assert_eq!(r("-30d"), Ok(datetime!(2024-12-02 00:00 UTC)));
        assert_eq!(r("+2h"), Ok(datetime!(2025-01-01 02:00 UTC)));
        assert_eq!(
            r("2030-05-06T07:08:09Z"),
            Ok(datetime!(2030-05-06 07:08:09 UTC))
        );
        assert!(r("+5y").is_err());
        assert!(r("tomorrow").is_err());
        assert!(r("+").is_err());
    }
}
