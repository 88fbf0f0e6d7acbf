//! The challenge check. How it works, for readers and users: [`crate::manual::challenge`]
//! (`src/manual/challenge.md`).

use serde::{Deserialize, Serialize};

use crate::resting::{Range, Resting, open_iris_in, resting};
use crate::timeline::{Baseline, FaceFrame, between};
use crate::{
    Action, ActionStep, ChallengePlan, Check, CheckScore, FaceObservation, FrameObservation,
    ReasonCode, Thresholds,
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
    // The resting ranges need what the baseline needs: a face before the first action. Each
    // step is judged against the rest before its own window (the frames between windows add
    // to it), so what a person does after a step cannot undo it.
    let first_start = plan.actions.first().map_or(plan.neutral_ms, |s| s.start_ms);
    let Some(first_rest) = baseline.and_then(|_| resting(plan, faces, th, first_start)) else {
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
    let rest_before = |step: &ActionStep| resting(plan, faces, th, step.start_ms).unwrap_or_else(|| first_rest.clone());
    for (i, step) in plan.actions.iter().enumerate() {
        let (from, to) = window(step);
        let outcome = match detect(step.action, faces, from, to, &rest_before(step), th) {
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
                    j != i && detect(step.action, faces, f, t, &rest_before(other), th).is_some()
                }) {
                    StepOutcome::WrongWindow
                } else {
                    StepOutcome::Missing
                }
            }
        };
        outcomes.push(outcome);
    }

    let unexpected = unexpected_turn(plan, faces, &first_rest, th);
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
/// eyes blink on their own, but nobody turns their head `turn_yaw_deg` the wrong way by accident.
fn unexpected_turn(
    plan: &ChallengePlan,
    faces: &[FaceFrame<'_>],
    rest: &Resting,
    th: &Thresholds,
) -> bool {
    let (Some(first), Some(last)) = (plan.actions.first(), plan.actions.last()) else {
        return false;
    };
    [Action::TurnLeft, Action::TurnRight]
        .into_iter()
        .filter(|turn| !plan.actions.iter().any(|s| s.action == *turn))
        .any(|turn| detect(turn, faces, first.start_ms, last.end_ms, rest, th).is_some())
}

/// What an action is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Head yaw, degrees.
    YawDeg,
    /// Head pitch, degrees.
    PitchDeg,
    /// Inner-lip gap over mouth width.
    MouthOpenness,
    /// Iris-model eye openness (mean of both eyes).
    IrisEyeOpenness,
    /// FaceMesh eye aspect ratio (smaller eye): the blink measure where the Iris model did
    /// not run.
    EyeAspectRatio,
}

impl Measure {
    fn of(self, face: &FaceObservation) -> Option<f32> {
        let v = match self {
            Measure::YawDeg => face.yaw_deg,
            Measure::PitchDeg => face.pitch_deg,
            Measure::MouthOpenness => face.mouth_openness,
            Measure::IrisEyeOpenness => face.mean_iris_eye_openness()?,
            Measure::EyeAspectRatio => face.min_eye_openness(),
        };
        v.is_finite().then_some(v)
    }
}

/// How one action is judged for one person in one window: a per-frame *departure* from the
/// person's resting value, in the direction the action asks, and the departure it needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Gauge {
    pub measure: Measure,
    /// The resting value departures are measured from.
    pub rest: f32,
    /// +1 when the action raises the measure, −1 when it lowers it (turn right, blink).
    sign: f32,
    /// The person's resting spread on the action's side (median to the range's edge), for
    /// turns, nods and the mouth; 0 for blinks (judged as a fraction of the open eyes).
    pub spread: f32,
    /// The departure the action needs.
    pub needed: f32,
    /// Excursions (nod, blink) are back when the departure falls below this.
    back_below: f32,
}

impl Gauge {
    /// The departure of one frame; `None` when the measure was not taken on it.
    pub fn departure(&self, face: &FaceObservation) -> Option<f32> {
        self.measure.of(face).map(|v| self.sign * (v - self.rest))
    }
}

