//! From uploaded JPEG frames to `huoti_liveness` observations — on arrival.
//!
//! Each frame is measured **when it is uploaded** ([`Engine::push`]): the upload handler
//! already decodes the JPEG to validate it, and the face [`Tracker`](huoti_vision::Tracker)
//! (detect once, then follow with FaceMesh) steps on that image, so the per-frame work
//! (~14 ms) overlaps the capture. A session's [`LiveRun`] holds only measures — no pixels —
//! in memory. At `complete` only what needs the whole timeline is left:
//!
//! 1. pick a few frames with [`select_passive_frames`] (best quality, spread over time),
//!    open just those from the vault and run the passive anti-spoof models on them (the
//!    costliest models, so never on every frame);
//! 2. the caller runs [`huoti_liveness::analyse`].
//!
//! **Order.** The tracker must see frames in `seq` order. Clients upload a few frames in
//! parallel, so a frame that arrives early waits (as JPEG bytes, at most
//! [`REORDER_WINDOW`] per session) until its predecessors have been measured.
//!
//! **Fallback.** A live run is only trusted when it measured exactly the stored frames, in
//! order ([`LiveRun::matches`]). A frame that arrives after the run moved past it, a run lost
//! with a server restart, or a `complete` served by another node: then [`Engine::observe`]
//! measures every stored frame at `complete` — the same code, slower, never a different
//! answer.
//!
//! One correction is made to the tracker's output: a frame byte-identical to the previous one
//! has landmark motion 0; a real camera never sends two identical JPEGs in a row, a still
//! image injected as video does.
//!
//! Nothing here decides "live": that is `huoti-liveness`'s job.

use std::path::Path;

use huoti_liveness::{FrameObservation, select_passive_frames};
use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths, Rect, TrackState, TrackerConfig, VisionError, decode_image};
use image::RgbImage;
use sha2::{Digest, Sha256};

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

/// Frames held back because an earlier one has not arrived yet (uploads in parallel), at most
/// this many per session; beyond it the gap is given up on and the run moves on.
pub const REORDER_WINDOW: usize = 8;

/// A frame that arrived before its predecessor: kept as its JPEG (≤ the frame size limit),
/// decoded again when its turn comes.
#[derive(Debug)]
struct Pending {
    t_ms: u64,
    nonce: String,
    jpeg: Vec<u8>,
}

/// A session's analysis so far: the tracker's memory and one observation per frame measured.
#[derive(Debug)]
pub struct LiveRun {
    track: TrackState,
    observations: Vec<FrameObservation>,
    /// Per observation, the face box (for the passive models at `complete`).
    boxes: Vec<Option<Rect>>,
    last_jpeg: Option<[u8; 32]>,
    /// The sequence number measured next; later ones wait in `pending`.
    next_seq: u32,
    pending: std::collections::BTreeMap<u32, Pending>,
    /// A frame arrived after the run had moved past it, or could not be measured:
    /// `complete` re-analyses.
    broken: bool,
}

impl LiveRun {
    /// True when this run measured exactly `seqs` (the stored frames, ascending), so its
    /// observations can stand for a full analysis. Call [`Engine::flush`] first.
    pub fn matches(&self, seqs: &[u32]) -> bool {
        !self.broken
            && self.pending.is_empty()
            && self.observations.len() == seqs.len()
            && self.observations.iter().zip(seqs).all(|(o, s)| o.seq == *s)
    }

