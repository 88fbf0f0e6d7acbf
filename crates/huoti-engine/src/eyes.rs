//! The Iris model's eye openness, only on the frames where a blink is judged.
//!
//! FaceMesh's eyelids never meet, so a blink judged on its eye aspect ratio is a ≈ 30 % dip;
//! the Iris model (`huoti_vision::Analyzer::eye_openness`) sees the lids close, but costs two
//! model runs per frame — more than FaceMesh. A session therefore runs it only where
//! [`huoti_liveness::iris_wanted`] says a blink step needs it (the blink window, and the end of
//! the resting time for the person's open-eye level). Both the on-arrival [`LiveRun`] and the
//! all-at-once [`observe_all_with`] use the same [`IrisSchedule`], so both give one answer.
//!
//! [`LiveRun`]: crate::LiveRun
//! [`observe_all_with`]: crate::observe_all_with

use huoti_liveness::{ChallengePlan, FrameObservation, Thresholds, iris_wanted};
use huoti_vision::{Analyzer, FrameAnalysis, VisionError};
use image::RgbImage;

/// Which frames of a session get the Iris model: those of a plan's blink step and the end of
/// its resting time, by capture time.
#[derive(Debug, Clone, PartialEq)]
pub struct IrisSchedule {
    plan: ChallengePlan,
    thresholds: Thresholds,
}

impl IrisSchedule {
    /// The schedule of `plan` judged with `thresholds` (their grace and blink timings).
    pub fn new(plan: &ChallengePlan, thresholds: &Thresholds) -> IrisSchedule {
        IrisSchedule { plan: plan.clone(), thresholds: thresholds.clone() }
    }

    /// Whether the frame captured at `t_ms` gets the Iris model.
    pub fn wants(&self, t_ms: u64) -> bool {
        iris_wanted(&self.plan, &self.thresholds, t_ms)
    }
}

/// Runs the Iris model on `img` when the schedule wants this frame and the tracker found the
/// eyes, and records the result in the frame's observation.
pub(crate) fn measure_eyes(
    analyzer: &Analyzer,
    schedule: Option<&IrisSchedule>,
    img: &RgbImage,
    analysis: &FrameAnalysis,
    obs: &mut FrameObservation,
) -> Result<(), VisionError> {
    let (Some(schedule), Some(eyes), Some(face)) = (schedule, analysis.eyes.as_ref(), obs.face.as_mut()) else {
        return Ok(());
    };
    if schedule.wants(obs.t_ms) {
        face.iris_eye_openness = Some(analyzer.eye_openness(img, eyes)?.openness());
    }
    Ok(())
}
