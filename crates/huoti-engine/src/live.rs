//! [`LiveRun`]: a session's frames measured one by one as they arrive, in `seq` order.
//!
//! The face [`Tracker`](huoti_vision::Tracker) must see frames in order, but a client uploads
//! a few frames in parallel, so they can arrive out of order. A run therefore holds a small
//! reorder window: a frame that arrives early waits (as its encoded bytes, at most
//! [`REORDER_WINDOW`] of them) until its predecessors have been measured. Between frames the
//! run keeps only the tracker's memory ([`TrackState`]: the previous landmarks and crop) and
//! the observations so far — no pixels — so a server can hold one per open session.
//!
//! A run that missed a frame (it arrived after the run had moved past it) or failed on one is
//! marked *broken* and no longer trusted ([`LiveRun::matches`]); the caller then measures the
//! stored frames again with [`observe_all`], the same code in one go.
//!
//! One correction is made to the tracker's output: a frame whose encoded bytes equal the
//! previous frame's has landmark motion 0. A real camera never sends two identical JPEGs in a
//! row; a still image injected as video does.

use std::collections::BTreeMap;

use huoti_liveness::{ChallengePlan, FrameObservation, PassivePicker, Thresholds, glare_wanted, select_passive_frames};
use huoti_vision::{Analyzer, Rect, TrackState, TrackerConfig, VisionError, decode_image, screen_medium};
use image::RgbImage;
use sha2::{Digest, Sha256};

use crate::eyes::{IrisSchedule, measure_eyes};
use crate::observation;

/// Frames held back because an earlier one has not arrived yet (uploads in parallel), at most
/// this many per run; beyond it the gap is given up on and the run moves on.
pub const REORDER_WINDOW: usize = 8;

/// One encoded frame, as a client uploaded it.
#[derive(Debug, Clone)]
pub struct FrameInput {
    /// Sequence number (0, 1, 2, … in capture order).
    pub seq: u32,
    /// Capture time, ms since the challenge plan started.
    pub t_ms: u64,
    /// The plan's nonce, as sent with the frame.
    pub nonce: String,
    /// The encoded image (JPEG).
    pub jpeg: Vec<u8>,
}

/// A frame that arrived before its predecessor: kept encoded (at most the upload size limit),
/// decoded again when its turn comes.
#[derive(Debug)]
struct Pending {
    t_ms: u64,
    nonce: String,
    jpeg: Vec<u8>,
}

/// A session's analysis so far: the tracker's memory and one observation per frame measured.
/// See the [module docs](self).
#[derive(Debug)]
pub struct LiveRun {
    track: TrackState,
    observations: Vec<FrameObservation>,
    /// Per observation, the face box, for the passive models at the end.
    boxes: Vec<Option<Rect>>,
    /// SHA-256 of the previous frame's encoded bytes, to tell a repeated still image.
    last_digest: Option<[u8; 32]>,
    /// The sequence number measured next; later ones wait in `pending`.
    next_seq: u32,
    pending: BTreeMap<u32, Pending>,
    /// A frame arrived after the run had moved past it, or could not be measured: the
    /// observations no longer stand for the session's frames.
    broken: bool,
    /// Which frames also get the Iris model's eye openness (none without a schedule).
    iris: Option<IrisSchedule>,
    /// Picks the frames for the passive models as they arrive, which are then scored at once
    /// (none without: they are all scored at the end).
    passive: Option<PassivePicker>,
    /// The plan and thresholds whose flash check reads the glare signal: measured only on the
    /// frames it reads ([`glare_wanted`]); `None`: on every frame.
    glare: Option<(ChallengePlan, Thresholds)>,
}

impl Default for LiveRun {
    fn default() -> Self {
        LiveRun::new(TrackerConfig::default())
    }
}

impl LiveRun {
    /// A new, empty run tracking with `config`.
    pub fn new(config: TrackerConfig) -> LiveRun {
        LiveRun {
            track: TrackState::new(config),
            observations: Vec::new(),
            boxes: Vec::new(),
            last_digest: None,
            next_seq: 0,
            pending: BTreeMap::new(),
            broken: false,
            iris: None,
            passive: None,
            glare: None,
        }
    }

    /// Measures the glare signal (the background's darker and brighter halves) only on the
    /// frames whose capture time the flash check of `plan` judged with `thresholds` reads
    /// ([`glare_wanted`]), not on every frame: the verdict is the same (issue 15).
    pub fn with_glare_for(mut self, plan: &ChallengePlan, thresholds: &Thresholds) -> LiveRun {
        self.glare = Some((plan.clone(), thresholds.clone()));
        self
    }

    /// Also measures the eyes with the Iris model on the frames `schedule` wants (a blink
    /// step's window): see [`crate::eyes`].
    pub fn with_iris(mut self, schedule: IrisSchedule) -> LiveRun {
        self.iris = Some(schedule);
        self
    }

