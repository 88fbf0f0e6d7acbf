//! Passive anti-spoofing. How it works, for readers and users: [`crate::manual::passive`]
//! (`src/manual/passive.md`).

use crate::timeline::{median, quantile};
use crate::{Check, CheckScore, FrameObservation, ReasonCode, Thresholds};

/// The result of the passive check.
#[derive(Debug, Clone)]
pub(crate) struct PassiveResult {
    pub check: CheckScore,
    pub reasons: Vec<ReasonCode>,
}

pub(crate) fn check_passive(frames: &[FrameObservation], th: &Thresholds) -> PassiveResult {
    let scores = frames.iter().filter_map(|f| f.face.as_ref()?.passive_real);
    match quantile(scores, th.passive_quantile) {
        None => PassiveResult {
            check: CheckScore {
                check: Check::Passive,
                score: 0.0,
                passed: None,
            },
            reasons: vec![ReasonCode::PassiveUnavailable],
        },
        Some(real) => {
            let real = real.clamp(0.0, 1.0);
            let passed = real >= th.passive_min_real;
            PassiveResult {
                check: CheckScore {
                    check: Check::Passive,
                    score: real,
                    passed: Some(passed),
                },
                reasons: if passed {
                    Vec::new()
                } else {
                    vec![ReasonCode::PassiveSpoof]
                },
            }
        }
    }
}

/// Quality as a sort key: non-finite values rank last.
fn quality_key(f: &FrameObservation) -> f32 {
    if f.quality.is_finite() {
        f.quality
    } else {
        f32::NEG_INFINITY
    }
}

/// Frames below this fraction of the session's median quality are not scored: a blurred,
/// cut or dark frame says little about the medium and much about the camera.
const MIN_RELATIVE_QUALITY: f32 = 0.5;

/// The sequence numbers of up to `n` frames to run the passive anti-spoof models on: frames
/// with exactly one face, spread evenly over the session's `span_ms` (the plan's length),
/// starting with the first one. The same choice a [`PassivePicker`] makes frame by frame, so
/// a server that scored the picks on arrival and one that scores them at the end agree.
///
/// A replay shows its medium (the bezel, glare, moiré, a player's controls) most in some
/// frames, often the first second while the attacker settles, and least in others; picking
/// the sharpest frames would let the attacker choose. So the choice is blind to quality
/// beyond dropping frames under half the median quality of the frames so far: the session's
/// time is cut into `n` equal parts; the first part gives its first frame (the first second,
/// when a face was seen there), every other part the first eligible frame from its middle on.
/// Time, not frame count, decides, so a capture that sends more frames in some parts (the
/// capture profile) does not pull the choice towards them. The result is in `seq` order.
///
/// ```
/// use huoti_liveness::{select_passive_frames, FaceObservation, FrameObservation};
///
/// let frames: Vec<FrameObservation> = (0..12)
///     .map(|i| FrameObservation {
///         seq: i,
///         t_ms: 100 * i as u64,
///         faces: 1,
///         face: Some(FaceObservation::default()),
///         quality: if i == 6 { 0.1 } else if i == 9 { 0.9 } else { 0.5 },
///         ..Default::default()
///     })
///     .collect();
/// // A 1200 ms session in 3 parts: the first frame, then from 600 ms and from 1000 ms on;
/// // frame 6 (600 ms) is too poor to score, so frame 7 stands in.
/// assert_eq!(select_passive_frames(&frames, 3, 1200), vec![0, 7, 10]);
/// ```
pub fn select_passive_frames(frames: &[FrameObservation], n: usize, span_ms: u64) -> Vec<u32> {
    let mut sorted: Vec<&FrameObservation> = frames.iter().collect();
    sorted.sort_by_key(|f| f.seq);
    let mut picker = PassivePicker::new(n, span_ms);
    sorted.into_iter().filter(|f| picker.offer(f)).map(|f| f.seq).collect()
}

/// [`select_passive_frames`] one frame at a time, for a server that measures frames as they
/// arrive: [`offer`](Self::offer) each observation in `seq` order; `true` means "score this
/// one". No clock, no randomness: the same frames give the same picks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassivePicker {
    targets: Vec<u64>,
    next: usize,
    qualities: Vec<f32>,
}

impl PassivePicker {
    /// Up to `n` picks over a session of `span_ms`: from 0, then from the middle of each of
    /// the other `n − 1` equal parts.
    pub fn new(n: usize, span_ms: u64) -> PassivePicker {
        let targets = (0..n as u64).map(|i| if i == 0 { 0 } else { span_ms * (2 * i + 1) / (2 * n as u64) }).collect();
        PassivePicker { targets, next: 0, qualities: Vec::new() }
    }

    /// Whether `frame` (the next in `seq` order) is one to score.
    pub fn offer(&mut self, frame: &FrameObservation) -> bool {
        if self.next >= self.targets.len() || frame.single_face().is_none() {
            return false;
        }
        let q = quality_key(frame);
        self.qualities.push(frame.quality);
        let floor = median(self.qualities.iter().copied()).map_or(0.0, |m| m * MIN_RELATIVE_QUALITY);
        if q < floor || frame.t_ms < self.targets[self.next] {
            return false;
        }
        self.next += 1;
        true
    }
}

/// The best-quality frame (the earliest on ties).
pub(crate) fn best_quality<'a>(
    frames: impl IntoIterator<Item = &'a FrameObservation>,
) -> Option<&'a FrameObservation> {
    frames.into_iter().fold(None, |best, f| match best {
        Some(b) if quality_key(b) >= quality_key(f) => Some(b),
        _ => Some(f),
    })
}
