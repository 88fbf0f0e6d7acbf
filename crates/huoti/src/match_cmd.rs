//! `huoti match`: is each probe the same person as the reference? (1:1 face match, 本人核验)

use std::path::{Path, PathBuf};

use clap::Args;
use huoti_vision::{
    FaceMatcher, ImageEmbedding, MatchDecision, MatchQuality, MatcherConfig, ModelPaths, QualityLimits, QualityProblem,
    Template, VisionError, DEFAULT_MATCH_THRESHOLD, TEMPLATE_MODEL,
};
use serde::Serialize;

use crate::exit::Exit;

const MATCH_HELP: &str = "\
Each image must show exactly one face (no face and several faces are errors, as are files
that are not JPEG/PNG images). The similarity is the cosine of the two SFace embeddings,
-1 to 1; at or above the threshold the faces are judged the same person.

The default threshold, 0.363, is upstream's (OpenCV model zoo, on LFW). It is not a
guarantee on your cameras and people: measure with `huoti eval --match PAIRS`.

Exit codes: 0 done; 1 the reference or some probe could not be compared (the others are
still reported); 2 usage; 3 setup (models missing: `huoti models fetch`); 4 with
--fail-on-no-match, some probe did not match.

Examples:
  huoti match id-photo.jpg selfie.jpg
  huoti match --json --threshold 0.45 reference.png probes/";

/// Arguments of `huoti match`.
#[derive(Debug, Args)]
#[command(after_help = MATCH_HELP)]
pub struct MatchArgs {
    /// The reference image (an ID or account photo): exactly one face.
    #[arg(value_name = "REFERENCE")]
    pub reference: PathBuf,
    /// Images to compare with the reference, or directories of them (searched recursively).
    #[arg(required = true, value_name = "PROBE")]
    pub probes: Vec<PathBuf>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Cosine similarity at or above which a probe is the same person.
    #[arg(long, default_value_t = DEFAULT_MATCH_THRESHOLD, value_parser = similarity)]
    pub threshold: f32,
    /// Exit with status 4 unless every probe matches.
    #[arg(long)]
    pub fail_on_no_match: bool,
    /// Longest image side given to the face detector (larger finds smaller faces, slower).
    #[arg(long, default_value_t = 640)]
    pub detect_max_side: u32,
    /// Model directory; missing models (SFace included) are fetched into it first [default:
    /// $HUOTI_MODEL_DIR, else ~/.local/share/huoti/models (or $XDG_DATA_HOME/huoti/models)].
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

fn similarity(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (-1.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a cosine similarity between -1 and 1 (e.g. 0.363)")),
    }
}

/// One image's face, as reported.
#[derive(Debug, Serialize)]
struct FaceReport {
    width: u32,
    height: u32,
    faces: usize,
    face: huoti_vision::Face,
    quality: MatchQuality,
    problems: Vec<QualityProblem>,
    ms: f64,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Outcome {
    Image {
        #[serde(flatten)]
        face: Box<FaceReport>,
        /// Only for probes.
        #[serde(skip_serializing_if = "Option::is_none")]
        similarity: Option<f32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        decision: Option<MatchDecision>,
    },
    Error {
        code: &'static str,
        message: String,
    },
}

#[derive(Debug, Serialize)]
struct Report {
    path: PathBuf,
    #[serde(flatten)]
    outcome: Outcome,
}

fn embed(matcher: &FaceMatcher, path: &Path) -> Result<(ImageEmbedding, FaceReport), Outcome> {
    let bytes = std::fs::read(path).map_err(|e| Outcome::Error { code: "unreadable", message: e.to_string() })?;
    let e = matcher
        .embed_bytes(&bytes)
        .map_err(|e: VisionError| Outcome::Error { code: e.code(), message: e.to_string() })?;
    let quality = e.embedding.quality;
    let report = FaceReport {
        width: e.width,
        height: e.height,
        faces: 1,
        face: e.embedding.face,
        quality,
        problems: quality.problems(&QualityLimits::default()),
        ms: e.decode_ms + e.detect_ms + e.embedding.embed_ms,
    };
    Ok((e, report))
}

pub fn run(args: MatchArgs) -> Exit {
    let models = match crate::assets_cmd::ready_models(args.models.clone(), &["sface"]) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    let detector = huoti_vision::DetectorConfig { max_side: args.detect_max_side, ..Default::default() };
    let matcher =
        match FaceMatcher::load(&ModelPaths::in_dir(&models), MatcherConfig { detector, ..Default::default() }) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Setup;
            }
        };
    let (reference_template, reference) = match embed(&matcher, &args.reference) {
        Ok((e, face)) => {
            (Some(e.embedding.template), Report { path: args.reference.clone(), outcome: image(face, None, None) })
        }
        Err(outcome) => (None, Report { path: args.reference.clone(), outcome }),
    };
    let probes: Vec<Report> = match &reference_template {
        // Without a reference face nothing can be compared: say so once, not per probe.
        None => Vec::new(),
        Some(reference) => crate::check::collect_inputs(&args.probes)
            .into_iter()
            .map(|path| Report { outcome: compare(&matcher, reference, &path, args.threshold), path })
            .collect(),
    };
    if args.json {
        let doc = serde_json::json!({
            "model": TEMPLATE_MODEL,
            "threshold": args.threshold,
            "reference": reference,
            "probes": probes,
        });
        println!("{}", serde_json::to_string_pretty(&doc).expect("serialisable"));
    } else {
        print_table(&reference, &probes, args.threshold);
    }
    let failed = |r: &Report| matches!(r.outcome, Outcome::Error { .. });
    let no_match =
        probes.iter().any(|r| !matches!(r.outcome, Outcome::Image { decision: Some(MatchDecision::Match), .. }));
    if failed(&reference) || probes.iter().any(failed) {
        Exit::BadInput
    } else if args.fail_on_no_match && no_match {
        Exit::Rejected
    } else {
        Exit::Ok
    }
}