/// Frames in `[from, to)` whose Iris eye openness was measured.
fn iris_frames(faces: &[FaceFrame<'_>], from: u64, to: u64) -> usize {
    between(faces, from, to).filter(|f| f.face.iris_eye_openness.is_some()).count()
}

/// The gauge of `action` for this person, in the window `[from, to)`. A turn, nod or open
/// mouth needs the larger of a fixed departure and the person's own resting spread on that
/// side plus a margin (a talker's mouth, a head that drifts). A blink is a closure to a
/// fraction of the person's open-eye level, on the Iris model where it ran in the window,
/// else on FaceMesh's eye aspect ratio.
pub(crate) fn gauge(action: Action, faces: &[FaceFrame<'_>], from: u64, to: u64, rest: &Resting, th: &Thresholds) -> Option<Gauge> {
    let spread = |r: &Range, up: bool| (if up { r.high - r.median } else { r.median - r.low }).max(0.0);
    let gauge = match action {
        Action::TurnLeft | Action::TurnRight => {
            let left = action == Action::TurnLeft;
            let spread = spread(&rest.yaw, left);
            Gauge {
                measure: Measure::YawDeg,
                rest: rest.yaw.median,
                sign: if left { 1.0 } else { -1.0 },
                spread,
                needed: th.turn_yaw_deg.max(spread + th.turn_margin_deg),
                back_below: 0.0,
            }
        }
        Action::Nod => {
            let spread = spread(&rest.pitch, true);
            let needed = th.nod_pitch_deg.max(spread + th.nod_margin_deg);
            Gauge { measure: Measure::PitchDeg, rest: rest.pitch.median, sign: 1.0, spread, needed, back_below: th.nod_return_fraction * needed }
        }
        Action::OpenMouth => {
            let by_ratio = (th.mouth_open_ratio - 1.0) * rest.mouth.median;
            let spread = spread(&rest.mouth, true);
            let needed = th.mouth_open_delta.max(spread + th.mouth_open_margin).max(by_ratio);
            Gauge { measure: Measure::MouthOpenness, rest: rest.mouth.median, sign: 1.0, spread, needed, back_below: 0.0 }
        }
        Action::Blink if iris_frames(faces, from, to) >= th.min_window_face_frames.max(1) => {
            let open = rest.iris.map(|r| r.median).or_else(|| open_iris_in(faces, from, to))?;
            Gauge {
                measure: Measure::IrisEyeOpenness,
                rest: open,
                sign: -1.0,
                spread: 0.0,
                needed: (1.0 - th.iris_blink_close_ratio) * open,
                back_below: (1.0 - th.iris_blink_open_ratio) * open,
            }
        }
        Action::Blink => {
            let open = rest.eye.median;
            Gauge {
                measure: Measure::EyeAspectRatio,
                rest: open,
                sign: -1.0,
                spread: 0.0,
                needed: (1.0 - th.blink_close_ratio) * open,
                back_below: (1.0 - th.blink_open_ratio) * open,
            }
        }
    };
    (gauge.needed.is_finite() && gauge.needed > 0.0).then_some(gauge)
}

/// Onset time of `action` starting within `[from, to)`, if performed.
pub(crate) fn detect(
    action: Action,
    faces: &[FaceFrame<'_>],
    from: u64,
    to: u64,
    rest: &Resting,
    th: &Thresholds,
) -> Option<u64> {
    let g = gauge(action, faces, from, to, rest, th)?;
    let away = |f: &FaceFrame<'_>| g.departure(f.face).is_some_and(|d| d >= g.needed);
    match action {
        Action::TurnLeft | Action::TurnRight | Action::OpenMouth => {
            let hits: Vec<u64> = between(faces, from, to).filter(|f| away(f)).map(|f| f.t_ms).collect();
            (hits.len() >= th.action_min_frames.max(1)).then(|| hits[0])
        }
        Action::Nod | Action::Blink => {
            let max_ms = if action == Action::Nod { th.nod_max_ms } else { th.blink_max_ms };
            // Frames without the measure (the Iris model did not run) neither start nor end
            // an excursion.
            let measured: Vec<FaceFrame<'_>> = faces.iter().filter(|f| g.departure(f.face).is_some()).copied().collect();
            excursion(&measured, from, to, max_ms, away, |f| g.departure(f.face).is_some_and(|d| d < g.back_below))
        }
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
