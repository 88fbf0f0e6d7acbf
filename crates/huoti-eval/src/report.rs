//! The report: JSON (every presentation's score and all figures), a Markdown summary, and
//! PNG plots (a DET curve and score histograms per label).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dataset::Skipped;
use crate::metrics::{percent, DetPoint, OperatingPoint, Rate, ScoreSet};
use crate::run::{Mode, Scored, Status};

/// What the report was asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// The source as given.
    pub source: String,
    /// Passive or session.
    pub mode: Mode,
    /// Passive-mode clip sampling rate.
    pub fps: f64,
    /// Session-mode decoding rate.
    pub session_fps: f64,
    /// The configured threshold.
    pub threshold: f64,
    /// Target BPCER for a chosen threshold.
    pub target_bpcer: Option<f64>,
    /// Target APCER (worst species) for a chosen threshold.
    pub target_apcer: Option<f64>,
    /// The capture profile the presentations were sent through (`--capture`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<huoti_liveness::CaptureConfig>,
}

/// The figures at one named threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedPoint {
    /// `configured`, `target_bpcer` or `target_apcer`.
    pub name: String,
    /// The target, for chosen thresholds.
    pub target: Option<f64>,
    /// The figures; `None` when no threshold meets the target or the data cannot say.
    pub point: Option<OperatingPoint>,
    /// Why there is no point, or how the threshold was chosen.
    pub note: String,
}

/// Presentation counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counts {
    /// Bona fide presentations with a score.
    pub bona_fide: usize,
    /// Attack presentations with a score, per species.
    pub attacks: BTreeMap<String, usize>,
    /// Scored 0 because no face was found (included above).
    pub no_face: usize,
    /// Not analysable, left out of the figures.
    pub errors: usize,
    /// Not evaluated in this mode or not labelled.
    pub skipped: usize,
}

/// Everything an evaluation produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `huoti eval`.
    pub tool: String,
    /// huoti-eval's version.
    pub version: String,
    /// What was asked.
    pub settings: Settings,
    /// The decision rule, in words.
    pub decision_rule: String,
    /// Counts.
    pub counts: Counts,
    /// Figures at the configured threshold and the chosen ones.
    pub operating_points: Vec<NamedPoint>,
    /// Every distinct threshold's APCER/BPCER.
    pub det_curve: Vec<DetPoint>,
    /// Every presentation.
    pub presentations: Vec<Scored>,
    /// What was not evaluated.
    pub skipped: Vec<Skipped>,
    /// Files written (relative to the output folder).
    pub files: Vec<String>,
    /// Anything the reader should know about how the report was made (e.g. plots without
    /// text for want of a font).
    pub notes: Vec<String>,
}

/// The decision rule, as written into every report.
pub const DECISION_RULE: &str = "accepted as bona fide when score >= threshold (ties at the threshold are accepted); \
APCER per species = attacks accepted / attacks of that species; APCER_max = worst species; \
BPCER = bona fide rejected / bona fide; ACER = (APCER_max + BPCER) / 2; intervals: Wilson 95 % score intervals";

/// Builds the report from the results.
pub fn build(settings: Settings, results: Vec<Scored>, skipped: Vec<Skipped>, species: &[String]) -> Report {
    let set = crate::run::score_set(&results, species);
    let mut points = vec![NamedPoint {
        name: "configured".into(),
        target: None,
        point: Some(set.evaluate(settings.threshold)),
        note: "the threshold given with --threshold".into(),
    }];
    if let Some(target) = settings.target_bpcer {
        let t = set.threshold_for_bpcer(target);
        points.push(NamedPoint {
            name: "target_bpcer".into(),
            target: Some(target),
            point: t.map(|t| set.evaluate(t)),
            note: match t {
                Some(_) => format!("the highest threshold with BPCER ≤ {} (chosen on this same data: optimistic)", percent(target)),
                None if set.bona_fide_count() == 0 => "no bona fide presentation: BPCER is undefined".into(),
                None => format!("no threshold reaches BPCER ≤ {}", percent(target)),
            },
        });
    }
    if let Some(target) = settings.target_apcer {
        let t = set.threshold_for_apcer(target);
        points.push(NamedPoint {
            name: "target_apcer".into(),
            target: Some(target),
            point: t.map(|t| set.evaluate(t)),
            note: match t {
                Some(_) => format!("the lowest threshold with APCER_max ≤ {} (chosen on this same data: optimistic)", percent(target)),
                None if set.attack_count() == 0 => "no attack presentation: APCER is undefined".into(),
                None => format!("no threshold reaches APCER_max ≤ {}", percent(target)),
            },
        });
    }
    let counts = Counts {
        bona_fide: set.bona_fide_count(),
        attacks: set.attack_counts(),
        no_face: results.iter().filter(|r| r.status == Status::NoFace).count(),
        errors: results.iter().filter(|r| r.status == Status::Error).count(),
        skipped: skipped.len(),
    };
    Report {
        tool: "huoti eval".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        settings,
        decision_rule: DECISION_RULE.into(),
        counts,
        operating_points: points,
        det_curve: set.det_curve(),
        presentations: results,
        skipped,
        files: Vec::new(),
        notes: Vec::new(),
    }
}

