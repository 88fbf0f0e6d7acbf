//! Scenario tests: synthetic sessions through [`analyse`], named after the policy clause they
//! prove where they prove one (C3: the backend judges whether a real, live person operates in
//! person; L4: the decision is explainable; S1: data kept only as long as needed).

use crate::testkit::{IDENTITY_B, NONCE, Session, plan};
use crate::{
    Action, AnalysisContext, ChallengePlan, Check, Decision, FrameObservation, ReasonCode,
    SeenFrames, Verdict, analyse,
};
use Action::*;

fn judge(plan: &ChallengePlan, frames: &[FrameObservation]) -> Verdict {
    judge_seen(plan, frames, &SeenFrames::new())
}

fn judge_seen(plan: &ChallengePlan, frames: &[FrameObservation], seen: &SeenFrames) -> Verdict {
    let v = analyse(plan, frames, &AnalysisContext::new(seen));
    assert_consistent(&v);
    v
}

/// Invariants of every verdict: score band matches the decision, reasons explain it.
fn assert_consistent(v: &Verdict) {
    let band = match v.decision {
        Decision::Spoof => 0..=39,
        Decision::Uncertain => 40..=69,
        Decision::Live => 70..=100,
    };
    assert!(
        band.contains(&v.score),
        "score {} outside the band of {:?}",
        v.score,
        v.decision
    );
    for r in &v.reasons {
        assert_eq!(r.message, r.code.sentence());
    }
    let forced = v.reasons.iter().filter_map(|r| r.code.implies());
    let expected = if forced.clone().any(|d| d == Decision::Spoof) {
        Decision::Spoof
    } else if forced.clone().any(|d| d == Decision::Uncertain) {
        Decision::Uncertain
    } else {
        Decision::Live
    };
    assert_eq!(
        v.decision, expected,
        "decision must follow from the reasons: {:?}",
        v.reasons
    );
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.reasons.iter().map(|r| r.code.as_str()).collect()
}

fn live(plan: &ChallengePlan) -> Vec<FrameObservation> {
    Session::following_plan(plan.clone()).frames()
}

// --- the live path --------------------------------------------------------------------------

#[test]
fn c3_following_the_challenge_is_live() {
    for (i, actions) in [
        &[TurnLeft, Blink, OpenMouth][..],
        &[TurnRight, Nod][..],
        &[OpenMouth, TurnLeft, TurnRight][..],
        &[Nod, Blink][..],
    ]
    .iter()
    .enumerate()
    {
        let p = plan(actions, true);
        for fps in [15.0, 24.0, 30.0] {
            let frames = Session::following_plan(p.clone())
                .fps(fps)
                .seed(i as u64)
                .frames();
            let v = judge(&p, &frames);
            assert_eq!(
                v.decision,
                Decision::Live,
                "{actions:?} at {fps} fps: {:?}",
                codes(&v)
            );
            assert!(v.reasons.is_empty());
            assert!(v.score >= 70);
            assert_eq!(v.check(Check::Challenge).unwrap().passed, Some(true));
            assert_eq!(v.check(Check::Flash).unwrap().passed, Some(true));
            assert!(v.reference_frame.is_some());
        }
    }
}

#[test]
fn verdict_records_model_and_threshold_versions() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let seen = SeenFrames::new();
    let mut ctx = AnalysisContext::new(&seen);
    ctx.model_versions.push(("yunet".into(), "2023mar".into()));
    let v = analyse(&p, &live(&p), &ctx);
    assert_eq!(
        v.model_versions[0],
        ("yunet".to_owned(), "2023mar".to_owned())
    );
    assert!(
        v.model_versions
            .contains(&("thresholds".to_owned(), "builtin-4".to_owned()))
    );
}

#[test]
fn reference_frame_is_the_best_one_face_frame() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    frames[7].quality = 0.99;
    frames[9].quality = 1.0;
    frames[9].faces = 2; // not a candidate: two faces
    assert_eq!(judge(&p, &frames).reference_frame, Some(7));
}

// --- the challenge --------------------------------------------------------------------------

