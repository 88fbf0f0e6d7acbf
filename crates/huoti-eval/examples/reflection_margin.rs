//! The light (flash) check's margin on real faces: the reflection simulator
//! (`huoti_eval::reflection`) adds a screen's light to recorded bona fide clips for random
//! plans of both light profiles, at a sweep of amplitudes, and as glare on a replay screen;
//! prints Markdown tables (the figures in docs/EVALUATION.md).
//!
//! ```text
//! cargo run --release -p huoti-eval --example reflection_margin -- MODELS_DIR PLANS \
//!     CLIP START_S [CLIP START_S ...]
//! ```
//!
//! Each clip is decoded at 15 fps for 6 s from START_S (ffmpeg for anything but .y4m) and
//! tracked once; each plan is rendered at every amplitude.

use std::path::Path;

use huoti_eval::reflection::{CameraModel, Clip, MarginPoint, SETUPS, plans, sweep};
use huoti_liveness::LightProfile;
use huoti_media::{FfmpegOptions, open_video};
use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};

const FACE_AMPLITUDES: [f32; 7] = [0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32];
const GLARE_AMPLITUDES: [f32; 4] = [0.01, 0.05, 0.2, 1.0];
const NONCE: &str = "5eed";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 || args.len() % 2 != 0 {
        eprintln!("usage: reflection_margin MODELS_DIR PLANS CLIP START_S [CLIP START_S ...]");
        std::process::exit(2);
    }
    let analyzer = Analyzer::load(&ModelPaths::in_dir(Path::new(&args[0])), AnalyzerConfig::default())?;
    let n_plans: usize = args[1].parse()?;
    let camera = CameraModel::default();

    println!("### Screens and rooms\n\n| setup | screen on face (lx) | ambient (lx) | face amplitude a |\n|---|---|---|---|");
    for s in SETUPS {
        println!("| {} | {:.0} | {:.0} | {:.3} |", s.name, s.screen_lux(), s.ambient_lux, s.face_amplitude());
    }
    println!("\nCamera: {camera:?}; {n_plans} random plans per profile and amplitude.\n");

    for pair in args[2..].chunks(2) {
        let (path, start) = (&pair[0], pair[1].parse::<f64>()?);
        let options = FfmpegOptions { start_s: Some(start), duration_s: Some(6.0), fps: Some(15.0), ..FfmpegOptions::default() };
        let start_ms = (start * 1000.0).round() as u64;
        let mut frames = Vec::new();
        for f in open_video(Path::new(path), &options)? {
            let f = f?;
            frames.push((f.t_ms.saturating_sub(start_ms), f.image));
        }
        let clip = Clip::track(&analyzer, NONCE, frames)?;
        let name = Path::new(path).file_name().map_or(path.clone(), |n| n.to_string_lossy().into_owned());
        println!("### {name} from {start} s ({} frames)\n", clip.frames.len());
        println!("| profile | cast | amplitude | accepted | refused as glare | mean flash score |\n|---|---|---|---|---|---|");
        for profile in [LightProfile::Standard, LightProfile::PhotosensitiveSafe] {
            let plans = plans(profile, NONCE, n_plans, 17);
            let face = sweep(&clip, &plans, false, &FACE_AMPLITUDES, &camera);
            let glare = sweep(&clip, &plans, true, &GLARE_AMPLITUDES, &camera);
            for p in face.iter().chain(&glare) {
                row(p);
            }
            let all = face.iter().find(|p| p.accepted == p.plans).map_or("none".into(), |p| format!("{}", p.amplitude));
            let most = face.iter().find(|p| p.accepted * 10 >= p.plans * 9).map_or("none".into(), |p| format!("{}", p.amplitude));
            let glare_max = glare.iter().map(|p| p.accepted).max().unwrap_or(0);
            eprintln!(
                "{name} {}: smallest face amplitude accepted for every plan {all}, for 90 % {most}; glare accepted at most {glare_max}/{n_plans}",
                profile.as_str()
            );
        }
        println!();
    }
    Ok(())
}

fn row(p: &MarginPoint) {
    println!(
        "| {} | {} | {} | {}/{} | {}/{} | {:.2} |",
        p.profile.as_str(),
        if p.uniform { "glare on a replay screen" } else { "on the face" },
        p.amplitude,
        p.accepted,
        p.plans,
        p.glare,
        p.plans,
        p.mean_score
    );
}
