//! Face-match evaluation (`huoti eval --match`): FMR and FNMR (ISO/IEC 19795-1) with Wilson
//! intervals at the configured threshold and at one chosen for a target FMR, the DET curve,
//! similarity histograms, JSON and Markdown.
//!
//! - **Decision rule**: a pair is a *match* when its cosine similarity is **at or above** the
//!   threshold (ties match), as [`huoti_vision::MatchDecision::at`] decides.
//! - **FMR** (false match rate): impostor pairs (different people) that match ÷ impostor pairs.
//! - **FNMR** (false non-match rate): genuine pairs (same person) that do not match ÷ genuine
//!   pairs.
//! - **Failure to acquire**: an image without exactly one face has no template; its pairs
//!   count, as non-matches at every threshold (a genuine pair lost that way is a false
//!   non-match, an impostor pair a correct rejection), and the report lists them.
//! - A file that cannot be read or decoded is an **error**: its pairs are left out of the
//!   figures and listed (`huoti eval` then exits 1).
//! - **Threshold for a target FMR**: the lowest threshold whose FMR is within the target
//!   (the fewest genuine pairs rejected at that security), among the distinct similarities.
//!
//! Internally the figures are a [`ScoreSet`] with genuine pairs as "bona fide" and impostor
//! pairs as the one "attack" species `different people`: FNMR is its BPCER, FMR its APCER.

use std::path::Path;

use huoti_vision::{FaceMatcher, MatchDecision, VisionError, TEMPLATE_MODEL};
use serde::Serialize;

use crate::metrics::{percent, wilson, Rate, ScoreSet, Z95};
use crate::pairs::PairSet;
use crate::report::NamedPoint;

/// The attack "species" impostor pairs are in the [`ScoreSet`].
const IMPOSTOR: &str = "different people";

/// What was asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchSettings {
    /// The source as given.
    pub source: String,
    /// The configured threshold (cosine similarity).
    pub threshold: f64,
    /// Target FMR for a chosen threshold.
    pub target_fmr: Option<f64>,
}

/// How one image fared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageResult {
    /// As listed.
    pub name: String,
    /// `embedded`, `failure_to_acquire` (no face, several faces) or `error` (unreadable).
    pub status: &'static str,
    /// The error code (`no_face`, `several_faces`, `not_an_image`, `unreadable`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How one pair fared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairResult {
    /// First image, as listed.
    pub a: String,
    /// Second image.
    pub b: String,
    /// Same person?
    pub same: bool,
    /// Cosine similarity; `None` when an image has no template.
    pub similarity: Option<f64>,
    /// At the configured threshold; `None` when left out (an unreadable image).
    pub decision: Option<MatchDecision>,
    /// Counted in the figures (false only when an image is unreadable).
    pub counted: bool,
}

/// FMR and FNMR at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchPoint {
    /// `configured` or `target_fmr`.
    pub name: String,
    /// The target, for a chosen threshold.
    pub target: Option<f64>,
    /// The threshold; `None` when no threshold meets the target.
    pub threshold: Option<f64>,
    /// Impostor pairs matched.
    pub fmr: Option<Rate>,
    /// Genuine pairs not matched.
    pub fnmr: Option<Rate>,
    /// How the threshold was chosen, or why there is none.
    pub note: String,
}

/// One DET point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchDetPoint {
    /// The threshold.
    pub threshold: f64,
    /// FMR there.
    pub fmr: Option<f64>,
    /// FNMR there.
    pub fnmr: Option<f64>,
}

/// Counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchCounts {
    /// Distinct images.
    pub images: usize,
    /// Genuine pairs counted.
    pub genuine: usize,
    /// Impostor pairs counted.
    pub impostor: usize,
    /// Images without exactly one face.
    pub failure_to_acquire: usize,
    /// Unreadable images (their pairs left out).
    pub errors: usize,
}

