//! Time from `complete` to verdict for one session, one thread.
//!
//! `cargo bench -p huoti-engine --bench session -- --frames DIR [--jpeg-out DIR] [--json OUT]`
//!
//! The frames (PNG, sorted) are JPEG-encoded as a client uploads them, then analysed two ways:
//! - **at complete**: every frame decoded and tracked when `complete` arrives, then the verdict
//!   (what the server does today);
//! - **on arrival**: frames decoded and tracked as they are uploaded; `complete` only scores
//!   the few passive frames and fuses — the figure the design aims at.
//!
//! `bench/session.sh` runs this beside the naive Python reference (every model on every
//! frame) on the same JPEG files.

use std::path::PathBuf;
use std::time::Instant;

use huoti_engine::SessionRun;
use huoti_liveness::{Action, ActionStep, ChallengePlan, SeenFrames};
use huoti_vision::{decode_image, Analyzer, AnalyzerConfig, DecodeLimits, ModelPaths};

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut frames_dir, mut json_out, mut jpeg_out) = (None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--frames" => frames_dir = args.next().map(PathBuf::from),
            "--json" => json_out = args.next().map(PathBuf::from),
            "--jpeg-out" => jpeg_out = args.next().map(PathBuf::from),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let frames_dir = frames_dir.expect("--frames DIR");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&frames_dir).expect("frames dir").flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "png"));
    files.sort();
    let limits = DecodeLimits::default();
    let jpegs: Vec<Vec<u8>> = files
        .iter()
        .map(|p| {
            let img = decode_image(&std::fs::read(p).unwrap(), &limits).unwrap();
            let mut out = std::io::Cursor::new(Vec::new());
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img).unwrap();
            out.into_inner()
        })
        .collect();
    if let Some(dir) = &jpeg_out {
        std::fs::create_dir_all(dir).unwrap();
        for (i, j) in jpegs.iter().enumerate() {
            std::fs::write(dir.join(format!("frame_{i:04}.jpg")), j).unwrap();
        }
    }
    let analyzer = Analyzer::load(&ModelPaths::in_dir(huoti_assets::testing::models_dir()), AnalyzerConfig::default())
        .expect("models load");
    let fps = 15u64;
    let plan = ChallengePlan::fixed(
        "0123456789abcdef",
        vec![
            ActionStep { action: Action::OpenMouth, start_ms: 1000, end_ms: 2500 },
            ActionStep { action: Action::TurnLeft, start_ms: 2500, end_ms: 4000 },
        ],
        vec![],
    )
    .expect("valid plan");
    let seen = SeenFrames::new();

    let run_once = |timing: &mut Vec<f64>| -> (f64, f64) {
        let start = Instant::now();
        let mut run = SessionRun::new(&analyzer, plan.clone());
        for (i, j) in jpegs.iter().enumerate() {
            let t = Instant::now();
            let img = decode_image(j, &limits).unwrap();
            run.push_frame(i as u32, i as u64 * 1000 / fps, &img).unwrap();
            timing.push(ms(t));
        }
        let frames_done = ms(start);
        let t = Instant::now();
        let _verdict = run.finish(&seen, vec![]).unwrap();
        (frames_done, ms(t))
    };
    let mut warm = Vec::new();
    run_once(&mut warm);
    let (mut at_complete, mut finish, mut per_frame) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        let (frames_ms, finish_ms) = run_once(&mut per_frame);
        at_complete.push(frames_ms + finish_ms);
        finish.push(finish_ms);
    }
    let report = serde_json::json!({
        "frames": jpegs.len(),
        "size": decode_image(&jpegs[0], &limits).map(|i| [i.width(), i.height()]).unwrap(),
        "runs": 5,
        "complete_to_verdict_at_complete_ms": median(at_complete),
        "complete_to_verdict_on_arrival_ms": median(finish),
        "per_frame_on_arrival_ms": median(per_frame),
    });
    if let Some(out) = json_out {
        std::fs::write(out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}
