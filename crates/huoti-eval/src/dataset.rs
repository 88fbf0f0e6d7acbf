//! What to evaluate: presentations with their labels, from a folder layout or a manifest.
//!
//! **Folder layout**: `<root>/<label>/<files>`, files searched recursively under each label
//! folder. The label `bonafide` (or `bona_fide`, `bona-fide`) marks bona fide presentations;
//! any other folder name is an attack species (`print`, `replay`, `mask`, …); a folder named
//! `other` is skipped. Files that are neither images (`jpg`, `jpeg`, `png`) nor videos are
//! skipped with a note.
//!
//! **Manifest**: a tab-separated file whose first line names the columns. Required: `path`
//! (relative to the manifest's folder, or absolute) and `kind` (or `label`). Optional, for
//! `--session`: `challenge` (`open_mouth@0.5-4.0;turn_left@8.6-10.5`: action and window in
//! seconds, relative to `start`), `start` and `duration` (seconds into the clip). Empty lines
//! and lines starting with `#` are ignored; other columns are ignored. A `kind` maps to a
//! label through a [`LabelMap`]: by default `bonafide`, `bonafide-*` → bona fide;
//! `spoof-<species>` and `attack-<species>` → that species; the bare species names in
//! [`KNOWN_SPECIES`] → themselves; `other` → skipped. Anything else is an error naming the
//! line, unless mapped with `--label-map KIND=LABEL` (`LABEL` = `bonafide`, a species, or
//! `skip`).
//!
//! Every problem in a manifest (missing column, unknown kind, missing file, bad challenge) is
//! a [`DatasetError`] naming the file and the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use huoti_liveness::{Action, ActionStep};
use serde::Serialize;

use crate::tsv::{field, Tsv};

/// The label `bonafide`.
pub const BONA_FIDE: &str = "bonafide";

/// Bare attack-species names the default label map knows.
pub const KNOWN_SPECIES: &[&str] =
    &["print", "replay", "display", "mask", "makeup", "partial", "cutout", "paper", "screen", "deepfake"];

/// Image extensions (decoded by the vision engine).
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png"];

/// Why a dataset could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// What.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The header lacks a required column.
    #[error("{path}:{line}: missing column `{column}` (found: {found})")]
    MissingColumn {
        /// The manifest.
        path: PathBuf,
        /// The header's line number (1-based).
        line: usize,
        /// The missing column.
        column: &'static str,
        /// The columns found, comma-separated.
        found: String,
    },
    /// A `kind` the label map does not know.
    #[error("{path}:{line}: unknown label `{kind}` (known: bonafide, bonafide-*, spoof-<species>, attack-<species>, {known}, other; map it with --label-map {kind}=LABEL)")]
    UnknownLabel {
        /// The manifest.
        path: PathBuf,
        /// Line number (1-based).
        line: usize,
        /// The kind.
        kind: String,
        /// Known bare species.
        known: String,
    },
    /// A listed file does not exist.
    #[error("{path}:{line}: file not found: {file}")]
    MissingFile {
        /// The manifest.
        path: PathBuf,
        /// Line number (1-based).
        line: usize,
        /// The file as resolved.
        file: PathBuf,
    },
    /// A line is malformed (too few fields, bad number, bad challenge).
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The manifest.
        path: PathBuf,
        /// Line number (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The manifest has no header line.
    #[error("{path}: empty manifest (expected a header line with `path` and `kind` columns)")]
    Empty {
        /// The manifest.
        path: PathBuf,
    },
    /// A `--label-map` entry is malformed.
    #[error("bad --label-map entry `{0}`: expected KIND=LABEL (LABEL: bonafide, a species name, or skip)")]
    BadLabelMap(String),
    /// A challenge specification is malformed.
    #[error("bad challenge `{spec}`: {message}")]
    BadChallenge {
        /// The specification.
        spec: String,
        /// What is wrong.
        message: String,
    },
    /// A folder source holds no label folder.
    #[error("{0}: no label folders (expected <root>/bonafide/…, <root>/print/…)")]
    NoLabels(PathBuf),
    /// A face-match folder holds fewer than two images in person folders.
    #[error("{0}: fewer than two images in person folders (expected <root>/<person>/<images>)")]
    NoPeople(PathBuf),
}

/// The ground truth of a presentation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// A real, live person.
    BonaFide,
    /// An attack of this species.
    Attack(String),
}

impl Label {
    /// `bonafide`, or the species name.
    pub fn name(&self) -> &str {
        match self {
            Label::BonaFide => BONA_FIDE,
            Label::Attack(s) => s,
        }
    }