#[test]
fn c3_swapped_order_is_not_live() {
    let p = plan(&[TurnLeft, TurnRight], true);
    let (w0, w1) = (p.actions[0].start_ms, p.actions[1].start_ms);
    let frames = Session::new(p.clone())
        .perform(TurnRight, w0 + 800)
        .perform(TurnLeft, w1 + 800)
        .frames();
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Spoof);
    assert!(v.has(ReasonCode::ChallengeOrder), "{:?}", codes(&v));
    assert!(!v.has(ReasonCode::ChallengeMissing));
}

#[test]
fn c3_missing_action_is_not_live() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let frames = Session::new(p.clone())
        .perform(TurnLeft, p.actions[0].start_ms + 400)
        .frames();
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(codes(&v), ["challenge_missing"]);
    assert_eq!(v.check(Check::Challenge).unwrap().score, 0.5);
}

#[test]
fn c3_action_outside_its_window_is_not_credited() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    // Mouth opened during the neutral phase, and again after the plan ended.
    let mut s = Session::new(p.clone())
        .perform(TurnLeft, p.actions[0].start_ms + 400)
        .perform(OpenMouth, 100)
        .perform(OpenMouth, p.total_ms + 700);
    s.duration_ms = p.total_ms + 2500;
    let v = judge(&p, &s.frames());
    assert_eq!(v.decision, Decision::Spoof);
    assert!(v.has(ReasonCode::ChallengeMissing), "{:?}", codes(&v));
}

#[test]
fn actions_within_the_grace_margin_are_credited() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    // Mouth opens 300 ms before its window (grace 500 ms).
    let frames = Session::new(p.clone())
        .perform(TurnLeft, p.actions[0].start_ms + 400)
        .perform(OpenMouth, p.actions[1].start_ms - 300)
        .frames();
    assert_eq!(judge(&p, &frames).decision, Decision::Live);
}

#[test]
fn doing_every_action_everywhere_fails_on_order() {
    // A recording that cycles through actions: the required ones happen, but not in order.
    let p = plan(&[OpenMouth, TurnLeft], true);
    let frames = Session::new(p.clone())
        .perform(TurnLeft, p.actions[0].start_ms + 300)
        .perform(OpenMouth, p.actions[1].start_ms + 300)
        .frames();
    let v = judge(&p, &frames);
    assert!(v.has(ReasonCode::ChallengeOrder));
    assert_eq!(v.decision, Decision::Spoof);
}

#[test]
fn a_recording_that_cycles_through_every_action_is_not_live() {
    let p = plan(&[OpenMouth, Nod], true);
    let mut s = Session::new(p.clone());
    let cycle = [TurnLeft, OpenMouth, TurnRight, Nod, Blink];
    for (k, t) in (p.actions[0].start_ms - 1000..p.total_ms)
        .step_by(1500)
        .enumerate()
    {
        s = s.perform(cycle[k % cycle.len()], t);
    }
    let v = judge(&p, &s.frames());
    assert_ne!(v.decision, Decision::Live);
    assert!(v.has(ReasonCode::ChallengeUnexpected), "{:?}", codes(&v));
}

#[test]
fn a_long_eye_closure_is_not_a_blink() {
    let p = plan(&[TurnLeft, Blink], true);
    let mut s = Session::following_plan(p.clone());
    s.blink_closed_ms = 1500;
    let v = judge(&p, &s.frames());
    assert!(v.has(ReasonCode::ChallengeMissing), "{:?}", codes(&v));
}

#[test]
fn actions_are_judged_against_the_persons_own_baseline() {
    let p = plan(&[TurnLeft, TurnRight], true);
    // Someone whose phone sits to the side: resting yaw 25°. Turning right brings the yaw to
    // about -3°, which is only a right turn relative to *their* baseline.
    let mut s = Session::following_plan(p.clone());
    s.rest_yaw = 25.0;
    assert_eq!(judge(&p, &s.frames()).decision, Decision::Live);

    // Holding the head turned left throughout is not a left turn.
    let mut s = Session::new(p.clone()).perform(TurnRight, p.actions[1].start_ms + 400);
    s.rest_yaw = 30.0;
    let v = judge(&p, &s.frames());
    assert!(v.has(ReasonCode::ChallengeMissing), "{:?}", codes(&v));
}