    /// The observations and face boxes (passive scores not yet filled in).
    pub fn into_parts(self) -> (Vec<FrameObservation>, Vec<Option<Rect>>) {
        (self.observations, self.boxes)
    }
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
            // Optional models (face match) judge nothing here: the verdict names what did.
            manifest.assets.iter().filter(|a| !a.optional).map(|a| (a.name.clone(), format!("sha256:{}", &a.sha256[..12.min(a.sha256.len())]))).collect();
        Ok(Engine { analyzer, model_versions })
    }

    /// Model names and versions, for the verdict.
    pub fn model_versions(&self) -> &[(String, String)] {
        &self.model_versions
    }

    /// A new, empty run for one session.
    pub fn start(&self) -> LiveRun {
        LiveRun {
            track: TrackState::new(TrackerConfig::default()),
            observations: Vec::new(),
            boxes: Vec::new(),
            last_jpeg: None,
            next_seq: 0,
            pending: Default::default(),
            broken: false,
        }
    }

    /// Offers the next uploaded frame to a run (`img` is `jpeg` decoded). Frames are measured
    /// in `seq` order: one that arrives early waits (up to [`REORDER_WINDOW`] frames) for
    /// those before it. One that arrives after the run moved past it marks the run broken
    /// (a tracker cannot go back in time), as does a vision error, which is also returned.
    /// CPU-bound: run on a blocking thread.
    pub fn push(&self, run: &mut LiveRun, seq: u32, t_ms: u64, nonce: &str, jpeg: &[u8], img: &RgbImage) -> Result<(), VisionError> {
        if run.broken {
            return Ok(());
        }
        if seq < run.next_seq || run.pending.contains_key(&seq) {
            run.broken = true;
            return Ok(());
        }
        if seq == run.next_seq {
            self.measure(run, seq, t_ms, nonce, jpeg, img)?;
        } else {
            run.pending.insert(seq, Pending { t_ms, nonce: nonce.to_owned(), jpeg: jpeg.to_vec() });
        }
        self.drain(run, false)
    }

    /// Measures every frame still waiting, in order (at `complete`: no earlier frame will come).
    pub fn flush(&self, run: &mut LiveRun) -> Result<(), VisionError> {
        if run.broken {
            return Ok(());
        }
        self.drain(run, true)
    }

    /// Measures waiting frames whose turn has come; with `all` (or a full window), skips
    /// over missing frames.
    fn drain(&self, run: &mut LiveRun, all: bool) -> Result<(), VisionError> {
        let limits = self.analyzer.config().decode;
        while let Some(&seq) = run.pending.keys().next() {
            let due = seq == run.next_seq || all || run.pending.len() > REORDER_WINDOW;
            if !due {
                break;
            }
            let Some(p) = run.pending.remove(&seq) else { break };
            let img = decode_image(&p.jpeg, &limits).inspect_err(|_| run.broken = true)?;
            self.measure(run, seq, p.t_ms, &p.nonce, &p.jpeg, &img)?;
        }
        Ok(())
    }

    fn measure(&self, run: &mut LiveRun, seq: u32, t_ms: u64, nonce: &str, jpeg: &[u8], img: &RgbImage) -> Result<(), VisionError> {
        let mut tracker = self.analyzer.resume(run.track.clone());
        let stepped = tracker.step(img);
        run.track = tracker.suspend();
        let mut a = stepped.inspect_err(|_| run.broken = true)?;
        run.next_seq = seq.saturating_add(1);
        let digest: [u8; 32] = Sha256::digest(jpeg).into();
        // Byte-identical to the previous frame: nothing in the picture moved, so the
        // landmark motion is 0 by definition, whatever the tracker's crop did.
        if run.last_jpeg == Some(digest) {
            a.landmark_motion = 0.0;
        }
        run.last_jpeg = Some(digest);
        // The vision → liveness conversion is shared with `huoti eval` (huoti-engine).
        let obs = huoti_engine::observation(seq, t_ms, nonce, &a, img.width(), img.height());
        run.boxes.push(obs.face.as_ref().and(a.face_box));
        run.observations.push(obs);
        Ok(())
    }

    /// Runs the passive anti-spoof models on `passive_frames` chosen observations; `load(i)`
    /// gives the image of observation `i` (only the chosen ones are loaded).
    pub fn score_passive<E: From<VisionError>>(
        &self,
        observations: &mut [FrameObservation],
        boxes: &[Option<Rect>],
        passive_frames: usize,
        mut load: impl FnMut(usize) -> Result<RgbImage, E>,
    ) -> Result<(), E> {
        for seq in select_passive_frames(observations, passive_frames) {
            let Some(i) = observations.iter().position(|o| o.seq == seq) else { continue };
            let Some(bbox) = boxes.get(i).copied().flatten() else { continue };
            let img = load(i)?;
            let passive = self.analyzer.passive(&img, &bbox)?;
            if let Some(face) = observations[i].face.as_mut() {
                face.passive_real = Some(passive.real_probability);
            }
        }
        Ok(())
    }

    /// The whole analysis at once (the fallback, and what tools use): every frame measured
    /// in `seq` order, then the passive models on `passive_frames` of them. CPU-bound.
    pub fn observe(&self, frames: &[FrameInput], passive_frames: usize) -> Result<Vec<FrameObservation>, VisionError> {
        let limits = self.analyzer.config().decode;
        let mut sorted: Vec<&FrameInput> = frames.iter().collect();
        sorted.sort_by_key(|f| f.seq);
        sorted.dedup_by_key(|f| f.seq);
        let mut run = self.start();
        let mut used = Vec::with_capacity(sorted.len());
        for f in sorted {
            match decode_image(&f.jpeg, &limits) {
                Ok(img) => self.measure(&mut run, f.seq, f.t_ms, &f.nonce, &f.jpeg, &img)?,
                Err(e @ (VisionError::ModelMissing { .. } | VisionError::Model { .. })) => return Err(e),
                Err(_) => {
                    // Checked at upload; should not happen. An undecodable frame has no face.
                    run.observations.push(FrameObservation { seq: f.seq, t_ms: f.t_ms, nonce: f.nonce.clone(), ..Default::default() });
                    run.boxes.push(None);
                }
            }
            used.push(f);
        }
        let (mut observations, boxes) = run.into_parts();
        self.score_passive(&mut observations, &boxes, passive_frames, |i| decode_image(&used[i].jpeg, &limits))?;
        Ok(observations)
    }

    /// Decoding limits of the models' analyzer.
    pub fn decode_limits(&self) -> huoti_vision::DecodeLimits {
        self.analyzer.config().decode
    }
}

/// The live runs of the sessions this node is receiving frames for.
#[derive(Debug, Default)]
pub struct LiveRuns {
    runs: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<std::sync::Mutex<LiveRun>>>>,
}

impl LiveRuns {
    /// The run of `session`, made with `start` on its first frame.
    pub fn get_or_start(&self, session: &str, start: impl FnOnce() -> LiveRun) -> std::sync::Arc<std::sync::Mutex<LiveRun>> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.entry(session.to_owned()).or_insert_with(|| std::sync::Arc::new(std::sync::Mutex::new(start()))).clone()
    }

    /// Removes and returns the run of `session` (at `complete`, or when its frames are erased).
    pub fn take(&self, session: &str) -> Option<std::sync::Arc<std::sync::Mutex<LiveRun>>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).remove(session)
    }
}