    /// Parses a label name: `bonafide` (`bona_fide`, `bona-fide`) or a species.
    pub fn parse(name: &str) -> Option<Label> {
        let n = name.trim().to_ascii_lowercase();
        if matches!(n.as_str(), "bonafide" | "bona_fide" | "bona-fide") {
            Some(Label::BonaFide)
        } else if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            Some(Label::Attack(n))
        } else {
            None
        }
    }
}

/// Image or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    /// A still image.
    Image,
    /// A video clip.
    Video,
}

impl Media {
    /// By extension; `None` for anything else.
    pub fn of(path: &Path) -> Option<Media> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
            Some(Media::Image)
        } else if huoti_media::is_video(path) {
            Some(Media::Video)
        } else {
            None
        }
    }
}

/// A fixed challenge for session mode, and which part of the clip to play.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSpec {
    /// Actions with windows in ms since `start_s`.
    pub steps: Vec<ActionStep>,
    /// Where the session starts in the clip, seconds.
    pub start_s: Option<f64>,
    /// How long it lasts, seconds.
    pub duration_s: Option<f64>,
}

/// Parses `open_mouth@0.5-4.0;turn_left@8.6-10.5` (seconds).
pub fn parse_challenge(spec: &str) -> Result<Vec<ActionStep>, DatasetError> {
    let bad = |message: String| DatasetError::BadChallenge { spec: spec.to_owned(), message };
    let mut steps = Vec::new();
    for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, window) = part.split_once('@').ok_or_else(|| bad(format!("`{part}`: expected ACTION@START-END")))?;
        let action = Action::ALL
            .into_iter()
            .find(|a| a.as_str() == name.trim())
            .ok_or_else(|| bad(format!("unknown action `{}` (known: turn_left, turn_right, nod, blink, open_mouth)", name.trim())))?;
        let (a, b) = window.split_once('-').ok_or_else(|| bad(format!("`{part}`: expected START-END in seconds")))?;
        let secs = |s: &str| -> Result<f64, DatasetError> {
            s.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| bad(format!("`{s}` is not a time in seconds")))
        };
        let (start, end) = (secs(a)?, secs(b)?);
        if end <= start {
            return Err(bad(format!("`{part}`: the window ends before it starts")));
        }
        steps.push(ActionStep {
            action,
            start_ms: (start * 1000.0).round() as u64,
            end_ms: (end * 1000.0).round() as u64,
        });
    }
    if steps.is_empty() {
        return Err(bad("no action".into()));
    }
    Ok(steps)
}

/// One presentation to score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Presentation {
    /// The file, as resolved.
    pub path: PathBuf,
    /// The file as listed (relative to the source), for reports.
    pub name: String,
    /// Ground truth.
    pub label: Label,
    /// Image or video.
    pub media: Media,
    /// The manifest line (1-based), when from a manifest.
    pub line: Option<usize>,
    /// The fixed challenge for session mode, when given.
    pub session: Option<SessionSpec>,
}

/// Something in the source that is not evaluated, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// The file as listed.
    pub name: String,
    /// Why.
    pub why: String,
}

/// Everything to evaluate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Dataset {
    /// In source order.
    pub presentations: Vec<Presentation>,
    /// Not evaluated, with the reason.
    pub skipped: Vec<Skipped>,
    /// Attack species named by the source, even those without presentations.
    pub species: Vec<String>,
}

/// How manifest `kind`s map to labels. `None` = skip.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelMap {
    explicit: BTreeMap<String, Option<Label>>,
}

impl LabelMap {
    /// Adds `KIND=LABEL` entries (`LABEL` = `bonafide`, a species, or `skip`).
    pub fn parse(entries: &[String]) -> Result<LabelMap, DatasetError> {
        let mut map = LabelMap::default();
        for entry in entries.iter().flat_map(|e| e.split(',')).map(str::trim).filter(|e| !e.is_empty()) {
            let (kind, label) = entry.split_once('=').ok_or_else(|| DatasetError::BadLabelMap(entry.to_owned()))?;
            let label = match label.trim() {
                "skip" => None,
                l => Some(Label::parse(l).ok_or_else(|| DatasetError::BadLabelMap(entry.to_owned()))?),
            };
            map.explicit.insert(kind.trim().to_owned(), label);
        }
        Ok(map)
    }

