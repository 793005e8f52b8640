//! The shape of `broker/src`, read from the source text by the kit's `layers` (no
//! build needed):
//!
//! - `config` (where settings come from) imports no other broker module;
//! - the top-level modules import each other without a cycle;
//! - no function outside the tests is longer than [`MAX_FN_LINES`], and `main.rs` is
//!   at most [`MAX_MAIN_LINES`] lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use license_testkit::layers::{
    find_cycle, functions, long_functions, module_graph, sources, without_comments, without_tests,
    Source,
};

/// The longest a function outside the tests may be.
const MAX_FN_LINES: usize = 120;
/// The longest `main.rs` may be: the binary parses and hands over to the library.
const MAX_MAIN_LINES: usize = 200;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn config_imports_no_other_broker_module() {
    let graph = module_graph(&sources(&src_dir()));
    let config = graph.get("config").expect("broker/src/config exists");
    assert!(
        config.is_empty(),
        "config must only read settings, yet it imports {config:?}"
    );
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = module_graph(&sources(&src_dir()));
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between top-level modules of broker/src: {}\n(the whole graph: {graph:#?})",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn no_function_is_longer_than_the_limit_and_main_is_short() {
    let mut long = long_functions(&sources(&src_dir()), MAX_FN_LINES);
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

/// The checks above can fail: a cycle, an import out of `config` (by path and through
/// a name the crate root re-exports) and a long function are each found in a made-up
/// source.
#[test]
fn the_checks_find_what_they_look_for() {
    let made_up = |top: Option<&str>, code: &str| Source {
        path: PathBuf::from(format!("{}.rs", top.unwrap_or("lib"))),
        top: top.map(str::to_owned),
        code: without_tests(&without_comments(code)),
    };
    let sources = [
        made_up(Some("config"), "use crate::http::EdgeConfig;\n"),
        made_up(
            Some("http"),
            "use crate::{config::Sources, guard};\n// crate::ords\n",
        ),
        made_up(
            Some("guard"),
            "#[cfg(test)]\nmod tests {\n    use crate::http::X;\n}\n",
        ),
        made_up(Some("ords"), "fn f() -> crate::Broker { todo!() }\n"),
        made_up(None, "pub use http::{serve::Broker, Edge as E};\n"),
    ];
    let graph = module_graph(&sources);
    assert_eq!(graph["config"], BTreeSet::from(["http".to_owned()]));
    assert_eq!(
        graph["http"],
        BTreeSet::from(["config".to_owned(), "guard".to_owned()])
    );
    assert!(graph["guard"].is_empty());
    assert_eq!(graph["ords"], BTreeSet::from(["http".to_owned()]));
    let cycle = find_cycle(&graph).expect("config -> http -> config");
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 3);

    let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
    let code = format!("pub(crate) async fn long() {{\n{body}}}\nfn short() {{ let c = '{{'; }}\n");
    let found = functions(&code);
    assert_eq!(found[0], (1, "long".to_owned(), MAX_FN_LINES + 2));
    assert_eq!(found[1], (MAX_FN_LINES + 3, "short".to_owned(), 1));
}
