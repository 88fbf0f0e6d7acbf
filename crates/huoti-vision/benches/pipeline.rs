//! Per-stage and per-frame time of the vision pipeline on real frames, one thread.
//!
//! `cargo bench -p huoti-vision --bench pipeline -- --frames DIR [--json OUT] [--detect-max-side N]`
//!
//! Two pipelines run on the same frames (PNG files, sorted by name):
//! - **naive** — what the Python reference does: decode, detect, mesh, both anti-spoof nets on
//!   every frame (stage by stage, so each stage can be compared with onnxruntime);
//! - **tracked** — what a session does: detect every 10th frame, follow the face with FaceMesh,
//!   and run the anti-spoof nets on 5 frames of the clip only.
//!
//! The naive pass also times the Iris model on both eyes (`iris`), which a session runs only on
//! the frames of a blink step's window and the end of the resting time, beside FaceMesh.
//! Face match is timed apart (stage `embed`, not in `total`): alignment onto SFace's 112×112
//! template and SFace itself, for every frame's detected face.
//!
//! `bench/vision.sh` runs this and the Python reference in one go and prints both side by side.

use std::path::PathBuf;
use std::time::Instant;

use huoti_vision::{
    crop_for_face, decode_image, Analyzer, AnalyzerConfig, DecodeLimits, DetectorConfig, EyeRegions, FaceMatcher,
    MatcherConfig, ModelPaths, TrackerConfig,
};

const PASSIVE_FRAMES: usize = 5;

struct Stats(Vec<f64>);

impl Stats {
    fn json(&self) -> serde_json::Value {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        let n = v.len().max(1);
        let median = if v.is_empty() { 0.0 } else { v[v.len() / 2] };
        let p90 = if v.is_empty() { 0.0 } else { v[((v.len() as f64 * 0.9) as usize).min(v.len() - 1)] };
        serde_json::json!({ "median_ms": median, "mean_ms": v.iter().sum::<f64>() / n as f64, "p90_ms": p90, "n": v.len() })
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut frames_dir, mut json_out, mut max_side) = (None, None, 640u32);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--frames" => frames_dir = args.next().map(PathBuf::from),
            "--json" => json_out = args.next().map(PathBuf::from),
            "--detect-max-side" => max_side = args.next().and_then(|v| v.parse().ok()).expect("a number"),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let frames_dir = frames_dir.expect("--frames DIR (make them with bench/extract_frames.sh)");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&frames_dir)
        .expect("frames dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png" || e == "jpg"))
        .collect();
    files.sort();
    let bytes: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).expect("frame")).collect();

    let models = huoti_assets::testing::models_dir();
    let detector = DetectorConfig { max_side, ..DetectorConfig::default() };
    let analyzer = Analyzer::load(&ModelPaths::in_dir(models), AnalyzerConfig { detector, ..Default::default() })
        .expect("models load");
    let limits = DecodeLimits::default();
    let matcher = FaceMatcher::load(&ModelPaths::in_dir(models), MatcherConfig { detector, ..Default::default() })
        .expect("YuNet and SFace load");

    // Warm-up: the first run of each plan pays one-off costs.
    for b in bytes.iter().take(3) {
        let img = decode_image(b, &limits).unwrap();
        let a = analyzer.analyze(&img).unwrap();
        if let Some(main) = a.main {
            let _ = matcher.embed(&img, &main.face).unwrap();
        }
    }

    let (mut decode, mut detect, mut mesh, mut anti, mut total) = (vec![], vec![], vec![], vec![], vec![]);
    let mut iris = vec![];
    let mut embed = vec![];
    let mut reals = vec![];
    for b in &bytes {
        let t0 = Instant::now();
        let mut iris_ms = 0.0;
        let t = Instant::now();
        let img = decode_image(b, &limits).unwrap();
        decode.push(ms(t));
        let t = Instant::now();
        let faces = analyzer.detect(&img, &detector).unwrap();
        detect.push(ms(t));
        let largest = faces.iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()));
        if let Some(face) = largest {
            let t = Instant::now();
            let m = analyzer.mesh(&img, crop_for_face(face)).unwrap();
            let _ = huoti_vision::measure(&m);
            mesh.push(ms(t));
            // Not part of `total` (the reference has no Iris stage): a session runs it only
            // where a blink is judged.
            let t = Instant::now();
            let _ = analyzer.eye_openness(&img, &EyeRegions::of(&m)).unwrap();
            iris_ms = ms(t);
            iris.push(iris_ms);
            let t = Instant::now();
            reals.push(analyzer.passive(&img, &face.bbox).unwrap().real_probability);
            anti.push(ms(t));
        }
        total.push(ms(t0) - iris_ms);
        if let Some(face) = largest {
            let t = Instant::now();
            let _ = matcher.embed(&img, face).unwrap();
            embed.push(ms(t));
        }
    }

    // The session pipeline: decode + tracker on every frame, anti-spoof on 3 frames/s.
    let images: Vec<_> = bytes.iter().map(|b| decode_image(b, &limits).unwrap()).collect();
    let mut tracker = analyzer.tracker(TrackerConfig::default());
    let mut tracked = vec![];
    let t_all = Instant::now();
    let mut boxes = vec![];
    for (i, b) in bytes.iter().enumerate() {
        let t = Instant::now();
        let img = decode_image(b, &limits).unwrap();
        let a = tracker.step(&img).unwrap();
        tracked.push(ms(t));
        if let Some(bb) = a.face_box {
            boxes.push((i, bb));
        }
    }
    // A session scores a few good frames, not all: here 5, spread evenly.
    let picks: Vec<_> = (0..PASSIVE_FRAMES.min(boxes.len()))
        .map(|k| &boxes[k * boxes.len() / PASSIVE_FRAMES.min(boxes.len())])
        .collect();
    let t = Instant::now();
    for (i, bb) in &picks {
        let _ = analyzer.passive(&images[*i], bb).unwrap();
    }
    let passive_total = ms(t);
    let session_ms = ms(t_all);

    let report = serde_json::json!({
        "runtime": "tract-onnx 0.23 (Rust, release)",
        "threads": 1,
        "frames": bytes.len(),
        "detect_max_side": max_side,
        "stages": {
            "decode": Stats(decode).json(), "detect": Stats(detect).json(), "mesh": Stats(mesh).json(),
            "antispoof": Stats(anti).json(), "total": Stats(total).json(), "iris": Stats(iris).json(),
            "embed": Stats(embed).json(),
        },
        "tracked": {
            "per_frame": Stats(tracked).json(),
            "passive_frames": picks.len(),
            "passive_total_ms": passive_total,
            "session_ms": session_ms,
            "session_ms_per_frame": session_ms / bytes.len().max(1) as f64,
        },
        "per_frame_real_prob": reals,
    });
    if let Some(out) = json_out {
        std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).expect("write json");
    }
    println!("{}", serde_json::to_string_pretty(&report["stages"]).unwrap());
    println!("tracked: {}", report["tracked"]);
}
