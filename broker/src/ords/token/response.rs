//! The token response type handed to `oauth2`, instead of its `StandardTokenResponse`.
//!
//! Why our own: `StandardTokenResponse` reads `expires_in` as `u64`, so a string
//! (`"3600"`, oauth2-rs #320) or a negative number fails the whole response, and a
//! missing `token_type` is an error (#234). ORDS sends an integer and `"bearer"`, but a
//! proxy or a future ORDS could differ; this type reads `expires_in` leniently into
//! [`ExpiresIn`] and lets [`super::lifetime`] decide what it means. Deserialization
//! errors carry only field names and fixed messages, never a value from the body.

use std::time::Duration;

use oauth2::basic::BasicTokenType;
use oauth2::{AccessToken, RefreshToken, Scope, TokenResponse};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::lifetime::ExpiresIn;

/// An ORDS token response. `Debug` is redacted (`AccessToken` hides itself).
///
/// `oauth2` requires `Serialize`; never serialize this (it would write the token).
#[derive(Debug, Deserialize, Serialize)]
pub(super) struct OrdsTokenResponse {
    access_token: AccessToken,
    /// Missing means bearer (ORDS only issues bearer tokens); any other value is kept
    /// so the fetcher can refuse it.
    #[serde(
        default = "bearer",
        deserialize_with = "token_type",
        serialize_with = "token_type_out"
    )]
    token_type: BasicTokenType,
    #[serde(
        default = "missing",
        deserialize_with = "expires_in",
        serialize_with = "expires_in_out"
    )]
    expires_in: ExpiresIn,
}

impl OrdsTokenResponse {
    /// `expires_in` as sent (before the lifetime policy).
    pub(super) fn raw_expires_in(&self) -> ExpiresIn {
        self.expires_in
    }
}

impl TokenResponse for OrdsTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        match self.expires_in {
            ExpiresIn::Missing => None,
            ExpiresIn::Seconds(s) => Some(Duration::from_secs(s.max(0).unsigned_abs())),
        }
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        None
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
    }
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

fn missing() -> ExpiresIn {
    ExpiresIn::Missing
}

/// Case-insensitive, like `oauth2` itself: ORDS writes `"bearer"`.
fn token_type<'de, D: Deserializer<'de>>(d: D) -> Result<BasicTokenType, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(match text {
        None => BasicTokenType::Bearer,
        Some(t) if t.eq_ignore_ascii_case("bearer") => BasicTokenType::Bearer,
        Some(t) if t.eq_ignore_ascii_case("mac") => BasicTokenType::Mac,
        Some(t) => BasicTokenType::Extension(t),
    })
}

fn token_type_out<S: Serializer>(t: &BasicTokenType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_ref())
}

/// Integers, floats (whole seconds, saturating) and numeric strings; `null` is missing.
fn expires_in<'de, D: Deserializer<'de>>(d: D) -> Result<ExpiresIn, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Big(u64),
        Float(f64),
        Text(String),
    }
    let fixed = || serde::de::Error::custom("expires_in is not a number of seconds");
    let seconds = match Option::<Raw>::deserialize(d).map_err(|_| fixed())? {
        None => return Ok(ExpiresIn::Missing),
        Some(Raw::Int(i)) => i,
        Some(Raw::Big(u)) => i64::try_from(u).unwrap_or(i64::MAX),
        Some(Raw::Float(f)) => float_seconds(f).ok_or_else(fixed)?,
        Some(Raw::Text(t)) => {
            let t = t.trim();
            match t.parse::<i64>() {
                Ok(i) => i,
                Err(_) => t
                    .parse::<f64>()
                    .ok()
                    .and_then(float_seconds)
                    .ok_or_else(fixed)?,
            }
        }
    };
    Ok(ExpiresIn::Seconds(seconds))
}

/// `as` saturates at the `i64` bounds, which the lifetime cap then handles.
#[allow(clippy::cast_possible_truncation)]
fn float_seconds(f: f64) -> Option<i64> {
    f.is_finite().then(|| f.trunc() as i64)
}

fn expires_in_out<S: Serializer>(e: &ExpiresIn, s: S) -> Result<S::Ok, S::Error> {
    match e {
        ExpiresIn::Missing => s.serialize_none(),
        ExpiresIn::Seconds(n) => s.serialize_i64(*n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<OrdsTokenResponse, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn expires_in_is_read_leniently() {
        let table = [
            (r#""expires_in":3600"#, Some(ExpiresIn::Seconds(3600))),
            (r#""expires_in":"3600""#, Some(ExpiresIn::Seconds(3600))),
            (r#""expires_in":" 3600 ""#, Some(ExpiresIn::Seconds(3600))),
            (r#""expires_in":3600.9"#, Some(ExpiresIn::Seconds(3600))),
            (
                r#""expires_in":1e9"#,
                Some(ExpiresIn::Seconds(1_000_000_000)),
            ),
            (
                r#""expires_in":1000000000"#,
                Some(ExpiresIn::Seconds(1_000_000_000)),
            ),
            (
                r#""expires_in":18446744073709551615"#,
                Some(ExpiresIn::Seconds(i64::MAX)),
            ),
            (r#""expires_in":1e300"#, Some(ExpiresIn::Seconds(i64::MAX))),
            (r#""expires_in":0"#, Some(ExpiresIn::Seconds(0))),
            (r#""expires_in":-5"#, Some(ExpiresIn::Seconds(-5))),
            (r#""expires_in":null"#, Some(ExpiresIn::Missing)),
            (r#""x":1"#, Some(ExpiresIn::Missing)),
            (r#""expires_in":"x""#, None),
            (r#""expires_in":true"#, None),
            (r#""expires_in":{}"#, None),
        ];
        for (field, expected) in table {
            let json =
                format!(r#"{{"access_token":"SENTINEL_TOKEN_t","token_type":"bearer",{field}}}"#);
            match (parse(&json), expected) {
                (Ok(r), Some(e)) => assert_eq!(r.raw_expires_in(), e, "{field}"),
                (Err(msg), None) => assert!(!msg.contains("SENTINEL"), "{msg}"),
                (got, want) => panic!(
                    "{field}: got {:?}, want {want:?}",
                    got.map(|r| r.raw_expires_in())
                ),
            }
        }
    }

    #[test]
    fn token_type_is_case_insensitive_and_defaults_to_bearer() {
        for json in [
            r#"{"access_token":"t","token_type":"bearer"}"#,
            r#"{"access_token":"t","token_type":"Bearer"}"#,
            r#"{"access_token":"t"}"#,
        ] {
            assert_eq!(
                *parse(json).unwrap().token_type(),
                BasicTokenType::Bearer,
                "{json}"
            );
        }
        let other = parse(r#"{"access_token":"t","token_type":"pop"}"#).unwrap();
        assert_eq!(*other.token_type(), BasicTokenType::Extension("pop".into()));
        assert!(!format!("{other:?}").contains("\"t\""));
    }
}
