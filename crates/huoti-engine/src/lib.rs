//! # huoti-engine: from camera frames to a liveness verdict
//!
//! `huoti-vision` measures pixels; `huoti-liveness` judges numbers. This crate is the small
//! piece of glue between them, so that every caller (the evaluation harness `huoti eval
//! --session`, and later the server) turns frames into [`FrameObservation`]s the same way:
//!
//! 1. [`SessionRun::push_frame`] steps the face [`Tracker`](huoti_vision::Tracker) (detect
//!    once, then follow with FaceMesh) on each frame, in upload order, and records the
//!    measures: face count, box (normalised to the frame), yaw/pitch/roll, eye and mouth
//!    openness, landmark shape and motion, face and background colour, frame hash, and a 0–1
//!    [`quality_score`] derived from the vision engine's [`Quality`] facts.
//!    It drives a [`LiveRun`], the same state machine a server steps as each frame is
//!    uploaded (with a reorder window for uploads that overtake each other, and nothing but
//!    measures kept between frames; see [`live`]).
//!    Where the plan asks for a blink, the frames of that window (and the end of the resting
//!    time) also get the Iris model's eye openness ([`eyes`]: only there, for its cost).
//! 2. As the frames come, [`PASSIVE_FRAMES`] of them are picked as
//!    [`select_passive_frames`](huoti_liveness::select_passive_frames) would pick them (spread
//!    over the plan's time from its first second, blind to sharpness: a replay shows its
//!    medium most in some frames), and on those only the passive anti-spoof models (the
//!    costliest stage) run and the cheap screen-medium cue is measured ([`score_passive`]).
//!    [`SessionRun::finish`] then calls [`huoti_liveness::analyse`].
//!
//! Nothing here decides "live": that is `huoti-liveness`'s job.
//!
//! **Memory.** The passive frames are picked as they arrive (by the plan's clock), so the run
//! keeps no pixels between frames: only the measures.
//!
//! ```no_run
//! use huoti_engine::SessionRun;
//! use huoti_liveness::{Action, ActionStep, ChallengePlan, SeenFrames};
//! use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};
//!
//! let analyzer = Analyzer::load(&ModelPaths::in_dir("models".as_ref()), AnalyzerConfig::default())?;
//! let step = ActionStep { action: Action::OpenMouth, start_ms: 1000, end_ms: 4000 };
//! let plan = ChallengePlan::fixed("c0ffee", vec![step], vec![]).unwrap();
//! let mut run = SessionRun::new(&analyzer, plan);
//! # let frames: Vec<(u64, image::RgbImage)> = Vec::new();
//! for (seq, (t_ms, image)) in frames.iter().enumerate() {
//!     run.push_frame(seq as u32, *t_ms, image)?;
//! }
//! let verdict = run.finish(&SeenFrames::new(), Vec::new())?;
//! println!("{:?} {}", verdict.decision, verdict.score);
//! # Ok::<(), huoti_engine::EngineError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod eyes;
pub mod live;

use huoti_liveness::{AnalysisContext, ChallengePlan, FaceObservation, FrameObservation, SeenFrames, Thresholds, Verdict};
use huoti_vision::{Analyzer, FrameAnalysis, Quality, TrackerConfig, VisionError};
use image::RgbImage;

pub use eyes::IrisSchedule;
pub use live::{FrameInput, LiveRun, REORDER_WINDOW, observe_all, observe_all_with, score_passive};

/// How many frames of a session are scored by the passive anti-spoof models (and measured for
/// the screen-medium cue). Eight, so that the low quantile the verdict takes (a quarter) rests
/// on two or three frames, not on one.
pub const PASSIVE_FRAMES: usize = 8;

/// What can go wrong while running a session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A model failed on a frame.
    #[error("vision engine: {0}")]
    Vision(#[from] VisionError),
}

/// A 0–1 quality score from the vision engine's quality facts: face size, sharpness,
/// exposure, clipping and centring (weights 0.3/0.3/0.2/0.1/0.1), reduced by 30 % when the
/// face is cut by the frame edge; 0 without a face. Used only to rank frames (passive frames,
/// reference frame).
pub fn quality_score(q: &Quality) -> f32 {
    if q.faces == 0 || q.face_width_ratio <= 0.0 {
        return 0.0;
    }
    let size = (q.face_width_ratio / 0.25).clamp(0.0, 1.0);
    let sharp = (q.sharpness / 100.0).clamp(0.0, 1.0);
    let exposure = 1.0 - ((q.exposure_mean - 128.0).abs() / 128.0).clamp(0.0, 1.0);
    let clip = 1.0 - q.exposure_clipped.clamp(0.0, 1.0);
    let centre = 1.0 - (q.centre_offset * 2.0).clamp(0.0, 1.0);
    let inside = if q.face_inside { 1.0 } else { 0.7 };
    let s = (0.3 * size + 0.3 * sharp + 0.2 * exposure + 0.1 * clip + 0.1 * centre) * inside;
    if s.is_finite() { s.clamp(0.0, 1.0) } else { 0.0 }
}

