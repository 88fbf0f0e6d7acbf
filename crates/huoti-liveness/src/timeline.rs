//! The session as a timeline of faces, and the person's own baseline (see
//! [`crate::manual::challenge`]).

use crate::{ChallengePlan, FaceObservation, FrameObservation, Thresholds};

/// A frame that has a main face.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FaceFrame<'a> {
    pub t_ms: u64,
    pub face: &'a FaceObservation,
}

/// The frames that have a main face, in the order given.
pub(crate) fn face_frames(frames: &[FrameObservation]) -> Vec<FaceFrame<'_>> {
    frames
        .iter()
        .filter(|f| f.faces >= 1)
        .filter_map(|f| f.face.as_ref().map(|face| FaceFrame { t_ms: f.t_ms, face }))
        .collect()
}

/// The frames whose time lies in `[from_ms, to_ms)`.
pub(crate) fn between<'a, 'b>(
    faces: &'b [FaceFrame<'a>],
    from_ms: u64,
    to_ms: u64,
) -> impl Iterator<Item = &'b FaceFrame<'a>> {
    faces
        .iter()
        .filter(move |f| f.t_ms >= from_ms && f.t_ms < to_ms)
}

/// Median of the finite values; `None` when there are none.
pub(crate) fn median(values: impl IntoIterator<Item = f32>) -> Option<f32> {
    let mut v: Vec<f32> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The `q`-quantile (0–1) of the finite values, interpolating linearly between order
/// statistics (so `quantile(v, 0.5)` is the median); `None` when there are none.
pub(crate) fn quantile(values: impl IntoIterator<Item = f32>, q: f32) -> Option<f32> {
    let mut v: Vec<f32> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let q = if q.is_finite() {
        q.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let pos = q * (v.len() - 1) as f32;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f32))
}

/// Element-wise median of the vectors of the most common non-zero length (the others, from
/// a frame where the signature was not measured or measured differently, are ignored).
pub(crate) fn median_vec<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Vec<f32> {
    let vectors: Vec<&[f32]> = vectors.into_iter().filter(|v| !v.is_empty()).collect();
    let mut lengths: Vec<usize> = vectors.iter().map(|v| v.len()).collect();
    lengths.sort_unstable();
    // Most common length; the smallest on ties.
    let Some(len) = lengths
        .chunk_by(|a, b| a == b)
        .max_by(|a, b| a.len().cmp(&b.len()).then(b[0].cmp(&a[0])))
        .map(|run| run[0])
    else {
        return Vec::new();
    };
    let same: Vec<&[f32]> = vectors.into_iter().filter(|v| v.len() == len).collect();
    (0..len)
        .map(|i| median(same.iter().map(|v| v[i])).unwrap_or(0.0))
        .collect()
}

/// The person's resting values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Baseline {
    pub yaw: f32,
    pub pitch: f32,
    pub eye: f32,
    pub mouth: f32,
    pub shape: Vec<f32>,
}

/// Baseline from the neutral phase; when it has fewer than `min_baseline_frames` faces, from
/// everything before the first action window (the flash phase is still a resting pose).
/// `None` when no face was seen before the first action.
pub(crate) fn baseline(
    plan: &ChallengePlan,
    faces: &[FaceFrame<'_>],
    th: &Thresholds,
) -> Option<Baseline> {
    let mut sample: Vec<&FaceFrame<'_>> = between(faces, 0, plan.neutral_ms).collect();
    if sample.len() < th.min_baseline_frames {
        let first_action = plan.actions.first().map_or(plan.neutral_ms, |s| s.start_ms);
        sample = between(faces, 0, first_action).collect();
    }
    Some(Baseline {
        yaw: median(sample.iter().map(|f| f.face.yaw_deg))?,
        pitch: median(sample.iter().map(|f| f.face.pitch_deg))?,
        eye: median(sample.iter().map(|f| f.face.min_eye_openness()))?,
        mouth: median(sample.iter().map(|f| f.face.mouth_openness))?,
        shape: median_vec(sample.iter().map(|f| f.face.shape.as_slice())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ignores_non_finite_values() {
        assert_eq!(median([3.0, f32::NAN, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0]), Some(2.5));
        assert_eq!(median([f32::INFINITY]), None);
    }

    #[test]
    fn quantile_interpolates_between_order_statistics() {
        let v = [4.0, 1.0, 3.0, 2.0, f32::NAN];
        assert_eq!(quantile(v, 0.0), Some(1.0));
        assert_eq!(quantile(v, 1.0), Some(4.0));
        assert_eq!(quantile(v, 0.5), median(v));
        assert_eq!(quantile(v, 0.25), Some(1.75));
        assert_eq!(quantile([0.7], 0.25), Some(0.7));
        assert_eq!(quantile([f32::NAN], 0.25), None);
    }

    #[test]
    fn median_vec_is_element_wise_over_equal_lengths() {
        let a = [1.0, 10.0];
        let b = [3.0, 30.0];
        let c = [2.0, 20.0];
        let odd = [100.0];
        assert_eq!(
            median_vec([&odd[..], &a[..], &b[..], &c[..]]),
            vec![2.0, 20.0]
        );
        assert!(median_vec(std::iter::empty()).is_empty());
    }
}
