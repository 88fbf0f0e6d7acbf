//! `docs/POLICY_MATRIX.md` is generated from the tests: every clause of `docs/POLICY.md` (the
//! project's statement of its privacy policy) and the tests named after it (a test proves clause `S2` when its name starts with clause
//! ids, `s2` among them: `s2_…`, `s2_c4_l3_…`, `c3_p2_…`). Clauses without a test are listed
//! as gaps.
//!
//! This test regenerates the matrix and fails when the committed file differs; run
//! `HUOTI_UPDATE_POLICY_MATRIX=1 cargo nextest run --workspace -E 'test(policy_matrix)'` to
//! write it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct Clause {
    id: String,
    summary: String,
}

fn policy_path() -> PathBuf {
    huoti_assets::testing::repo_root().join("docs/POLICY.md")
}

/// Clauses: lines `- **ID** text…` (continued on indented lines).
fn clauses(policy: &str) -> Vec<Clause> {
    let mut out: Vec<Clause> = Vec::new();
    let mut current: Option<(String, String)> = None;
    let flush = |c: &mut Option<(String, String)>, out: &mut Vec<Clause>| {
        if let Some((id, text)) = c.take() {
            out.push(Clause { id, summary: summary(&text) });
        }
    };
    for line in policy.lines() {
        if let Some(rest) = line.strip_prefix("- **") {
            flush(&mut current, &mut out);
            if let Some((id, text)) = rest.split_once("**") {
                let is_id = id.len() >= 2 && id.as_bytes()[0].is_ascii_uppercase() && id[1..].bytes().all(|b| b.is_ascii_digit());
                if is_id {
                    current = Some((id.to_owned(), text.trim().to_owned()));
                }
            }
        } else if line.starts_with("  ") && current.is_some() {
            if let Some((_, text)) = current.as_mut() {
                text.push(' ');
                text.push_str(line.trim());
            }
        } else {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

/// The first sentence (up to a full stop followed by a capital or by `*Built:*`: "e.g. for"
/// and "art. 24" do not end it), without Markdown emphasis, at most ~110 characters.
fn summary(text: &str) -> String {
    let plain = text.replace("**", "").replace('|', "/");
    let chars: Vec<char> = plain.chars().collect();
    let end = (0..chars.len().saturating_sub(2)).find(|&i| chars[i] == '.' && chars[i + 1] == ' ' && (chars[i + 2].is_uppercase() || chars[i + 2] == '*'));
    let first: String = match end {
        Some(i) => chars[..=i].iter().collect(),
        None => plain.clone(),
    };
    let first = first.as_str();
    let mut s: String = first.chars().take(110).collect();
    if s.chars().count() < first.chars().count() {
        s.push('…');
    }
    s
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Every test function: (crate::path::name, name).
fn tests(root: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates")).unwrap().map(|e| e.unwrap().path()).collect();
    crates.sort();
    for krate in crates {
        let name = krate.file_name().unwrap().to_string_lossy().into_owned();
        for sub in ["src", "tests", "benches"] {
            let mut files = Vec::new();
            rust_files(&krate.join(sub), &mut files);
            for f in files {
                let rel = f.strip_prefix(krate.join(sub)).unwrap().with_extension("");
                let mut module: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
                if sub == "src" {
                    if module.last().is_some_and(|m| m == "lib" || m == "main" || m == "mod") {
                        module.pop();
                    }
                } else {
                    module.insert(0, sub.to_owned());
                }
                let text = std::fs::read_to_string(&f).unwrap();
                let lines: Vec<&str> = text.lines().collect();
                for (i, line) in lines.iter().enumerate() {
                    let t = line.trim_start();
                    let Some(rest) = t.strip_prefix("fn ").or_else(|| t.strip_prefix("async fn ")) else { continue };
                    let fname: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    // A test: an attribute naming `test` within the lines above.
                    let is_test = lines[i.saturating_sub(4)..i].iter().any(|l| {
                        let l = l.trim();
                        l.starts_with("#[") && (l.contains("test]") || l.contains("test(") || l.contains("::test"))
                    });
                    if is_test && !fname.is_empty() {
                        let path = std::iter::once(name.clone()).chain(module.iter().cloned()).chain(std::iter::once(fname.clone())).collect::<Vec<_>>().join("::");
                        found.push((path, fname));
                    }
                }
            }
        }
    }
    found
}

fn render(clauses: &[Clause], tests: &[(String, String)]) -> String {
    let mut by_clause: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let lower: Vec<String> = clauses.iter().map(|c| c.id.to_ascii_lowercase()).collect();
    let ids: Vec<&str> = lower.iter().map(String::as_str).collect();
    for c in clauses {
        let id = c.id.to_ascii_lowercase();
        // The leading words that are clause ids name what the test proves; a clause id later
        // in a name (`…_turns_of_d3`, a clip) is not a claim.
        let proves = |n: &str| n.split('_').take_while(|w| ids.contains(w)).any(|w| w == id);
        let mut hits: Vec<&str> = tests.iter().filter(|(_, n)| proves(n)).map(|(p, _)| p.as_str()).collect();
        hits.sort();
        hits.dedup();
        by_clause.insert(c.id.as_str(), hits);
    }
    let mut out = String::from(
        "# Policy matrix\n\n\
         Generated by `crates/huoti/tests/policy_matrix.rs` from [`POLICY.md`](POLICY.md) (each\n\
         clause: the promise, what is built, where) and the test names of every crate (a test\n\
         proves a clause when the clause id is one of the `_`-separated words its name starts with,\n\
         e.g. `s2_kek_rotation_…`, `s2_c4_l3_…`). Do not edit: run\n\
         `HUOTI_UPDATE_POLICY_MATRIX=1 cargo nextest run --workspace -E 'test(policy_matrix)'`.\n\n\
         | Clause | Summary | Tests |\n|---|---|---|\n",
    );
    for c in clauses {
        let hits = &by_clause[c.id.as_str()];
        let cell = if hits.is_empty() { "**gap**".to_owned() } else { hits.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join("<br>") };
        // The anchor lets docs/POLICY.md link each clause to its row.
        out.push_str(&format!("| <a id=\"{}\"></a>**{}** | {} | {} |\n", c.id, c.id, c.summary, cell));
    }
    let gaps: Vec<&Clause> = clauses.iter().filter(|c| by_clause[c.id.as_str()].is_empty()).collect();
    out.push_str(&format!("\n## Gaps\n\n{} of {} clauses have no test yet.\n\n", gaps.len(), clauses.len()));
    for g in gaps {
        out.push_str(&format!("- **{}** {}\n", g.id, g.summary));
    }
    out
}

#[test]
fn policy_matrix_is_generated_from_the_tests_and_up_to_date() {
    let policy = policy_path();
    let text = std::fs::read_to_string(&policy).unwrap_or_else(|e| {
        panic!("the policy clauses are read from {} ({e}): restore docs/POLICY.md", policy.display())
    });
    let clauses = clauses(&text);
    assert!(clauses.len() >= 30, "parsed only {} clauses from {}", clauses.len(), policy.display());
    for id in ["C1", "S3", "D6", "R9", "A3", "L5"] {
        assert!(clauses.iter().any(|c| c.id == id), "clause {id} not parsed");
    }
    let root = huoti_assets::testing::repo_root();
    let found = tests(&root);
    assert!(found.iter().any(|(p, _)| p.ends_with("policy_matrix_is_generated_from_the_tests_and_up_to_date")), "the scan finds tests");
    let matrix = render(&clauses, &found);
    let path = root.join("docs/POLICY_MATRIX.md");
    if std::env::var_os("HUOTI_UPDATE_POLICY_MATRIX").is_some() {
        std::fs::write(&path, &matrix).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == matrix,
        "docs/POLICY_MATRIX.md is stale: regenerate it with HUOTI_UPDATE_POLICY_MATRIX=1 cargo nextest run --workspace -E 'test(policy_matrix)'"
    );
}