    /// The label of a manifest `kind`: `Ok(None)` to skip, `Err(())` when unknown.
    pub fn resolve(&self, kind: &str) -> Result<Option<Label>, ()> {
        if let Some(l) = self.explicit.get(kind) {
            return Ok(l.clone());
        }
        let k = kind.trim().to_ascii_lowercase();
        if k == "other" {
            return Ok(None);
        }
        if matches!(k.as_str(), "bonafide" | "bona_fide" | "bona-fide") || k.starts_with("bonafide-") {
            return Ok(Some(Label::BonaFide));
        }
        for prefix in ["spoof-", "attack-"] {
            if let Some(species) = k.strip_prefix(prefix) {
                return Label::parse(species).filter(|l| *l != Label::BonaFide).map(Some).ok_or(());
            }
        }
        if KNOWN_SPECIES.contains(&k.as_str()) {
            return Ok(Some(Label::Attack(k)));
        }
        Err(())
    }
}

/// Reads a source: a manifest file, or a folder laid out as `<root>/<label>/<files>`.
pub fn load(source: &Path, labels: &LabelMap) -> Result<Dataset, DatasetError> {
    if source.is_dir() { load_folder(source) } else { load_manifest(source, labels) }
}

/// Reads a folder laid out as `<root>/<label>/<files>`.
pub fn load_folder(root: &Path) -> Result<Dataset, DatasetError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| DatasetError::Io { path, source }
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(io(root))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut ds = Dataset::default();
    for dir in dirs {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if name.starts_with('.') {
            continue;
        }
        let label = match Label::parse(&name) {
            Some(_) if name.eq_ignore_ascii_case("other") => {
                ds.skipped.push(Skipped { name: format!("{name}/"), why: "folder `other`: not a labelled presentation".into() });
                continue;
            }
            Some(l) => l,
            None => {
                ds.skipped.push(Skipped { name: format!("{name}/"), why: "not a label name".into() });
                continue;
            }
        };
        if let Label::Attack(s) = &label {
            ds.species.push(s.clone());
        }
        for file in walk(&dir).map_err(io(&dir))? {
            let rel = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().replace('\\', "/");
            match Media::of(&file) {
                Some(media) => ds.presentations.push(Presentation {
                    path: file,
                    name: rel,
                    label: label.clone(),
                    media,
                    line: None,
                    session: None,
                }),
                None => ds.skipped.push(Skipped { name: rel, why: "neither an image nor a video".into() }),
            }
        }
    }
    if ds.presentations.is_empty() && ds.species.is_empty() && !ds.skipped.iter().any(|s| s.name.ends_with('/')) {
        // Not even a bonafide folder: probably not a dataset at all.
        let has_bf = root.join(BONA_FIDE).is_dir();
        if !has_bf {
            return Err(DatasetError::NoLabels(root.to_path_buf()));
        }
    }
    Ok(ds)
}

pub(crate) fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a manifest TSV (see the [module docs](self)).
pub fn load_manifest(path: &Path, labels: &LabelMap) -> Result<Dataset, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io { path: path.to_path_buf(), source })?;
    parse_manifest(&text, path, labels)
}

/// Reads a manifest TSV whose relative paths are relative to `root` instead of the
/// manifest's folder (`huoti eval --root`), e.g. a manifest kept in the repository for data
/// kept elsewhere.
pub fn load_manifest_in(path: &Path, labels: &LabelMap, root: &Path) -> Result<Dataset, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io { path: path.to_path_buf(), source })?;
    parse_manifest_in(&text, path, labels, root)
}

/// Parses manifest text; `path` names the manifest in errors and anchors relative paths.
pub fn parse_manifest(text: &str, path: &Path, labels: &LabelMap) -> Result<Dataset, DatasetError> {
    parse_manifest_in(text, path, labels, path.parent().unwrap_or(Path::new(".")))
}

