//! The vision models, loaded once and shared by all sessions, and the live runs of the
//! sessions this node is receiving frames for. (Leaf module: it names no feature.)
//!
//! Each frame is measured **when it is uploaded**: the upload handler already decodes the JPEG
//! to validate it, and the session's [`LiveRun`] (huoti-engine: the face tracker's memory and a
//! small reorder window) steps on that image, so the per-frame work (~14 ms) overlaps the
//! capture. At `complete` only what needs the whole timeline is left: the passive anti-spoof
//! models on a few chosen frames ([`Models::score_passive`]), then
//! [`huoti_liveness::analyse`]. A run that did not see exactly the stored frames in order is
//! not trusted, and [`Models::observe`] measures them all again — the same code, slower, never
//! a different answer.
//!
//! A session's run follows its challenge plan ([`Models::start_for`]): where the plan asks for a
//! blink, the Iris model measures the eyes on that window's frames and at the end of the
//! resting time (huoti-engine's `IrisSchedule`), and the fallback ([`Models::observe_for`])
//! uses the same schedule. The Iris model is required like the others (not `optional` in
//! `models/MODELS.toml`): [`Models::load`] refuses a model directory without it, naming it
//! and `huoti models fetch`, so a server never judges blinks on FaceMesh's eye aspect ratio
//! alone.
//!
//! Nothing here decides "live": that is `huoti-liveness`'s job.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use huoti_engine::IrisSchedule;
use huoti_liveness::{ChallengePlan, FrameObservation, Thresholds};
use huoti_vision::{Analyzer, AnalyzerConfig, FaceMatcher, MatcherConfig, ModelPaths, Rect, VisionError};
use image::RgbImage;

pub use huoti_engine::{FrameInput, LiveRun, REORDER_WINDOW};

use crate::error::ServerError;
use crate::http::budget::{MemoryBudget, Reservation};

/// The vision models, loaded once and shared by all sessions.
pub struct Models {
    analyzer: Analyzer,
    model_versions: Vec<(String, String)>,
    /// Face match (SFace, optional): absent when its model is not fetched.
    face_matcher: Option<Arc<FaceMatcher>>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models").field("model_versions", &self.model_versions).finish_non_exhaustive()
    }
}

impl Models {
    /// Checks the pinned models in `model_dir` (a clear error naming what is missing and how
    /// to fetch it), then loads them.
    pub fn load(model_dir: &Path) -> Result<Models, ServerError> {
        let manifest = huoti_assets::models();
        manifest.require(model_dir).map_err(|e| ServerError::Models(e.into()))?;
        let analyzer = Analyzer::load(&ModelPaths::in_dir(model_dir), AnalyzerConfig::default()).map_err(|e| ServerError::Models(e.into()))?;
        // Optional models (face match) judge nothing here: the verdict names what did.
        let model_versions = manifest
            .assets
            .iter()
            .filter(|a| !a.optional)
            .map(|a| (a.name.clone(), format!("sha256:{}", &a.sha256[..12.min(a.sha256.len())])))
            .collect();
        Ok(Models { analyzer, model_versions, face_matcher: load_face_matcher(&manifest, model_dir) })
    }

    /// Face match (YuNet + SFace), when its optional model is present and verified.
    pub fn face_matcher(&self) -> Option<Arc<FaceMatcher>> {
        self.face_matcher.clone()
    }

    /// Model names and versions, for the verdict.
    pub fn model_versions(&self) -> &[(String, String)] {
        &self.model_versions
    }

    /// A new, empty run without a challenge plan: FaceMesh's measures only, no Iris model
    /// (tools and tests; a session's run is [`start_for`](Self::start_for)).
    pub fn start(&self) -> LiveRun {
        LiveRun::default()
    }

