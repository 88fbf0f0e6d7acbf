//! What to evaluate for face match: pairs of images, each labelled *same person* (a genuine
//! pair, or mated pair) or *different people* (an impostor pair, or non-mated pair).
//!
//! **Pairs TSV**: a header naming the columns `a`, `b` (paths, relative to the file's folder
//! or `--root`, or absolute) and `label` (`same` or `different`; `genuine`/`mated` and
//! `impostor`/`non-mated` also read). Empty lines and `#` lines are ignored, other columns
//! too.
//!
//! **Folder**: `<root>/<person>/<images>`: every two images of one person make a genuine pair,
//! every two images of different people an impostor pair (all of them: n people with k images
//! each give n·k(k−1)/2 genuine and k²·n(n−1)/2 impostor pairs). Folders starting with `.`
//! are skipped; images are searched recursively under each person.
//!
//! Each image is embedded once, however many pairs it is in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dataset::{DatasetError, Media, Skipped};
use crate::tsv::{field, Tsv};

/// An image taking part in pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairImage {
    /// The file, as resolved.
    pub path: PathBuf,
    /// The file as listed, for reports.
    pub name: String,
}

/// One comparison to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pair {
    /// Index into [`PairSet::images`].
    pub a: usize,
    /// Index into [`PairSet::images`].
    pub b: usize,
    /// True for the same person (genuine), false for different people (impostor).
    pub same: bool,
}

/// Images and the pairs among them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PairSet {
    /// Each image once, in first-seen order.
    pub images: Vec<PairImage>,
    /// The pairs, in source order.
    pub pairs: Vec<Pair>,
    /// What was not used, and why.
    pub skipped: Vec<Skipped>,
}

impl PairSet {
    fn image(&mut self, index: &mut HashMap<PathBuf, usize>, path: PathBuf, name: String) -> usize {
        *index.entry(path.clone()).or_insert_with(|| {
            self.images.push(PairImage { path, name });
            self.images.len() - 1
        })
    }

    /// Genuine and impostor pair counts.
    pub fn counts(&self) -> (usize, usize) {
        let genuine = self.pairs.iter().filter(|p| p.same).count();
        (genuine, self.pairs.len() - genuine)
    }
}

/// Reads a pairs TSV, or a `<person>/<images>` folder. Relative TSV paths are relative to
/// `root` when given, else to the TSV's folder.
pub fn load_pairs(source: &Path, root: Option<&Path>) -> Result<PairSet, DatasetError> {
    if source.is_dir() {
        return pairs_from_folder(source);
    }
    let text =
        std::fs::read_to_string(source).map_err(|e| DatasetError::Io { path: source.to_path_buf(), source: e })?;
    parse_pairs(&text, source, root.unwrap_or_else(|| source.parent().unwrap_or(Path::new("."))))
}

fn label(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "same" | "genuine" | "mated" => Some(true),
        "different" | "impostor" | "non-mated" | "nonmated" => Some(false),
        _ => None,
    }
}

/// Parses pairs TSV text; `path` names the file in errors, `base` anchors relative paths.
pub fn parse_pairs(text: &str, path: &Path, base: &Path) -> Result<PairSet, DatasetError> {
    let tsv = Tsv::parse(text, path)?;
    let a_col = tsv.required(&["a", "path_a", "image_a"])?;
    let b_col = tsv.required(&["b", "path_b", "image_b"])?;
    let label_col = tsv.required(&["label", "same"])?;
    let needed = a_col.max(b_col).max(label_col) + 1;
    let mut set = PairSet::default();
    let mut index = HashMap::new();
    for (line, fields) in &tsv.rows {
        let line = *line;
        if fields.len() < needed {
            return Err(tsv.bad(line, format!("{} field(s), the header needs at least {needed}", fields.len())));
        }
        let same = label(field(fields, label_col)).ok_or_else(|| {
            tsv.bad(line, format!("label `{}`: expected `same` or `different`", field(fields, label_col)))
        })?;
        let mut side = |col: usize| -> Result<usize, DatasetError> {
            let name = field(fields, col);
            if name.is_empty() {
                return Err(tsv.bad(line, "empty path".into()));
            }
            let file = base.join(name);
            if !file.is_file() {
                return Err(DatasetError::MissingFile { path: path.to_path_buf(), line, file });
            }
            if Media::of(&file) != Some(Media::Image) {
                return Err(tsv.bad(line, format!("`{name}` is not an image (jpg, jpeg, png)")));
            }
            Ok(set.image(&mut index, file, name.to_owned()))
        };
        let (a, b) = (side(a_col)?, side(b_col)?);
        if a == b {
            return Err(tsv.bad(line, "an image paired with itself".into()));
        }
        set.pairs.push(Pair { a, b, same });
    }
    Ok(set)
}