fn parse_manifest_in(text: &str, path: &Path, labels: &LabelMap, base: &Path) -> Result<Dataset, DatasetError> {
    let tsv = Tsv::parse(text, path)?;
    let path_col = tsv.required(&["path"])?;
    let kind_col = tsv.required(&["kind", "label"])?;
    let (challenge_col, start_col, duration_col) =
        (tsv.optional(&["challenge"]), tsv.optional(&["start"]), tsv.optional(&["duration"]));

    let mut ds = Dataset::default();
    for (line, fields) in &tsv.rows {
        let (line, fields) = (*line, fields.as_slice());
        let bad = |message: String| tsv.bad(line, message);
        let field = |i: usize| field(fields, i);
        let needed = path_col.max(kind_col) + 1;
        if fields.len() < needed {
            return Err(bad(format!("{} field(s), the header needs at least {needed}", fields.len())));
        }
        let name = field(path_col).to_owned();
        if name.is_empty() {
            return Err(bad("empty `path`".into()));
        }
        let kind = field(kind_col);
        let label = labels.resolve(kind).map_err(|()| DatasetError::UnknownLabel {
            path: path.to_path_buf(),
            line,
            kind: kind.to_owned(),
            known: KNOWN_SPECIES.join(", "),
        })?;
        let Some(label) = label else {
            ds.skipped.push(Skipped { name, why: format!("line {line}: kind `{kind}` is not evaluated (map it with --label-map {kind}=LABEL)") });
            continue;
        };
        let file = base.join(&name);
        if !file.is_file() {
            return Err(DatasetError::MissingFile { path: path.to_path_buf(), line, file });
        }
        let Some(media) = Media::of(&file) else {
            return Err(bad(format!("`{name}` is neither an image ({}) nor a video", IMAGE_EXTENSIONS.join(", "))));
        };
        let secs = |c: Option<usize>, what: &str| -> Result<Option<f64>, DatasetError> {
            match c.map(field).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => s
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .map(Some)
                    .ok_or_else(|| bad(format!("`{what}` must be seconds ≥ 0, got `{s}`"))),
            }
        };
        let (start_s, duration_s) = (secs(start_col, "start")?, secs(duration_col, "duration")?);
        let session = match challenge_col.map(field).filter(|s| !s.is_empty()) {
            None => None,
            Some(spec) => Some(SessionSpec {
                steps: parse_challenge(spec).map_err(|e| bad(e.to_string()))?,
                start_s,
                duration_s,
            }),
        };
        if let Label::Attack(s) = &label {
            if !ds.species.contains(s) {
                ds.species.push(s.clone());
            }
        }
        ds.presentations.push(Presentation { path: file, name, label, media, line: Some(line), session });
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn manifest_maps_kinds_and_skips_other() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a/live.jpg", "x");
        write(dir.path(), "a/print.jpg", "x");
        write(dir.path(), "a/screen.png", "x");
        write(dir.path(), "a/odd.gif", "x");
        write(dir.path(), "clip.mp4", "x");
        let m = write(
            dir.path(),
            "MANIFEST.tsv",
            "path\tsha256\tkind\tchallenge\tstart\tduration\n\
             # a comment\n\
             a/live.jpg\t00\tbonafide-image\t\t\t\n\
             \n\
             a/print.jpg\t00\tspoof-print\t\t\t\n\
             a/screen.png\t00\tspoof-replay\n\
             a/odd.gif\t00\tother\t\t\t\n\
             clip.mp4\t00\tbonafide-video\topen_mouth@0.5-4;turn_left@8.6-10.5\t11\t12.5\n",
        );
        let ds = load(&m, &LabelMap::default()).unwrap();
        let got: Vec<(&str, &str, Media, Option<usize>)> =
            ds.presentations.iter().map(|p| (p.name.as_str(), p.label.name(), p.media, p.line)).collect();
        assert_eq!(
            got,
            vec![
                ("a/live.jpg", "bonafide", Media::Image, Some(3)),
                ("a/print.jpg", "print", Media::Image, Some(5)),
                ("a/screen.png", "replay", Media::Image, Some(6)),
                ("clip.mp4", "bonafide", Media::Video, Some(8)),
            ]
        );
        assert_eq!(ds.species, vec!["print", "replay"]);
        assert_eq!(ds.skipped.len(), 1);
        assert!(ds.skipped[0].why.contains("line 7"), "{:?}", ds.skipped);
        let s = ds.presentations[3].session.as_ref().unwrap();
        assert_eq!((s.start_s, s.duration_s), (Some(11.0), Some(12.5)));
        assert_eq!(
            s.steps,
            vec![
                ActionStep { action: Action::OpenMouth, start_ms: 500, end_ms: 4000 },
                ActionStep { action: Action::TurnLeft, start_ms: 8600, end_ms: 10500 },
            ]
        );
    }

    #[test]
    fn missing_file_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "here.jpg", "x");
        let m = write(dir.path(), "m.tsv", "path\tkind\nhere.jpg\tbonafide\ngone.jpg\tspoof-print\n");
        let e = load(&m, &LabelMap::default()).unwrap_err();
        assert!(matches!(e, DatasetError::MissingFile { line: 3, .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("m.tsv:3:") && msg.contains("gone.jpg") && msg.contains("not found"), "{msg}");
    }

    #[test]
    fn unknown_label_names_the_line_and_the_cure() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "x.jpg", "x");
        let m = write(dir.path(), "m.tsv", "path\tkind\nx.jpg\tbonafide\nx.jpg\tphotograph\n");
        let e = load(&m, &LabelMap::default()).unwrap_err();
        assert!(matches!(e, DatasetError::UnknownLabel { line: 3, .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("m.tsv:3:") && msg.contains("`photograph`") && msg.contains("--label-map photograph=LABEL"), "{msg}");
        // With a map, it loads.
        let map = LabelMap::parse(&["photograph=print".into()]).unwrap();
        let ds = load(&m, &map).unwrap();
        assert_eq!(ds.presentations[1].label, Label::Attack("print".into()));
        // And `skip` skips; the default for `other` can be overridden too.
        let map = LabelMap::parse(&["photograph=skip,other=mask".into()]).unwrap();
        assert_eq!(load(&m, &map).unwrap().presentations.len(), 1);
        assert_eq!(map.resolve("other"), Ok(Some(Label::Attack("mask".into()))));
        assert!(LabelMap::parse(&["nonsense".into()]).is_err());
    }

    #[test]
    fn missing_column_names_the_header_line() {
        let dir = tempfile::tempdir().unwrap();
        let m = write(dir.path(), "m.tsv", "# made by hand\n\npath\tsha256\tnotes\nx.jpg\t00\tfoo\n");
        let e = load(&m, &LabelMap::default()).unwrap_err();
        assert!(matches!(e, DatasetError::MissingColumn { line: 3, column: "kind", .. }), "{e:?}");
        assert!(e.to_string().contains("m.tsv:3: missing column `kind` (found: path, sha256, notes)"), "{e}");
        let m = write(dir.path(), "n.tsv", "file\tkind\n");
        let e = load(&m, &LabelMap::default()).unwrap_err();
        assert!(matches!(e, DatasetError::MissingColumn { line: 1, column: "path", .. }), "{e:?}");
        let m = write(dir.path(), "e.tsv", "\n# nothing\n");
        assert!(matches!(load(&m, &LabelMap::default()), Err(DatasetError::Empty { .. })));
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "c.mp4", "x");
        write(dir.path(), "n.txt", "x");
        for (body, line, needle) in [
            ("c.mp4\n", 2, "1 field(s)"),
            ("c.mp4\tbonafide\tjump@1-2\t\t\n", 2, "unknown action `jump`"),
            ("c.mp4\tbonafide\tblink@3-2\t\t\n", 2, "ends before it starts"),
            ("c.mp4\tbonafide\tblink@1-2\tsoon\t\n", 2, "`start` must be seconds"),
            ("c.mp4\tbonafide\t\t\t\nn.txt\tbonafide\t\t\t\n", 3, "neither an image"),
        ] {
            let m = write(dir.path(), "m.tsv", &format!("path\tkind\tchallenge\tstart\tduration\n{body}"));
            let e = load(&m, &LabelMap::default()).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, DatasetError::BadLine { line: l, .. } if l == line), "{msg}");
            assert!(msg.contains(&format!("m.tsv:{line}:")) && msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn folder_layout_reads_labels_recursively() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "bonafide/a.jpg", "x");
        write(dir.path(), "bonafide/sub/b.mp4", "x");
        write(dir.path(), "print/c.PNG", "x");
        write(dir.path(), "print/README.txt", "x");
        write(dir.path(), "other/d.jpg", "x");
        std::fs::create_dir_all(dir.path().join("mask")).unwrap();
        let ds = load(dir.path(), &LabelMap::default()).unwrap();
        let got: Vec<(&str, &str, Media)> = ds.presentations.iter().map(|p| (p.name.as_str(), p.label.name(), p.media)).collect();
        assert_eq!(
            got,
            vec![("bonafide/a.jpg", "bonafide", Media::Image), ("bonafide/sub/b.mp4", "bonafide", Media::Video), ("print/c.PNG", "print", Media::Image)]
        );
        assert_eq!(ds.species, vec!["mask", "print"], "an empty species folder is still a species");
        assert_eq!(ds.skipped.len(), 2);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(load(empty.path(), &LabelMap::default()), Err(DatasetError::NoLabels(_))));
    }

    #[test]
    fn challenge_specs_parse_or_explain() {
        assert_eq!(parse_challenge("blink@1-2").unwrap().len(), 1);
        assert!(parse_challenge("").is_err());
        assert!(parse_challenge("blink").unwrap_err().to_string().contains("ACTION@START-END"));
        assert!(parse_challenge("blink@x-2").unwrap_err().to_string().contains("not a time"));
    }
}