// --- the flash ------------------------------------------------------------------------------

#[test]
fn c3_flash_followed_scores_high() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    for seed in 0..5 {
        let v = judge(&p, &Session::following_plan(p.clone()).seed(seed).frames());
        let flash = v.check(Check::Flash).unwrap();
        assert!(
            flash.score >= 0.8,
            "seed {seed}: flash score {}",
            flash.score
        );
        assert!(!v.has(ReasonCode::FlashMismatch));
    }
}

#[test]
fn c3_flash_not_followed_scores_low_and_is_uncertain() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    for seed in 0..5 {
        let frames = Session::following_plan(p.clone())
            .seed(seed)
            .reflects_flash(false)
            .frames();
        let v = judge(&p, &frames);
        let flash = v.check(Check::Flash).unwrap();
        assert!(
            flash.score < 0.5,
            "seed {seed}: flash score {}",
            flash.score
        );
        assert_eq!(flash.passed, Some(false));
        assert_eq!(codes(&v), ["flash_mismatch"]);
        assert_eq!(v.decision, Decision::Uncertain);
    }
}

#[test]
fn flash_check_compares_face_with_background_not_absolute_colour() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    // White balance that cancels the flash's tint on the face: the face's absolute colour
    // barely changes, but the background shifts the other way; the difference still follows.
    let mut s = Session::following_plan(p.clone());
    s.awb_follows_flash = true;
    let v = judge(&p, &s.frames());
    assert!(
        v.check(Check::Flash).unwrap().score >= 0.8,
        "{:?}",
        v.check(Check::Flash)
    );

    // A face that reflects nothing, under a white balance that jumps with each flash: the
    // whole frame changes colour in step with the screen, which must not count as a response.
    let mut s = Session::following_plan(p.clone()).reflects_flash(false);
    s.awb_follows_flash = true;
    let v = judge(&p, &s.frames());
    assert!(
        v.check(Check::Flash).unwrap().score < 0.5,
        "{:?}",
        v.check(Check::Flash)
    );
    assert!(v.has(ReasonCode::FlashMismatch));
}

#[test]
fn flash_response_to_a_different_sequence_scores_low() {
    // A video recorded during another session's flashes, replayed against this plan.
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut other = p.clone();
    let rotated: Vec<[u8; 3]> = other
        .flashes
        .iter()
        .map(|f| f.rgb)
        .cycle()
        .skip(2)
        .take(5)
        .collect();
    for (f, rgb) in other.flashes.iter_mut().zip(rotated) {
        f.rgb = rgb;
    }
    let mut s = Session::following_plan(p.clone());
    s.plan = other;
    let v = judge(&p, &s.frames());
    assert!(v.check(Check::Flash).unwrap().score < 0.5);
    assert!(v.has(ReasonCode::FlashMismatch));
}

#[test]
fn a_fixed_plan_without_light_is_noted_and_can_still_be_live() {
    let p = plan(&[TurnRight, Nod], false);
    assert!(p.fixed && !p.has_light());
    let v = judge(&p, &live(&p));
    assert_eq!(v.decision, Decision::Live);
    assert_eq!(codes(&v), ["flash_reduced"]);
    assert!(v.check(Check::Flash).is_none());
}

// --- integrity ------------------------------------------------------------------------------

#[test]
fn c3_static_photo_is_spoof_even_when_passive_says_real() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut photo = Session::new(p.clone()).passive(0.99).frames()[3].clone();
    photo.face.as_mut().unwrap().landmark_motion = 0.0;
    photo.face.as_mut().unwrap().passive_real = Some(0.99);
    let copies = |n: u32| -> Vec<FrameObservation> {
        (0..n)
            .map(|i| FrameObservation {
                seq: i,
                t_ms: 20 + 66 * i as u64 + (i as u64 * 7) % 5,
                ..photo.clone()
            })
            .collect()
    };
    for n in [30, 200] {
        let v = judge(&p, &copies(n));
        assert_eq!(v.decision, Decision::Spoof);
        assert!(
            v.has(ReasonCode::StaticPresentation),
            "{n} copies: {:?}",
            codes(&v)
        );
        assert!(
            !v.has(ReasonCode::PassiveSpoof),
            "the passive score alone would pass"
        );
    }
}