/// Every pair of a `<root>/<person>/<images>` folder (see the [module docs](self)).
pub fn pairs_from_folder(root: &Path) -> Result<PairSet, DatasetError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| DatasetError::Io { path, source }
    };
    let mut people: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(io(root))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    people.sort();
    let mut set = PairSet::default();
    let mut person_of = Vec::new();
    for (person, dir) in people.iter().enumerate() {
        for file in crate::dataset::walk(dir).map_err(io(dir))? {
            let name = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().replace('\\', "/");
            if Media::of(&file) == Some(Media::Image) {
                set.images.push(PairImage { path: file, name });
                person_of.push(person);
            } else {
                set.skipped.push(Skipped { name, why: "not an image".into() });
            }
        }
    }
    if people.len() < 2 && set.images.len() < 2 {
        return Err(DatasetError::NoPeople(root.to_path_buf()));
    }
    for a in 0..set.images.len() {
        for b in a + 1..set.images.len() {
            set.pairs.push(Pair { a, b, same: person_of[a] == person_of[b] });
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }

    #[test]
    fn a_pairs_file_lists_each_image_once_and_keeps_the_labels() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["x/a1.jpg", "x/a2.jpg", "x/b1.png"] {
            touch(dir.path(), f);
        }
        let text = "# made by hand\na\tb\tlabel\tnote\nx/a1.jpg\tx/a2.jpg\tsame\t11 years\n\nx/a1.jpg\tx/b1.png\tdifferent\nx/a2.jpg\tx/b1.png\timpostor\n";
        let set = parse_pairs(text, &dir.path().join("pairs.tsv"), dir.path()).unwrap();
        let names: Vec<&str> = set.images.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["x/a1.jpg", "x/a2.jpg", "x/b1.png"]);
        assert_eq!(
            set.pairs,
            [Pair { a: 0, b: 1, same: true }, Pair { a: 0, b: 2, same: false }, Pair { a: 1, b: 2, same: false }]
        );
        assert_eq!(set.counts(), (1, 2));
    }

    #[test]
    fn bad_pairs_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "a.jpg");
        touch(dir.path(), "b.jpg");
        touch(dir.path(), "c.mp4");
        let path = dir.path().join("p.tsv");
        for (body, needle) in [
            ("a\tb\tlabel\na.jpg\tb.jpg\tmaybe\n", "p.tsv:2: label `maybe`: expected `same` or `different`"),
            ("a\tb\tlabel\na.jpg\tgone.jpg\tsame\n", "p.tsv:2: file not found"),
            ("a\tb\tlabel\na.jpg\tc.mp4\tsame\n", "`c.mp4` is not an image"),
            ("a\tb\tlabel\na.jpg\ta.jpg\tsame\n", "paired with itself"),
            ("a\tb\tlabel\na.jpg\tb.jpg\n", "p.tsv:2: 2 field(s)"),
            ("a\tlabel\na.jpg\tsame\n", "p.tsv:1: missing column `b` (found: a, label)"),
        ] {
            let e = parse_pairs(body, &path, dir.path()).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn a_folder_of_people_gives_every_pair() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["ann/1.jpg", "ann/2.jpg", "bob/1.jpg", "bob/sub/2.png", "bob/notes.txt", "cy/1.jpg", ".hidden/x.jpg"]
        {
            touch(dir.path(), f);
        }
        let set = pairs_from_folder(dir.path()).unwrap();
        assert_eq!(set.images.len(), 5);
        // 2 + 2 + 1 images: genuine 1 + 1, impostor 10 − 2.
        assert_eq!(set.counts(), (2, 8));
        assert_eq!(set.skipped.len(), 1);
        let genuine: Vec<(&str, &str)> = set
            .pairs
            .iter()
            .filter(|p| p.same)
            .map(|p| (set.images[p.a].name.as_str(), set.images[p.b].name.as_str()))
            .collect();
        assert_eq!(genuine, [("ann/1.jpg", "ann/2.jpg"), ("bob/1.jpg", "bob/sub/2.png")]);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(pairs_from_folder(empty.path()), Err(DatasetError::NoPeople(_))));
    }
}
