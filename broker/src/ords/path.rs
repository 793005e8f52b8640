//! The one ORDS URL the broker ever calls: the schema root plus a fixed path template
//! with exactly one `{id}` segment.
//!
//! The id is checked twice on purpose: `CustomerId` already limits the alphabet, and
//! this builder refuses dot segments, separators, escapes and control characters by
//! name, because the `url` crate silently resolves `.` and `..` (so `validation/..`
//! would call a different resource) and a `%` would let a caller pre-encode anything.
//! Segments are added with `path_segments_mut().push()`, never by string formatting.

use url::Url;

/// The placeholder in the template.
const ID: &str = "{id}";
/// Longest id segment accepted (the longest `CustomerId`).
pub(super) const MAX_ID_LEN: usize = license_shared::license_key::CUSTOMER_ID_MAX_LEN;

/// A parsed `LICENSE_BROKER_VALIDATION_PATH`, such as `customers/validation/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationPath {
    /// The template's segments; exactly one is `None`, the id's place.
    segments: Vec<Option<String>>,
}

/// Why an id cannot go into the ORDS URL. The message names the rule it broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error("the customer id is empty")]
    Empty,
    #[error("the customer id is longer than {MAX_ID_LEN} characters")]
    TooLong,
    #[error("the customer id is a dot segment ('.' or '..')")]
    DotSegment,
    #[error("the customer id contains {0:?}, which could change the shape of the ORDS URL")]
    Forbidden(char),
    #[error("the customer id contains a control or whitespace character")]
    Control,
    #[error("the customer id may only hold A-Z, a-z, 0-9, '_' and '-'")]
    Charset,
}

/// Checks one id segment. Explicit refusals come first so each message is precise; the
/// final alphabet check makes the list exhaustive rather than a deny-list.
pub(crate) fn check_id_segment(id: &str) -> Result<&str, SegmentError> {
    if id.is_empty() {
        return Err(SegmentError::Empty);
    }
    if id.len() > MAX_ID_LEN {
        return Err(SegmentError::TooLong);
    }
    if id == "." || id == ".." {
        return Err(SegmentError::DotSegment);
    }
    for ch in id.chars() {
        if matches!(ch, '/' | '\\' | '%' | '?' | '#' | '.' | ';') {
            return Err(SegmentError::Forbidden(ch));
        }
        if ch.is_control() || ch.is_whitespace() {
            return Err(SegmentError::Control);
        }
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(SegmentError::Charset);
    }
    Ok(id)
}

impl ValidationPath {
    /// Parses a template: slash-separated literal segments and exactly one `{id}`.
    /// Errors are phrased to follow the variable name in a one-line message.
    pub fn parse(template: &str) -> Result<Self, String> {
        let trimmed = template.trim().trim_matches('/');
        if trimmed.is_empty() {
            return Err("is empty; use a template such as customers/validation/{id}".into());
        }
        let mut segments = Vec::new();
        for segment in trimmed.split('/') {
            if segment == ID {
                segments.push(None);
                continue;
            }
            let bad = segment.is_empty()
                || segment == "."
                || segment == ".."
                || segment.contains(['{', '}', '%', '?', '#', '\\'])
                || segment.chars().any(|c| c.is_control() || c.is_whitespace());
            if bad {
                return Err(format!(
                    "segment {segment:?} is not allowed; literal segments must be plain names and the id must be a whole segment {{id}}"
                ));
            }
            segments.push(Some(segment.to_owned()));
        }
        match segments.iter().filter(|s| s.is_none()).count() {
            1 => Ok(Self { segments }),
            0 => Err("has no {id} segment; use e.g. customers/validation/{id}".into()),
            _ => Err("has more than one {id} segment; exactly one is allowed".into()),
        }
    }

    /// `base` + the template with `id` in its place. `base` must be a hierarchical URL
    /// without query or fragment (the config loader checks that once at start-up).
    pub fn url(&self, base: &Url, id: &str) -> Result<Url, SegmentError> {
        let id = check_id_segment(id)?;
        let mut url = base.clone();
        url.set_query(None);
        url.set_fragment(None);
        {
            // A base that cannot be a base was refused at load time; stay panic-free anyway.
            let Ok(mut path) = url.path_segments_mut() else {
                return Err(SegmentError::Charset);
            };
            path.pop_if_empty();
            for segment in &self.segments {
                path.push(segment.as_deref().unwrap_or(id));
            }
        }
        Ok(url)
    }
}

/// The template as configured: `customers/validation/{id}`.
impl std::fmt::Display for ValidationPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(segment.as_deref().unwrap_or(ID))?;
        }
        Ok(())
    }
}

impl Default for ValidationPath {
    fn default() -> Self {
        Self::parse("customers/validation/{id}").expect("the default template is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://ords.example/ords/page/").unwrap()
    }

    #[test]
    fn builds_the_article_url() {
        let path = ValidationPath::default();
        assert_eq!(
            path.url(&base(), "42").unwrap().as_str(),
            "https://ords.example/ords/page/customers/validation/42"
        );
        let no_slash = Url::parse("https://ords.example/ords/page").unwrap();
        assert_eq!(
            path.url(&no_slash, "A_b-9").unwrap().as_str(),
            "https://ords.example/ords/page/customers/validation/A_b-9"
        );
    }

    #[test]
    fn refuses_every_hostile_id() {
        let path = ValidationPath::default();
        let long = "9".repeat(10_000);
        let cases: [(&str, SegmentError); 12] = [
            ("", SegmentError::Empty),
            (".", SegmentError::DotSegment),
            ("..", SegmentError::DotSegment),
            ("%2e%2e", SegmentError::Forbidden('%')),
            ("%2F", SegmentError::Forbidden('%')),
            ("a/b", SegmentError::Forbidden('/')),
            ("?", SegmentError::Forbidden('?')),
            ("#", SegmentError::Forbidden('#')),
            ("..;", SegmentError::Forbidden('.')),
            ("1\r\n2", SegmentError::Control),
            ("1\0", SegmentError::Control),
            (&long, SegmentError::TooLong),
        ];
        for (id, expected) in cases {
            assert_eq!(path.url(&base(), id), Err(expected), "id {id:?}");
        }
        assert_eq!(path.url(&base(), "é"), Err(SegmentError::Charset));
        assert_eq!(path.url(&base(), "1 2"), Err(SegmentError::Control));
    }

    #[test]
    fn templates_need_exactly_one_whole_id_segment() {
        assert!(ValidationPath::parse("customers/validation/{id}").is_ok());
        assert!(ValidationPath::parse("/v/{id}/detail/").is_ok());
        for bad in [
            "",
            "customers/validation",
            "{id}/{id}",
            "x/pre{id}",
            "x/../{id}",
            "x//{id}",
            "x/%2e/{id}",
            "x?q=1/{id}",
        ] {
            assert!(ValidationPath::parse(bad).is_err(), "{bad:?}");
        }
    }
}