    /// A new, empty run for a session judged against `plan`: where the plan asks for a blink,
    /// the frames of its window (and the end of the resting time) also get the Iris model's
    /// eye openness, so the blink is judged on eyelids that close (issue 16), not on
    /// FaceMesh's ≈ 30 % dip; and the `passive_frames` frames the passive models judge are
    /// scored as they arrive, so `complete` runs no model (issue 15). The same schedule and
    /// choice as [`observe_for`](Self::observe_for).
    pub fn start_for(&self, plan: &ChallengePlan, passive_frames: usize) -> LiveRun {
        LiveRun::default()
            .with_iris(iris_schedule(plan))
            .with_glare_for(plan, &Thresholds::default())
            .with_passive(passive_frames, plan.total_ms)
    }

    /// Offers the next uploaded frame to a run (see [`LiveRun::push`]). CPU-bound: run on a
    /// blocking thread.
    pub fn push(&self, run: &mut LiveRun, seq: u32, t_ms: u64, nonce: &str, jpeg: &[u8], img: &RgbImage) -> Result<(), VisionError> {
        run.push(&self.analyzer, seq, t_ms, nonce, jpeg, img)
    }

    /// Measures every frame still waiting in a run (at `complete`).
    pub fn flush(&self, run: &mut LiveRun) -> Result<(), VisionError> {
        run.flush(&self.analyzer)
    }

    /// Runs the passive anti-spoof models on the `passive_frames` observations chosen over
    /// `plan`'s time that were not scored on arrival; `load(i)` gives the image of observation
    /// `i` (only those are loaded).
    pub fn score_passive<E: From<VisionError>>(
        &self,
        observations: &mut [FrameObservation],
        boxes: &[Option<Rect>],
        (passive_frames, plan): (usize, &ChallengePlan),
        mut load: impl FnMut(usize) -> Result<RgbImage, E>,
    ) -> Result<(), E> {
        huoti_engine::score_passive(&self.analyzer, observations, boxes, (passive_frames, plan.total_ms), |i| load(i).map(Some))
    }

    /// The whole analysis at once (the fallback, and what tools use): every frame measured in
    /// `seq` order, then the passive models on `passive_frames` of them. CPU-bound.
    pub fn observe(&self, frames: &[FrameInput], passive_frames: usize) -> Result<Vec<FrameObservation>, VisionError> {
        huoti_engine::observe_all(&self.analyzer, frames, passive_frames)
    }

    /// [`observe`](Self::observe) for a session judged against `plan`, through a run started
    /// as [`start_for`](Self::start_for) starts one (the Iris model and the glare signal on
    /// the same frames), so the fallback and the on-arrival path measure the same.
    pub fn observe_for(&self, frames: &[FrameInput], passive_frames: usize, plan: &ChallengePlan) -> Result<Vec<FrameObservation>, VisionError> {
        huoti_engine::observe_all_with(&self.analyzer, frames, self.start_for(plan, passive_frames))
    }

    /// Decoding limits of the models' analyzer.
    pub fn decode_limits(&self) -> huoti_vision::DecodeLimits {
        self.analyzer.config().decode
    }
}

/// Loads face match when SFace is in `model_dir` and matches its pin; without it the server
/// runs liveness alone and face-match requests get `face_match_unavailable`.
fn load_face_matcher(manifest: &huoti_assets::Manifest, model_dir: &Path) -> Option<Arc<FaceMatcher>> {
    if let Err(e) = manifest.require_named(model_dir, &["sface"]) {
        tracing::info!(reason = %e, "face match off: its optional model is not there (`huoti models fetch` brings it)");
        return None;
    }
    match FaceMatcher::load(&ModelPaths::in_dir(model_dir), MatcherConfig::default()) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) => {
            tracing::warn!(error = %e, "face match off: its model did not load");
            None
        }
    }
}

/// Which frames of a session judged against `plan` get the Iris model: with the thresholds
/// the verdict uses (the server's are the defaults).
fn iris_schedule(plan: &ChallengePlan) -> IrisSchedule {
    IrisSchedule::new(plan, &Thresholds::default())
}

/// A run shared between the upload requests of one session.
pub type SharedRun = Arc<Mutex<LiveRun>>;

/// A session's run, when this node started it, and the share of the node's reorder budget its
/// waiting frames hold.
#[derive(Debug)]
struct Entry {
    run: SharedRun,
    started_ms: u64,
    held: Option<Reservation>,
}

