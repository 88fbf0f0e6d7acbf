//! Eye openness from the MediaPipe Iris model, on eye crops placed by FaceMesh.
//!
//! FaceMesh's six-point eye contour never quite closes (a blink shows as a ≈30 % drop of its
//! eye aspect ratio), so a blink is hard to tell from squinting or measurement noise. The Iris
//! model sees each eye at 64×64 and returns a 71-point eye contour (the lids, then four
//! "halos" around them) and 5 iris points; its lids do meet when the eye closes.
//!
//! **Crop** (as MediaPipe's iris graph): a square about the midpoint of the eye's two corners
//! (FaceMesh 33/133 and 362/263), side 2.3 × the corner distance, rotated so the corners are
//! level, RGB 0–1. The model was trained on the eye at 33/133 (the person's right eye, on the
//! image's left in an unmirrored picture); the other eye is mirrored before the model sees it.
//!
//! **Openness**: the mean gap between the upper and the lower lid at the eye's three middle
//! columns (contour points 11/3, 12/4, 13/5: FaceMesh's 160/144, 159/145, 158/153) over the
//! distance between the corners (points 0 and 8). It is a ratio inside one crop, so it does
//! not depend on the face's size or roll. Open eyes and closed eyes on the shared clips:
//! `docs/EVALUATION.md` (calibration).

use image::RgbImage;
use serde::Serialize;

use crate::geometry::{Point, RotatedCrop};
use crate::mesh::{idx, Mesh};
use crate::model::FixedModel;
use crate::tensor::{warp_crop_to, Layout};
use crate::VisionError;

/// Side of the Iris model's input.
pub(crate) const IRIS_INPUT: u32 = 64;
/// The eye crop's side over the eye-corner distance (MediaPipe's iris ROI: 2.3).
const EYE_CROP_SCALE: f32 = 2.3;
/// Points of the eye contour output (71 × x, y, z).
const EYE_POINTS: usize = 71;
/// Contour indices: the corners, and the lower/upper lid points of the three middle columns.
const CORNERS: (usize, usize) = (0, 8);
const LID_PAIRS: [(usize, usize); 3] = [(3, 11), (4, 12), (5, 13)];

/// Where the Iris model looks: one crop per eye, from FaceMesh's eye corners. Cheap to make
/// (no model), so the tracker makes it on every frame and the caller decides whether the
/// Iris model runs ([`Analyzer::eye_openness`](crate::Analyzer::eye_openness)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EyeRegions {
    /// The person's left eye (FaceMesh 362–263); mirrored for the model.
    pub left: RotatedCrop,
    /// The person's right eye (FaceMesh 33–133), as the model was trained.
    pub right: RotatedCrop,
}

impl EyeRegions {
    /// The eye crops of a mesh.
    pub fn of(mesh: &Mesh) -> EyeRegions {
        let crop = |a: usize, b: usize| eye_crop(mesh.point(a), mesh.point(b));
        EyeRegions {
            left: crop(idx::LEFT_EYE[0], idx::LEFT_EYE[3]),
            right: crop(idx::RIGHT_EYE[0], idx::RIGHT_EYE[3]),
        }
    }
}

/// The crop about two eye corners; `first` is the one on the image's left for an upright face,
/// so the crop's x axis runs along the eye.
fn eye_crop(a: Point, b: Point) -> RotatedCrop {
    let (first, second) = if a.x <= b.x { (a, b) } else { (b, a) };
    RotatedCrop {
        centre: first.mid(second),
        side: (first.dist(second) * EYE_CROP_SCALE).max(1.0),
        angle: (second.y - first.y).atan2(second.x - first.x),
    }
}

/// What the Iris model found in one eye.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EyeLandmarks {
    /// The 71 eye-contour points in image pixels (lids first: 0–8 lower lid from corner to
    /// corner, 9–15 upper lid; then the halos).
    pub contour: Vec<Point>,
    /// Iris centre, then four points on its rim, in image pixels.
    pub iris: [Point; 5],
    /// Lid gap over eye width (see the [module docs](self)).
    pub openness: f32,
}

