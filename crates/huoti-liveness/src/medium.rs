//! The screen-medium check. How it works, for readers and users: [`crate::manual::passive`]
//! (`src/manual/passive.md`, "The screen-medium cue").

use crate::timeline::quantile;
use crate::{Check, CheckScore, FrameObservation, ReasonCode, Thresholds};

/// The result of the screen-medium check: no check when no frame carries the cue (an engine
/// that does not measure it).
#[derive(Debug, Clone)]
pub(crate) struct MediumResult {
    pub check: Option<CheckScore>,
    pub reasons: Vec<ReasonCode>,
}

pub(crate) fn check_medium(frames: &[FrameObservation], th: &Thresholds) -> MediumResult {
    let cues = frames.iter().filter_map(|f| f.face.as_ref()?.screen_medium);
    let Some(cue) = quantile(cues, th.medium_quantile) else {
        return MediumResult {
            check: None,
            reasons: Vec::new(),
        };
    };
    let cue = cue.clamp(0.0, 1.0);
    let passed = cue < th.medium_max;
    MediumResult {
        check: Some(CheckScore {
            check: Check::Medium,
            score: 1.0 - cue,
            passed: Some(passed),
        }),
        reasons: if passed {
            Vec::new()
        } else {
            vec![ReasonCode::ScreenMedium]
        },
    }
}
