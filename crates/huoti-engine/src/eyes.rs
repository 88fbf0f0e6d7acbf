//! The Iris model's eye openness, only on the frames where a blink is judged.
//!
//! FaceMesh's eyelids never meet, so a blink judged on its eye aspect ratio is a ≈ 30 % dip;
//! the Iris model (`huoti_vision::Analyzer::eye_openness`) sees the lids close, but costs two
//! model runs per frame — more than FaceMesh. A session therefore runs it only where
//! [`huoti_liveness::iris_wanted`] says a blink step needs it (the blink window, and the end of
//! the resting time for the person's open-eye level), and inside the blink window only on the
//! frames [`huoti_liveness::IrisGate`] picks (every third frame, and every frame around a dip).
//! Both the on-arrival [`LiveRun`] and the all-at-once [`observe_all_with`] use the same
//! [`IrisSchedule`], fed the frames in the same order, so both give one answer.
//!
//! [`LiveRun`]: crate::LiveRun
//! [`observe_all_with`]: crate::observe_all_with

use huoti_liveness::{ChallengePlan, FrameObservation, IrisGate, Thresholds};
use huoti_vision::{Analyzer, FrameAnalysis, VisionError};
use image::RgbImage;

/// Which frames of a session get the Iris model: in a plan's blink step and at the end of its
/// resting time, by capture time, and within the blink step those the [`IrisGate`] picks from
/// the frames before. Holds the gate's state: feed it a session's frames in order.
#[derive(Debug, Clone, PartialEq)]
pub struct IrisSchedule {
    gate: IrisGate,
}

impl IrisSchedule {
    /// The schedule of `plan` judged with `thresholds` (their grace and blink timings).
    pub fn new(plan: &ChallengePlan, thresholds: &Thresholds) -> IrisSchedule {
        IrisSchedule { gate: IrisGate::new(plan, thresholds) }
    }
}

/// Runs the Iris model on `img` when the schedule wants this frame and the tracker found the
/// eyes, records the result in the frame's observation, and tells the schedule.
pub(crate) fn measure_eyes(
    analyzer: &Analyzer,
    schedule: Option<&mut IrisSchedule>,
    img: &RgbImage,
    analysis: &FrameAnalysis,
    obs: &mut FrameObservation,
) -> Result<(), VisionError> {
    let Some(schedule) = schedule else { return Ok(()) };
    if let (Some(eyes), Some(face)) = (analysis.eyes.as_ref(), obs.face.as_mut()) {
        if schedule.gate.wants(obs.t_ms, Some(face)) {
            face.iris_eye_openness = Some(analyzer.eye_openness(img, eyes)?.openness());
        }
    }
    schedule.gate.record(obs.t_ms, obs.face.as_ref());
    Ok(())
}
