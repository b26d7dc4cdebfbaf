//! The shape of `src/`: imports between the top-level modules point down
//! the flow, never up, so the module graph has no cycle. Reads the sources
//! (as ArchUnit does for Java); run it alone with
//! `cargo test --test integration architecture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules from the bottom up, each with what it may import.
/// A module may only import modules listed before it, so the graph is
/// acyclic by construction (checked below).
const LAYERS: &[(&str, &[&str])] = &[
    // The shared vocabulary: URLs, seeds, scope, fingerprints; the record.
    ("urls", &[]),
    ("record", &[]),
    // Data and pure functions.
    ("config", &["urls"]),
    ("extract", &[]),
    // What a watched page's records mean for the `[[notify]]` targets.
    ("watch", &["config", "record"]),
    // Watching and writing: they never know the stages or the store.
    ("observe", &[]),
    ("output", &["observe", "record"]),
    // One URL over HTTP: knows nothing of workers, retries or the store.
    ("fetch", &["config", "extract", "urls"]),
    // One page in headless Chromium; its requests go through `fetch`.
    ("render", &["config", "extract", "fetch", "observe", "urls"]),
    // The store behind one door.
    (
        "frontier",
        &["config", "observe", "record", "urls", "watch"],
    ),
    // Moving the work.
    (
        "crawl",
        &[
            "config", "extract", "fetch", "frontier", "observe", "output", "record", "render",
            "urls", "watch",
        ],
    ),
    // Reports read from the store.
    ("report", &["config", "frontier"]),
    // Delivering notifications from the store's outbox.
    (
        "notify",
        &["config", "fetch", "frontier", "observe", "watch"],
    ),
    // The lifecycle.
    (
        "daemon",
        &[
            "config", "crawl", "extract", "fetch", "frontier", "notify", "observe", "output",
            "record", "render", "report", "urls", "watch",
        ],
    ),
    // The command line.
    (
        "cli",
        &[
            "config", "crawl", "daemon", "extract", "fetch", "frontier", "notify", "observe",
            "output", "record", "render", "report", "urls", "watch",
        ],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The module path of a file: `src/crawl/politeness/mod.rs` is `[crawl, politeness]`.
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments (line comments and doc lines).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first identifier of each item of a `{a::b, c, d::{e}}` group.
fn group_heads(group: &str) -> Vec<&str> {
    let (mut depth, mut start, mut heads) = (0, 0, Vec::new());
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(identifier_at(group[start..].trim_start()));
                start = at + 1;
            }
            _ => {}
        }
    }
    heads.push(identifier_at(group[start..].trim_start()));
    heads
}

/// The crate-root modules a file's code names: `crate::x`, `crate::{x, y}`,
/// and `super::x` that climbs to the crate root.
fn modules_named(code: &str, depth: usize) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find(['c', 's']) {
        let before = code.len() - rest.len() + at;
        let is_word_start = before == 0
            || !code[..before]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let tail = &rest[at..];
        rest = &rest[at + 1..];
        if !is_word_start {
            continue;
        }
        let after_root = if let Some(after) = tail.strip_prefix("crate::") {
            after
        } else if tail.starts_with("super::") {
            let mut climbed = tail;
            let mut levels = 0;
            while let Some(after) = climbed.strip_prefix("super::") {
                climbed = after;
                levels += 1;
            }
            if levels < depth {
                continue;
            }
            climbed
        } else {
            continue;
        };
        if let Some(group) = after_root.strip_prefix('{') {
            let end = matching_brace(group);
            named.extend(group_heads(&group[..end]).into_iter().map(str::to_owned));
        } else {
            named.insert(identifier_at(after_root).to_owned());
        }
    }
    named.retain(|name| LAYERS.iter().any(|(module, _)| module == name));
    named
}

/// Where the group that `text` opens inside ends.
fn matching_brace(text: &str) -> usize {
    let mut depth = 1;
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// For each top-level module, the other top-level modules it imports, with
/// the file that does.
fn imports() -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for file in files {
        let path = module_path(&file);
        let Some(top) = path.first().filter(|top| *top != "lib" && *top != "main") else {
            continue;
        };
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for named in modules_named(&code, path.len()) {
            if &named != top {
                graph
                    .entry(top.clone())
                    .or_default()
                    .entry(named)
                    .or_insert_with(|| file.clone());
            }
        }
    }
    graph
}

#[test]
fn layers_only_allow_imports_of_modules_below_them() {
    for (index, (module, allowed)) in LAYERS.iter().enumerate() {
        for dependency in *allowed {
            let below = LAYERS[..index].iter().any(|(name, _)| name == dependency);
            assert!(
                below,
                "`{module}` may import `{dependency}`, which is not below it"
            );
        }
    }
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    let layered: BTreeSet<&str> = LAYERS.iter().map(|(module, _)| *module).collect();
    assert_eq!(declared, layered, "lib.rs's modules and LAYERS differ");
}

#[test]
fn imports_point_down_the_flow() {
    let mut upward = Vec::new();
    for (module, named) in imports() {
        let allowed = LAYERS
            .iter()
            .find(|(name, _)| *name == module)
            .map_or(&[][..], |(_, allowed)| *allowed);
        for (dependency, file) in named {
            if !allowed.contains(&dependency.as_str()) {
                upward.push(format!(
                    "`{module}` imports `{dependency}` ({})",
                    file.strip_prefix(src()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that reach up or sideways:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_scanner_sees_the_imports_that_are_there() {
    let graph = imports();
    for (module, dependency) in [("cli", "daemon"), ("crawl", "fetch"), ("config", "urls")] {
        assert!(
            graph
                .get(module)
                .is_some_and(|named| named.contains_key(dependency)),
            "`{module}` → `{dependency}` not seen"
        );
    }
}

#[test]
fn the_scanner_sees_grouped_nested_and_climbing_imports() {
    let code = "use crate::{config::Config, fetch::{Fetcher, Page}};\nuse super::super::record::Record;\nlet x = crate::urls::parse_seed(a);";
    let named = modules_named(code, 2);
    let expected: BTreeSet<String> = ["config", "fetch", "record", "urls"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(named, expected);
    assert!(modules_named("use super::super::record::Record;", 3).is_empty());
}
