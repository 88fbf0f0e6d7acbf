//! [`IrisGate`]: which frames of a blink window get the Iris model — fewer than all of them.
//!
//! The Iris model sees the lids close where FaceMesh's eye aspect ratio hardly moves, but it
//! costs two model runs per frame; run on every frame of a blink window it was the largest
//! single cost of a session's server CPU (≈ 37 %, issue 15). A blink is a dip of 100–400 ms:
//! it needs the model *around* the dip, not on every open-eyed frame before and after it. So,
//! inside a blink window (as [`iris_wanted`](crate::iris_wanted) widens it), a frame gets the
//! Iris model when any of these holds:
//!
//! - **no more than [`Thresholds::iris_max_skip`] frames in a row went without it** (2: every
//!   third frame at least, so a blink of three frames or more — 300 ms at the capture
//!   profile's 10 fps — is seen however FaceMesh saw it);
//! - **FaceMesh's eye aspect ratio dips** below [`Thresholds::iris_gate_eye_ratio`] of the
//!   person's resting median: a short blink that falls between the sampled frames (on the
//!   shared clips FaceMesh's ratio falls to 0.80–0.91 of open at a blink);
//! - **the last Iris reading was not open yet** (below [`Thresholds::iris_blink_open_ratio`]
//!   of the resting Iris median): once the lids are seen closing, every frame is measured
//!   until they are seen open again, which is what the blink's "back" needs;
//! - the person's resting levels are not known (no face at rest): every frame, as before.
//!
//! The last second of rest (the open-eye level) keeps every frame. Pure: the caller feeds the
//! frames in capture order ([`wants`](IrisGate::wants) before measuring, then
//! [`record`](IrisGate::record)), so the on-arrival run and a re-analysis choose the same frames.

use crate::plan::ChallengePlan;
use crate::progress::in_blink_span;
use crate::resting::at_rest;
use crate::timeline::quantile;
use crate::{FaceObservation, Thresholds, iris_wanted};

/// The Iris model's schedule for one session: see the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct IrisGate {
    plan: ChallengePlan,
    th: Thresholds,
    /// FaceMesh eye aspect ratios (smaller eye) of the resting frames so far.
    rest_eye: Vec<f32>,
    /// Iris openness (mean of both eyes) of the resting frames so far.
    rest_iris: Vec<f32>,
    /// Blink-window frames in a row since the last that got the Iris model.
    skipped: usize,
    /// The last Iris reading in a blink window.
    last_iris: Option<f32>,
}

impl IrisGate {
    /// The gate of `plan`, judged with `th`.
    pub fn new(plan: &ChallengePlan, th: &Thresholds) -> IrisGate {
        IrisGate {
            plan: plan.clone(),
            th: th.clone(),
            rest_eye: Vec::new(),
            rest_iris: Vec::new(),
            skipped: 0,
            last_iris: None,
        }
    }

    /// Whether the frame captured at `t_ms`, whose face FaceMesh measured as `face` (`None`: no
    /// face, which needs no Iris), gets the Iris model.
    pub fn wants(&self, t_ms: u64, face: Option<&FaceObservation>) -> bool {
        if face.is_none() || !iris_wanted(&self.plan, &self.th, t_ms) {
            return false;
        }
        if !in_blink_span(&self.plan, &self.th, t_ms) {
            return true; // the end of rest: the open-eye level, every frame
        }
        let (Some(eye_open), Some(iris_open)) = (median(&self.rest_eye), median(&self.rest_iris))
        else {
            return true;
        };
        let dips =
            face.is_some_and(|f| f.min_eye_openness() < self.th.iris_gate_eye_ratio * eye_open);
        let not_open_yet = self
            .last_iris
            .is_some_and(|v| v < self.th.iris_blink_open_ratio * iris_open);
        self.skipped >= self.th.iris_max_skip || dips || not_open_yet
    }

