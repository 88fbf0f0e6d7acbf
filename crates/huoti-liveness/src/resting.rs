//! Each person's resting ranges: where their head pose, mouth and eyes sit while no action is
//! asked (see [`crate::manual::challenge`]).
//!
//! An action is judged as a clear departure from these ranges, not from fixed values: people
//! hold the phone differently, some mouths rest open, and someone who talks before the prompt
//! moves their mouth a lot without "opening it wide".

use crate::timeline::{FaceFrame, between, median};
use crate::{ChallengePlan, Thresholds};

/// One measure's resting range for one person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    /// The `rest_quantile` low end.
    pub low: f32,
    pub median: f32,
    /// The `1 − rest_quantile` high end.
    pub high: f32,
}

impl Range {
    /// The range of the finite values; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f32>, tail: f32) -> Option<Range> {
        let mut v: Vec<f32> = values.into_iter().filter(|x| x.is_finite()).collect();
        v.sort_by(f32::total_cmp);
        let tail = if tail.is_finite() { tail.clamp(0.0, 0.5) } else { 0.0 };
        Some(Range { low: quantile(&v, tail)?, median: median(v.iter().copied())?, high: quantile(&v, 1.0 - tail)? })
    }
}

/// The `q`-quantile of sorted values, interpolated between neighbours.
pub(crate) fn quantile(sorted: &[f32], q: f32) -> Option<f32> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f32;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    let next = sorted[(i + 1).min(last)];
    Some(sorted[i] + frac * (next - sorted[i]))
}

/// A person's resting ranges.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resting {
    pub yaw: Range,
    pub pitch: Range,
    /// FaceMesh eye aspect ratio (smaller eye).
    pub eye: Range,
    pub mouth: Range,
    /// Iris-model eye openness (mean of both eyes), where the Iris model ran at rest.
    pub iris: Option<Range>,
    /// Frames the ranges come from.
    pub frames: usize,
}

/// Whether `t_ms` is a resting moment of the plan: before the first action window, or between
/// two windows (each widened by `window_grace_ms`). Not after the last window: nothing more is
/// asked there, and a person who repeats an action "to be sure" (or a clip that goes on to the
/// next one) would widen their own resting range past what they did in the window.
pub(crate) fn at_rest(plan: &ChallengePlan, th: &Thresholds, t_ms: u64) -> bool {
    let first = plan.actions.first().map_or(plan.neutral_ms, |s| s.start_ms);
    let last = plan.actions.last().map_or(plan.neutral_ms, |s| s.end_ms);
    t_ms < first
        || (t_ms < last
            && plan.actions.iter().all(|s| {
                t_ms < s.start_ms.saturating_sub(th.window_grace_ms) || t_ms >= s.end_ms.saturating_add(th.window_grace_ms)
            }))
}

/// The ranges over the resting frames before `before_ms` (a step's start: a step is judged
/// against what the person did before they were asked, as a prompt shown while the window is
/// open can be too); `None` when no face was seen at rest by then.
pub(crate) fn resting(plan: &ChallengePlan, faces: &[FaceFrame<'_>], th: &Thresholds, before_ms: u64) -> Option<Resting> {
    let rest: Vec<&FaceFrame<'_>> = faces.iter().filter(|f| f.t_ms < before_ms && at_rest(plan, th, f.t_ms)).collect();
    let tail = th.rest_quantile;
    let iris: Vec<f32> = rest.iter().filter_map(|f| f.face.mean_iris_eye_openness()).collect();
    Some(Resting {
        yaw: Range::of(rest.iter().map(|f| f.face.yaw_deg), tail)?,
        pitch: Range::of(rest.iter().map(|f| f.face.pitch_deg), tail)?,
        eye: Range::of(rest.iter().map(|f| f.face.min_eye_openness()), tail)?,
        mouth: Range::of(rest.iter().map(|f| f.face.mouth_openness), tail)?,
        iris: if iris.len() >= th.min_baseline_frames.max(1) { Range::of(iris, tail) } else { None },
        frames: rest.len(),
    })
}

/// The open-eye Iris level of a blink window, for a person without Iris frames at rest: the
/// upper quartile of the window's own values (a blink closes the eyes for a tenth of a
/// three-second window at most).
pub(crate) fn open_iris_in(faces: &[FaceFrame<'_>], from: u64, to: u64) -> Option<f32> {
    let mut v: Vec<f32> = between(faces, from, to).filter_map(|f| f.face.mean_iris_eye_openness()).filter(|x| x.is_finite()).collect();
    v.sort_by(f32::total_cmp);
    quantile(&v, 0.75)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::plan;
    use crate::Action;

    #[test]
    fn quantiles_interpolate_and_ranges_ignore_non_finite_values() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.1), Some(0.4));
        assert_eq!(quantile(&v, 1.0), Some(4.0));
        assert_eq!(quantile(&[], 0.5), None);
        let r = Range::of([4.0, f32::NAN, 0.0, 2.0, 1.0, 3.0], 0.1).unwrap();
        assert_eq!(r, Range { low: 0.4, median: 2.0, high: 3.6 });
        assert_eq!(Range::of([f32::INFINITY], 0.1), None);
    }

    #[test]
    fn rest_is_before_the_first_window_and_between_widened_windows() {
        let p = plan(&[Action::TurnLeft, Action::Blink], false); // windows 1000–4000, 4000–7000
        let th = Thresholds::default();
        assert!(at_rest(&p, &th, 999));
        assert!(!at_rest(&p, &th, 1000));
        assert!(!at_rest(&p, &th, 7000 + th.window_grace_ms), "nothing after the last window");
        // Two windows with a gap wider than the grace margins: the gap is rest.
        let mut gap = p.clone();
        gap.actions[1].start_ms = 5500;
        gap.actions[1].end_ms = 8000;
        assert!(!at_rest(&gap, &th, 4000 + th.window_grace_ms - 1));
        assert!(at_rest(&gap, &th, 4000 + th.window_grace_ms) && at_rest(&gap, &th, 5500 - th.window_grace_ms - 1));
        assert!(!at_rest(&gap, &th, 5500 - th.window_grace_ms));
    }
}