#[test]
fn a_still_but_live_person_is_not_static() {
    // A live person keeping very still: hashes barely change, but landmarks still move.
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    let h = frames[0].frame_hash;
    for f in &mut frames {
        f.frame_hash = h;
    }
    assert!(!judge(&p, &frames).has(ReasonCode::StaticPresentation));
}

#[test]
fn c3_replayed_frames_from_an_earlier_session_are_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let earlier = live(&p);
    let mut seen = SeenFrames::new();
    assert_eq!(judge_seen(&p, &earlier, &seen).decision, Decision::Live);
    seen.insert_session("session-a", earlier.iter().map(|f| &f.frame_hash), 1_000);

    // The attacker replays the recorded frames, rebound to the new session's nonce.
    let new_plan = ChallengePlan {
        nonce: "ab12".into(),
        ..p.clone()
    };
    let replay: Vec<FrameObservation> = earlier
        .iter()
        .map(|f| FrameObservation {
            nonce: "ab12".into(),
            ..f.clone()
        })
        .collect();
    let v = judge_seen(&new_plan, &replay, &seen);
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(codes(&v), ["replayed_frames"]);

    // A fresh live session is not mistaken for a replay.
    let fresh = Session::following_plan(p.clone()).seed(99).frames();
    assert_eq!(judge_seen(&p, &fresh, &seen).decision, Decision::Live);
}

#[test]
fn s1_expired_hashes_no_longer_flag_replays() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let earlier = live(&p);
    let mut seen = SeenFrames::new();
    seen.insert_session("session-a", earlier.iter().map(|f| &f.frame_hash), 1_000);
    assert!(judge_seen(&p, &earlier, &seen).has(ReasonCode::ReplayedFrames));
    let ttl = 24 * 3600 * 1000;
    seen.expire(1_000 + ttl, ttl);
    assert!(seen.is_empty());
    assert_eq!(judge_seen(&p, &earlier, &seen).decision, Decision::Live);
}

#[test]
fn a_few_similar_frames_from_a_retry_are_not_a_replay() {
    // The same person retrying in the same room: a handful of neutral frames look the same.
    let p = plan(&[TurnLeft, OpenMouth], true);
    let first = live(&p);
    let mut seen = SeenFrames::new();
    seen.insert_session("first-try", first.iter().map(|f| &f.frame_hash), 0);
    let mut retry = Session::following_plan(p.clone()).seed(5).frames();
    for i in 0..8 {
        retry[i].frame_hash = first[i].frame_hash;
    }
    assert!(!judge_seen(&p, &retry, &seen).has(ReasonCode::ReplayedFrames));
}

fn renumber(frames: &mut [FrameObservation]) {
    for (i, f) in frames.iter_mut().enumerate() {
        f.seq = i as u32;
    }
}

#[test]
fn c3_sequence_gap_is_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    frames.remove(40);
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(codes(&v), ["sequence_invalid"]);
}

#[test]
fn c3_repeated_sequence_number_is_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    // An extra frame squeezed in with a reused number (its time is plausible).
    let mut extra = frames[40].clone();
    extra.t_ms += 10;
    frames.insert(41, extra);
    assert!(judge(&p, &frames).has(ReasonCode::SequenceInvalid));
    // Renumbered, the same frames pass the sequence check.
    renumber(&mut frames);
    assert!(!judge(&p, &frames).has(ReasonCode::SequenceInvalid));
}

#[test]
fn c3_non_monotonic_time_is_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    let (a, b) = (frames[20].t_ms, frames[21].t_ms);
    frames[20].t_ms = b;
    frames[21].t_ms = a;
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(codes(&v), ["timing_implausible"]);
}