/// Everything a face-match evaluation produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchReport {
    /// `huoti eval --match`.
    pub tool: String,
    /// huoti-eval's version.
    pub version: String,
    /// The model the templates come from.
    pub model: String,
    /// What was asked.
    pub settings: MatchSettings,
    /// The decision rule, in words.
    pub decision_rule: String,
    /// Counts.
    pub counts: MatchCounts,
    /// Figures at the configured threshold and the chosen one.
    pub operating_points: Vec<MatchPoint>,
    /// Every distinct threshold's FMR/FNMR.
    pub det_curve: Vec<MatchDetPoint>,
    /// Every image.
    pub images: Vec<ImageResult>,
    /// Every pair.
    pub pairs: Vec<PairResult>,
    /// Files written (relative to the output folder).
    pub files: Vec<String>,
    /// Anything the reader should know about how the report was made.
    pub notes: Vec<String>,
}

/// The decision rule, as written into every report.
pub const MATCH_RULE: &str = "a pair matches when its cosine similarity >= threshold (ties match); \
FMR = impostor pairs matched / impostor pairs; FNMR = genuine pairs not matched / genuine pairs; \
an image without exactly one face (failure to acquire) makes its pairs non-matches; intervals: Wilson 95 % score intervals";

/// Embeds every image once (`progress` is called before each with its index and the count),
/// compares every pair, and builds the report.
pub fn evaluate_pairs(
    matcher: &FaceMatcher,
    set: &PairSet,
    settings: MatchSettings,
    mut progress: impl FnMut(usize, usize, &str),
) -> MatchReport {
    let embedded: Vec<Result<huoti_vision::Template, VisionError>> = set
        .images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            progress(i, set.images.len(), &img.name);
            let bytes = std::fs::read(&img.path).map_err(|e| VisionError::Corrupt(format!("unreadable: {e}")))?;
            matcher.embed_bytes(&bytes).map(|e| e.embedding.template)
        })
        .collect();
    let images: Vec<ImageResult> = set
        .images
        .iter()
        .zip(&embedded)
        .map(|(img, e)| match e {
            Ok(_) => ImageResult { name: img.name.clone(), status: "embedded", code: None, message: None },
            Err(e) => ImageResult {
                name: img.name.clone(),
                status: if acquisition_failure(e) { "failure_to_acquire" } else { "error" },
                code: Some(e.code()),
                message: Some(e.to_string()),
            },
        })
        .collect();
    let similarities: Vec<Option<Option<f64>>> = set
        .pairs
        .iter()
        .map(|p| match (&embedded[p.a], &embedded[p.b]) {
            (Ok(a), Ok(b)) => Some(Some(f64::from(a.similarity(b)))),
            (Err(e), _) | (_, Err(e)) if !acquisition_failure(e) => None,
            _ => Some(None),
        })
        .collect();
    build(settings, set, images, &similarities)
}

fn acquisition_failure(e: &VisionError) -> bool {
    matches!(e, VisionError::NoFace | VisionError::SeveralFaces { .. } | VisionError::Unalignable)
}

/// The report from per-pair outcomes (pure): `similarities[i]` is `None` for a pair left out
/// (unreadable image), `Some(None)` for a failure to acquire, `Some(Some(s))` for a score.
pub fn build(
    settings: MatchSettings,
    set: &PairSet,
    images: Vec<ImageResult>,
    similarities: &[Option<Option<f64>>],
) -> MatchReport {
    let mut scores = ScoreSet::new();
    scores.declare_species(IMPOSTOR);
    let mut pairs = Vec::with_capacity(set.pairs.len());
    for (p, s) in set.pairs.iter().zip(similarities) {
        if let Some(s) = s {
            // A failure to acquire is NaN: counted, never accepted.
            let score = s.unwrap_or(f64::NAN);
            if p.same {
                scores.push_bona_fide(score)
            } else {
                scores.push_attack(IMPOSTOR, score)
            }
        }
        let decision = s.map(|s| match s {
            Some(v) if v >= settings.threshold => MatchDecision::Match,
            _ => MatchDecision::NoMatch,
        });
        let name = |i: usize| set.images[i].name.clone();
        pairs.push(PairResult {
            a: name(p.a),
            b: name(p.b),
            same: p.same,
            similarity: s.flatten(),
            decision,
            counted: s.is_some(),
        });
    }
    let point = |name: &str, target: Option<f64>, t: Option<f64>, note: String| {
        let at = t.map(|t| scores.evaluate(t));
        MatchPoint {
            name: name.into(),
            target,
            threshold: t,
            fmr: at.as_ref().map(|p| p.apcer[IMPOSTOR]).filter(|r| r.total > 0),
            fnmr: at.as_ref().map(|p| p.bpcer).filter(|r| r.total > 0),
            note,
        }
    };
    let mut operating_points =
        vec![point("configured", None, Some(settings.threshold), "the threshold given with --threshold".into())];
    if let Some(target) = settings.target_fmr {
        let t = scores.threshold_for_apcer(target);
        let note = match t {
            Some(_) => {
                format!("the lowest threshold with FMR ≤ {} (chosen on this same data: optimistic)", percent(target))
            }
            None => "no impostor pair: FMR is undefined".into(),
        };
        operating_points.push(point("target_fmr", Some(target), t, note));
    }
    let det_curve = scores
        .det_curve()
        .into_iter()
        .map(|d| MatchDetPoint { threshold: d.threshold, fmr: d.apcer_max, fnmr: d.bpcer })
        .collect();
    let counts = MatchCounts {
        images: set.images.len(),
        genuine: scores.bona_fide_count(),
        impostor: scores.attack_count(),
        failure_to_acquire: images.iter().filter(|i| i.status == "failure_to_acquire").count(),
        errors: images.iter().filter(|i| i.status == "error").count(),
    };
    MatchReport {
        tool: "huoti eval --match".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        model: TEMPLATE_MODEL.into(),
        settings,
        decision_rule: MATCH_RULE.into(),
        counts,
        operating_points,
        det_curve,
        images,
        pairs,
        files: Vec::new(),
        notes: Vec::new(),
    }
}