impl Report {
    /// The scores again, as a [`ScoreSet`].
    pub fn score_set(&self) -> ScoreSet {
        let species: Vec<String> = self.counts.attacks.keys().cloned().collect();
        crate::run::score_set(&self.presentations, &species)
    }
}

fn threshold_str(t: f64) -> String {
    if t > 1.0 { format!("{t:.4} (accept nothing)") } else { format!("{t:.4}") }
}

fn cell(r: &Rate) -> String {
    r.describe()
}

/// The Markdown summary.
pub fn markdown(report: &Report) -> String {
    use std::fmt::Write;
    let s = &report.settings;
    let mut md = String::new();
    let mode = match s.mode {
        Mode::Passive => format!("passive (images: main face's real probability; clips: median over frames sampled at {} fps)", s.fps),
        Mode::Session => format!("session (clips run as liveness sessions at {} fps with a fixed, reduced-flash challenge; score = verdict score / 100)", s.session_fps),
    };
    let _ = writeln!(md, "# huoti eval — `{}`\n", s.source);
    let _ = writeln!(md, "- mode: {mode}");
    if let Some(c) = &s.capture {
        let _ = writeln!(
            md,
            "- capture profile: {} px wide, JPEG quality {}; in sessions {} fps idle, {} light, {} actions, {} blink",
            c.width, c.jpeg_quality, c.idle_fps, c.light_fps, c.action_fps, c.blink_fps
        );
    }
    let _ = writeln!(md, "- decision rule: {}", report.decision_rule);
    let c = &report.counts;
    let attacks: Vec<String> = c.attacks.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        md,
        "- presentations: {} bona fide; attacks: {}; {} scored 0 for want of a face (counted); {} errors (left out); {} skipped\n",
        c.bona_fide,
        if attacks.is_empty() { "none".into() } else { attacks.join(", ") },
        c.no_face,
        c.errors,
        c.skipped
    );

    // The figures: one column per threshold.
    let _ = writeln!(md, "## Figures (ISO/IEC 30107-3)\n");
    let header: Vec<String> = report
        .operating_points
        .iter()
        .map(|p| match (p.name.as_str(), p.target, &p.point) {
            ("configured", _, Some(pt)) => format!("configured τ = {}", threshold_str(pt.threshold)),
            ("target_bpcer", Some(t), Some(pt)) => format!("target BPCER ≤ {} → τ = {}", percent(t), threshold_str(pt.threshold)),
            ("target_apcer", Some(t), Some(pt)) => format!("target APCER ≤ {} → τ = {}", percent(t), threshold_str(pt.threshold)),
            (name, t, None) => format!("{name} {}: n/a", t.map(percent).unwrap_or_default()),
            (name, _, Some(pt)) => format!("{name} τ = {}", threshold_str(pt.threshold)),
        })
        .collect();
    let _ = writeln!(md, "| figure | {} |", header.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(header.len()));
    let species: Vec<String> = c.attacks.keys().cloned().collect();
    let row = |md: &mut String, name: &str, f: &dyn Fn(&OperatingPoint) -> String| {
        let cells: Vec<String> = report.operating_points.iter().map(|p| p.point.as_ref().map_or("n/a".into(), f)).collect();
        let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
    };
    for sp in &species {
        row(&mut md, &format!("APCER {sp}"), &|p| p.apcer.get(sp).map_or("n/a".into(), cell));
    }
    row(&mut md, "**APCER_max**", &|p| {
        p.apcer_max.as_ref().map_or("n/a (no attack presentation)".into(), |w| format!("{} — {}", w.species, cell(&w.rate)))
    });
    row(&mut md, "**BPCER**", &|p| cell(&p.bpcer));
    row(&mut md, "ACER", &|p| p.acer.map_or("n/a".into(), percent));
    let _ = writeln!(md);
    for p in &report.operating_points {
        let _ = writeln!(md, "- {}: {}", p.name, p.note);
    }
    let _ = writeln!(md);

    for n in &report.notes {
        let _ = writeln!(md, "Note: {n}\n");
    }

    // How little this proves.
    let _ = writeln!(md, "## What these figures prove\n");
    let _ = writeln!(md, "{}\n", caveat(report));

    // Plots.
    if !report.files.iter().any(|f| f.ends_with(".png")) {
        let _ = writeln!(md, "(no plots were written)\n");
    } else {
        let _ = writeln!(md, "## Plots\n");
        for f in report.files.iter().filter(|f| f.ends_with(".png")) {
            let _ = writeln!(md, "![{f}]({f})\n");
        }
    }

    // Every presentation.
    let _ = writeln!(md, "## Presentations\n");
    let t = s.threshold;
    let _ = writeln!(md, "| file | label | score | at τ = {t} | status |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for r in &report.presentations {
        let decision = match r.score {
            Some(x) if x >= t => "accepted",
            Some(_) => "rejected",
            None => "-",
        };
        let status = match (&r.status, &r.session, &r.message) {
            (_, Some(sess), _) => format!(
                "session: {} {}{}",
                sess.decision,
                sess.score,
                if sess.reasons.is_empty() { String::new() } else { format!(" ({})", sess.reasons.join(", ")) }
            ),
            (Status::Scored, None, Some(m)) => format!("scored; {m}"),
            (Status::Scored, None, None) => match (r.frames, r.frames_scored) {
                (Some(n), Some(k)) => format!("scored ({k}/{n} frames with one face)"),
                _ => "scored".into(),
            },
            (Status::NoFace, _, _) => "no face (scored 0)".into(),
            (Status::Error, _, m) => format!("error: {}", m.as_deref().unwrap_or("")),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.name,
            r.label,
            r.score.map_or("-".into(), |x| format!("{x:.4}")),
            decision,
            status.replace('|', "/")
        );
    }
    steps_markdown(&mut md, report);
    reactions_markdown(&mut md, report);
    if !report.skipped.is_empty() {
        let _ = writeln!(md, "\nSkipped:\n");
        for sk in &report.skipped {
            let _ = writeln!(md, "- {}: {}", sk.name, sk.why);
        }
    }
    md
}

