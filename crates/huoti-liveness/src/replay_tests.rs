//! Scenario tests of the defences against screen replays that follow the challenge (issue 17):
//! the light step is never off, the safe profile is still checked, the passive score looks at
//! the worst frames, and the screen-medium cue is its own check.

use crate::testkit::{Session, plan};
use crate::{
    Action, AnalysisContext, Assurance, ChallengePlan, Check, Decision, FlashStep,
    FrameObservation, ReasonCode, SeenFrames, Verdict, analyse, light::SAFE_PALETTE,
};
use Action::*;

fn judge(plan: &ChallengePlan, frames: &[FrameObservation]) -> Verdict {
    analyse(plan, frames, &AnalysisContext::new(&SeenFrames::new()))
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// A plan in the photosensitivity-safe profile: five 800 ms safe colours fading in over 300 ms,
/// then the actions; a production plan (not fixed).
fn safe_plan(actions: &[Action]) -> ChallengePlan {
    let mut p = plan(actions, false);
    let shift = 5 * 800;
    p.flashes = SAFE_PALETTE[..5]
        .iter()
        .enumerate()
        .map(|(i, &rgb)| FlashStep {
            rgb,
            start_ms: 1000 + 800 * i as u64,
            end_ms: 1800 + 800 * i as u64,
        })
        .collect();
    for a in &mut p.actions {
        a.start_ms += shift;
        a.end_ms += shift;
    }
    p.total_ms += shift;
    p.reduced_flash = true;
    p.transition_ms = 300;
    p.fixed = false;
    p.validate().expect("a valid safe plan");
    p
}

fn production(mut p: ChallengePlan) -> ChallengePlan {
    p.fixed = false;
    p
}

#[test]
fn c3_a_production_plan_without_light_is_never_live() {
    // The perfect replay: every action in its window, a real-looking face, no light step.
    let p = production(plan(&[TurnLeft, OpenMouth], false));
    let v = judge(&p, &Session::following_plan(p.clone()).frames());
    assert_eq!(v.decision, Decision::Uncertain);
    assert_eq!(codes(&v), ["light_required"]);
    assert_eq!(v.assurance, [Assurance::Motion, Assurance::Passive]);
    // The same frames against the fixed (test-mode) plan: live, resting on motion and passive.
    let fixed = plan(&[TurnLeft, OpenMouth], false);
    let v = judge(&fixed, &Session::following_plan(fixed.clone()).frames());
    assert_eq!(
        (v.decision, codes(&v)),
        (Decision::Live, vec!["flash_reduced"])
    );
    assert!(!v.assurance.contains(&Assurance::Light));
}

#[test]
fn c3_safe_profile_followed_is_live_and_rests_on_light() {
    let p = safe_plan(&[TurnRight, Blink]);
    for seed in 0..10 {
        let v = judge(&p, &Session::following_plan(p.clone()).seed(seed).frames());
        assert_eq!(v.decision, Decision::Live, "seed {seed}: {:?}", codes(&v));
        assert_eq!(
            v.assurance,
            [Assurance::Light, Assurance::Motion, Assurance::Passive]
        );
        assert!(v.check(Check::Flash).unwrap().score >= 0.8, "seed {seed}");
    }
}

#[test]
fn c3_safe_profile_not_reflected_is_not_live() {
    let p = safe_plan(&[TurnRight, Blink]);
    for seed in 0..10 {
        let frames = Session::following_plan(p.clone())
            .seed(seed)
            .reflects_flash(false)
            .frames();
        let v = judge(&p, &frames);
        assert_eq!(codes(&v), ["flash_mismatch"], "seed {seed}");
        assert_eq!(v.decision, Decision::Uncertain);
        assert!(!v.assurance.contains(&Assurance::Light));
    }
}

#[test]
fn flash_check_ignores_the_fade() {
    // Frames during a fade carry the previous colour; counting them would blur every step. With
    // the fade ignored, a face that follows the fade scores as well as one under hard cuts.
    let p = safe_plan(&[Nod, OpenMouth]);
    let faded = judge(&p, &Session::following_plan(p.clone()).frames());
    let mut as_if_hard = p.clone();
    as_if_hard.transition_ms = 0;
    let blurred = analyse(
        &as_if_hard,
        &Session::following_plan(p.clone()).frames(),
        &AnalysisContext::new(&SeenFrames::new()),
    );
    let score = |v: &Verdict| v.check(Check::Flash).unwrap().score;
    assert!(
        score(&faded) >= score(&blurred),
        "{} < {}",
        score(&faded),
        score(&blurred)
    );
}

/// Eight scored frames with these passive scores (the others unscored).
fn with_passive(p: &ChallengePlan, scores: &[f32]) -> Vec<FrameObservation> {
    let mut frames = Session::following_plan(p.clone()).frames();
    let step = frames.len() / scores.len();
    for (i, f) in frames.iter_mut().enumerate() {
        let face = f.face.as_mut().unwrap();
        face.passive_real = (i % step == 0)
            .then(|| scores.get(i / step).copied())
            .flatten();
    }
    frames
}

#[test]
fn c3_passive_judges_the_worst_frames_not_the_median() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    // A replay whose medium shows in three of eight frames (the median would say 0.9).
    let v = judge(
        &p,
        &with_passive(&p, &[0.1, 0.9, 0.9, 0.15, 0.9, 0.9, 0.2, 0.9]),
    );
    assert_eq!(codes(&v), ["passive_spoof"]);
    assert!(v.check(Check::Passive).unwrap().score < 0.5);
    // One odd frame in eight does not fail a live person.
    let v = judge(
        &p,
        &with_passive(&p, &[0.9, 0.9, 0.3, 0.95, 0.9, 0.9, 0.85, 0.9]),
    );
    assert_eq!(v.decision, Decision::Live, "{:?}", codes(&v));
}