#[test]
fn c3_implausible_frame_rates_are_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let v = judge(&p, &Session::following_plan(p.clone()).fps(100.0).frames());
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(codes(&v), ["timing_implausible"]);

    // A one-second hole in an otherwise normal stream.
    let mut frames = live(&p);
    for f in frames.iter_mut().skip(60) {
        f.t_ms += 1200;
    }
    assert!(judge(&p, &frames).has(ReasonCode::TimingImplausible));

    // 60 fps is a real camera.
    let v = judge(&p, &Session::following_plan(p.clone()).fps(60.0).frames());
    assert!(!v.has(ReasonCode::TimingImplausible), "{:?}", codes(&v));
}

// --- arrival times (issue 19, defect 11) --------------------------------------------------------

/// The server's clock when the capture of these tests starts.
const START_MS: u64 = 1_800_000_000_000;

fn judge_arrived(plan: &ChallengePlan, frames: &[FrameObservation], arrivals: impl IntoIterator<Item = (u32, u64)>) -> Verdict {
    let seen = SeenFrames::new();
    let mut ctx = AnalysisContext::new(&seen);
    ctx.arrivals = arrivals.into_iter().collect();
    let v = analyse(plan, frames, &ctx);
    assert_consistent(&v);
    v
}

/// The tolerance these tests state: the frames' arrivals may span up to 3 s less than their
/// capture (`arrival_tolerance_ms`): jitter, a slow uplink, a stall in the middle caught up
/// later, and one frame retried long after keep a live capture live.
#[test]
fn c3_frames_uploaded_while_captured_stay_live_through_jitter_a_slow_uplink_a_stall_and_a_late_retry() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let frames = live(&p);
    assert_eq!(crate::Thresholds::default().arrival_tolerance_ms, 3000);
    // 80 ms of latency, up to 250 ms of jitter; uploads in flight overtake each other.
    let jitter = |i: usize| (i as u64 * 97) % 250;
    let steady: Vec<(u32, u64)> = frames.iter().enumerate().map(|(i, f)| (f.seq, START_MS + f.t_ms + 80 + jitter(i))).collect();
    let v = judge_arrived(&p, &frames, steady);
    assert_eq!(v.decision, Decision::Live, "{:?}", codes(&v));
    // An uplink slower than the camera: each frame waits for the one before.
    let slow: Vec<(u32, u64)> = frames.iter().enumerate().map(|(i, f)| (f.seq, START_MS + 80 + i as u64 * 120)).collect();
    assert!(!judge_arrived(&p, &frames, slow).has(ReasonCode::ArrivalBurst));
    // A 5 s stall from 1 s in: the frames held meanwhile arrive together when it ends.
    let stalled: Vec<(u32, u64)> =
        frames.iter().map(|f| (f.seq, START_MS + 80 + if (1000..6000).contains(&f.t_ms) { 6000 } else { f.t_ms })).collect();
    let v = judge_arrived(&p, &frames, stalled);
    assert_eq!(v.decision, Decision::Live, "{:?}", codes(&v));
    // One frame whose upload failed, retried 20 s later.
    let retried: Vec<(u32, u64)> =
        frames.iter().map(|f| (f.seq, START_MS + 80 + f.t_ms + if f.seq == 5 { 20_000 } else { 0 })).collect();
    let v = judge_arrived(&p, &frames, retried);
    assert_eq!(v.decision, Decision::Live, "{:?}", codes(&v));
    // The first 2.9 s held back, then sent at once: within the tolerance.
    let held: Vec<(u32, u64)> = frames.iter().map(|f| (f.seq, START_MS + 80 + f.t_ms.max(2900))).collect();
    assert!(!judge_arrived(&p, &frames, held).has(ReasonCode::ArrivalBurst));
}

