//! The challenge check. How it works, for readers and users: [`crate::manual::challenge`]
//! (`src/manual/challenge.md`).

use crate::timeline::{Baseline, FaceFrame, between};
use crate::{
    Action, ActionStep, ChallengePlan, Check, CheckScore, FrameObservation, ReasonCode, Thresholds,
};

/// What happened to one step of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepOutcome {
    /// Performed in its window; onset at this time.
    Credited { onset_ms: u64 },
    /// Not in its window, but in another step's window, or before the previous step's action.
    WrongWindow,
    /// Not performed in any window.
    Missing,
    /// The window had too few frames with a face to judge.
    Unobserved { faceless: bool },
}

/// The result of the challenge check.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeResult {
    /// Per-step outcomes: the reasons summarise them; tests inspect them.
    #[cfg_attr(not(test), allow(dead_code))]
    pub outcomes: Vec<StepOutcome>,
    pub check: CheckScore,
    pub reasons: Vec<ReasonCode>,
}

pub(crate) fn check_challenge(
    plan: &ChallengePlan,
    frames: &[FrameObservation],
    faces: &[FaceFrame<'_>],
    baseline: Option<&Baseline>,
    th: &Thresholds,
) -> ChallengeResult {
    let Some(base) = baseline else {
        let reason = if faces.is_empty() && !frames.is_empty() {
            ReasonCode::NoFace
        } else {
            ReasonCode::TooFewFrames
        };
        return ChallengeResult {
            outcomes: vec![
                StepOutcome::Unobserved {
                    faceless: faces.is_empty()
                };
                plan.actions.len()
            ],
            check: CheckScore {
                check: Check::Challenge,
                score: 0.0,
                passed: None,
            },
            reasons: vec![reason],
        };
    };

    let window = |s: &ActionStep| {
        (
            s.start_ms.saturating_sub(th.window_grace_ms),
            s.end_ms.saturating_add(th.window_grace_ms),
        )
    };
    let mut outcomes = Vec::with_capacity(plan.actions.len());
    let mut last_onset: Option<u64> = None;
    for (i, step) in plan.actions.iter().enumerate() {
        let (from, to) = window(step);
        let outcome = match detect(step.action, faces, from, to, base, th) {
            // Credited only if it follows the previous step's action (the grace margins of
            // neighbouring windows overlap, so order is not implied by the windows alone).
            Some(onset_ms) if last_onset.is_none_or(|prev| onset_ms > prev) => {
                last_onset = Some(onset_ms);
                StepOutcome::Credited { onset_ms }
            }
            Some(_) => StepOutcome::WrongWindow,
            None => {
                // Observability is judged on the window proper, not its grace margins: a
                // stream that stops at the window's start has not shown the window.
                let (start, end) = (step.start_ms, step.end_ms);
                let face_count = between(faces, start, end).count();
                if face_count < th.min_window_face_frames {
                    let frame_count = frames
                        .iter()
                        .filter(|f| f.t_ms >= start && f.t_ms < end)
                        .count();
                    StepOutcome::Unobserved {
                        faceless: frame_count >= th.min_window_face_frames,
                    }
                } else if plan.actions.iter().enumerate().any(|(j, other)| {
                    let (f, t) = window(other);
                    j != i && detect(step.action, faces, f, t, base, th).is_some()
                }) {
                    StepOutcome::WrongWindow
                } else {
                    StepOutcome::Missing
                }
            }
        };
        outcomes.push(outcome);
    }

    let unexpected = unexpected_turn(plan, faces, base, th);
    let credited = outcomes
        .iter()
        .filter(|o| matches!(o, StepOutcome::Credited { .. }))
        .count();
    let mut reasons = Vec::new();
    if outcomes.contains(&StepOutcome::WrongWindow) {
        reasons.push(ReasonCode::ChallengeOrder);
    }
    if outcomes.contains(&StepOutcome::Missing) {
        reasons.push(ReasonCode::ChallengeMissing);
    }
    if unexpected {
        reasons.push(ReasonCode::ChallengeUnexpected);
    }
    if outcomes.contains(&StepOutcome::Unobserved { faceless: true }) {
        reasons.push(ReasonCode::NoFace);
    }
    if outcomes.contains(&StepOutcome::Unobserved { faceless: false }) {
        reasons.push(ReasonCode::TooFewFrames);
    }
    let passed = if credited == outcomes.len() {
        // Every step done, but a turn nobody asked for leaves the check undecided.
        (!unexpected).then_some(true)
    } else if reasons
        .iter()
        .any(|r| matches!(r, ReasonCode::ChallengeOrder | ReasonCode::ChallengeMissing))
    {
        Some(false)
    } else {
        None
    };
    ChallengeResult {
        check: CheckScore {
            check: Check::Challenge,
            score: credited as f32 / outcomes.len().max(1) as f32,
            passed,
        },
        outcomes,
        reasons,
    }
}

/// Whether the head turned, during the action phase, in a direction no step asked for.
///
/// Only turns count: nods happen incidentally while turning, mouths open while talking and
/// eyes blink on their own, but nobody turns their head 15° the wrong way by accident.
fn unexpected_turn(
    plan: &ChallengePlan,
    faces: &[FaceFrame<'_>],
    base: &Baseline,
    th: &Thresholds,
) -> bool {
    let (Some(first), Some(last)) = (plan.actions.first(), plan.actions.last()) else {
        return false;
    };
    [Action::TurnLeft, Action::TurnRight]
        .into_iter()
        .filter(|turn| !plan.actions.iter().any(|s| s.action == *turn))
        .any(|turn| detect(turn, faces, first.start_ms, last.end_ms, base, th).is_some())
}

/// Onset time of `action` starting within `[from, to)`, if performed.
pub(crate) fn detect(
    action: Action,
    faces: &[FaceFrame<'_>],
    from: u64,
    to: u64,
    base: &Baseline,
    th: &Thresholds,
) -> Option<u64> {
    let sustained = |pred: &dyn Fn(&FaceFrame<'_>) -> bool| {
        let hits: Vec<u64> = between(faces, from, to)
            .filter(|f| pred(f))
            .map(|f| f.t_ms)
            .collect();
        (hits.len() >= th.action_min_frames.max(1)).then(|| hits[0])
    };
    match action {
        Action::TurnLeft => sustained(&|f| f.face.yaw_deg - base.yaw >= th.turn_yaw_deg),
        Action::TurnRight => sustained(&|f| base.yaw - f.face.yaw_deg >= th.turn_yaw_deg),
        Action::OpenMouth => sustained(&|f| {
            let m = f.face.mouth_openness;
            m - base.mouth >= th.mouth_open_delta && m >= th.mouth_open_ratio * base.mouth
        }),
        Action::Nod => excursion(
            faces,
            from,
            to,
            th.nod_max_ms,
            |f| f.face.pitch_deg - base.pitch >= th.nod_pitch_deg,
            |f| f.face.pitch_deg - base.pitch < th.nod_return_fraction * th.nod_pitch_deg,
        ),
        Action::Blink => excursion(
            faces,
            from,
            to,
            th.blink_max_ms,
            |f| f.face.min_eye_openness() < th.blink_close_ratio * base.eye,
            |f| f.face.min_eye_openness() > th.blink_open_ratio * base.eye,
        ),
    }
}

/// A there-and-back movement: a run of `away` frames whose first frame lies in `[from, to)`,
/// followed by a `back` frame within `max_ms` of that first frame. Returns the run's start.
///
/// Measuring from the *first* frame of the run matters: otherwise the last frame of a long
/// eye closure, followed by opening, would pass as a blink.
fn excursion(
    faces: &[FaceFrame<'_>],
    from: u64,
    to: u64,
    max_ms: u64,
    away: impl Fn(&FaceFrame<'_>) -> bool,
    back: impl Fn(&FaceFrame<'_>) -> bool,
) -> Option<u64> {
    for (i, f) in faces.iter().enumerate() {
        if f.t_ms < from || f.t_ms >= to || !away(f) || (i > 0 && away(&faces[i - 1])) {
            continue;
        }
        let returned = faces[i + 1..]
            .iter()
            .take_while(|g| g.t_ms <= f.t_ms.saturating_add(max_ms))
            .any(&back);
        if returned {
            return Some(f.t_ms);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Session, plan};
    use crate::timeline::{baseline, face_frames};

    fn outcomes(session: &Session) -> Vec<StepOutcome> {
        let frames = session.frames();
        let faces = face_frames(&frames);
        let th = Thresholds::default();
        let base = baseline(&session.plan, &faces, &th);
        check_challenge(&session.plan, &frames, &faces, base.as_ref(), &th).outcomes
    }

    #[test]
    fn each_step_gets_its_own_outcome() {
        let p = plan(
            &[
                Action::Nod,
                Action::TurnLeft,
                Action::OpenMouth,
                Action::Blink,
            ],
            true,
        );
        let w: Vec<u64> = p.actions.iter().map(|s| s.start_ms).collect();
        let mut s = Session::new(p)
            .perform(Action::Nod, w[0] + 500)
            .perform(Action::OpenMouth, w[1] + 500)
            .perform(Action::TurnLeft, w[2] + 500);
        s.duration_ms = w[3]; // the stream stops when the blink window opens
        let got = outcomes(&s);
        assert!(matches!(got[0], StepOutcome::Credited { onset_ms } if onset_ms > w[0] + 500));
        assert_eq!(
            got[1..],
            [
                StepOutcome::WrongWindow,
                StepOutcome::WrongWindow,
                StepOutcome::Unobserved { faceless: false },
            ]
        );
    }
}
