//! The server's layout rules (docs/ARCHITECTURE.md, "The server, module by module"), checked
//! on its source: leaf modules never name a feature, nothing but the crate root names `app`,
//! SQL is written only in the store, and no module grows past 450 lines (tests excepted).
//! `tools/server_imports.py` checks the rest (no circle among files, the order of features).

use std::path::{Path, PathBuf};

/// The modules below the features (keep in step with tools/server_imports.py).
const LEAVES: &[&str] = &["calendar", "clock", "config", "error", "http", "metrics", "models", "serve", "signing", "state", "store", "testkit", "util", "vault"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file, as (path relative to `src/`, its code before its unit tests).
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let code = match text.find("\n#[cfg(test)]\nmod ") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            (p.strip_prefix(src()).unwrap().to_string_lossy().into_owned(), code)
        })
        .collect()
}

/// The code of a file without its comment lines (doc links name modules without importing).
fn code_lines(code: &str) -> impl Iterator<Item = &str> {
    code.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// The top-level module a file belongs to (`store/sessions.rs` → `store`, `lib.rs` → ``).
fn top_module(file: &str) -> &str {
    let first = file.split('/').next().unwrap_or("");
    if file.contains('/') { first } else { first.trim_end_matches(".rs").trim_start_matches("lib") }
}

/// The first module of every `crate::…` path on a line, `crate::{a, b::c}` groups included.
fn crate_roots(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').map(|item| item.trim().split("::").next().unwrap_or("").to_owned()).filter(|s| !s.is_empty()));
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
        }
    }
    out
}

#[test]
fn layout_leaf_modules_name_no_feature() {
    let mut broken = Vec::new();
    for (file, code) in sources() {
        if !LEAVES.contains(&top_module(&file)) {
            continue;
        }
        for line in code_lines(&code) {
            for root in crate_roots(line) {
                // Items the crate root re-exports are named by their leaf module instead.
                if !LEAVES.contains(&root.as_str()) {
                    broken.push(format!("{file}: {}", line.trim()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "leaf modules name only leaf modules (rule 1):\n{}", broken.join("\n"));
}

#[test]
fn layout_nothing_but_the_crate_root_names_app() {
    let named: Vec<String> = sources()
        .into_iter()
        .filter(|(file, _)| file != "lib.rs")
        .flat_map(|(file, code)| code_lines(&code).filter(|l| crate_roots(l).iter().any(|r| r == "app")).map(|l| format!("{file}: {}", l.trim())).collect::<Vec<_>>())
        .collect();
    assert!(named.is_empty(), "nothing imports app.rs (rule 3):\n{}", named.join("\n"));
}

#[test]
fn layout_sql_is_written_only_in_the_store() {
    let outside: Vec<String> = sources()
        .into_iter()
        .filter(|(file, _)| !file.starts_with("store/") && file != "testkit.rs")
        .filter(|(_, code)| ["sqlx::query", "sqlx::raw_sql", "sqlx::Row"].iter().any(|s| code.contains(s)))
        .map(|(file, _)| file)
        .collect();
    assert!(outside.is_empty(), "every query lives in store/: {outside:?}");
}

#[test]
fn layout_no_module_is_longer_than_450_lines() {
    let long: Vec<String> =
        sources().into_iter().filter(|(_, code)| code.lines().count() > 450).map(|(file, code)| format!("{file}: {} lines", code.lines().count())).collect();
    assert!(long.is_empty(), "modules of at most 450 lines, tests excepted: {long:?}");
}