/// The live runs of the sessions this node is receiving frames for, and a budget for the
/// frames they hold back for reordering (each run at most a small window of JPEGs, but runs
/// are many): a run whose waiting frames do not fit gives up measuring on arrival (its
/// `complete` re-measures the stored frames), so a flood of out-of-order uploads across many
/// sessions costs time, not memory.
///
/// Behind a load balancer without session affinity, another node may complete a session
/// whose first frames this node measured: nothing here hears of it, so the janitor drops runs
/// older than a session's lifetime ([`drop_started_before`](LiveRuns::drop_started_before)),
/// and their share of the reorder budget with them.
#[derive(Debug)]
pub struct LiveRuns {
    runs: Mutex<HashMap<String, Entry>>,
    reorder: MemoryBudget,
}

impl Default for LiveRuns {
    fn default() -> Self {
        LiveRuns::new(crate::config::LimitsConfig::default().reorder_budget_bytes())
    }
}

impl LiveRuns {
    /// No runs yet; frames held back for reordering may take `reorder_bytes` in all.
    pub fn new(reorder_bytes: u64) -> LiveRuns {
        LiveRuns { runs: Mutex::default(), reorder: MemoryBudget::new(reorder_bytes) }
    }

    /// The run of `session`, made with `start` on its first frame (at `now_ms`).
    pub fn get_or_start(&self, session: &str, now_ms: u64, start: impl FnOnce() -> LiveRun) -> SharedRun {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.entry(session.to_owned())
            .or_insert_with(|| Entry { run: Arc::new(Mutex::new(start())), started_ms: now_ms, held: None })
            .run
            .clone()
    }

    /// Accounts for the frames `run` (of `session`) holds back after a push: they are covered
    /// by the reorder budget, or the run gives them up. A run taken meanwhile is left alone
    /// (its frames go with it).
    pub fn settle(&self, session: &str, run: &SharedRun) {
        let pending = run.lock().unwrap_or_else(|e| e.into_inner()).pending_bytes() as u64;
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = runs.get_mut(session).filter(|e| Arc::ptr_eq(&e.run, run)) else { return };
        let have = entry.held.as_ref().map_or(0, Reservation::bytes);
        if pending == 0 {
            entry.held = None;
            return;
        }
        if pending <= have {
            return;
        }
        let covered = match entry.held.as_mut() {
            Some(held) => self.reorder.try_grow(held, pending - have),
            None => self.reorder.try_reserve(pending).map(|r| entry.held = Some(r)).is_some(),
        };
        if !covered {
            entry.held = None;
            drop(runs);
            run.lock().unwrap_or_else(|e| e.into_inner()).give_up();
            tracing::info!(session, "reorder budget spent: this session's frames are measured at complete");
        }
    }

    /// Bytes of waiting frames the runs hold now (what the reorder budget covers).
    pub fn reorder_bytes_in_use(&self) -> u64 {
        self.reorder.in_use_bytes()
    }

    /// Removes and returns the run of `session` (at `complete`, or when its frames are erased).
    pub fn take(&self, session: &str) -> Option<SharedRun> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).remove(session).map(|e| e.run)
    }

    /// Drops the runs started before `before_ms` (their sessions are over); returns how many.
    pub fn drop_started_before(&self, before_ms: u64) -> usize {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let n = runs.len();
        runs.retain(|_, e| e.started_ms >= before_ms);
        n - runs.len()
    }

    /// How many runs this node holds.
    pub fn len(&self) -> usize {
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether this node holds no run.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_sessions_finished_elsewhere_are_dropped_after_a_session_lifetime() {
        let runs = LiveRuns::default();
        runs.get_or_start("s_old", 1_000, LiveRun::default);
        runs.get_or_start("s_new", 5_000, LiveRun::default);
        runs.get_or_start("s_old", 9_000, || unreachable!("the run exists"));
        assert_eq!(runs.drop_started_before(2_000), 1);
        assert!(runs.take("s_old").is_none() && runs.take("s_new").is_some());
        assert!(runs.is_empty());
    }
}
