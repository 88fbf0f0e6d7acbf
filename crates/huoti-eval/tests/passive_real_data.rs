//! End to end on real public samples (../shared/data, fetched and verified by
//! `huoti_assets::testing`): a manifest of bona fide, print and replay images and a bona fide
//! clip, scored in passive mode with the real models.

use std::io::Write;

use huoti_assets::testing::{data_file, models_dir};
use huoti_eval::dataset::{self, LabelMap};
use huoti_eval::report::{self, Settings};
use huoti_eval::run::{Mode, RunOptions, Status};
use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};

fn analyzer() -> Analyzer {
    Analyzer::load(&ModelPaths::in_dir(models_dir()), AnalyzerConfig::default()).expect("models load")
}

#[test]
fn passive_scores_separate_real_faces_from_print_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("MANIFEST.tsv");
    let mut f = std::fs::File::create(&manifest).unwrap();
    writeln!(f, "path\tkind").unwrap();
    for (path, kind) in [
        ("silent-face-anti-spoofing/image_T1.jpg", "bonafide-image"),
        ("scikit-image/astronaut.png", "bonafide-image"),
        ("liveportrait/d0.mp4", "bonafide-video"),
        ("silent-face-anti-spoofing/image_F1.jpg", "spoof-print"),
        ("silent-face-anti-spoofing/image_F2.jpg", "spoof-replay"),
        ("bob.pad.face/test_image.png", "other"),
    ] {
        // Absolute paths are allowed in a manifest.
        writeln!(f, "{}\t{kind}", data_file(path).display()).unwrap();
    }
    drop(f);
    let ds = dataset::load(&manifest, &LabelMap::default()).unwrap();
    assert_eq!(ds.presentations.len(), 5);
    assert_eq!(ds.skipped.len(), 1, "`other` is skipped with a note");

    let analyzer = analyzer();
    let settings = Settings {
        source: "test".into(),
        mode: Mode::Passive,
        fps: 5.0,
        session_fps: 15.0,
        threshold: 0.5,
        target_bpcer: Some(0.05),
        target_apcer: Some(0.0),
        capture: None,
    };
    let mut seen = 0;
    let report = huoti_eval::evaluate(&analyzer, &ds, &RunOptions::default(), settings, |_, n, _| {
        seen += 1;
        assert_eq!(n, 5);
    });
    assert_eq!(seen, 5);
    for r in &report.presentations {
        assert_eq!(r.status, Status::Scored, "{}: {:?}", r.name, r.message);
        let score = r.score.unwrap();
        if r.is_bona_fide() {
            assert!(score > 0.5, "{} is bona fide but scored {score}", r.name);
        } else {
            assert!(score < 0.5, "{} is an attack ({}) but scored {score}", r.name, r.label);
        }
    }
    let clip = report.presentations.iter().find(|r| r.name.ends_with("d0.mp4")).unwrap();
    assert!(clip.frames.unwrap() >= 10 && clip.frames_scored.unwrap() >= 10, "{clip:?}");

    // At 0.5 everything is right: APCER 0/1 per species, BPCER 0/3.
    let p = report.operating_points[0].point.as_ref().unwrap();
    assert_eq!((p.bpcer.errors, p.bpcer.total), (0, 3));
    assert_eq!((p.apcer["print"].errors, p.apcer["print"].total), (0, 1));
    assert_eq!((p.apcer["replay"].errors, p.apcer["replay"].total), (0, 1));
    assert_eq!(p.acer, Some(0.0));
    // …and the intervals say how little that proves: 0/1 allows up to ~79 %.
    assert!(p.apcer["print"].ci95.unwrap().1 > 0.7);

    let out = dir.path().join("out");
    let written = report::write_all(report, &out).unwrap();
    for f in &written.files {
        assert!(out.join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("APCER_max") && md.contains("Wilson") && md.contains("smoke test"), "{md}");
}
