//! `huoti eval`: ISO/IEC 30107-3 figures on a labelled set of images and clips.

use std::path::PathBuf;

use clap::Args;
use huoti_eval::dataset::{self, LabelMap, SessionSpec};
use huoti_eval::report::{self, Settings};
use huoti_eval::run::{Mode, RunOptions};
use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};
use indicatif::{ProgressBar, ProgressStyle};

use crate::exit::Exit;

pub const EVAL_HELP: &str = "\
What the figures mean (ISO/IEC 30107-3):
  A presentation is accepted as bona fide (live) when its score >= the threshold.
  APCER  attack presentations wrongly accepted, per attack species (print, replay, mask...);
         APCER_max is the worst species. Lower = harder to fool.
  BPCER  bona fide (real, live) presentations wrongly rejected. Lower = fewer annoyed users.
  ACER   (APCER_max + BPCER) / 2, for comparison with the literature.
  Each rate comes with its counts and a Wilson 95 % interval: with 20 files, '0 %' means
  'somewhere between 0 and ~16 %'. Thresholds chosen for a target (--target-bpcer,
  --target-apcer) are fitted to the same data, so their figures are optimistic: choose them
  on one set and report them on another.

Sources:
  a folder   <root>/bonafide/..., <root>/print/..., <root>/replay/... (any species name;
             files searched recursively; a folder named 'other' is skipped)
  a manifest TSV with columns 'path' (relative to the manifest) and 'kind': bonafide,
             bonafide-image/-video, spoof-<species> (e.g. spoof-print), other (skipped);
             map anything else with --label-map KIND=LABEL. For --session, optional
             columns 'challenge' (open_mouth@0.5-4.0;turn_left@8.6-10.5, seconds from
             'start'), 'start' and 'duration' (seconds into the clip).

Examples:
  huoti testdata fetch && huoti testdata list --tsv > samples.tsv
  huoti eval samples.tsv --root ~/.local/share/huoti/testdata --passive --out eval/
  huoti eval my-captures/ --target-bpcer 0.05 --json > report.json
  huoti eval sessions.tsv --session --out eval-sessions/

Writes with --out DIR: report.json (every score and figure), report.md (tables),
det.png (DET curve) and histograms.png (scores per label). Plots need a TrueType font
(fonts-dejavu-core, or HUOTI_FONT=/path/font.ttf); without one they are drawn without text.

Face match (--match, ISO/IEC 19795-1): SOURCE holds pairs of images of the same person
(genuine) or of different people (impostor).
  FMR   impostor pairs that match (different people taken for one). Lower = safer.
  FNMR  genuine pairs that do not match (the right person turned away).
  A pair matches when its cosine similarity >= --threshold (default 0.363, upstream's);
  --target-fmr also reports at the lowest threshold with FMR at most that. An image
  without exactly one face makes its pairs non-matches (failure to acquire).
  SOURCE: a TSV with columns a, b (image paths) and label (same | different), or a
  folder <root>/<person>/<images> (every pair within and across people).
  huoti eval --match testdata/pairs/shared.tsv --root testdata/cache --out eval-match/";

/// Arguments of `huoti eval`.
#[derive(Debug, Args)]
#[command(after_help = EVAL_HELP)]
pub struct EvalArgs {
    /// A folder laid out as <root>/<label>/<files>, or a manifest TSV (path + kind columns).
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,
    /// Score each image / clip with the passive anti-spoof models (the default).
    #[arg(long, conflicts_with_all = ["session", "face_match"])]
    pub passive: bool,
    /// Face match instead of liveness: SOURCE is pairs of images (same / different person);
    /// reports FMR and FNMR.
    #[arg(long = "match", conflicts_with = "session")]
    pub face_match: bool,
    /// Run each clip as a liveness session with the fixed challenge from the manifest (or
    /// --challenge); score = verdict score / 100. An image is presented as a perfectly still
    /// clip (a photo held still) for the whole session.
    #[arg(long)]
    pub session: bool,
    /// Score at or above which a presentation is accepted as bona fide [default: 0.5; with
    /// --match, the cosine similarity at or above which a pair matches: 0.363].
    #[arg(long, value_name = "SCORE")]
    pub threshold: Option<f64>,
    /// With --match: also report at the lowest threshold with FMR at most this (0-1).
    #[arg(long, default_value_t = 0.001, value_name = "RATE", value_parser = rate)]
    pub target_fmr: f64,
    /// Also report at the highest threshold with BPCER at most this (0-1).
    #[arg(long, default_value_t = 0.05, value_name = "RATE", value_parser = rate)]
    pub target_bpcer: f64,
    /// Also report at the lowest threshold with APCER_max at most this (0-1).
    #[arg(long, default_value_t = 0.0, value_name = "RATE", value_parser = rate)]
    pub target_apcer: f64,
    /// Frames per second sampled from clips in passive mode.
    #[arg(long, default_value_t = 5.0)]
    pub fps: f64,
    /// Frames per second decoded from clips in session mode.
    #[arg(long, default_value_t = 15.0)]
    pub session_fps: f64,
    /// Present every image and clip as a client following the server's capture profile sends
    /// it (issue 15): scaled to 320 px, JPEG quality 70, and in session mode thinned to the
    /// profile's frame rate for each part of the challenge. Compare with a run without it to
    /// see what the smaller upload changes.
    #[arg(long)]
    pub capture: bool,
    /// Session mode: the challenge for clips whose manifest line has none, e.g.
    /// "open_mouth@0.5-4.0;turn_left@8.6-10.5" (seconds from the clip's start).
    #[arg(long, value_name = "SPEC")]
    pub challenge: Option<String>,
    /// Map a manifest kind to a label: KIND=bonafide, KIND=<species> or KIND=skip
    /// (repeatable, or comma-separated).
    #[arg(long = "label-map", value_name = "KIND=LABEL")]
    pub label_map: Vec<String>,
    /// Resolve a manifest's relative paths against this folder instead of the manifest's own.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Write report.json, report.md, det.png and histograms.png into this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the JSON report on stdout instead of the Markdown summary.
    #[arg(long)]
    pub json: bool,
    /// Model directory; missing models are fetched into it first [default: $HUOTI_MODEL_DIR,
    /// else ~/.local/share/huoti/models (or $XDG_DATA_HOME/huoti/models)].
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

/// What both evaluations do with their report: write the files (`--out`), then print it as
/// JSON (`--json`) or Markdown. `None` when the files could not be written (said on stderr).
pub(crate) fn emit<R: serde::Serialize>(
    report: R,
    args: &EvalArgs,
    write_all: impl FnOnce(R, &std::path::Path) -> Result<R, huoti_eval::Error>,
    files: impl Fn(&R) -> &Vec<String>,
    markdown: impl Fn(&R) -> String,
) -> Option<R> {
    let report = match &args.out {
        None => report,
        Some(dir) => match write_all(report, dir) {
            Ok(r) => {
                eprintln!("wrote {} into {}", files(&r).join(", "), dir.display());
                r
            }
            Err(e) => {
                eprintln!("error: {e}");
                return None;
            }
        },
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("a report serialises"));
    } else {
        print!("{}", markdown(&report));
    }
    Some(report)
}

/// The bar both evaluations show while they score.
pub(crate) fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} {elapsed_precise} {wide_msg}").expect("valid template"),
    );
    bar
}

fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a rate between 0 and 1 (e.g. 0.05 for 5 %)")),
    }
}

pub fn run(args: EvalArgs) -> Exit {
    if args.face_match {
        return crate::eval_match::run(&args);
    }
    let labels = match LabelMap::parse(&args.label_map) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let default_challenge = match args.challenge.as_deref().map(dataset::parse_challenge).transpose() {
        Ok(steps) => steps.map(|steps| SessionSpec { steps, start_s: None, duration_s: None }),
        Err(e) => {
            eprintln!("error: --challenge: {e}");
            return Exit::BadInput;
        }
    };
    let loaded = match &args.root {
        Some(root) if !args.source.is_dir() => dataset::load_manifest_in(&args.source, &labels, root),
        _ => dataset::load(&args.source, &labels),
    };
    let ds = match loaded {
        Ok(ds) => ds,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let models = match crate::assets_cmd::ready_models(args.models.clone(), &[]) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    let analyzer = match Analyzer::load(&ModelPaths::in_dir(&models), AnalyzerConfig::default()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    let mode = if args.session { Mode::Session } else { Mode::Passive };
    let capture = args.capture.then(huoti_eval::CaptureConfig::default);
    let options = RunOptions { mode, fps: args.fps, session_fps: args.session_fps, default_challenge, capture: capture.clone() };
    let settings = Settings {
        source: args.source.display().to_string(),
        mode,
        fps: args.fps,
        session_fps: args.session_fps,
        threshold: args.threshold.unwrap_or(0.5),
        target_bpcer: Some(args.target_bpcer),
        target_apcer: Some(args.target_apcer),
        capture,
    };
    let bar = progress_bar();
    let report = huoti_eval::evaluate(&analyzer, &ds, &options, settings, |i, n, p| {
        bar.set_length(n as u64);
        bar.set_position(i as u64);
        bar.set_message(p.name.clone());
    });
    bar.finish_and_clear();
    let ffmpeg_missing = report
        .presentations
        .iter()
        .any(|r| r.message.as_deref().is_some_and(|m| m.contains("`ffmpeg` was not found")));
    let Some(report) = emit(report, &args, report::write_all, |r| &r.files, report::markdown) else {
        return Exit::BadInput;
    };
    for r in report.presentations.iter().filter(|r| r.status == huoti_eval::run::Status::Error) {
        eprintln!("error: {}: {}", r.name, r.message.as_deref().unwrap_or("could not be analysed"));
    }
    if ffmpeg_missing {
        Exit::Setup
    } else if report.counts.errors > 0 {
        Exit::BadInput
    } else {
        Exit::Ok
    }
}
