//! Tests of reaction timing (a child module of `onset`). Tolerances, as the defaults state: a
//! movement may start at most 100 ms before its prompt and at most 2000 ms after it; the start
//! is where the departure first reaches half of the needed one (a synthetic turn of 28° rising
//! over 300 ms reaches 6° about 65 ms after it begins: one frame at 15 fps).
use super::*;
use crate::Action::{Blink, OpenMouth, TurnLeft};
use crate::testkit::{Session, plan};
use crate::{AnalysisContext, Decision, SeenFrames, Verdict, analyse};

/// A production plan (not fixed): three actions after a standard light step.
fn production(actions: &[Action]) -> ChallengePlan {
    let mut p = plan(actions, true);
    p.fixed = false;
    p.validate().unwrap();
    p
}

fn judge(p: &ChallengePlan, s: &Session) -> (Vec<Reaction>, Verdict) {
    let frames = s.frames();
    let seen = SeenFrames::new();
    (reactions(p, &frames, &Thresholds::default()), analyse(p, &frames, &AnalysisContext::new(&seen)))
}

#[test]
fn the_tolerances_are_the_ones_the_tests_state() {
    let th = Thresholds::default();
    assert_eq!((th.reaction_early_tolerance_ms, th.reaction_late_ms, th.reaction_start_fraction), (100, 2000, 0.5));
}

#[test]
fn c3_actions_started_after_their_prompts_are_in_time_and_live() {
    let p = production(&[TurnLeft, OpenMouth, Blink]);
    let (r, v) = judge(&p, &Session::following_plan(p.clone()));
    for (reaction, step) in r.iter().zip(&p.actions) {
        assert_eq!((reaction.action, reaction.prompt_ms, reaction.timing), (step.action, step.start_ms, Timing::InTime), "{r:?}");
        // Performed 400 ms after the prompt: the start is seen on the first frame past it.
        let ms = reaction.reaction_ms.unwrap();
        assert!((400..=400 + 140).contains(&ms), "{:?}: {ms} ms", step.action);
    }
    assert_eq!(v.decision, Decision::Live, "{:?}", v.reasons);
    assert!(!v.has(ReasonCode::ReactionTiming));
}

#[test]
fn c3_a_turn_started_before_its_prompt_is_early_and_never_live() {
    let p = production(&[TurnLeft, OpenMouth]);
    let w = p.actions[0].start_ms;
    // 300 ms before the prompt: inside the 500 ms grace, so the challenge still credits it.
    let early = Session::new(p.clone()).perform(TurnLeft, w - 300).perform(OpenMouth, p.actions[1].start_ms + 400);
    let (r, v) = judge(&p, &early);
    assert_eq!(r[0].timing, Timing::Early, "{r:?}");
    assert!(r[0].reaction_ms.unwrap() < -100, "{r:?}");
    assert_eq!(r[1].timing, Timing::InTime);
    assert_eq!(v.check(crate::Check::Challenge).unwrap().passed, Some(true), "the actions match their windows");
    assert!(v.has(ReasonCode::ReactionTiming), "{:?}", v.reasons);
    assert_eq!(v.decision, Decision::Uncertain);

    // At the prompt itself: in time (the tolerance covers the frame clock).
    let (r, v) = judge(&p, &Session::new(p.clone()).perform(TurnLeft, w).perform(OpenMouth, p.actions[1].start_ms + 400));
    assert_eq!(r[0].timing, Timing::InTime, "{r:?}");
    assert_eq!(v.decision, Decision::Live, "{:?}", v.reasons);

    // A fixed (test-mode) plan is laid over a recording: reported, not judged.
    let mut fixed = p.clone();
    fixed.fixed = true;
    let (r, v) = judge(&fixed, &Session { plan: fixed.clone(), ..early });
    assert_eq!(r[0].timing, Timing::Early);
    assert!(!v.has(ReasonCode::ReactionTiming), "{:?}", v.reasons);
    assert_eq!(v.decision, Decision::Live, "{:?}", v.reasons);
}

#[test]
fn c3_an_action_started_implausibly_late_is_late() {
    let p = production(&[OpenMouth, TurnLeft]);
    let w = p.actions[1].start_ms;
    let first = p.actions[0].start_ms + 400;
    let (r, v) = judge(&p, &Session::new(p.clone()).perform(OpenMouth, first).perform(TurnLeft, w + 2300));
    assert_eq!(r[1].timing, Timing::Late, "{r:?}");
    assert!(r[1].reaction_ms.unwrap() > 2000);
    assert_eq!(v.check(crate::Check::Challenge).unwrap().passed, Some(true));
    assert!(v.has(ReasonCode::ReactionTiming));
    assert_ne!(v.decision, Decision::Live);

    // 1.8 s after the prompt is slow but a reaction.
    let (r, v) = judge(&p, &Session::new(p.clone()).perform(OpenMouth, first).perform(TurnLeft, w + 1800));
    assert_eq!(r[1].timing, Timing::InTime, "{r:?}");
    assert_eq!(v.decision, Decision::Live, "{:?}", v.reasons);
}

#[test]
fn c3_a_spontaneous_blink_before_the_prompt_does_not_hide_the_real_one() {
    let p = production(&[OpenMouth, Blink]);
    let w = p.actions[1].start_ms;
    let mouth = p.actions[0].start_ms + 400;
    let s = Session::new(p.clone()).perform(OpenMouth, mouth).perform(Blink, w - 300).perform(Blink, w + 500);
    let (r, v) = judge(&p, &s);
    assert_eq!(r[1].timing, Timing::InTime, "{r:?}");
    assert!((500..=640).contains(&r[1].reaction_ms.unwrap()), "{r:?}");
    assert_eq!(v.decision, Decision::Live, "{:?}", v.reasons);

    // The blink before the prompt alone is the step's action (credited in the grace margin),
    // and it came before the prompt.
    let s = Session::new(p.clone()).perform(OpenMouth, mouth).perform(Blink, w - 300);
    let (r, v) = judge(&p, &s);
    assert_eq!(r[1].timing, Timing::Early, "{r:?}");
    assert!(v.has(ReasonCode::ReactionTiming));
}

#[test]
fn an_action_not_performed_has_no_start_and_no_reaction_reason() {
    let p = production(&[OpenMouth, TurnLeft]);
    let (r, v) = judge(&p, &Session::new(p.clone()).perform(OpenMouth, p.actions[0].start_ms + 400));
    assert_eq!((r[1].onset_ms, r[1].reaction_ms, r[1].timing), (None, None, Timing::NotPerformed));
    assert!(v.has(ReasonCode::ChallengeMissing));
    assert!(!v.has(ReasonCode::ReactionTiming));
    // Without any face there is nothing to judge, and no panic.
    assert!(reactions(&p, &[], &Thresholds::default()).iter().all(|r| r.timing == Timing::NotPerformed));
}

#[test]
fn the_start_is_the_first_frame_of_the_unbroken_run() {
    let face = crate::FaceObservation::default();
    let faces: Vec<FaceFrame<'_>> = (0..6).map(|i| FaceFrame { t_ms: i * 100, face: &face }).collect();
    // Moving at 100 and 200, unmeasured at 300, moving at 400 (the detection at 500).
    let moving = |f: &FaceFrame<'_>| match f.t_ms {
        0 => Some(false),
        300 => None,
        _ => Some(true),
    };
    assert_eq!(movement_start(&faces, 500, moving), 100);
    assert_eq!(movement_start(&faces, 0, moving), 0);
}
