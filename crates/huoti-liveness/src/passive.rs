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
/// with exactly one face, spread evenly over the session, starting with the first one.
///
/// A replay shows its medium (the bezel, glare, moiré, a player's controls) most in some
/// frames, often the first second while the attacker settles, and least in others; picking
/// the sharpest frames would let the attacker choose. So the choice is blind to quality
/// beyond dropping frames under half the session's median quality: the eligible frames, in
/// time order, are cut into `n` runs of (nearly) equal length; the first run gives its first
/// frame (the first second, when a face was seen there), every other run its middle frame.
/// With `n` or fewer eligible frames, all are chosen. The result is in time order.
///
/// ```
/// use huoti_liveness::{select_passive_frames, FaceObservation, FrameObservation};
///
/// let frames: Vec<FrameObservation> = (0..12)
///     .map(|i| FrameObservation {
///         seq: i,
///         t_ms: 66 * i as u64,
///         faces: 1,
///         face: Some(FaceObservation::default()),
///         quality: if i == 7 { 0.9 } else if i == 4 { 0.1 } else { 0.5 },
///         ..Default::default()
///     })
///     .collect();
/// // Frame 4 is too poor to score; 11 eligible frames in 3 runs: [0..3), [3..7), [7..11).
/// assert_eq!(select_passive_frames(&frames, 3), vec![0, 5, 9]);
/// ```
pub fn select_passive_frames(frames: &[FrameObservation], n: usize) -> Vec<u32> {
    let mut eligible: Vec<&FrameObservation> = frames
        .iter()
        .filter(|f| f.single_face().is_some())
        .collect();
    let floor =
        median(eligible.iter().map(|f| f.quality)).map_or(0.0, |m| m * MIN_RELATIVE_QUALITY);
    eligible.retain(|f| quality_key(f) >= floor);
    eligible.sort_by_key(|f| (f.t_ms, f.seq));
    if n == 0 {
        return Vec::new();
    }
    if eligible.len() <= n {
        return eligible.iter().map(|f| f.seq).collect();
    }
    let len = eligible.len();
    (0..n)
        .map(|i| {
            let run = &eligible[i * len / n..(i + 1) * len / n];
            let pick = if i == 0 { 0 } else { (run.len() - 1) / 2 };
            run[pick].seq
        })
        .collect()
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
