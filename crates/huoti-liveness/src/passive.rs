//! Passive anti-spoofing. How it works, for readers and users: [`crate::manual::passive`]
//! (`src/manual/passive.md`).

use crate::timeline::median;
use crate::{Check, CheckScore, FrameObservation, ReasonCode, Thresholds};

/// The result of the passive check.
#[derive(Debug, Clone)]
pub(crate) struct PassiveResult {
    pub check: CheckScore,
    pub reasons: Vec<ReasonCode>,
}

pub(crate) fn check_passive(frames: &[FrameObservation], th: &Thresholds) -> PassiveResult {
    let scores = frames.iter().filter_map(|f| f.face.as_ref()?.passive_real);
    match median(scores) {
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

/// The sequence numbers of up to `n` frames to run the passive anti-spoof models on: the
/// best-quality frames with exactly one face, spread over time.
///
/// The eligible frames (exactly one face), in time order, are cut into `n` runs of (nearly)
/// equal length, and the best-quality frame of each run is chosen (the earliest on ties).
/// With `n` or fewer eligible frames, all are chosen. The result is in time order.
///
/// ```
/// use huoti_liveness::{select_passive_frames, FaceObservation, FrameObservation};
///
/// let frames: Vec<FrameObservation> = (0..10)
///     .map(|i| FrameObservation {
///         seq: i,
///         t_ms: 66 * i as u64,
///         faces: 1,
///         face: Some(FaceObservation::default()),
///         quality: if i == 3 || i == 8 { 0.9 } else { 0.5 },
///         ..Default::default()
///     })
///     .collect();
/// assert_eq!(select_passive_frames(&frames, 2), vec![3, 8]);
/// ```
pub fn select_passive_frames(frames: &[FrameObservation], n: usize) -> Vec<u32> {
    let mut eligible: Vec<&FrameObservation> = frames
        .iter()
        .filter(|f| f.single_face().is_some())
        .collect();
    eligible.sort_by_key(|f| (f.t_ms, f.seq));
    if n == 0 {
        return Vec::new();
    }
    if eligible.len() <= n {
        return eligible.iter().map(|f| f.seq).collect();
    }
    let len = eligible.len();
    (0..n)
        .filter_map(|i| {
            let run = &eligible[i * len / n..(i + 1) * len / n];
            best_quality(run.iter().copied()).map(|f| f.seq)
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
