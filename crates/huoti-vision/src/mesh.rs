//! FaceMesh: 468 landmarks on an eye-levelled square crop, mapped back to the image.

use image::RgbImage;

use crate::geometry::{Point, Rect, RotatedCrop};
use crate::model::FixedModel;
use crate::tensor::{warp_crop_to, Layout};
use crate::{Face, VisionError};

/// Side of the FaceMesh input.
pub(crate) const MESH_INPUT: u32 = 192;
/// The crop is the face box (or landmark box) enlarged this much, as MediaPipe does.
const CROP_SCALE: f32 = 1.5;

/// Landmark indices used by the measures (MediaPipe FaceMesh topology).
pub(crate) mod idx {
    pub const RIGHT_EYE: [usize; 6] = [33, 160, 158, 133, 153, 144];
    pub const LEFT_EYE: [usize; 6] = [362, 385, 387, 263, 373, 380];
    pub const UPPER_LIP: usize = 13;
    pub const LOWER_LIP: usize = 14;
    pub const MOUTH_RIGHT: usize = 78;
    pub const MOUTH_LEFT: usize = 308;
    pub const FOREHEAD: usize = 10;
    pub const CHIN: usize = 152;
    pub const RIGHT_CHEEK: usize = 234;
    pub const LEFT_CHEEK: usize = 454;
    pub const NOSE_TIP: usize = 1;
}

/// 468 landmarks in image coordinates, with depth.
#[derive(Debug, Clone)]
pub struct Mesh {
    /// (x, y) in image pixels and z (relative depth, same scale as x; larger = farther).
    pub points: Vec<[f32; 3]>,
    /// Face-presence probability from the model (sigmoid of its logit).
    pub presence: f32,
    /// The crop the model saw (kept for tracking and for the roll angle).
    pub crop: RotatedCrop,
}

impl Mesh {
    /// Landmark `i` as a 2-D image point.
    pub fn point(&self, i: usize) -> Point {
        Point::new(self.points[i][0], self.points[i][1])
    }

    /// The bounding box of all landmarks.
    pub fn bbox(&self) -> Rect {
        Rect::bounding(self.points.iter().map(|p| Point::new(p[0], p[1])))
    }

    /// The crop to use on the next frame of a video (tracking instead of re-detecting).
    pub(crate) fn next_crop(&self) -> RotatedCrop {
        let b = self.bbox();
        let re = self.point(idx::RIGHT_EYE[0]).mid(self.point(idx::RIGHT_EYE[3]));
        let le = self.point(idx::LEFT_EYE[0]).mid(self.point(idx::LEFT_EYE[3]));
        RotatedCrop { centre: b.centre(), side: b.w.max(b.h) * CROP_SCALE, angle: (le.y - re.y).atan2(le.x - re.x) }
    }
}

/// The crop for a detected face: its box enlarged 1.5× to a square, rotated so the eyes are level.
pub(crate) fn crop_for_face(face: &Face) -> RotatedCrop {
    let (re, le) = (face.right_eye(), face.left_eye());
    RotatedCrop {
        centre: face.bbox.centre(),
        side: face.bbox.w.max(face.bbox.h) * CROP_SCALE,
        angle: (le.y - re.y).atan2(le.x - re.x),
    }
}

pub(crate) struct MeshModel {
    model: FixedModel,
}

impl MeshModel {
    pub(crate) fn new(model: FixedModel) -> Self {
        MeshModel { model }
    }

    pub(crate) fn run(&self, img: &RgbImage, crop: RotatedCrop) -> Result<Mesh, VisionError> {
        let n = MESH_INPUT as f32;
        let out = self.model.run_filled(|input| warp_crop_to(img, &crop, MESH_INPUT, Layout::RgbUnit, input))?;
        // Outputs: [1,1404,1,1] landmarks (crop pixels) and [1,1,1,1] presence logit; find
        // them by size, not order, since converters differ in output order.
        let landmarks = out.iter().find(|o| o.len() == 468 * 3);
        let logit = out.iter().find(|o| o.len() == 1);
        let (Some(landmarks), Some(logit)) = (landmarks, logit) else {
            return Err(VisionError::Model { path: "face_landmark.onnx".into(), message: "unexpected outputs".into() });
        };
        let z_scale = crop.side / n;
        let points = landmarks
            .chunks_exact(3)
            .map(|p| {
                let q = crop.to_image(p[0], p[1], n);
                [q.x, q.y, p[2] * z_scale]
            })
            .collect();
        Ok(Mesh { points, presence: 1.0 / (1.0 + (-logit[0]).exp()), crop })
    }
}