/// Session mode: every challenge step's evidence, then per action the weakest bona fide
/// step and the strongest attack step (the margins its threshold has on this data).
fn steps_markdown(md: &mut String, report: &Report) {
    use std::fmt::Write;
    let steps: Vec<(&Scored, &huoti_liveness::StepEvidence)> =
        report.presentations.iter().filter_map(|r| r.session.as_ref().map(|s| (r, s))).flat_map(|(r, s)| s.steps.iter().map(move |e| (r, e))).collect();
    if steps.is_empty() {
        return;
    }
    let num = |v: Option<f32>| v.map_or("-".into(), |v| format!("{v:.3}"));
    let _ = writeln!(md, "\n## Challenge steps\n");
    let _ = writeln!(
        md,
        "Per step: the measure, the person's resting value (median) and resting spread on the action's side, the departure the \
         step needs from them, the largest departure in the window (widened by the grace margin) and their ratio (≥ 1: \
         reached). `onset` is where the action was found in the window; the verdict also checks the order of the steps.\n"
    );
    let _ = writeln!(md, "| file | label | action | window (s) | measure | rest | spread | needed | peak | peak / needed | onset (s) |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (r, e) in &steps {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1}–{:.1} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.label,
            e.action,
            e.from_ms as f64 / 1000.0,
            e.to_ms as f64 / 1000.0,
            e.measure.map_or("-".into(), |m| serde_json::to_value(m).map_or(String::new(), |v| v.as_str().unwrap_or("").to_owned())),
            num(e.rest),
            num(e.spread),
            num(e.needed),
            num(e.peak),
            e.ratio().map_or("-".into(), |x| format!("{x:.2}")),
            e.onset_ms.map_or("-".into(), |t| format!("{:.2}", t as f64 / 1000.0))
        );
    }
    let _ = writeln!(md, "\n| action | bona fide steps | weakest bona fide peak / needed | attack steps | strongest attack peak / needed |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for action in huoti_liveness::Action::ALL {
        let ratios = |bona_fide: bool| -> Vec<f32> {
            steps.iter().filter(|(r, e)| e.action == action && r.is_bona_fide() == bona_fide).filter_map(|(_, e)| e.ratio()).collect()
        };
        let (b, a) = (ratios(true), ratios(false));
        if b.is_empty() && a.is_empty() {
            continue;
        }
        let fmt = |v: Option<f32>| v.map_or("-".into(), |v| format!("{v:.2}"));
        let _ = writeln!(
            md,
            "| {action} | {} | {} | {} | {} |",
            b.len(),
            fmt(b.iter().copied().reduce(f32::min)),
            a.len(),
            fmt(a.iter().copied().reduce(f32::max))
        );
    }
}