#[test]
fn c3_frames_rendered_offline_and_uploaded_in_one_burst_are_not_live() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let frames = live(&p);
    let captured = frames.iter().map(|f| f.t_ms).max().unwrap() - frames.iter().map(|f| f.t_ms).min().unwrap();
    assert!(captured > 6000, "a capture of {captured} ms");
    // The whole challenge rendered after the fact, then 5 ms apart in one burst.
    let burst: Vec<(u32, u64)> = frames.iter().enumerate().map(|(i, f)| (f.seq, START_MS + 20_000 + i as u64 * 5)).collect();
    let v = judge_arrived(&p, &frames, burst);
    assert_eq!(v.decision, Decision::Uncertain, "never live");
    assert_eq!(codes(&v), ["arrival_burst"]);
    assert!(v.reasons[0].message.contains("burst"));
    // The first 3.5 s held back (beyond the tolerance), then everything sent at once.
    let held: Vec<(u32, u64)> = frames.iter().map(|f| (f.seq, START_MS + 80 + f.t_ms.max(3500))).collect();
    assert!(judge_arrived(&p, &frames, held).has(ReasonCode::ArrivalBurst));
    // Without arrival times (offline analysis, evaluation) the check does not run.
    assert_eq!(judge(&p, &frames).decision, Decision::Live);
    assert_eq!(judge_arrived(&p, &frames, []).decision, Decision::Live);
}

#[test]
fn c3_wrong_nonce_is_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    frames[5].nonce = "deadbeef".into();
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(codes(&v), ["nonce_mismatch"]);
    assert_ne!(NONCE, "deadbeef");
}

#[test]
fn too_few_frames_is_uncertain() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let v = judge(&p, &Session::following_plan(p.clone()).fps(5.5).frames());
    assert!(
        !v.has(ReasonCode::TooFewFrames),
        "5.5 fps is enough: {:?}",
        codes(&v)
    );
    let v = judge(&p, &[]);
    assert_eq!(v.decision, Decision::Uncertain);
    assert!(v.has(ReasonCode::TooFewFrames));
    // Frames that stop half-way: the last window cannot be judged.
    let frames: Vec<_> = live(&p)
        .into_iter()
        .filter(|f| f.t_ms < p.actions[1].start_ms)
        .collect();
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Uncertain);
    assert!(v.has(ReasonCode::TooFewFrames));
}

// --- faces ----------------------------------------------------------------------------------

#[test]
fn c3_two_faces_are_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    for f in frames.iter_mut().skip(30).take(30) {
        f.faces = 2;
    }
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(codes(&v), ["multiple_faces"]);

    // A second face in two frames (someone walking past) is tolerated.
    let mut frames = live(&p);
    frames[30].faces = 2;
    frames[31].faces = 2;
    assert_eq!(judge(&p, &frames).decision, Decision::Live);
}

#[test]
fn c3_face_swapped_mid_session_is_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut s = Session::following_plan(p.clone());
    let a = s.frames();
    s.identity = IDENTITY_B;
    let b = s.frames();
    let cut = a
        .iter()
        .position(|f| f.t_ms >= p.actions[1].start_ms)
        .unwrap();

    // Swapped with a jump of the face box.
    let mut frames: Vec<_> = a[..cut]
        .iter()
        .cloned()
        .chain(b[cut..].iter().cloned())
        .collect();
    for f in &mut frames[cut..] {
        f.face.as_mut().unwrap().bbox[0] += 0.3;
    }
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Spoof);
    assert!(v.has(ReasonCode::FaceChanged), "{:?}", codes(&v));

    // Swapped in place (no jump): the shape drifts away from the baseline.
    let frames: Vec<_> = a[..cut]
        .iter()
        .cloned()
        .chain(b[cut..].iter().cloned())
        .collect();
    assert!(judge(&p, &frames).has(ReasonCode::FaceChanged));

    // A detector glitch moves the box but not the face: not a swap.
    let mut frames = a.clone();
    frames[cut].face.as_mut().unwrap().bbox[0] += 0.4;
    assert!(!judge(&p, &frames).has(ReasonCode::FaceChanged));
}

#[test]
fn faces_missing_in_many_frames_is_uncertain() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    for f in frames.iter_mut().step_by(2) {
        f.faces = 0;
        f.face = None;
    }
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Uncertain);
    assert!(v.has(ReasonCode::NoFace), "{:?}", codes(&v));

    let mut frames = live(&p);
    for f in &mut frames {
        f.faces = 0;
        f.face = None;
    }
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Uncertain);
    assert!(v.has(ReasonCode::NoFace));
    assert_eq!(v.reference_frame, None);
}

// --- passive --------------------------------------------------------------------------------

