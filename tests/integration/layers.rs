//! The house rules, checked on the source tree: modules import only downwards (the layer order
//! of docs/architecture.md), no import circles between modules or between the files of one
//! module, and no source file over 1,000 lines (test files aside).
//!
//! Imports are read from the text: `crate::m::…` and `super::…` paths outside comments and
//! before a file's `#[cfg(test)]` (tests sit at the end of a file, or in `tests.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer, bottom first; a module may use its own layer and below.
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["config", "textparse"],
    &["storage"],
    &["tsdb"],
    &["scrape", "remote", "send", "push", "otlp"],
    &["promql"],
    &["rules"],
    &["testrun"],
    &["api", "web"],
    &["server"],
    &["client"],
    &["tui"],
    &["cli"],
];

fn layer(m: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&m))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's module path below `src` (`src/tui/view/graph.rs` → `tui::view::graph`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its tests.
fn shipped_code(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_test_file(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n == "tests.rs")
        || p.components().any(|c| c.as_os_str() == "tests")
}

/// Circles in a graph, as paths that come back to their start.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        u: &str,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        state.insert(u.to_string(), 1);
        stack.push(u.to_string());
        for v in g.get(u).into_iter().flatten() {
            match state.get(v.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|x| x == v).unwrap_or(0);
                    let mut c = stack[at..].to_vec();
                    c.push(v.clone());
                    found.push(c);
                }
                Some(_) => {}
                None => visit(g, v, state, stack, found),
            }
        }
        stack.pop();
        state.insert(u.to_string(), 2);
    }
    let (mut state, mut found) = (BTreeMap::new(), Vec::new());
    for u in g.keys() {
        if !state.contains_key(u.as_str()) {
            visit(g, u, &mut state, &mut Vec::new(), &mut found);
        }
    }
    found
}

#[test]
fn modules_import_only_downwards_without_circles_and_files_stay_small() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let crate_path = regex::Regex::new(r"crate::(\w+)(?:::(\w+))?").unwrap();
    let super_path = regex::Regex::new(r"(?:^|[^:\w])super::(\w+)").unwrap();
    let mut problems = Vec::new();
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut siblings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let shown = f.strip_prefix(&src).unwrap().display().to_string();
        let lines = text.lines().count();
        if lines > 1000 && !is_test_file(f) {
            problems.push(format!("{shown} has {lines} lines (at most 1,000)"));
        }
        let mp = module_path(&src, f);
        let Some(top) = mp.first().cloned() else {
            continue; // lib.rs, main.rs
        };
        if is_test_file(f) {
            continue;
        }
        let Some(own) = layer(&top) else {
            problems.push(format!(
                "{shown}: module {top:?} is missing from the layer list"
            ));
            continue;
        };
        let code = shipped_code(&text);
        for c in crate_path.captures_iter(&code) {
            let used = &c[1];
            if used == top {
                // A file of this module using another file of it: a sibling edge.
                if let (Some(second), Some(from)) = (c.get(2), mp.get(1)) {
                    if second.as_str() != from {
                        siblings
                            .entry(format!("{top}::{from}"))
                            .or_default()
                            .insert(format!("{top}::{}", second.as_str()));
                    }
                }
                continue;
            }
            match layer(used) {
                Some(l) if l > own => {
                    problems.push(format!("{shown}: {top} uses {used}, which sits above it"))
                }
                None => {}
                Some(_) => {
                    modules
                        .entry(top.clone())
                        .or_default()
                        .insert(used.to_string());
                }
            }
        }
        // `super::x` from a file at depth >= 2 names a sibling (or its parent's item).
        if mp.len() >= 2 {
            let parent = mp[..mp.len() - 1].join("::");
            let me = mp.join("::");
            for c in super_path.captures_iter(&code) {
                let target = format!("{parent}::{}", &c[1]);
                let is_file = files
                    .iter()
                    .any(|g| module_path(&src, g).join("::") == target);
                if is_file && target != me {
                    siblings.entry(me.clone()).or_default().insert(target);
                }
            }
        }
    }
    for c in circles(&modules) {
        problems.push(format!("import circle between modules: {}", c.join(" → ")));
    }
    for c in circles(&siblings) {
        problems.push(format!("import circle between files: {}", c.join(" → ")));
    }
    assert!(
        modules.len() >= 10,
        "too few modules seen to trust the check: {modules:?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