    /// Records the frame at `t_ms` once measured: its face, with `iris_eye_openness` where the
    /// Iris model ran.
    pub fn record(&mut self, t_ms: u64, face: Option<&FaceObservation>) {
        let Some(face) = face else { return };
        if at_rest(&self.plan, &self.th, t_ms) {
            self.rest_eye.push(face.min_eye_openness());
            self.rest_iris.extend(face.mean_iris_eye_openness());
        }
        if in_blink_span(&self.plan, &self.th, t_ms) {
            match face.mean_iris_eye_openness() {
                Some(v) => {
                    self.skipped = 0;
                    self.last_iris = Some(v);
                }
                None => self.skipped += 1,
            }
        }
    }
}

/// The median of the finite values of `v`.
fn median(v: &[f32]) -> Option<f32> {
    quantile(v.iter().copied(), 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use crate::testkit::plan;

    fn face(ear: f32, iris: Option<f32>) -> FaceObservation {
        FaceObservation {
            eye_openness: [ear, ear],
            iris_eye_openness: iris.map(|v| [v, v]),
            ..Default::default()
        }
    }

    /// Feeds frames every `step` ms from 0 to `end`, the eyes closing (EAR ×0.85, Iris ×0.2)
    /// over `blink`; returns the times that got the Iris model.
    fn run(gate: &mut IrisGate, step: u64, end: u64, blink: std::ops::Range<u64>) -> Vec<u64> {
        let mut ran = Vec::new();
        for t in (0..end).step_by(step as usize) {
            let closed = blink.contains(&t);
            let (ear, iris) = if closed {
                (0.25 * 0.85, 0.3 * 0.2)
            } else {
                (0.25, 0.3)
            };
            let seen = face(ear, None);
            let iris = gate.wants(t, Some(&seen)).then_some(iris);
            if iris.is_some() {
                ran.push(t);
            }
            gate.record(t, Some(&face(ear, iris)));
        }
        ran
    }

    #[test]
    fn every_few_frames_in_the_window_every_frame_at_the_end_of_rest_and_around_a_dip() {
        let p = plan(&[Action::TurnLeft, Action::Blink], false); // windows 1000–4000, 4000–7000
        let th = Thresholds::default();
        let mut gate = IrisGate::new(&p, &th);
        // 10 fps; a 100 ms blink at 5500 (one frame, between two sampled ones).
        let ran = run(&mut gate, 100, 7600, 5500..5600);
        let rest: Vec<u64> = ran.iter().copied().filter(|&t| t < 1000).collect();
        assert_eq!(
            rest,
            (0..1000).step_by(100).collect::<Vec<_>>(),
            "the last second of rest: every frame"
        );
        assert!(
            !ran.iter().any(|&t| (1000..3500).contains(&t)),
            "a turn window needs no Iris"
        );
        let window: Vec<u64> = ran.iter().copied().filter(|&t| t >= 3500).collect();
        // Every few frames, plus the blink frame (FaceMesh dipped) and the one after it
        // (the lids were last seen closed).
        assert!(
            window.contains(&5500) && window.contains(&5600),
            "{window:?}"
        );
        let most = 100 * (th.iris_max_skip as u64 + 1);
        assert!(
            window.windows(2).all(|w| w[1] - w[0] <= most),
            "never more than iris_max_skip frames in a row skipped: {window:?}"
        );
        let all = (3500..7600).step_by(100).count();
        assert!(
            window.len() < all * 2 / 3,
            "{} of {all} frames",
            window.len()
        );
    }

    #[test]
    fn without_resting_levels_every_window_frame_gets_the_model() {
        let p = plan(&[Action::Blink], false);
        let th = Thresholds::default();
        let gate = IrisGate::new(&p, &th); // nothing recorded at rest
        let s = &p.actions[0];
        assert!(
            (s.start_ms..s.end_ms)
                .step_by(100)
                .all(|t| gate.wants(t, Some(&face(0.25, None))))
        );
        assert!(!gate.wants(s.start_ms, None), "no face: nothing to measure");
    }
}