/// A paragraph on how much (how little) the figures prove, from the counts and intervals.
pub fn caveat(report: &Report) -> String {
    let c = &report.counts;
    let n_attacks: usize = c.attacks.values().sum();
    let smallest = c.attacks.iter().filter(|(_, n)| **n > 0).min_by_key(|(_, n)| **n);
    let mut out = format!(
        "{} bona fide and {} attack presentations{}. ",
        c.bona_fide,
        n_attacks,
        smallest.map_or(String::new(), |(s, n)| format!(" (the smallest species, {s}, has {n})"))
    );
    if let Some(p) = report.operating_points.first().and_then(|p| p.point.as_ref()) {
        let widest = p
            .apcer
            .iter()
            .filter_map(|(k, r)| Some((k.clone(), r.ci95?)))
            .chain(p.bpcer.ci95.map(|ci| ("BPCER".to_string(), ci)))
            .max_by(|a, b| (a.1 .1 - a.1 .0).total_cmp(&(b.1 .1 - b.1 .0)));
        if let Some((what, (lo, hi))) = widest {
            let what = if what == "BPCER" { what } else { format!("APCER of {what}") };
            out += &format!(
                "At the configured threshold the widest 95 % interval ({what}) runs from {} to {}: ",
                percent(lo),
                percent(hi)
            );
        }
    }
    let zero_error_bound = |n: usize| crate::metrics::wilson(0, n, crate::metrics::Z95).map(|(_, hi)| hi);
    if let Some(hi) = zero_error_bound(c.bona_fide.min(smallest.map_or(usize::MAX, |(_, n)| *n))) {
        out += &format!(
            "even a perfect result on a class this small only shows that its true error rate is below about {} (95 % confidence). ",
            percent(hi)
        );
    }
    out += "A certification-grade claim (e.g. APCER below 1 %) needs hundreds of attacks per species and many people, \
cameras and sessions, with thresholds chosen on a separate development set. Thresholds chosen here for a target are \
fitted to these very scores, so their figures are optimistic. Treat these numbers as a smoke test of the pipeline, \
not as a measure of its security.";
    out
}

/// Why plots could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Drawing failed.
    #[error("plot {path}: {message}")]
    Draw {
        /// The PNG.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Writing failed.
    #[error("{path}: {message}")]
    Write {
        /// The PNG.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// Writes `report.json`, `report.md`, `det.png` and `histograms.png` into `dir`. Returns the
/// report with `files` filled in. Plots are drawn with text when a font is found (see
/// [`crate::plots::font_status`]), without text otherwise (noted in the report).
pub fn write_all(mut report: Report, dir: &Path) -> Result<Report, crate::Error> {
    std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io { path: dir.to_path_buf(), source })?;
    let set = report.score_set();
    let threshold = report.settings.threshold;
    let det = dir.join("det.png");
    crate::plots::det_png(&set, &report.operating_points, &det)?;
    let hist = dir.join("histograms.png");
    crate::plots::histograms_png(&set, threshold, &hist)?;
    if let Err(why) = crate::plots::font_status() {
        report.notes.push(why);
    }
    report.files = vec!["report.json".into(), "report.md".into(), "det.png".into(), "histograms.png".into()];
    let json = serde_json::to_string_pretty(&report).expect("a report serialises");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| crate::Error::Io { path, source })
    };
    write("report.json", &(json + "\n"))?;
    write("report.md", &markdown(&report))?;
    Ok(report)
}

/// Session mode: when each performed step's movement started against its window's start
/// (issue 17's reaction timing; with a fixed plan laid over a recording, reported only).
fn reactions_markdown(md: &mut String, report: &Report) {
    use std::fmt::Write;
    let rows: Vec<(&Scored, &huoti_liveness::Reaction)> = report
        .presentations
        .iter()
        .filter_map(|r| r.session.as_ref().map(|s| (r, s)))
        .flat_map(|(r, s)| s.reactions.iter().map(move |e| (r, e)))
        .filter(|(_, e)| e.reaction_ms.is_some())
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## Reaction timing\n");
    let _ = writeln!(
        md,
        "Per performed step: the window's start (the prompt, in a production session), when the movement started (the first \
         frame of the run reaching half the needed departure) and the difference. A production session is uncertain \
         (`reaction_timing`) when it is below −`reaction_early_tolerance_ms` or above `reaction_late_ms`.\n"
    );
    let _ = writeln!(md, "| file | label | action | prompt (s) | start (s) | reaction (ms) | timing |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for (r, e) in &rows {
        let timing = serde_json::to_value(e.timing).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.2} | {} | {} | {timing} |",
            r.name,
            r.label,
            e.action,
            e.prompt_ms as f64 / 1000.0,
            e.onset_ms.map_or("-".into(), |t| format!("{:.2}", t as f64 / 1000.0)),
            e.reaction_ms.map_or("-".into(), |ms| ms.to_string()),
        );
    }
}