fn image(face: FaceReport, similarity: Option<f32>, decision: Option<MatchDecision>) -> Outcome {
    Outcome::Image { face: Box::new(face), similarity, decision }
}

fn compare(matcher: &FaceMatcher, reference: &Template, path: &Path, threshold: f32) -> Outcome {
    match embed(matcher, path) {
        Ok((e, face)) => {
            let s = reference.similarity(&e.embedding.template);
            image(face, Some(s), Some(MatchDecision::at(s, threshold)))
        }
        Err(outcome) => outcome,
    }
}

fn short(path: &Path) -> String {
    let name = path.display().to_string();
    if name.chars().count() > 44 {
        format!("…{}", name.chars().rev().take(43).collect::<Vec<_>>().into_iter().rev().collect::<String>())
    } else {
        name
    }
}

fn problems(p: &[QualityProblem]) -> String {
    if p.is_empty() {
        return "-".into();
    }
    let words: Vec<String> = p
        .iter()
        .map(|x| serde_json::to_value(x).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
        .collect();
    words.join(",")
}

fn print_table(reference: &Report, probes: &[Report], threshold: f32) {
    println!(
        "{:<44} {:>10} {:>9} {:>7} {:>6} {:>6}  quality",
        "file", "similarity", "decision", "eyes px", "sharp", "ms"
    );
    let row = |r: &Report, label: &str| match &r.outcome {
        Outcome::Image { face, similarity, decision } => println!(
            "{:<44} {:>10} {:>9} {:>7.0} {:>6.0} {:>6.0}  {}",
            short(&r.path),
            similarity.map_or(label.to_owned(), |s| format!("{s:.3}")),
            match decision {
                Some(MatchDecision::Match) => "match",
                Some(MatchDecision::NoMatch) => "no match",
                None => "",
            },
            face.quality.eye_distance_px,
            face.quality.sharpness,
            face.ms,
            problems(&face.problems)
        ),
        Outcome::Error { code, message } => println!("{:<44} error [{code}]: {message}", short(&r.path)),
    };
    row(reference, "reference");
    for p in probes {
        row(p, "");
    }
    if !probes.is_empty() {
        println!("(same person when similarity >= {threshold}; SFace cosine, -1 to 1)");
    }
}
