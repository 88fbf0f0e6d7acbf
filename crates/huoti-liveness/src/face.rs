//! The face checks. How it works, for readers and users: [`crate::manual::faces`]
//! (`src/manual/faces.md`).

use crate::timeline::{Baseline, FaceFrame};
use crate::{Check, CheckScore, FrameObservation, ReasonCode, Thresholds};

/// The result of the face checks.
#[derive(Debug, Clone)]
pub(crate) struct FaceResult {
    pub check: CheckScore,
    pub reasons: Vec<ReasonCode>,
}

/// Relative L1 distance between two shape signatures; `None` when not comparable.
fn shape_distance(a: &[f32], b: &[f32]) -> Option<f32> {
    if a.is_empty() || a.len() != b.len() {
        return None;
    }
    let diff: f32 = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum();
    let size: f32 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x.abs() + y.abs()) / 2.0)
        .sum();
    let d = diff / size.max(f32::EPSILON);
    d.is_finite().then_some(d)
}

pub(crate) fn check_face(
    frames: &[FrameObservation],
    faces: &[FaceFrame<'_>],
    baseline: Option<&Baseline>,
    th: &Thresholds,
) -> FaceResult {
    let n = frames.len().max(1) as f32;
    let no_face = frames
        .iter()
        .filter(|f| f.faces == 0 || f.face.is_none())
        .count() as f32;
    let multi = frames.iter().filter(|f| f.faces > 1).count() as f32;

    let mut reasons = Vec::new();
    if no_face > th.max_no_face_fraction * n {
        reasons.push(ReasonCode::NoFace);
    }
    if multi > th.max_multi_face_fraction * n {
        reasons.push(ReasonCode::MultipleFaces);
    }
    if face_changed(faces, baseline, th) {
        reasons.push(ReasonCode::FaceChanged);
    }

    let failed = reasons.len();
    let passed = if frames.is_empty() {
        None
    } else if reasons.iter().any(|r| *r != ReasonCode::NoFace) {
        Some(false)
    } else if reasons.is_empty() {
        Some(true)
    } else {
        None
    };
    FaceResult {
        check: CheckScore {
            check: Check::Face,
            score: 1.0 - failed as f32 / 3.0,
            passed,
        },
        reasons,
    }
}

fn face_changed(faces: &[FaceFrame<'_>], baseline: Option<&Baseline>, th: &Thresholds) -> bool {
    let jumped = faces.windows(2).any(|w| {
        let (a, b) = (w[0].face, w[1].face);
        let [ax, ay] = a.centre();
        let [bx, by] = b.centre();
        let moved = ((bx - ax).powi(2) + (by - ay).powi(2)).sqrt() > th.bbox_jump;
        let ratio = b.bbox[2] / a.bbox[2].max(f32::EPSILON);
        let resized = !(1.0 / 1.5..=1.5).contains(&ratio);
        (moved || resized)
            && shape_distance(&a.shape, &b.shape).is_some_and(|d| d > th.shape_max_distance)
    });
    if jumped {
        return true;
    }
    let Some(base) = baseline else { return false };
    let drifted = faces
        .iter()
        .filter(|f| {
            (f.face.yaw_deg - base.yaw).abs() <= th.shape_frontal_deg
                && (f.face.pitch_deg - base.pitch).abs() <= th.shape_frontal_deg
        })
        .filter(|f| {
            shape_distance(&f.face.shape, &base.shape).is_some_and(|d| d > th.shape_max_distance)
        })
        .count();
    drifted >= th.face_changed_min_frames.max(1)
}

#[cfg(test)]
mod tests {
    use super::shape_distance;

    #[test]
    fn shape_distance_is_relative_and_needs_equal_lengths() {
        assert_eq!(shape_distance(&[1.0, 1.0], &[1.0, 1.0]), Some(0.0));
        let d = shape_distance(&[1.1, 1.0], &[1.0, 1.0]).unwrap();
        assert!((d - 0.1 / 2.05).abs() < 1e-6);
        assert_eq!(shape_distance(&[], &[]), None);
        assert_eq!(shape_distance(&[1.0], &[1.0, 2.0]), None);
    }
}