#[test]
fn c3_passive_spoof_is_spoof() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let v = judge(
        &p,
        &Session::following_plan(p.clone()).passive(0.2).frames(),
    );
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(codes(&v), ["passive_spoof"]);
}

#[test]
fn no_passive_score_is_uncertain() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    for f in &mut frames {
        f.face.as_mut().unwrap().passive_real = None;
    }
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Uncertain);
    assert_eq!(codes(&v), ["passive_unavailable"]);
}

#[test]
fn select_passive_frames_spreads_over_time_from_the_first_frame_blind_to_sharpness() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    for f in &mut frames {
        f.quality = 0.5;
    }
    frames[0].faces = 0; // no face in the very first frame: the first one with a face leads
    let span = p.total_ms;
    // The parts' starting points: 0, then the middles of the other three quarters.
    let targets: Vec<u64> = (0..4u64).map(|i| if i == 0 { 0 } else { span * (2 * i + 1) / 8 }).collect();
    let times: Vec<u64> = frames.iter().map(|f| f.t_ms).collect();
    let first_at = |t: u64| times.iter().position(|&x| x >= t).unwrap();
    let poor = first_at(targets[1]);
    frames[poor].quality = 0.05; // far below the median so far: never scored, the next stands in
    let sharp = first_at(targets[2]) + 1;
    frames[sharp].quality = 1.0; // the sharpest frame is not preferred
    let chosen = crate::select_passive_frames(&frames, 4, span);
    let expected: Vec<u32> =
        vec![1, frames[poor + 1].seq, frames[first_at(targets[2])].seq, frames[first_at(targets[3])].seq];
    assert_eq!(chosen, expected);
    assert!(frames[chosen[0] as usize].t_ms < 1000, "the first second is scored");
    assert!(!chosen.contains(&frames[poor].seq) && !chosen.contains(&frames[sharp].seq));
    assert!(crate::select_passive_frames(&frames, 0, span).is_empty());
    assert_eq!(crate::select_passive_frames(&frames[..2], 5, span), vec![1], "a session cut short gives fewer");
    // Offered one by one, in order, the picker makes the same choice.
    let mut picker = crate::PassivePicker::new(4, span);
    let online: Vec<u32> = frames.iter().filter(|f| picker.offer(f)).map(|f| f.seq).collect();
    assert_eq!(online, chosen);
}

// --- explanations ---------------------------------------------------------------------------

#[test]
fn l4_every_reason_has_a_sentence() {
    let mut names = std::collections::HashSet::new();
    for code in crate::ReasonCode::ALL {
        let s = code.sentence();
        assert!(
            s.len() > 20 && s.ends_with('.') && s.starts_with(char::is_uppercase),
            "{code}"
        );
        let name = code.as_str();
        assert!(
            name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{name}"
        );
        assert!(names.insert(name), "duplicate code {name}");
        assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{name}\""));
        let reason = crate::Reason::from(code);
        assert_eq!(reason.message, s);
    }
    // ALL is in severity order, which is also the order reasons appear in.
    let mut sorted = crate::ReasonCode::ALL;
    sorted.sort();
    assert_eq!(sorted, crate::ReasonCode::ALL);
}

#[test]
fn l4_reasons_explain_every_non_live_verdict() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    frames.remove(3);
    frames[8].nonce = "00".into();
    let v = judge(&p, &frames);
    assert_eq!(v.decision, Decision::Spoof);
    assert_eq!(
        codes(&v),
        ["sequence_invalid", "nonce_mismatch"],
        "most severe first"
    );
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["decision"], "spoof");
    assert_eq!(json["reasons"][0]["code"], "sequence_invalid");
    assert!(
        json["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sequence numbers")
    );
    assert_eq!(json["checks"][0]["check"], "challenge");
}

#[test]
fn analysis_survives_garbage_measurements() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let mut frames = live(&p);
    for f in frames.iter_mut().step_by(3) {
        let face = f.face.as_mut().unwrap();
        face.yaw_deg = f32::NAN;
        face.face_rgb = [f32::INFINITY, -5.0, f32::NAN];
        face.shape.clear();
        f.quality = f32::NAN;
    }
    let v = judge(&p, &frames);
    assert!(v.score <= 100);
}