    /// Also runs the passive models (and the screen-medium cue) on arrival, on the frames
    /// [`select_passive_frames`]`(…, n, span_ms)` will choose — [`score_passive`] with the
    /// same `n` and `span_ms` then finds them scored and has nothing left to do, so the
    /// session's `complete` waits for no model (issue 15).
    pub fn with_passive(mut self, n: usize, span_ms: u64) -> LiveRun {
        self.passive = Some(PassivePicker::new(n, span_ms));
        self
    }

    /// Offers the next uploaded frame (`img` is `jpeg` decoded). Frames are measured in `seq`
    /// order: one that arrives early waits (up to [`REORDER_WINDOW`] frames) for those before
    /// it. One that arrives after the run moved past it marks the run broken (a tracker cannot
    /// go back in time), as does a vision error, which is also returned. CPU-bound.
    pub fn push(&mut self, analyzer: &Analyzer, seq: u32, t_ms: u64, nonce: &str, jpeg: &[u8], img: &RgbImage) -> Result<(), VisionError> {
        if self.broken {
            return Ok(());
        }
        if seq < self.next_seq || self.pending.contains_key(&seq) {
            self.broken = true;
            return Ok(());
        }
        if seq == self.next_seq {
            self.measure(analyzer, seq, t_ms, nonce, Some(jpeg), img)?;
        } else {
            self.pending.insert(seq, Pending { t_ms, nonce: nonce.to_owned(), jpeg: jpeg.to_vec() });
        }
        self.drain(analyzer, false)
    }

    /// Measures every frame still waiting, in order (at the end: no earlier frame will come).
    pub fn flush(&mut self, analyzer: &Analyzer) -> Result<(), VisionError> {
        if self.broken {
            return Ok(());
        }
        self.drain(analyzer, true)
    }

    /// True when this run measured exactly `seqs` (the stored frames, ascending), so its
    /// observations can stand for a full analysis. Call [`flush`](Self::flush) first.
    pub fn matches(&self, seqs: &[u32]) -> bool {
        !self.broken
            && self.pending.is_empty()
            && self.observations.len() == seqs.len()
            && self.observations.iter().zip(seqs).all(|(o, s)| o.seq == *s)
    }

    /// Bytes of the frames waiting for a predecessor (their JPEGs), so a server can bound
    /// what all its runs hold.
    pub fn pending_bytes(&self) -> usize {
        self.pending.values().map(|p| p.jpeg.len()).sum()
    }

    /// Whether a frame `seq` offered now would wait in the reorder window rather than be
    /// measured at once.
    pub fn would_wait(&self, seq: u32) -> bool {
        !self.broken && seq > self.next_seq
    }

    /// Stops measuring on arrival: the waiting frames are dropped and the run is marked
    /// broken, so the caller measures the stored frames again at the end. For a server that
    /// must free memory.
    pub fn give_up(&mut self) {
        self.pending.clear();
        self.broken = true;
    }

    /// The observations so far (passive scores not filled in).
    pub fn observations(&self) -> &[FrameObservation] {
        &self.observations
    }

    /// The observations and their face boxes (passive scores not yet filled in: see
    /// [`score_passive`]).
    pub fn into_parts(self) -> (Vec<FrameObservation>, Vec<Option<Rect>>) {
        (self.observations, self.boxes)
    }

    /// Measures waiting frames whose turn has come; with `all` (or a full window), skips over
    /// missing frames.
    fn drain(&mut self, analyzer: &Analyzer, all: bool) -> Result<(), VisionError> {
        let limits = analyzer.config().decode;
        while let Some(&seq) = self.pending.keys().next() {
            let due = seq == self.next_seq || all || self.pending.len() > REORDER_WINDOW;
            if !due {
                break;
            }
            let Some(p) = self.pending.remove(&seq) else { break };
            let img = decode_image(&p.jpeg, &limits).inspect_err(|_| self.broken = true)?;
            self.measure(analyzer, seq, p.t_ms, &p.nonce, Some(&p.jpeg), &img)?;
        }
        Ok(())
    }

    /// Steps the tracker on the frame whose turn it is and records its observation.
    /// `encoded`: the frame's bytes as uploaded, when there are any (a repeated identical
    /// upload then has landmark motion 0); frames decoded from a video file have none.
    pub(crate) fn measure(
        &mut self,
        analyzer: &Analyzer,
        seq: u32,
        t_ms: u64,
        nonce: &str,
        encoded: Option<&[u8]>,
        img: &RgbImage,
    ) -> Result<&FrameObservation, VisionError> {
        let glare = self.glare.as_ref().is_none_or(|(plan, th)| glare_wanted(plan, th, t_ms));
        let mut tracker = analyzer.resume(self.track.clone());
        let stepped = tracker.step_with(img, glare);
        self.track = tracker.suspend();
        let mut a = stepped.inspect_err(|_| self.broken = true)?;
        self.next_seq = seq.saturating_add(1);
        if let Some(bytes) = encoded {
            let digest: [u8; 32] = Sha256::digest(bytes).into();
            // Byte-identical to the previous frame: nothing in the picture moved, so the
            // landmark motion is 0 by definition, whatever the tracker's crop did.
            if self.last_digest == Some(digest) {
                a.landmark_motion = 0.0;
            }
            self.last_digest = Some(digest);
        }
        let mut obs = observation(seq, t_ms, nonce, &a, img.width(), img.height());
        measure_eyes(analyzer, self.iris.as_mut(), img, &a, &mut obs).inspect_err(|_| self.broken = true)?;
        let picked = self.passive.as_mut().is_some_and(|p| p.offer(&obs));
        if let (true, Some(bbox), Some(face)) = (picked, a.face_box, obs.face.as_mut()) {
            score_face(analyzer, img, &bbox, face).inspect_err(|_| self.broken = true)?;
        }
        self.boxes.push(obs.face.as_ref().and(a.face_box));
        self.observations.push(obs);
        Ok(self.observations.last().expect("just pushed"))
    }

