//! Measures from the landmarks: eye openness, mouth openness and head pose.
//!
//! **Eye openness** is the eye aspect ratio (Soukupová & Čech 2016) on FaceMesh's six-point
//! eye contours: (|p2−p6| + |p3−p5|) / (2·|p1−p4|). Open eyes measure ≈0.25–0.40, closed
//! < 0.15. **Mouth openness** is the inner-lip gap over the mouth width, |13−14| / |78−308|:
//! closed ≈0.01–0.07, wide open > 0.3.
//!
//! **Head pose** comes from FaceMesh's 3-D landmarks, not from a PnP fit against a generic
//! head: the x axis of the head runs from the right cheek (234) to the left cheek (454); the
//! y axis from forehead (10) to chin (152), made orthogonal to x. FaceMesh's z grows away
//! from the camera, so
//! - **yaw** = asin(x_axis.z): positive when the person turns to *their own left* (their left
//!   cheek recedes);
//! - **pitch** = asin(y_axis.z): positive when the chin goes down;
//! - **roll** = atan2(x_axis.y, x_axis.x) in the image: positive when the head tilts so
//!   that the person's left eye is lower in the picture (clockwise on screen).
//!
//! FaceMesh's depth is learnt, so magnitudes are approximate (within ~10° of a PnP fit on the
//! sample clips) while signs and changes are reliable — which is what a challenge needs: each
//! action is judged relative to the same person's own neutral baseline.

use serde::Serialize;

use crate::mesh::{idx, Mesh};

/// Per-face measures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measures {
    /// Eye aspect ratio of the person's left and right eye.
    pub eye_openness: [f32; 2],
    /// Inner-lip gap over mouth width.
    pub mouth_openness: f32,
    /// Degrees; > 0 when turned to the person's own left.
    pub yaw_deg: f32,
    /// Degrees; > 0 when the chin goes down.
    pub pitch_deg: f32,
    /// Degrees; in-image tilt.
    pub roll_deg: f32,
}

fn eye_aspect_ratio(mesh: &Mesh, eye: [usize; 6]) -> f32 {
    let p = eye.map(|i| mesh.point(i));
    let width = p[0].dist(p[3]);
    if width <= f32::EPSILON { 0.0 } else { (p[1].dist(p[5]) + p[2].dist(p[4])) / (2.0 * width) }
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn normalise(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt().max(f32::EPSILON);
    [a[0] / n, a[1] / n, a[2] / n]
}

/// Computes all measures from a mesh.
pub fn measure(mesh: &Mesh) -> Measures {
    let mouth_w = mesh.point(idx::MOUTH_RIGHT).dist(mesh.point(idx::MOUTH_LEFT));
    let mouth_gap = mesh.point(idx::UPPER_LIP).dist(mesh.point(idx::LOWER_LIP));
    let x_axis = normalise(sub(mesh.points[idx::LEFT_CHEEK], mesh.points[idx::RIGHT_CHEEK]));
    let down = sub(mesh.points[idx::CHIN], mesh.points[idx::FOREHEAD]);
    let d = dot(down, x_axis);
    let y_axis = normalise([down[0] - d * x_axis[0], down[1] - d * x_axis[1], down[2] - d * x_axis[2]]);
    Measures {
        eye_openness: [eye_aspect_ratio(mesh, idx::LEFT_EYE), eye_aspect_ratio(mesh, idx::RIGHT_EYE)],
        mouth_openness: if mouth_w <= f32::EPSILON { 0.0 } else { mouth_gap / mouth_w },
        yaw_deg: x_axis[2].clamp(-1.0, 1.0).asin().to_degrees(),
        pitch_deg: y_axis[2].clamp(-1.0, 1.0).asin().to_degrees(),
        roll_deg: x_axis[1].atan2(x_axis[0]).to_degrees(),
    }
}

/// A scale-invariant signature of the face's geometry (distances between stable landmarks
/// over the inter-ocular distance), used to notice a different face mid-session.
pub fn shape_signature(mesh: &Mesh) -> Vec<f32> {
    let eye_r = mesh.point(idx::RIGHT_EYE[0]).mid(mesh.point(idx::RIGHT_EYE[3]));
    let eye_l = mesh.point(idx::LEFT_EYE[0]).mid(mesh.point(idx::LEFT_EYE[3]));
    let iod = eye_r.dist(eye_l).max(f32::EPSILON);
    let pairs = [
        (idx::NOSE_TIP, idx::CHIN),
        (idx::FOREHEAD, idx::CHIN),
        (idx::MOUTH_RIGHT, idx::MOUTH_LEFT),
        (idx::RIGHT_EYE[0], idx::RIGHT_EYE[3]),
        (idx::LEFT_EYE[0], idx::LEFT_EYE[3]),
        (idx::NOSE_TIP, idx::FOREHEAD),
        (idx::RIGHT_CHEEK, idx::LEFT_CHEEK),
    ];
    pairs.iter().map(|&(a, b)| mesh.point(a).dist(mesh.point(b)) / iod).collect()
}
