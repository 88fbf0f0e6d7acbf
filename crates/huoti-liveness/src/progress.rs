//! How far each step of a challenge got: the evidence behind the challenge check, for
//! calibration reports ([`step_evidence`]), for prompts shown while a window is still open
//! ([`action_hint`]), and what the vision engine must measure for it ([`iris_wanted`]).
//! How the check works: [`crate::manual::challenge`].

use serde::{Deserialize, Serialize};

use crate::actions::{Measure, detect, gauge};
use crate::resting::resting;
use crate::timeline::{FaceFrame, between, face_frames};
use crate::{Action, ActionStep, ChallengePlan, FrameObservation, Thresholds};

/// What one step's window showed, against what its action needs from this person.
///
/// Departures are in the unit of the [`Measure`], from the person's resting value, in the
/// direction the action asks (a right turn lowers the yaw, a blink lowers the eye openness:
/// both count as positive departures). The step passes when the departure reaches `needed`
/// (on `action_min_frames` frames for turns and the mouth; and back again within the time
/// limit for nods and blinks), and the verdict also checks the order of the steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepEvidence {
    /// The action asked.
    pub action: Action,
    /// The window, widened by `window_grace_ms` on both sides, ms.
    pub from_ms: u64,
    /// End of the widened window (exclusive), ms.
    pub to_ms: u64,
    /// Frames with a face in the widened window.
    pub frames: usize,
    /// What the action was measured on (`None` without a face at rest: nothing to compare).
    pub measure: Option<Measure>,
    /// The person's resting value of that measure.
    pub rest: Option<f32>,
    /// The person's resting spread on the action's side (turns, nods, mouth: how far they
    /// move that way at rest, e.g. a talker's mouth); 0 for blinks.
    pub spread: Option<f32>,
    /// The departure the action needs from this person.
    pub needed: Option<f32>,
    /// The largest departure in the window (negative: only the opposite way).
    pub peak: Option<f32>,
    /// When the action started, if it was performed in this window.
    pub onset_ms: Option<u64>,
}

impl StepEvidence {
    /// `peak / needed`: 1 or more when the strongest frame reached the requirement.
    pub fn ratio(&self) -> Option<f32> {
        let r = self.peak? / self.needed?;
        r.is_finite().then_some(r)
    }
}

fn widened(step: &ActionStep, th: &Thresholds) -> (u64, u64) {
    (step.start_ms.saturating_sub(th.window_grace_ms), step.end_ms.saturating_add(th.window_grace_ms))
}

fn evidence(
    plan: &ChallengePlan,
    step: &ActionStep,
    faces: &[FaceFrame<'_>],
    (from, to): (u64, u64),
    th: &Thresholds,
) -> StepEvidence {
    let rest = resting(plan, faces, th, step.start_ms);
    let g = rest.as_ref().and_then(|r| gauge(step.action, faces, from, to, r, th));
    let peak = g.and_then(|g| between(faces, from, to).filter_map(|f| g.departure(f.face)).reduce(f32::max));
    StepEvidence {
        action: step.action,
        from_ms: from,
        to_ms: to,
        frames: between(faces, from, to).count(),
        measure: g.map(|g| g.measure),
        rest: g.map(|g| g.rest),
        spread: g.map(|g| g.spread),
        needed: g.map(|g| g.needed),
        peak,
        onset_ms: rest.as_ref().and_then(|r| detect(step.action, faces, from, to, r, th)),
    }
}

/// The evidence of every step of `plan` in `frames` (the whole session), in plan order.
pub fn step_evidence(plan: &ChallengePlan, frames: &[FrameObservation], th: &Thresholds) -> Vec<StepEvidence> {
    let faces = face_frames(frames);
    plan.actions.iter().map(|step| evidence(plan, step, &faces, widened(step, th), th)).collect()
}

/// What a person still has to do in the window that is open at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HintState {
    /// The action was seen: nothing more to do in this window.
    Done,
    /// Moving the right way, not far enough yet ("turn a little further", "open wider",
    /// "close your eyes fully"): `progress` is the best departure over the needed one, 0–1.
    Further {
        /// Best departure so far over the needed departure.
        progress: f32,
    },
    /// Nothing of the action yet ("turn left", "blink once").
    NotStarted,
    /// No face in the window so far ("keep your face in the frame").
    NoFace,
}

/// The hint for the step whose window is open.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActionHint {
    /// Index of the step in the plan.
    pub step: usize,
    /// Its action.
    pub action: Action,
    /// What is missing.
    #[serde(flatten)]
    pub state: HintState,
}

/// Below this share of the needed departure, a movement is noise, not a start.
const STARTED: f32 = 0.25;

/// What is missing in the window open at `now_ms`, from the frames received so far: the
/// per-frame hint a server can return to an upload while the window is still open, so the SDK
/// can say "turn a little further" in time. `None` outside every action window. Judged the
/// same way as the verdict (same resting ranges, same gauges), on the frames so far.
pub fn action_hint(plan: &ChallengePlan, frames: &[FrameObservation], th: &Thresholds, now_ms: u64) -> Option<ActionHint> {
    let (index, step) = plan.actions.iter().enumerate().find(|(_, s)| s.start_ms <= now_ms && now_ms < s.end_ms)?;
    let faces = face_frames(frames);
    let (from, _) = widened(step, th);
    let e = evidence(plan, step, &faces, (from, now_ms.saturating_add(1)), th);
    let state = if e.onset_ms.is_some() {
        HintState::Done
    } else if e.frames == 0 {
        HintState::NoFace
    } else {
        match e.ratio() {
            Some(r) if r >= STARTED => HintState::Further { progress: r.min(1.0) },
            _ => HintState::NotStarted,
        }
    };
    Some(ActionHint { step: index, action: step.action, state })
}

