//! `huoti check`: analyse images and videos, print a table or JSON.

use std::path::{Path, PathBuf};
use std::time::Instant;

use huoti_media::{is_video, open_video, FfmpegOptions};
use huoti_vision::{
    Analyzer, AnalyzerConfig, DetectorConfig, ImageAnalysis, ModelPaths, TrackerConfig,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::CheckArgs;
use crate::exit::Exit;

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png"];

/// One input's outcome.
#[derive(Debug, Serialize)]
struct Report {
    path: PathBuf,
    #[serde(flatten)]
    outcome: Outcome,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Outcome {
    Image(Box<ImageAnalysis>),
    Video(VideoSummary),
    Error { code: &'static str, message: String },
}

#[derive(Debug, Serialize, Default)]
struct VideoSummary {
    frames: usize,
    frames_one_face: usize,
    max_faces: usize,
    real_probability_median: Option<f32>,
    eye_openness_min: Option<f32>,
    eye_openness_max: Option<f32>,
    mouth_openness_max: Option<f32>,
    yaw_min: Option<f32>,
    yaw_max: Option<f32>,
    ms_per_frame: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    per_frame: Vec<VideoFrame>,
}

#[derive(Debug, Serialize)]
struct VideoFrame {
    t_ms: u64,
    faces: usize,
    eye_openness: Option<[f32; 2]>,
    mouth_openness: Option<f32>,
    yaw_deg: Option<f32>,
    pitch_deg: Option<f32>,
    real_probability: Option<f32>,
}

/// Expands directories (recursively, sorted) into image and video files.
pub(crate) fn collect_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut stack = vec![input.clone()];
            let mut found = Vec::new();
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else { continue };
                for entry in entries.flatten() {
                    let p = entry.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if is_video(&p) || has_ext(&p, IMAGE_EXTENSIONS) {
                        found.push(p);
                    }
                }
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    files
}

fn has_ext(p: &Path, exts: &[&str]) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
}

pub fn run(args: CheckArgs) -> Exit {
    let models = match crate::assets_cmd::ready_models(args.models.clone(), &[]) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    let detector = DetectorConfig {
        max_side: args.detect_max_side,
        score_threshold: args.score_threshold,
        ..DetectorConfig::default()
    };
    let config = AnalyzerConfig { detector, ..AnalyzerConfig::default() };
    let analyzer = match Analyzer::load(&ModelPaths::in_dir(&models), config) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    let files = collect_inputs(&args.inputs);
    let bar = if files.len() > 1 { ProgressBar::new(files.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}").expect("valid template"));
    let mut reports = Vec::with_capacity(files.len());
    let mut setup_problem = false;
    for path in files {
        bar.set_message(path.display().to_string());
        let outcome = if is_video(&path) {
            check_video(&analyzer, &path, &args).unwrap_or_else(|(code, message)| {
                setup_problem |= code == "ffmpeg_missing";
                Outcome::Error { code, message }
            })
        } else {
            match std::fs::read(&path) {
                Ok(bytes) => match analyzer.analyze_bytes(&bytes) {
                    Ok(a) => Outcome::Image(Box::new(a)),
                    Err(e) => Outcome::Error { code: e.code(), message: e.to_string() },
                },
                Err(e) => Outcome::Error { code: "unreadable", message: e.to_string() },
            }
        };
        if !args.json {
            bar.suspend(|| print_row(&path, &outcome, args.real_threshold, reports.is_empty()));
        }
        reports.push(Report { path, outcome });
        bar.inc(1);
    }
    bar.finish_and_clear();
    if args.json {
        let doc = serde_json::json!({ "real_threshold": args.real_threshold, "results": reports });
        println!("{}", serde_json::to_string_pretty(&doc).expect("serialisable"));
    }
    let bad = reports.iter().any(|r| matches!(r.outcome, Outcome::Error { .. }));
    let not_live = reports.iter().any(|r| !is_single_real(&r.outcome, args.real_threshold));
    if setup_problem {
        Exit::Setup
    } else if bad {
        Exit::BadInput
    } else if args.fail_on_spoof && not_live {
        Exit::Rejected
    } else {
        Exit::Ok
    }
}

fn is_single_real(outcome: &Outcome, threshold: f32) -> bool {
    match outcome {
        Outcome::Image(a) => a.faces.len() == 1 && a.main.as_ref().is_some_and(|m| m.passive.real_probability >= threshold),
        Outcome::Video(v) => v.max_faces == 1 && v.real_probability_median.is_some_and(|p| p >= threshold),
        Outcome::Error { .. } => false,
    }
}

fn check_video(analyzer: &Analyzer, path: &Path, args: &CheckArgs) -> Result<Outcome, (&'static str, String)> {
    let options = FfmpegOptions { fps: Some(args.fps), duration_s: args.max_seconds, ..FfmpegOptions::default() };
    let frames = open_video(path, &options).map_err(media_error)?;
    let mut tracker = analyzer.tracker(TrackerConfig::default());
    let mut summary = VideoSummary::default();
    let mut reals = Vec::new();
    let start = Instant::now();
    for frame in frames {
        let frame = frame.map_err(media_error)?;
        let a = tracker.step(&frame.image).map_err(|e| (e.code(), e.to_string()))?;
        let real = match a.face_box {
            Some(b) if a.faces == 1 => Some(analyzer.passive(&frame.image, &b).map_err(|e| (e.code(), e.to_string()))?.real_probability),
            _ => None,
        };
        summary.frames += 1;
        summary.frames_one_face += usize::from(a.faces == 1 && a.measures.is_some());
        summary.max_faces = summary.max_faces.max(a.faces);
        if let Some(m) = a.measures {
            let eye = m.eye_openness[0].min(m.eye_openness[1]);
            summary.eye_openness_min = Some(summary.eye_openness_min.map_or(eye, |v| v.min(eye)));
            summary.eye_openness_max = Some(summary.eye_openness_max.map_or(eye, |v| v.max(eye)));
            summary.mouth_openness_max = Some(summary.mouth_openness_max.map_or(m.mouth_openness, |v| v.max(m.mouth_openness)));
            summary.yaw_min = Some(summary.yaw_min.map_or(m.yaw_deg, |v| v.min(m.yaw_deg)));
            summary.yaw_max = Some(summary.yaw_max.map_or(m.yaw_deg, |v| v.max(m.yaw_deg)));
        }
        reals.extend(real);
        if args.frames {
            summary.per_frame.push(VideoFrame {
                t_ms: frame.t_ms,
                faces: a.faces,
                eye_openness: a.measures.map(|m| m.eye_openness),
                mouth_openness: a.measures.map(|m| m.mouth_openness),
                yaw_deg: a.measures.map(|m| m.yaw_deg),
                pitch_deg: a.measures.map(|m| m.pitch_deg),
                real_probability: real,
            });
        }
    }
    if summary.frames == 0 {
        return Err(("no_frames", format!("{}: no video frames could be read", path.display())));
    }
    summary.ms_per_frame = start.elapsed().as_secs_f64() * 1000.0 / summary.frames as f64;
    reals.sort_by(f32::total_cmp);
    summary.real_probability_median = reals.get(reals.len() / 2).copied();
    Ok(Outcome::Video(summary))
}

fn media_error(e: huoti_media::MediaError) -> (&'static str, String) {
    let code = match e {
        huoti_media::MediaError::FfmpegMissing(_) => "ffmpeg_missing",
        huoti_media::MediaError::Io { .. } => "unreadable",
        _ => "bad_video",
    };
    (code, e.to_string())
}

fn fmt_opt(v: Option<f32>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

fn print_row(path: &Path, outcome: &Outcome, threshold: f32, header: bool) {
    if header {
        println!(
            "{:<40} {:>5} {:>6} {:>11} {:>6} {:>7} {:>7} {:>6}  verdict",
            "file", "faces", "real_p", "eyes L/R", "mouth", "yaw°", "pitch°", "ms"
        );
    }
    let name = path.display().to_string();
    let name = if name.len() > 40 { format!("…{}", &name[name.len() - 39..]) } else { name };
    match outcome {
        Outcome::Image(a) => {
            let m = a.main.as_ref();
            let verdict = match (a.faces.len(), m) {
                (0, _) | (_, None) => "no face".to_string(),
                (n, Some(m)) if m.passive.real_probability >= threshold => {
                    if n == 1 { "real".into() } else { format!("real ({n} faces)") }
                }
                (_, Some(_)) => "SPOOF?".into(),
            };
            println!(
                "{:<40} {:>5} {:>6} {:>11} {:>6} {:>7} {:>7} {:>6.0}  {}",
                name,
                a.faces.len(),
                fmt_opt(m.map(|m| m.passive.real_probability), 3),
                m.map_or("-".into(), |m| format!("{:.2}/{:.2}", m.measures.eye_openness[0], m.measures.eye_openness[1])),
                fmt_opt(m.map(|m| m.measures.mouth_openness), 2),
                fmt_opt(m.map(|m| m.measures.yaw_deg), 1),
                fmt_opt(m.map(|m| m.measures.pitch_deg), 1),
                a.timings.total_ms,
                verdict
            );
        }
        Outcome::Video(v) => {
            println!(
                "{:<40} {:>5} {:>6} {:>11} {:>6} {:>7} {:>7} {:>6.0}  video: {} frames, {} with one face, yaw {}..{}",
                name,
                v.max_faces,
                fmt_opt(v.real_probability_median, 3),
                format!("{}-{}", fmt_opt(v.eye_openness_min, 2), fmt_opt(v.eye_openness_max, 2)),
                fmt_opt(v.mouth_openness_max, 2),
                "",
                "",
                v.ms_per_frame,
                v.frames,
                v.frames_one_face,
                fmt_opt(v.yaw_min, 0),
                fmt_opt(v.yaw_max, 0)
            );
        }
        Outcome::Error { code, message } => println!("{name:<40} error [{code}]: {message}"),
    }
}
