//! Reading `callgrind_annotate --threshold=100` listings: instruction counts (Ir) per
//! function, and self costs folded into a few categories a reader can act on.

use std::collections::BTreeMap;

/// One listing: the program total and every `Ir  file:function [object]` row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub total: u64,
    /// (Ir, function name without its file and object), in listing order.
    pub rows: Vec<(u64, String)>,
}

fn ir(text: &str) -> Option<u64> {
    text.replace(',', "").parse().ok()
}

/// `/path/file.rs:crate::f [/bin/x]` → `crate::f`. Paths hold no `:`; names do (`::`).
fn function(rest: &str) -> String {
    let name = rest.split_once(':').map_or(rest, |(_, f)| f);
    let name = match name.rfind(" [") {
        Some(i) if name.ends_with(']') => &name[..i],
        _ => name,
    };
    name.trim().to_owned()
}

/// Parses a listing; rows are merged by function (callgrind splits a function's cost by
/// the file its inlined lines came from), keeping the sum for self listings and the
/// largest for inclusive ones.
pub fn parse(text: &str, inclusive: bool) -> Listing {
    let mut listing = Listing::default();
    let mut merged: BTreeMap<String, u64> = BTreeMap::new();
    let mut order = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        // Source annotation (call arrows `=>`, per-line costs) follows the table.
        if line.starts_with("-- Auto-annotated") || line.starts_with("The following files") {
            break;
        }
        if line.contains("=>") {
            continue;
        }
        let Some((count, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(count) = ir(count) else { continue };
        let rest = rest.trim_start();
        // `(12.34%)  file:function`
        let Some(rest) = rest.strip_prefix('(').and_then(|r| r.split_once(')')) else {
            continue;
        };
        let rest = rest.1.trim();
        if rest == "PROGRAM TOTALS" {
            listing.total = count;
            continue;
        }
        let name = function(rest);
        let slot = merged.entry(name.clone()).or_insert_with(|| {
            order.push(name);
            0
        });
        *slot = if inclusive {
            (*slot).max(count)
        } else {
            *slot + count
        };
    }
    listing.rows = order
        .into_iter()
        .map(|name| (merged[&name], name))
        .collect();
    listing.rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    listing
}

/// Categories of self cost, first match wins.
pub const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "Ed25519 signature (ed25519-compact or curve25519-dalek, SHA-512)",
        &["curve25519", "ed25519", "sha512", "subtle::"],
    ),
    (
        "SHA-256 (license-key MAC, log fingerprint, rate-limit key id)",
        &["sha256", "hmac", "Sha256"],
    ),
    (
        "log line (tracing-subscriber, ANSI colours, core::fmt)",
        &[
            "tracing",
            "nu_ansi_term",
            "core::fmt",
            "fmt::Write",
            "Formatter",
            "flt2dec",
        ],
    ),
    ("JSON (serde_json)", &["serde_json", "serde_core"]),
    ("base64", &["base64"]),
    (
        "HTTP stack (hyper, httparse, http, axum, tower)",
        &["hyper", "httparse", "http::", "axum", "tower"],
    ),
    ("async runtime (tokio, mio)", &["tokio", "mio::"]),
    (
        "allocation and copies (malloc, free, memcpy)",
        &[
            "malloc", "free", "memmove", "memcpy", "memset", "memcmp", "alloc::", "__rdl_",
        ],
    ),
];

/// Self cost folded into [`CATEGORIES`] plus "other", largest first.
pub fn categorize(listing: &Listing) -> Vec<(&'static str, u64)> {
    let mut sums: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (count, name) in &listing.rows {
        let category = CATEGORIES
            .iter()
            .find(|(_, needles)| needles.iter().any(|n| name.contains(n)))
            .map_or("other (broker code, std, kernel entry)", |(c, _)| *c);
        *sums.entry(category).or_default() += count;
    }
    let mut out: Vec<_> = sums.into_iter().collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELF: &str = "\
--------------------------------------------------------------------------------
Ir                  
--------------------------------------------------------------------------------
1,000 (100.0%)  PROGRAM TOTALS

Ir                   file:function
--------------------------------------------------------------------------------
  600 (60.00%)  /r/curve25519-dalek-4.1.3/src/field.rs:<&curve25519_dalek::F as core::ops::Mul>::mul [/b/license-broker]
  100 (10.00%)  /rustc/x/library/core/src/intrinsics/mod.rs:sha2::sha256::compress256
  150 (15.00%)  /r/sha2-0.10.9/src/sha256/soft.rs:sha2::sha256::compress256 [/b/license-broker]
  100 (10.00%)  ./malloc/./malloc/malloc.c:malloc [/usr/lib/x86_64-linux-gnu/libc.so.6]
   50 ( 5.00%)  broker/src/api/validate.rs:license_broker::api::validate::answer
";

    #[test]
    fn self_rows_merge_by_function_and_fold_into_categories() {
        let listing = parse(SELF, false);
        assert_eq!(listing.total, 1000);
        assert_eq!(
            listing.rows[1],
            (250, "sha2::sha256::compress256".to_owned())
        );
        assert_eq!(listing.rows.len(), 4);
        let categories = categorize(&listing);
        assert_eq!(categories[0].1, 600);
        assert!(categories[0].0.starts_with("Ed25519"));
        assert_eq!(categories[1].1, 250);
        assert_eq!(categories.iter().map(|c| c.1).sum::<u64>(), 1000);
    }

    #[test]
    fn inclusive_rows_keep_the_largest() {
        let listing = parse(SELF, true);
        assert_eq!(
            listing.rows[1],
            (150, "sha2::sha256::compress256".to_owned())
        );
    }
}