/// Converts the tracker's measures of one frame into the liveness crate's observation
/// (without a passive score: see [`SessionRun::finish`]). `width`/`height` are the frame's,
/// to normalise the face box.
pub fn observation(seq: u32, t_ms: u64, nonce: &str, a: &FrameAnalysis, width: u32, height: u32) -> FrameObservation {
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    let face = match (a.face_box, a.measures) {
        (Some(b), Some(m)) => Some(FaceObservation {
            bbox: [b.x / w, b.y / h, b.w / w, b.h / h],
            yaw_deg: m.yaw_deg,
            pitch_deg: m.pitch_deg,
            roll_deg: m.roll_deg,
            eye_openness: m.eye_openness,
            mouth_openness: m.mouth_openness,
            face_rgb: a.face_rgb,
            background_rgb: a.background_rgb,
            background_split_rgb: a.background_split_rgb,
            shape: a.shape.clone(),
            landmark_motion: a.landmark_motion,
            passive_real: None,
            // Filled in where the session's blink step needs it (see `eyes`).
            iris_eye_openness: None,
            screen_medium: None,
        }),
        _ => None,
    };
    FrameObservation {
        seq,
        t_ms,
        nonce: nonce.to_owned(),
        faces: if face.is_some() { a.faces.max(1) as u32 } else { a.faces as u32 },
        face,
        frame_hash: a.frame_hash,
        quality: quality_score(&a.quality),
    }
}

/// One liveness session in progress: frames in, verdict out. See the [crate docs](crate).
pub struct SessionRun<'a> {
    analyzer: &'a Analyzer,
    run: LiveRun,
    plan: ChallengePlan,
    thresholds: Thresholds,
}

impl<'a> SessionRun<'a> {
    /// Starts a session judged against `plan` (every frame is bound to the plan's nonce),
    /// with the default tracker settings and thresholds.
    pub fn new(analyzer: &'a Analyzer, plan: ChallengePlan) -> Self {
        let thresholds = Thresholds::default();
        let run = LiveRun::new(TrackerConfig::default())
            .with_iris(IrisSchedule::new(&plan, &thresholds))
            .with_glare_for(&plan, &thresholds)
            .with_passive(PASSIVE_FRAMES, plan.total_ms);
        SessionRun { analyzer, run, plan, thresholds }
    }

    /// Replaces the liveness thresholds (default: [`Thresholds::default`]). They also say
    /// which frames get the Iris model and the glare signal, from the next frame on.
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.run = std::mem::take(&mut self.run).with_iris(IrisSchedule::new(&self.plan, &thresholds)).with_glare_for(&self.plan, &thresholds);
        self.thresholds = thresholds;
        self
    }

    /// The plan this session is judged against.
    pub fn plan(&self) -> &ChallengePlan {
        &self.plan
    }

    /// Measures the next frame (`seq` 0, 1, 2, … in upload order; `t_ms` since the start of
    /// the plan) and returns its observation.
    pub fn push_frame(&mut self, seq: u32, t_ms: u64, image: &RgbImage) -> Result<&FrameObservation, EngineError> {
        // Decoded frames have no upload bytes: no repeated-upload correction here.
        Ok(self.run.measure(self.analyzer, seq, t_ms, &self.plan.nonce, None, image)?)
    }

    /// The observations so far (passive scores are filled in by [`finish`](Self::finish)).
    pub fn observations(&self) -> &[FrameObservation] {
        self.run.observations()
    }

    /// Scores [`PASSIVE_FRAMES`] frames spread over the session with the passive models and the
    /// screen-medium cue, then judges the session. `seen` holds earlier sessions' frame hashes (record this session's *after*
    /// the verdict); `model_versions` are copied into the verdict.
    pub fn finish(self, seen: &SeenFrames, model_versions: Vec<(String, String)>) -> Result<Verdict, EngineError> {
        let (verdict, _) = self.finish_with_observations(seen, model_versions)?;
        Ok(verdict)
    }

    /// Like [`finish`](Self::finish), and also returns the observations (with the passive
    /// scores), e.g. to record the frame hashes or to debug a verdict.
    pub fn finish_with_observations(
        self,
        seen: &SeenFrames,
        model_versions: Vec<(String, String)>,
    ) -> Result<(Verdict, Vec<FrameObservation>), EngineError> {
        let SessionRun { analyzer: _, run, plan, thresholds } = self;
        // The passive frames were scored as they came (`with_passive`).
        let (observations, _) = run.into_parts();
        let ctx = AnalysisContext { seen, thresholds, model_versions, arrivals: Default::default() };
        let verdict = huoti_liveness::analyse(&plan, &observations, &ctx);
        Ok((verdict, observations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quality(faces: usize) -> Quality {
        Quality {
            faces,
            face_width_ratio: 0.3,
            centre_offset: 0.0,
            sharpness: 200.0,
            exposure_mean: 128.0,
            exposure_clipped: 0.0,
            face_inside: true,
        }
    }

    #[test]
    fn quality_score_is_zero_without_a_face_and_one_for_an_ideal_frame() {
        assert_eq!(quality_score(&quality(0)), 0.0);
        assert!((quality_score(&quality(1)) - 1.0).abs() < 1e-6);
        let cut = Quality { face_inside: false, ..quality(1) };
        assert!((quality_score(&cut) - 0.7).abs() < 1e-6);
        let nan = Quality { sharpness: f32::NAN, ..quality(1) };
        assert!((0.0..=1.0).contains(&quality_score(&nan)));
    }
}
