//! URI matching: route patterns for templates and wildcard patterns for privileges.
//!
//! Templates use ORDS route patterns: `validation/:id` binds exactly one non-empty
//! segment, so `validation/1/extra` does not match (unlike the legacy greedy `{id}`,
//! kept here only as a final `{name}` that binds the rest of the path). Privilege
//! patterns are wildcards where `*` matches any run of characters, including none:
//! that is why `/customers/*` also protects `/customers/`.

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `:name`: exactly one non-empty segment.
    Param(String),
    /// Final `{name}`: the non-empty rest of the path, slashes included.
    Greedy(String),
}

/// A parsed template pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    segments: Vec<Segment>,
}

impl RoutePattern {
    /// Parses `validation/:id`; `""` is the module root.
    pub fn parse(pattern: &str) -> Result<RoutePattern, String> {
        if pattern.starts_with('/') {
            return Err(format!(
                "{pattern:?}: template patterns are relative, drop the leading '/'"
            ));
        }
        let mut segments = Vec::new();
        let parts: Vec<&str> = if pattern.is_empty() {
            Vec::new()
        } else {
            pattern.split('/').collect()
        };
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let segment = if let Some(name) = part.strip_prefix(':') {
                Segment::Param(check_name(pattern, name)?)
            } else if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if !last {
                    return Err(format!(
                        "{pattern:?}: a greedy {{{name}}} must be the last segment"
                    ));
                }
                Segment::Greedy(check_name(pattern, name)?)
            } else if part.is_empty() && !last {
                return Err(format!("{pattern:?}: empty segment"));
            } else {
                Segment::Literal((*part).to_owned())
            };
            segments.push(segment);
        }
        Ok(RoutePattern { segments })
    }

    /// The names of the bind parameters, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) | Segment::Greedy(n) => Some(n.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// How many literal segments: when several templates match, the one with more
    /// literals wins, as a literal is more specific than a parameter.
    pub fn literal_count(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
    }

    /// The path with parameters dropped and `item` appended, for `describedby` links:
    /// `validation/:id` → `validation/item`.
    pub fn metadata_path(&self) -> String {
        let literals: Vec<&str> = self
            .segments
            .iter()
            .filter_map(|s| match s {
                Segment::Literal(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        let mut out = literals.join("/");
        if self.params().next().is_some() {
            if !out.is_empty() && !out.ends_with('/') {
                out.push('/');
            }
            out.push_str("item");
        }
        out
    }

    /// Matches `path` (relative to the module's base path, already percent-decoded
    /// per segment by the caller) and returns the bound parameters.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let parts: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        let mut binds = Vec::new();
        let mut i = 0;
        for segment in &self.segments {
            match segment {
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let value = parts.get(i).filter(|v| !v.is_empty())?;
                    binds.push((name.clone(), percent_decode(value)));
                }
                Segment::Greedy(name) => {
                    let rest = parts.get(i..).map(|r| r.join("/")).unwrap_or_default();
                    if rest.is_empty() {
                        return None;
                    }
                    binds.push((name.clone(), percent_decode(&rest)));
                    return Some(binds);
                }
            }
            i += 1;
        }
        (i == parts.len()).then_some(binds)
    }
}

fn check_name(pattern: &str, name: &str) -> Result<String, String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("{pattern:?}: {name:?} is not a parameter name"));
    }
    Ok(name.to_owned())
}

/// Whether a privilege pattern (`/customers/*`) covers `path` (`/customers/x`).
/// `*` matches any run of characters, including none and including `/`.
pub fn wildcard_matches(pattern: &str, path: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), path.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Specificity of a privilege pattern: its count of literal characters. The most
/// specific matching pattern decides.
pub fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|&c| c != '*').count()
}

/// Decodes `%XX` escapes; invalid escapes stay as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `application/x-www-form-urlencoded` text (a body or a query string).
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns() {
        let p = RoutePattern::parse("validation/:id").unwrap();
        assert_eq!(
            p.matches("validation/1"),
            Some(vec![("id".into(), "1".into())])
        );
        assert_eq!(p.matches("validation/1/x"), None);
        assert_eq!(p.matches("validation/"), None);
        assert_eq!(p.matches("validation"), None);
        assert_eq!(p.metadata_path(), "validation/item");
        let g = RoutePattern::parse("files/{rest}").unwrap();
        assert_eq!(
            g.matches("files/a/b"),
            Some(vec![("rest".into(), "a/b".into())])
        );
        let root = RoutePattern::parse("").unwrap();
        assert_eq!(root.matches(""), Some(vec![]));
        assert_eq!(root.matches("x"), None);
        assert!(RoutePattern::parse("/x").is_err());
        assert!(RoutePattern::parse("{a}/b").is_err());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_matches("/x/*", "/x/"));
        assert!(wildcard_matches("/x/*", "/x/a/b"));
        assert!(!wildcard_matches("/x/*", "/x"));
        assert!(wildcard_matches("/a/*/c", "/a/b/c"));
        assert!(!wildcard_matches("/a/b", "/a/bc"));
        assert!(specificity("/x/y/*") > specificity("/x/*"));
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(
            parse_form("grant_type=client_credentials&x=a+b%21"),
            vec![
                ("grant_type".into(), "client_credentials".into()),
                ("x".into(), "a b!".into())
            ]
        );
    }
}