/// Whether the frame at `t_ms` needs the Iris model's eye openness: only plans with a blink
/// step, and there only in the blink window (widened by `window_grace_ms`, plus `blink_max_ms`
/// for the eyes to reopen) and in the last `iris_rest_ms` before the first action window (the
/// person's open-eye level). Everywhere else FaceMesh's measures suffice, and the Iris model
/// (two runs per frame, more than FaceMesh) is skipped.
pub fn iris_wanted(plan: &ChallengePlan, th: &Thresholds, t_ms: u64) -> bool {
    let mut blinks = plan.actions.iter().filter(|s| s.action == Action::Blink).peekable();
    if blinks.peek().is_none() {
        return false;
    }
    let first = plan.actions.first().map_or(plan.neutral_ms, |s| s.start_ms);
    let at_rest_end = t_ms < first && t_ms >= first.saturating_sub(th.iris_rest_ms);
    at_rest_end || in_blink_span(plan, th, t_ms)
}

/// Whether `t_ms` lies in a blink step's window, widened by `window_grace_ms` and, after it,
/// `blink_max_ms` for the eyes to reopen.
pub(crate) fn in_blink_span(plan: &ChallengePlan, th: &Thresholds, t_ms: u64) -> bool {
    plan.actions.iter().filter(|s| s.action == Action::Blink).any(|s| {
        let (from, to) = widened(s, th);
        t_ms >= from && t_ms < to.saturating_add(th.blink_max_ms)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Session, plan};

    #[test]
    fn iris_runs_only_around_blink_windows_and_at_the_end_of_rest() {
        let th = Thresholds::default();
        let no_blink = plan(&[Action::TurnLeft, Action::OpenMouth], false);
        assert!((0..10_000).step_by(50).all(|t| !iris_wanted(&no_blink, &th, t)));
        // 1 s neutral, 2 s of flashes, then windows 3000–6000 (turn) and 6000–9000 (blink).
        let p = plan(&[Action::TurnLeft, Action::Blink], true);
        assert_eq!(p.actions[1].start_ms, 6000);
        let rest_from = 3000 - th.iris_rest_ms;
        assert!(!iris_wanted(&p, &th, rest_from - 1) && iris_wanted(&p, &th, rest_from) && iris_wanted(&p, &th, 2999));
        assert!(!iris_wanted(&p, &th, 4000), "a turn window needs no Iris");
        assert!(iris_wanted(&p, &th, 6000 - th.window_grace_ms) && iris_wanted(&p, &th, 9000 + th.window_grace_ms));
        assert!(!iris_wanted(&p, &th, 9000 + th.window_grace_ms + th.blink_max_ms));
    }

    #[test]
    fn evidence_reports_how_far_each_step_went() {
        let p = plan(&[Action::TurnLeft, Action::OpenMouth], false);
        let th = Thresholds::default();
        let frames = Session::following_plan(p.clone()).frames();
        let ev = step_evidence(&p, &frames, &th);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].measure, Some(Measure::YawDeg));
        assert!(ev[0].ratio().unwrap() > 1.5, "a 28° turn against 12° needed: {:?}", ev[0]);
        assert!(ev[0].onset_ms.is_some() && ev[1].onset_ms.is_some());
        // Nothing done: the peaks stay small and nothing is credited.
        let still = Session::new(p.clone()).frames();
        for e in step_evidence(&p, &still, &th) {
            assert!(e.onset_ms.is_none() && e.ratio().unwrap() < 0.5, "{e:?}");
        }
    }

    #[test]
    fn the_hint_says_what_is_missing_while_the_window_is_open() {
        let p = plan(&[Action::TurnLeft, Action::OpenMouth], false);
        let th = Thresholds::default();
        let turn_at = p.actions[0].start_ms + 400;
        let frames = Session::following_plan(p.clone()).frames();
        let upto = |t: u64| -> Vec<FrameObservation> { frames.iter().filter(|f| f.t_ms <= t).cloned().collect() };
        assert_eq!(action_hint(&p, &upto(500), &th, 500), None, "no window open yet");
        let hint = |t: u64| action_hint(&p, &upto(t), &th, t).unwrap();
        assert_eq!(hint(turn_at - 50).state, HintState::NotStarted);
        // A third of the way up the 300 ms rise of a 28° turn: ≈ 9°, under the 12° needed.
        assert!(matches!(hint(turn_at + 100).state, HintState::Further { progress } if progress < 1.0), "{:?}", hint(turn_at + 100));
        assert_eq!(hint(turn_at + 600).state, HintState::Done);
        assert_eq!(hint(p.actions[1].start_ms + 100), ActionHint { step: 1, action: Action::OpenMouth, state: HintState::NotStarted });
        let faceless: Vec<FrameObservation> =
            upto(turn_at).into_iter().map(|f| if f.t_ms >= p.actions[0].start_ms - 500 { FrameObservation { faces: 0, face: None, ..f } } else { f }).collect();
        assert_eq!(action_hint(&p, &faceless, &th, turn_at).unwrap().state, HintState::NoFace);
    }
}
