//! The shape of a crate's `src`, read from the source text (no build needed), for a
//! crate's own layers test: its top-level modules and the modules each names
//! ([`module_graph`], [`find_cycle`]), and the length of each function
//! ([`long_functions`]).
//!
//! A reference is `crate::<top>` in code (not in a comment), including each name of a
//! `use crate::{a, b}` list, and `crate::<Name>` for a name the crate root re-exports
//! from a top-level module. Test code is left out: files named `*tests.rs` and inline
//! `#[cfg(test)] mod … { … }` blocks. A directory counts as one module with its
//! `<dir>.rs` or `<dir>/mod.rs`. The function scan counts braces from a `fn`'s first
//! `{` to its match, which is enough for code whose braces inside string literals
//! come in pairs (character literals `'{'` and `'}'` are skipped).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file: its top-level module (`None` for `lib.rs` and `main.rs`) and its
/// code with comments and test blocks removed.
pub struct Source {
    pub path: PathBuf,
    pub top: Option<String>,
    pub code: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

pub fn sources(root: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            !name.ends_with("tests.rs")
        })
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap();
            let first = relative.components().next().unwrap();
            let first = first.as_os_str().to_string_lossy().into_owned();
            let top = match first.strip_suffix(".rs") {
                Some("lib" | "main") => None,
                Some(stem) => Some(stem.to_owned()),
                None => Some(first),
            };
            let text = std::fs::read_to_string(&path).unwrap();
            Source {
                code: without_tests(&without_comments(&text)),
                path,
                top,
            }
        })
        .collect()
}

/// Lines that are only a comment become empty (line numbers stay).
pub fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Inline `#[cfg(test)] mod name { … }` blocks become empty lines.
pub fn without_tests(code: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let is_test_mod = lines[i].trim() == "#[cfg(test)]"
            && lines.get(i + 1).is_some_and(|next| {
                let next = next.trim();
                next.starts_with("mod ") && next.ends_with('{')
            });
        if !is_test_mod {
            kept.push(lines[i]);
            i += 1;
            continue;
        }
        let end = block_end(&lines, i + 1).unwrap_or(lines.len() - 1);
        kept.extend(std::iter::repeat_n("", end + 1 - i));
        i = end + 1;
    }
    kept.join("\n")
}

/// The line holding the `}` that closes the first `{` at or after line `start`.
pub fn block_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate().skip(start) {
        // Character literals are the one unpaired brace in this code base.
        let line = line.replace("'{'", "").replace("'}'", "");
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        return Some(n);
                    }
                }
                ';' if !opened => return None,
                _ => {}
            }
        }
    }
    None
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The names `code` reaches through `crate::` (a top-level module, or a name the
/// crate root re-exports).
pub fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(is_ident) {
            continue; // e.g. `license_broker_crate::`
        }
        if let Some(list) = rest.strip_prefix('{') {
            // `crate::{a::X, b}`: the first name of each item at depth 0.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in list.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && is_ident(c) => {
                        let name: String = list[i..].chars().take_while(|&c| is_ident(c)).collect();
                        refs.insert(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            if !name.is_empty() {
                refs.insert(name);
            }
        }
    }
    refs
}

/// Top-level module → the other top-level modules it names, either by path
/// (`crate::store::…`) or through a name the crate root re-exports (`crate::Paths`,
/// when `lib.rs` has `pub use store::paths::Paths`). Sources without a top-level
/// module (`lib.rs`, `main.rs`) only lend their re-exports.
pub fn module_graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let tops: BTreeSet<String> = sources.iter().filter_map(|s| s.top.clone()).collect();
    let reexports: BTreeMap<String, String> = sources
        .iter()
        .filter(|s| s.top.is_none())
        .flat_map(|s| root_reexports(&s.code))
        .filter(|(_, top)| tops.contains(top))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> =
        tops.iter().map(|t| (t.clone(), BTreeSet::new())).collect();
    for source in sources {
        let Some(top) = &source.top else { continue };
        for name in crate_refs(&source.code) {
            let target = if tops.contains(&name) {
                Some(&name)
            } else {
                reexports.get(&name)
            };
            if let Some(target) = target.filter(|target| *target != top) {
                graph.get_mut(top).unwrap().insert(target.clone());
            }
        }
    }
    graph
}

/// Each name a crate root's `pub use module::…::{A, B}` re-exports, with the module
/// it comes from (`A` → `module`); `pub use other_crate::…` gives names too, which
/// [`module_graph`] drops because no top-level module is called that.
pub fn root_reexports(code: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let mut rest = code;
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
        let statement = statement.strip_prefix("crate::").unwrap_or(statement);
        let top: String = statement.chars().take_while(|&c| is_ident(c)).collect();
        let items = match (statement.find('{'), statement.rfind('}')) {
            (Some(open), Some(close)) => statement[open + 1..close].replace(['{', '}'], ","),
            _ => statement.rsplit("::").next().unwrap_or("").to_owned(),
        };
        for item in items.split(',') {
            let item = item.trim();
            let name = item.rsplit(" as ").next().unwrap_or(item);
            let name = name.rsplit("::").next().unwrap_or(name).trim();
            if !name.is_empty() && name.chars().all(is_ident) {
                names.insert(name.to_owned(), top.clone());
            }
        }
    }
    names
}

/// One cycle of `graph`, as the modules along it (the first repeated at the end).
pub fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in &graph[node] {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

/// `(line, name, length)` of each `fn` with a body in `code`.
pub fn functions(code: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(at) = line.find("fn ") else { continue };
        let head = &line[..at];
        let is_decl = head.split_whitespace().all(|w| {
            matches!(w, "pub" | "async" | "const" | "unsafe" | "extern") || w.starts_with("pub(")
        });
        if !is_decl {
            continue;
        }
        let name: String = line[at + 3..]
            .chars()
            .take_while(|&c| is_ident(c))
            .collect();
        if let Some(end) = block_end(&lines, n) {
            found.push((n + 1, name, end - n + 1));
        }
    }
    found
}

/// Each function outside the tests over `max` lines, as `path:line fn name: n lines`.
pub fn long_functions<'a>(
    sources: impl IntoIterator<Item = &'a Source>,
    max: usize,
) -> Vec<String> {
    let mut long = Vec::new();
    for source in sources {
        for (line, name, length) in functions(&source.code) {
            if length > max {
                long.push(format!(
                    "{}:{line} fn {name}: {length} lines",
                    source.path.display()
                ));
            }
        }
    }
    long
}
