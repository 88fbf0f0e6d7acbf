//! Actions that real people pass (issue 16): a blink judged on the Iris model's eye openness
//! against the person's open eyes, and an open mouth judged against the person's own talking
//! range. The same checks on real clips: `crates/huoti-eval/tests/actions_real_data.rs`.

use crate::testkit::{Session, plan};
use crate::{Action, AnalysisContext, Decision, Measure, ReasonCode, SeenFrames, Thresholds, analyse, step_evidence};
use Action::*;

fn verdict(s: &Session) -> crate::Verdict {
    analyse(&s.plan, &s.frames(), &AnalysisContext::new(&SeenFrames::new()))
}

/// A person who talks until the prompt, then opens wide: FaceMesh's inner-lip ratio swings
/// 0.1–0.44 while talking, the wide opening reaches ≈ 0.64.
fn talker(wide: bool) -> Session {
    let p = plan(&[OpenMouth], true); // neutral 1 s, flashes until 3 s, window 3–6 s
    let mut s = if wide { Session::following_plan(p.clone()) } else { Session::new(p.clone()) };
    s.talking = 0..p.actions[0].start_ms;
    s.mouth_open_gain = 0.6;
    s
}

#[test]
fn a_talker_passes_open_mouth_when_the_opening_is_wider_than_their_talking() {
    let s = talker(true);
    let v = verdict(&s);
    assert_eq!(v.decision, Decision::Live, "{:?}", v.reasons);
    let e = &step_evidence(&s.plan, &s.frames(), &Thresholds::default())[0];
    assert_eq!(e.measure, Some(Measure::MouthOpenness));
    // The needed opening is measured from their talking, not from a closed mouth.
    assert!(e.rest.unwrap() > 0.2 && e.needed.unwrap() > 0.25, "{e:?}");
    assert!(e.ratio().unwrap() > 1.0, "{e:?}");
}

#[test]
fn talking_on_into_the_window_is_not_an_open_mouth() {
    let mut s = talker(false);
    s.talking = 0..s.plan.total_ms; // talks through the window, never opens wide
    let v = verdict(&s);
    assert!(v.has(ReasonCode::ChallengeMissing), "{:?}", v.reasons);
    let e = &step_evidence(&s.plan, &s.frames(), &Thresholds::default())[0];
    assert!(e.ratio().unwrap() < 1.0, "talking peaks stay under the need: {e:?}");
}

#[test]
fn a_wide_opening_before_the_window_is_not_credited_to_it() {
    let mut s = talker(false);
    s.talking = 0..0;
    let s = s.perform(OpenMouth, 1500); // during the flashes, well before the window
    let v = verdict(&s);
    assert_ne!(v.decision, Decision::Live, "{:?}", v.reasons);
    assert!(v.has(ReasonCode::ChallengeMissing), "{:?}", v.reasons);
}

#[test]
fn talking_after_a_step_does_not_undo_it() {
    // Open mouth 3–6 s, a pause, turn left 7.5–10.5 s; the person talks in the pause.
    let mut p = plan(&[OpenMouth, TurnLeft], true);
    p.actions[1].start_ms = 7500;
    p.actions[1].end_ms = 10_500;
    p.total_ms = 10_500;
    let mut s = Session::following_plan(p.clone());
    s.duration_ms = p.total_ms + 400;
    s.talking = 6500..7000;
    let v = verdict(&s);
    assert_eq!(v.decision, Decision::Live, "{:?}", v.reasons);
    let e = step_evidence(&p, &s.frames(), &Thresholds::default());
    assert!(e[0].spread.unwrap() < 0.05, "the mouth step's rest is before its window: {:?}", e[0]);
}

/// FaceMesh's lids never meet: a real blink lowers its eye aspect ratio by ≈ 30 %, under the
/// 40 % the FaceMesh blink check needs. The Iris model's lids meet.
fn blinker(iris: bool) -> Session {
    let p = plan(&[TurnLeft, Blink], true);
    let mut s = Session::following_plan(p);
    s.facemesh_blink_depth = 0.3;
    s.iris = iris;
    s
}

#[test]
fn a_blink_passes_on_the_iris_measure_where_facemesh_barely_dips() {
    let without = verdict(&blinker(false));
    assert!(without.has(ReasonCode::ChallengeMissing), "FaceMesh alone misses it: {:?}", without.reasons);

    let s = blinker(true);
    let v = verdict(&s);
    assert_eq!(v.decision, Decision::Live, "{:?}", v.reasons);
    let e = &step_evidence(&s.plan, &s.frames(), &Thresholds::default())[1];
    assert_eq!(e.measure, Some(Measure::IrisEyeOpenness), "{e:?}");
    assert!(e.rest.unwrap() > 0.25, "the open-eye level comes from the resting Iris frames: {e:?}");
    assert!(e.onset_ms.is_some_and(|t| t >= s.plan.actions[1].start_ms), "{e:?}");
}

#[test]
fn an_iris_blink_in_the_wrong_window_or_too_long_is_not_credited() {
    // Blinking during the turn window instead of the blink window.
    let mut s = blinker(true);
    let turn_start = s.plan.actions[0].start_ms;
    s.performances = vec![(TurnLeft, turn_start + 400), (Blink, turn_start + 1500)];
    let v = verdict(&s);
    assert_ne!(v.decision, Decision::Live, "{:?}", v.reasons);
    // Eyes closed for 1.5 s: not a blink.
    let mut s = blinker(true);
    s.blink_closed_ms = 1500;
    assert!(verdict(&s).has(ReasonCode::ChallengeMissing));
}

#[test]
fn a_still_face_passes_no_action_on_any_measure() {
    for actions in [[Blink, OpenMouth], [TurnLeft, Nod], [TurnRight, Blink]] {
        let mut s = Session::new(plan(&actions, true));
        s.iris = true;
        let v = verdict(&s);
        assert!(v.has(ReasonCode::ChallengeMissing), "{actions:?}: {:?}", v.reasons);
        for e in step_evidence(&s.plan, &s.frames(), &Thresholds::default()) {
            assert!(e.onset_ms.is_none() && e.ratio().unwrap() < 0.5, "{e:?}");
        }
    }
}