    /// Records a frame that cannot be decoded as one without a face.
    fn skip(&mut self, seq: u32, t_ms: u64, nonce: &str) {
        self.observations.push(FrameObservation { seq, t_ms, nonce: nonce.to_owned(), ..Default::default() });
        self.boxes.push(None);
    }
}

/// Runs the passive anti-spoof models on `passive_frames` observations chosen with
/// [`select_passive_frames`] over a session of `span_ms` (spread over the session from its
/// first second, blind to sharpness) and fills in their `passive_real`, and measures the cheap
/// screen-medium cue ([`screen_medium`]) on the same frames (`screen_medium`). A chosen frame
/// already scored on arrival ([`LiveRun::with_passive`]) is left as it is. `load(i)` gives the
/// image of observation `i`; only the chosen ones still unscored are loaded, and one it cannot
/// give (`None`) is left unscored. Every caller that judges sessions (the server,
/// [`SessionRun`](crate::SessionRun), [`observe_all`]) goes through here, so the verdict sees
/// the same evidence everywhere.
pub fn score_passive<E: From<VisionError>>(
    analyzer: &Analyzer,
    observations: &mut [FrameObservation],
    boxes: &[Option<Rect>],
    (passive_frames, span_ms): (usize, u64),
    mut load: impl FnMut(usize) -> Result<Option<RgbImage>, E>,
) -> Result<(), E> {
    for seq in select_passive_frames(observations, passive_frames, span_ms) {
        let Some(i) = observations.iter().position(|o| o.seq == seq) else { continue };
        if observations[i].face.as_ref().is_some_and(|f| f.passive_real.is_some()) {
            continue;
        }
        let Some(bbox) = boxes.get(i).copied().flatten() else { continue };
        let Some(img) = load(i)? else { continue };
        if let Some(face) = observations[i].face.as_mut() {
            score_face(analyzer, &img, &bbox, face)?;
        }
    }
    Ok(())
}

/// The passive models' real-probability and the screen-medium cue of one face.
fn score_face(analyzer: &Analyzer, img: &RgbImage, bbox: &Rect, face: &mut huoti_liveness::FaceObservation) -> Result<(), VisionError> {
    let passive = analyzer.passive(img, bbox)?;
    face.passive_real = Some(passive.real_probability);
    face.screen_medium = Some(screen_medium(img, bbox).score);
    Ok(())
}

/// The whole analysis at once (the fallback when a [`LiveRun`] is not trusted, and what tools
/// use): every frame measured in `seq` order (duplicates of a `seq` dropped), the passive
/// models on `passive_frames` of them spread over the frames' time. A frame that cannot be
/// decoded counts as one without a face. CPU-bound.
pub fn observe_all(analyzer: &Analyzer, frames: &[FrameInput], passive_frames: usize) -> Result<Vec<FrameObservation>, VisionError> {
    let span_ms = frames.iter().map(|f| f.t_ms + 1).max().unwrap_or(0);
    observe_all_with(analyzer, frames, LiveRun::default().with_passive(passive_frames, span_ms))
}

/// [`observe_all`] for a session: `run` is an empty run started as the session's own was (the
/// same passive frames, Iris schedule and glare windows: [`LiveRun::with_passive`],
/// [`LiveRun::with_iris`], [`LiveRun::with_glare_for`]), so both paths measure the same. Each
/// frame is decoded once: the passive models run in the same pass.
pub fn observe_all_with(analyzer: &Analyzer, frames: &[FrameInput], mut run: LiveRun) -> Result<Vec<FrameObservation>, VisionError> {
    let limits = analyzer.config().decode;
    let mut sorted: Vec<&FrameInput> = frames.iter().collect();
    sorted.sort_by_key(|f| f.seq);
    sorted.dedup_by_key(|f| f.seq);
    for f in &sorted {
        match decode_image(&f.jpeg, &limits) {
            Ok(img) => {
                run.measure(analyzer, f.seq, f.t_ms, &f.nonce, Some(&f.jpeg), &img)?;
            }
            Err(e @ (VisionError::ModelMissing { .. } | VisionError::Model { .. })) => return Err(e),
            // Checked at upload; should not happen.
            Err(_) => run.skip(f.seq, f.t_ms, &f.nonce),
        }
    }
    let (observations, _) = run.into_parts();
    Ok(observations)
}
