//! The shape of `broker/src`, read from the source text (no build needed):
//!
//! - `config` (where settings come from) imports no other broker module;
//! - the top-level modules import each other without a cycle;
//! - no function outside the tests is longer than [`MAX_FN_LINES`], and `main.rs` is
//!   at most [`MAX_MAIN_LINES`] lines.
//!
//! A reference is `crate::<top>` in code (not in a comment), including each name of a
//! `use crate::{a, b}` list. Test code is left out: files named `*tests.rs` and inline
//! `#[cfg(test)] mod … { … }` blocks. The function scan counts braces from a `fn`'s
//! first `{` to its match, which is enough for this code base (braces inside string
//! literals come in pairs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a function outside the tests may be.
const MAX_FN_LINES: usize = 120;
/// The longest `main.rs` may be: the binary parses and hands over to the library.
const MAX_MAIN_LINES: usize = 200;

/// A source file: its top-level module (`None` for `lib.rs` and `main.rs`) and its
/// code with comments and test blocks removed.
struct Source {
    path: PathBuf,
    top: Option<String>,
    code: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
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

fn sources() -> Vec<Source> {
    let root = src_dir();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            !name.ends_with("tests.rs")
        })
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap();
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
fn without_comments(text: &str) -> String {
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
fn without_tests(code: &str) -> String {
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
fn block_end(lines: &[&str], start: usize) -> Option<usize> {
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

/// The top-level modules `code` names through `crate::`.
fn crate_refs(code: &str) -> BTreeSet<String> {
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

/// Top-level module → the other top-level modules it names.
fn module_graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let tops: BTreeSet<String> = sources.iter().filter_map(|s| s.top.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> =
        tops.iter().map(|t| (t.clone(), BTreeSet::new())).collect();
    for source in sources {
        let Some(top) = &source.top else { continue };
        for name in crate_refs(&source.code) {
            if name != *top && tops.contains(&name) {
                graph.get_mut(top).unwrap().insert(name);
            }
        }
    }
    graph
}

/// One cycle of `graph`, as the modules along it (the first repeated at the end).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
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
fn functions(code: &str) -> Vec<(usize, String, usize)> {
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

#[test]
fn config_imports_no_other_broker_module() {
    let graph = module_graph(&sources());
    let config = graph.get("config").expect("broker/src/config exists");
    assert!(
        config.is_empty(),
        "config must only read settings, yet it imports {config:?}"
    );
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = module_graph(&sources());
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between top-level modules of broker/src: {}\n(the whole graph: {graph:#?})",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn no_function_is_longer_than_the_limit_and_main_is_short() {
    let mut long = Vec::new();
    for source in sources() {
        for (line, name, length) in functions(&source.code) {
            if length > MAX_FN_LINES {
                long.push(format!(
                    "{}:{line} fn {name}: {length} lines",
                    source.path.display()
                ));
            }
        }
    }
    let main = std::fs::read_to_string(src_dir().join("main.rs")).unwrap();
    let main_lines = main.lines().count();
    if main_lines > MAX_MAIN_LINES {
        long.push(format!(
            "main.rs: {main_lines} lines (at most {MAX_MAIN_LINES}: the binary parses and hands over)"
        ));
    }
    assert!(
        long.is_empty(),
        "too long (a function over {MAX_FN_LINES} lines, or main.rs over {MAX_MAIN_LINES}):\n{}",
        long.join("\n")
    );
}

/// The checks above can fail: a cycle, an import out of `config` and a long function
/// are each found in a made-up source.
#[test]
fn the_checks_find_what_they_look_for() {
    let made_up = |top: &str, code: &str| Source {
        path: PathBuf::from(format!("{top}.rs")),
        top: Some(top.to_owned()),
        code: without_tests(&without_comments(code)),
    };
    let sources = [
        made_up("config", "use crate::http::EdgeConfig;\n"),
        made_up(
            "http",
            "use crate::{config::Sources, guard};\n// crate::ords\n",
        ),
        made_up(
            "guard",
            "#[cfg(test)]\nmod tests {\n    use crate::http::X;\n}\n",
        ),
    ];
    let graph = module_graph(&sources);
    assert_eq!(graph["config"], BTreeSet::from(["http".to_owned()]));
    assert_eq!(
        graph["http"],
        BTreeSet::from(["config".to_owned(), "guard".to_owned()])
    );
    assert!(graph["guard"].is_empty());
    let cycle = find_cycle(&graph).expect("config -> http -> config");
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 3);

    let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
    let code = format!("pub(crate) async fn long() {{\n{body}}}\nfn short() {{ let c = '{{'; }}\n");
    let found = functions(&code);
    assert_eq!(found[0], (1, "long".to_owned(), MAX_FN_LINES + 2));
    assert_eq!(found[1], (MAX_FN_LINES + 3, "short".to_owned(), 1));
}
