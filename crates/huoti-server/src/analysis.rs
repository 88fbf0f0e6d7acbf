//! From uploaded JPEG frames to `huoti_liveness` observations.
//!
//! Per session, on a blocking thread:
//! 1. decode each frame (`huoti_vision::decode_image`, with limits) and step the face
//!    [`Tracker`](huoti_vision::Tracker) (detect once, then follow with FaceMesh), which gives
//!    the per-frame measures: face count, box, pose, eye/mouth openness, landmark shape and
//!    motion, face and background colour, frame hash, quality;
//! 2. pick a few frames with [`select_passive_frames`] (best quality, spread over time) and
//!    run the passive anti-spoof models on those only (they are the costliest stage);
//! 3. the caller then runs [`huoti_liveness::analyse`].
//!
//! One correction is made to the tracker's output: a frame byte-identical to the previous one
//! has landmark motion 0 (see [`Engine::observe`]); a real camera never sends two identical
//! JPEGs in a row, a still image injected as video does.
//!
//! Nothing here decides "live": that is `huoti-liveness`'s job.

use std::path::Path;

use huoti_liveness::{FrameObservation, select_passive_frames};
use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths, Rect, TrackerConfig, VisionError, decode_image};

use crate::ServerError;

/// The vision models, loaded once and shared by all sessions.
pub struct Engine {
    analyzer: Analyzer,
    model_versions: Vec<(String, String)>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("model_versions", &self.model_versions).finish_non_exhaustive()
    }
}

/// One frame to analyse.
#[derive(Debug, Clone)]
pub struct FrameInput {
    /// Sequence number.
    pub seq: u32,
    /// Capture time, ms since the plan started.
    pub t_ms: u64,
    /// Nonce sent with it.
    pub nonce: String,
    /// The JPEG.
    pub jpeg: Vec<u8>,
}

impl Engine {
    /// Checks the pinned models in `model_dir` (a clear error naming what is missing and how
    /// to fetch it), then loads them.
    pub fn load(model_dir: &Path) -> Result<Engine, ServerError> {
        let manifest = huoti_assets::models();
        manifest.require(model_dir).map_err(|e| ServerError::Models(e.to_string()))?;
        let analyzer = Analyzer::load(&ModelPaths::in_dir(model_dir), AnalyzerConfig::default())
            .map_err(|e| ServerError::Models(e.to_string()))?;
        let model_versions =
            manifest.assets.iter().map(|a| (a.name.clone(), format!("sha256:{}", &a.sha256[..12.min(a.sha256.len())]))).collect();
        Ok(Engine { analyzer, model_versions })
    }

    /// Model names and versions, for the verdict.
    pub fn model_versions(&self) -> &[(String, String)] {
        &self.model_versions
    }

    /// Measures every frame, then scores `passive_frames` of them with the anti-spoof models.
    /// CPU-bound: run on a blocking thread.
    pub fn observe(&self, frames: &[FrameInput], passive_frames: usize) -> Result<Vec<FrameObservation>, VisionError> {
        let limits = self.analyzer.config().decode;
        let mut tracker = self.analyzer.tracker(TrackerConfig::default());
        let mut observations = Vec::with_capacity(frames.len());
        let mut boxes: Vec<Option<Rect>> = Vec::with_capacity(frames.len());
        for f in frames {
            let img = match decode_image(&f.jpeg, &limits) {
                Ok(img) => img,
                Err(e @ (VisionError::ModelMissing { .. } | VisionError::Model { .. })) => return Err(e),
                Err(_) => {
                    // Checked at upload; should not happen. An undecodable frame has no face.
                    observations.push(FrameObservation { seq: f.seq, t_ms: f.t_ms, nonce: f.nonce.clone(), ..Default::default() });
                    boxes.push(None);
                    continue;
                }
            };
            let mut a = tracker.step(&img)?;
            // Byte-identical to the previous frame: nothing in the picture moved, so the
            // landmark motion is 0 by definition, whatever the tracker's crop did.
            let i = observations.len();
            if i > 0 && frames[i - 1].jpeg == f.jpeg {
                a.landmark_motion = 0.0;
            }
            // The vision → liveness conversion is shared with `huoti eval` (huoti-engine).
            let obs = huoti_engine::observation(f.seq, f.t_ms, &f.nonce, &a, img.width(), img.height());
            boxes.push(obs.face.as_ref().and(a.face_box));
            observations.push(obs);
        }
        for seq in select_passive_frames(&observations, passive_frames) {
            let Some(i) = observations.iter().position(|o| o.seq == seq) else { continue };
            let Some(bbox) = boxes[i] else { continue };
            let img = decode_image(&frames[i].jpeg, &limits)?;
            let passive = self.analyzer.passive(&img, &bbox)?;
            if let Some(face) = observations[i].face.as_mut() {
                face.passive_real = Some(passive.real_probability);
            }
        }
        Ok(observations)
    }
}