impl MatchReport {
    /// The counted similarities again, as a [`ScoreSet`] (genuine = bona fide).
    pub fn score_set(&self) -> ScoreSet {
        let mut set = ScoreSet::new();
        set.declare_species(IMPOSTOR);
        for p in self.pairs.iter().filter(|p| p.counted) {
            let s = p.similarity.unwrap_or(f64::NAN);
            if p.same {
                set.push_bona_fide(s)
            } else {
                set.push_attack(IMPOSTOR, s)
            }
        }
        set
    }
}

fn describe(r: &Option<Rate>) -> String {
    r.as_ref().map_or("n/a (no pair)".into(), Rate::describe)
}

/// The Markdown summary.
pub fn markdown(report: &MatchReport) -> String {
    use std::fmt::Write;
    let (s, c) = (&report.settings, &report.counts);
    let mut md = String::new();
    let _ = writeln!(md, "# huoti eval --match — `{}`\n", s.source);
    let _ = writeln!(md, "- model: {} (cosine similarity of L2-normalised 128-d embeddings)", report.model);
    let _ = writeln!(md, "- decision rule: {}", report.decision_rule);
    let _ = writeln!(
        md,
        "- {} images; pairs counted: {} genuine (same person), {} impostor (different people); {} image(s) without exactly one face (failure to acquire); {} unreadable (their pairs left out)\n",
        c.images, c.genuine, c.impostor, c.failure_to_acquire, c.errors
    );
    let _ = writeln!(md, "## Figures (ISO/IEC 19795-1)\n");
    let header: Vec<String> = report
        .operating_points
        .iter()
        .map(|p| match (p.target, p.threshold) {
            (None, Some(t)) => format!("{} τ = {t:.4}", p.name),
            (Some(target), Some(t)) => format!("target FMR ≤ {} → τ = {t:.4}", percent(target)),
            (_, None) => format!("{}: n/a", p.name),
        })
        .collect();
    let _ = writeln!(md, "| figure | {} |", header.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(header.len()));
    let cells =
        |f: &dyn Fn(&MatchPoint) -> String| report.operating_points.iter().map(f).collect::<Vec<_>>().join(" | ");
    let _ = writeln!(md, "| **FMR** (different people matched) | {} |", cells(&|p| describe(&p.fmr)));
    let _ = writeln!(md, "| **FNMR** (same person not matched) | {} |\n", cells(&|p| describe(&p.fnmr)));
    for p in &report.operating_points {
        let _ = writeln!(md, "- {}: {}", p.name, p.note);
    }
    for n in &report.notes {
        let _ = writeln!(md, "\nNote: {n}");
    }
    let _ = writeln!(md, "\n## What these figures prove\n\n{}\n", caveat(report));
    if report.files.iter().any(|f| f.ends_with(".png")) {
        let _ = writeln!(md, "## Plots\n");
        for f in report.files.iter().filter(|f| f.ends_with(".png")) {
            let _ = writeln!(md, "![{f}]({f})\n");
        }
    }
    let _ = writeln!(md, "## Pairs\n\n| a | b | truth | similarity | at τ = {} |\n|---|---|---|---|---|", s.threshold);
    for p in &report.pairs {
        let decision = match (p.counted, p.decision) {
            (false, _) => "left out (unreadable)",
            (true, Some(MatchDecision::Match)) => "match",
            (true, _) if p.similarity.is_none() => "no match (failure to acquire)",
            (true, _) => "no match",
        };
        let truth = if p.same { "same" } else { "different" };
        let sim = p.similarity.map_or("-".into(), |v| format!("{v:.4}"));
        let _ = writeln!(md, "| {} | {} | {truth} | {sim} | {decision} |", p.a, p.b);
    }
    let failed: Vec<&ImageResult> = report.images.iter().filter(|i| i.status != "embedded").collect();
    if !failed.is_empty() {
        let _ = writeln!(md, "\nImages without a template:\n");
        for i in failed {
            let _ = writeln!(
                md,
                "- {} — {} [{}]: {}",
                i.name,
                i.status,
                i.code.unwrap_or("-"),
                i.message.as_deref().unwrap_or("")
            );
        }
    }
    md
}

