//! The shape of `desktop-client/src`, read from the source text by the kit's `layers`
//! (no build needed):
//!
//! - the library's top-level modules import each other without a cycle (`store/` and
//!   `client/` count as one module each; a name the crate root re-exports counts as
//!   the module it comes from);
//! - the store's bottom, `store/fs.rs` and `store/paths.rs`, names no other module;
//! - no function outside the tests is longer than [`MAX_FN_LINES`], the
//!   `license-check` binary's included.

use std::path::{Path, PathBuf};

use license_testkit::layers::{find_cycle, long_functions, module_graph, sources, Source};

/// The longest a function outside the tests may be.
const MAX_FN_LINES: usize = 120;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The library's sources: `src/bin` is another crate, whose `crate::` is its own.
fn library() -> Vec<Source> {
    sources(&src_dir())
        .into_iter()
        .filter(|source| source.top.as_deref() != Some("bin"))
        .collect()
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = module_graph(&library());
    assert!(graph.contains_key("store") && graph.contains_key("client"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between top-level modules of desktop-client/src: {}\n(the whole graph: {graph:#?})",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_bottom_of_the_store_names_no_other_module() {
    for file in ["store/fs.rs", "store/paths.rs"] {
        let source = library()
            .into_iter()
            .find(|source| source.path.ends_with(file))
            .unwrap_or_else(|| panic!("{file} exists"));
        for word in ["crate::", "super::"] {
            assert!(
                !source.code.contains(word),
                "{file} must be a leaf, yet it names {word}"
            );
        }
    }
}

#[test]
fn no_function_is_longer_than_the_limit() {
    let long = long_functions(&sources(&src_dir()), MAX_FN_LINES);
    assert!(
        long.is_empty(),
        "a function over {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}