/// Eye openness of both eyes from the Iris model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EyeAnalysis {
    /// The person's left eye.
    pub left: EyeLandmarks,
    /// The person's right eye.
    pub right: EyeLandmarks,
}

impl EyeAnalysis {
    /// `[left, right]` openness, in the order of [`Measures::eye_openness`](crate::Measures).
    pub fn openness(&self) -> [f32; 2] {
        [self.left.openness, self.right.openness]
    }
}

/// Lid gap over eye width from contour points in one coordinate frame.
fn openness(contour: &[Point]) -> f32 {
    let width = contour[CORNERS.0].dist(contour[CORNERS.1]);
    if width <= f32::EPSILON {
        return 0.0;
    }
    let gap: f32 = LID_PAIRS.iter().map(|&(lo, up)| contour[lo].dist(contour[up])).sum::<f32>() / LID_PAIRS.len() as f32;
    gap / width
}

pub(crate) struct IrisModel {
    model: FixedModel,
}

impl IrisModel {
    pub(crate) fn new(model: FixedModel) -> Self {
        IrisModel { model }
    }

    pub(crate) fn run(&self, img: &RgbImage, eyes: &EyeRegions) -> Result<EyeAnalysis, VisionError> {
        Ok(EyeAnalysis { left: self.eye(img, &eyes.left, true)?, right: self.eye(img, &eyes.right, false)? })
    }

    fn eye(&self, img: &RgbImage, crop: &RotatedCrop, mirrored: bool) -> Result<EyeLandmarks, VisionError> {
        let n = IRIS_INPUT as usize;
        let out = self.model.run_filled(|input| {
            warp_crop_to(img, crop, IRIS_INPUT, Layout::RgbUnit, input);
            if mirrored {
                for row in input.chunks_exact_mut(n) {
                    row.reverse();
                }
            }
        })?;
        // Outputs [1,213] (71 eye points) and [1,15] (5 iris points), found by size.
        let contour = out.iter().find(|o| o.len() == EYE_POINTS * 3);
        let iris = out.iter().find(|o| o.len() == 5 * 3);
        let (Some(contour), Some(iris)) = (contour, iris) else {
            return Err(VisionError::Model { path: "iris_landmark.onnx".into(), message: "unexpected outputs".into() });
        };
        let size = IRIS_INPUT as f32;
        let to_image = |p: &[f32]| {
            let u = if mirrored { size - p[0] } else { p[0] };
            crop.to_image(u, p[1], size)
        };
        let contour: Vec<Point> = contour.chunks_exact(3).map(to_image).collect();
        let iris: Vec<Point> = iris.chunks_exact(3).map(to_image).collect();
        let openness = openness(&contour);
        Ok(EyeLandmarks { contour, iris: [iris[0], iris[1], iris[2], iris[3], iris[4]], openness })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eye_crop_is_level_along_the_corners_and_scaled_by_their_distance() {
        let c = eye_crop(Point::new(120.0, 50.0), Point::new(100.0, 50.0));
        assert_eq!(c.centre, Point::new(110.0, 50.0));
        assert!((c.side - 46.0).abs() < 1e-4);
        assert!(c.angle.abs() < 1e-6, "corners given right-to-left still give a level crop");
        let tilted = eye_crop(Point::new(0.0, 0.0), Point::new(10.0, 10.0));
        assert!((tilted.angle - std::f32::consts::FRAC_PI_4).abs() < 1e-6);
    }

    #[test]
    fn openness_is_the_mean_lid_gap_over_the_eye_width() {
        let mut contour = vec![Point::default(); EYE_POINTS];
        contour[0] = Point::new(0.0, 0.0);
        contour[8] = Point::new(40.0, 0.0);
        for (k, &(lo, up)) in LID_PAIRS.iter().enumerate() {
            contour[lo] = Point::new(10.0 + 10.0 * k as f32, 3.0);
            contour[up] = Point::new(10.0 + 10.0 * k as f32, -3.0 - k as f32);
        }
        // gaps 6, 7, 8 → mean 7, over width 40
        assert!((openness(&contour) - 7.0 / 40.0).abs() < 1e-6);
        let closed = vec![Point::default(); EYE_POINTS];
        assert_eq!(openness(&closed), 0.0);
    }
}