/// How much (how little) the figures prove, from the counts.
pub fn caveat(report: &MatchReport) -> String {
    let c = &report.counts;
    let bound = |n: usize, what: &str, rate: &str| match wilson(0, n, Z95) {
        Some((_, hi)) => format!(
            "{n} {what} pairs, even without a single error, only show that the true {rate} is below about {}",
            percent(hi)
        ),
        None => format!("without {what} pairs {rate} is not measured at all"),
    };
    format!(
        "{} genuine and {} impostor pairs from {} images: {}, and {} (95 % confidence). The intervals treat pairs as \
independent; pairs that share an image or a person are not, so the real uncertainty is larger. Certification-grade FMR \
claims (1 in 10 000 and below) need thousands of people, many capture conditions and thresholds fixed on separate data; \
a threshold chosen here for a target FMR is fitted to these very pairs. Face match is also only as good as the liveness \
check in front of it: a photo of the right person matches.",
        c.genuine,
        c.impostor,
        c.images,
        bound(c.genuine, "genuine", "FNMR"),
        bound(c.impostor, "impostor", "FMR"),
    )
}

/// Writes `report.json`, `report.md`, `det.png` and `histograms.png` into `dir`.
pub fn write_all(mut report: MatchReport, dir: &Path) -> Result<MatchReport, crate::Error> {
    std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io { path: dir.to_path_buf(), source })?;
    let set = report.score_set();
    let points: Vec<NamedPoint> = report
        .operating_points
        .iter()
        .filter_map(|p| p.threshold.map(|t| (p, t)))
        .map(|(p, t)| NamedPoint {
            name: p.name.clone(),
            target: p.target,
            point: Some(set.evaluate(t)),
            note: p.note.clone(),
        })
        .collect();
    crate::plots::det_png_labelled(&set, &points, &dir.join("det.png"), &crate::plots::MATCH_DET)?;
    crate::plots::histograms_png_labelled(
        &set,
        report.settings.threshold,
        &dir.join("histograms.png"),
        &crate::plots::MATCH_HISTOGRAMS,
    )?;
    if let Err(why) = crate::plots::font_status() {
        report.notes.push(why);
    }
    report.files = vec!["report.json".into(), "report.md".into(), "det.png".into(), "histograms.png".into()];
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| crate::Error::Io { path, source })
    };
    write("report.json", &(serde_json::to_string_pretty(&report).expect("a report serialises") + "\n"))?;
    write("report.md", &markdown(&report))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::{Pair, PairImage};

    fn set(pairs: &[(usize, usize, bool)]) -> PairSet {
        let n = pairs.iter().map(|&(a, b, _)| a.max(b) + 1).max().unwrap_or(0);
        PairSet {
            images: (0..n).map(|i| PairImage { path: format!("{i}.jpg").into(), name: format!("{i}.jpg") }).collect(),
            pairs: pairs.iter().map(|&(a, b, same)| Pair { a, b, same }).collect(),
            skipped: Vec::new(),
        }
    }

    fn settings(threshold: f64) -> MatchSettings {
        MatchSettings { source: "test".into(), threshold, target_fmr: Some(0.0) }
    }

    #[test]
    fn fmr_and_fnmr_at_the_threshold_and_for_a_target() {
        // genuine 0.8, 0.6, 0.3 (one lost at 0.363); impostor 0.1, 0.4 (one gets in), −0.05
        let s = set(&[(0, 1, true), (2, 3, true), (4, 5, true), (0, 2, false), (1, 4, false), (3, 5, false)]);
        let sims = [0.8, 0.6, 0.3, 0.1, 0.4, -0.05].map(|v| Some(Some(v)));
        let r = build(settings(0.363), &s, Vec::new(), &sims);
        let at = &r.operating_points[0];
        let (fmr, fnmr) = (at.fmr.unwrap(), at.fnmr.unwrap());
        assert_eq!((fmr.errors, fmr.total, fnmr.errors, fnmr.total), (1, 3, 1, 3));
        // FMR 0 first reached just above the highest impostor score, 0.4: at 0.6.
        let target = &r.operating_points[1];
        assert_eq!(target.threshold, Some(0.6));
        assert_eq!((target.fmr.unwrap().errors, target.fnmr.unwrap().errors), (0, 1));
        assert_eq!(r.pairs[4].decision, Some(MatchDecision::Match), "0.4 ≥ 0.363: a false match");
        assert_eq!(r.det_curve.len(), 7, "6 distinct similarities + match nothing");
        assert_eq!((r.counts.genuine, r.counts.impostor), (3, 3));
    }

    #[test]
    fn failures_to_acquire_count_as_non_matches_and_unreadable_pairs_are_left_out() {
        let s = set(&[(0, 1, true), (0, 2, true), (1, 2, false), (0, 3, false)]);
        let images = vec![ImageResult {
            name: "2.jpg".into(),
            status: "failure_to_acquire",
            code: Some("no_face"),
            message: None,
        }];
        let sims = [Some(Some(0.9)), Some(None), Some(None), None];
        let r = build(settings(0.363), &s, images, &sims);
        let at = &r.operating_points[0];
        assert_eq!(
            (at.fnmr.unwrap().errors, at.fnmr.unwrap().total),
            (1, 2),
            "the lost genuine pair is a false non-match"
        );
        assert_eq!((at.fmr.unwrap().errors, at.fmr.unwrap().total), (0, 1), "the unreadable impostor pair is left out");
        assert_eq!(r.counts.failure_to_acquire, 1);
        assert_eq!(r.pairs[3].decision, None);
        assert!(!r.pairs[3].counted && r.pairs[2].counted);
        let md = markdown(&r);
        assert!(md.contains("no match (failure to acquire)") && md.contains("left out (unreadable)"), "{md}");
        // The score set rebuilt from the report gives the same figures.
        let again = r.score_set().evaluate(0.363);
        assert_eq!(again.bpcer, at.fnmr.unwrap());
    }

    #[test]
    fn without_impostor_pairs_fmr_is_undefined_not_zero() {
        let r = build(settings(0.363), &set(&[(0, 1, true)]), Vec::new(), &[Some(Some(0.7))]);
        assert_eq!(r.operating_points[0].fmr, None);
        assert_eq!(r.operating_points[1].threshold, None);
        assert!(markdown(&r).contains("n/a (no pair)"));
        assert!(caveat(&r).contains("without impostor pairs FMR is not measured"), "{}", caveat(&r));
    }

    #[test]
    fn the_report_files_are_written() {
        let s = set(&[(0, 1, true), (0, 2, false), (1, 2, false)]);
        let r = build(settings(0.363), &s, Vec::new(), &[Some(Some(0.7)), Some(Some(0.1)), Some(Some(-0.2))]);
        let dir = tempfile::tempdir().unwrap();
        let r = write_all(r, dir.path()).unwrap();
        for f in &r.files {
            assert!(dir.path().join(f).is_file(), "{f}");
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
        assert_eq!(json["operating_points"][0]["fmr"]["total"], 2);
        assert_eq!(json["model"], TEMPLATE_MODEL);
    }
}