#[test]
fn c3_screen_medium_cue_is_its_own_check() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let cue = |values: &[f32]| {
        let mut frames = with_passive(&p, &[0.95; 8]);
        let mut k = 0;
        for f in &mut frames {
            let face = f.face.as_mut().unwrap();
            if face.passive_real.is_some() {
                face.screen_medium = values.get(k).copied();
                k += 1;
            }
        }
        judge(&p, &frames)
    };
    // A bezel in the first frames and a player bar at the end: most of the worst frames.
    let v = cue(&[0.9, 0.8, 0.1, 0.1, 0.1, 0.7, 0.9, 0.8]);
    assert_eq!(codes(&v), ["screen_medium"]);
    assert_eq!(v.decision, Decision::Uncertain);
    assert_eq!(v.check(Check::Medium).unwrap().passed, Some(false));
    assert_eq!(
        v.assurance,
        [Assurance::Light, Assurance::Motion],
        "passive does not back a screen"
    );
    // One frame with a door frame behind the person is not a screen.
    let v = cue(&[0.1, 0.1, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1]);
    assert_eq!(v.decision, Decision::Live);
    assert_eq!(v.check(Check::Medium).unwrap().passed, Some(true));
    assert!(!v.has(ReasonCode::ScreenMedium));
    // An engine that does not measure the cue: no check, no reason.
    let v = cue(&[]);
    assert!(v.check(Check::Medium).is_none() && v.decision == Decision::Live);
}

#[test]
fn l4_assurance_round_trips_and_old_verdicts_read() {
    let p = plan(&[TurnLeft, OpenMouth], true);
    let v = judge(&p, &Session::following_plan(p.clone()).frames());
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(
        json["assurance"],
        serde_json::json!(["light", "motion", "passive"])
    );
    let mut old = json.clone();
    old.as_object_mut().unwrap().remove("assurance");
    let back: Verdict = serde_json::from_value(old).unwrap();
    assert!(back.assurance.is_empty());
    // A plan stored before the safe profile (no transition_ms, no fixed) reads as a production plan.
    let mut plan_json = serde_json::to_value(production(p)).unwrap();
    plan_json.as_object_mut().unwrap().remove("transition_ms");
    plan_json.as_object_mut().unwrap().remove("fixed");
    let old_plan: ChallengePlan = serde_json::from_value(plan_json).unwrap();
    assert!(!old_plan.fixed && old_plan.transition_ms == 0);
}
