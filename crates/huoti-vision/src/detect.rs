//! YuNet face detection: letterbox, run, decode the three strides, non-maximum suppression.

use serde::Serialize;

use image::RgbImage;

use crate::geometry::{Point, Rect};
use crate::model::ShapeCachedModel;
use crate::tensor::{resize_region_to, Layout};
use crate::VisionError;

/// Detector settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// The longer image side is scaled down to at most this many pixels before detection
    /// (never up). Larger finds smaller faces and costs more: YuNet's cost grows with area.
    pub max_side: u32,
    /// Faces scoring below this are dropped.
    pub score_threshold: f32,
    /// Boxes overlapping a better one by more than this IoU are dropped.
    pub nms_threshold: f32,
    /// At most this many candidates enter NMS.
    pub top_k: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig { max_side: 640, score_threshold: 0.6, nms_threshold: 0.3, top_k: 5000 }
    }
}

/// One detected face, in the coordinates of the image given to the detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Face {
    /// The face box.
    pub bbox: Rect,
    /// Detector confidence, 0–1.
    pub score: f32,
    /// Right eye, left eye, nose tip, right and left mouth corners (the person's right/left).
    pub landmarks: [Point; 5],
}

impl Face {
    /// The person's right eye (on the image's left in an unmirrored picture).
    pub fn right_eye(&self) -> Point {
        self.landmarks[0]
    }
    /// The person's left eye.
    pub fn left_eye(&self) -> Point {
        self.landmarks[1]
    }
}

const STRIDES: [usize; 3] = [8, 16, 32];

pub(crate) struct Detector {
    model: ShapeCachedModel,
}

impl Detector {
    pub(crate) fn new(model: ShapeCachedModel) -> Self {
        Detector { model }
    }

    /// Letterbox geometry for an image: resized size and padded (multiple of 32) size.
    pub(crate) fn input_geometry(width: u32, height: u32, max_side: u32) -> (u32, u32, u32, u32) {
        let scale = (max_side as f64 / width.max(height) as f64).min(1.0);
        let rw = ((width as f64 * scale + 0.5) as u32).max(1);
        let rh = ((height as f64 * scale + 0.5) as u32).max(1);
        (rw, rh, rw.div_ceil(32) * 32, rh.div_ceil(32) * 32)
    }

    pub(crate) fn detect(&self, img: &RgbImage, cfg: &DetectorConfig) -> Result<Vec<Face>, VisionError> {
        let (w, h) = img.dimensions();
        let (rw, rh, pw, ph) = Self::input_geometry(w, h, cfg.max_side);
        let outputs = self
            .model
            .run_filled(&[1, 3, ph as usize, pw as usize], |input| resize_region_to(img, (0, 0, w, h), (rw, rh), (pw, ph), Layout::BgrRaw, input))?;
        let mut faces = decode(&outputs, pw as usize, ph as usize, cfg.score_threshold);
        faces = nms(faces, cfg.nms_threshold, cfg.top_k);
        let (sx, sy) = (rw as f32 / w as f32, rh as f32 / h as f32);
        for f in &mut faces {
            f.bbox = Rect::new(f.bbox.x / sx, f.bbox.y / sy, f.bbox.w / sx, f.bbox.h / sy);
            for p in &mut f.landmarks {
                *p = Point::new(p.x / sx, p.y / sy);
            }
        }
        Ok(faces)
    }
}

/// Decodes YuNet's 12 outputs (cls×3, obj×3, bbox×3, kps×3 for strides 8, 16, 32).
fn decode(outputs: &[Vec<f32>], pw: usize, ph: usize, threshold: f32) -> Vec<Face> {
    let mut faces = Vec::new();
    for (k, &s) in STRIDES.iter().enumerate() {
        let cols = pw / s;
        let rows = ph / s;
        let (cls, obj, bbox, kps) = (&outputs[k], &outputs[3 + k], &outputs[6 + k], &outputs[9 + k]);
        for idx in 0..rows * cols {
            let score = (cls[idx].clamp(0.0, 1.0) * obj[idx].clamp(0.0, 1.0)).sqrt();
            if score < threshold {
                continue;
            }
            let (row, col) = ((idx / cols) as f32, (idx % cols) as f32);
            let s = s as f32;
            let b = &bbox[idx * 4..idx * 4 + 4];
            let (cx, cy) = ((col + b[0]) * s, (row + b[1]) * s);
            let (bw, bh) = (b[2].exp() * s, b[3].exp() * s);
            let k = &kps[idx * 10..idx * 10 + 10];
            let landmarks = std::array::from_fn(|j| Point::new((k[2 * j] + col) * s, (k[2 * j + 1] + row) * s));
            faces.push(Face { bbox: Rect::new(cx - bw / 2.0, cy - bh / 2.0, bw, bh), score, landmarks });
        }
    }
    faces
}

/// Greedy NMS, best score first; the result stays sorted by score.
fn nms(mut faces: Vec<Face>, iou_threshold: f32, top_k: usize) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    faces.truncate(top_k);
    let mut kept: Vec<Face> = Vec::new();
    for f in faces {
        if kept.iter().all(|k| k.bbox.iou(&f.bbox) <= iou_threshold) {
            kept.push(f);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, score: f32) -> Face {
        Face { bbox: Rect::new(x, 0.0, 10.0, 10.0), score, landmarks: [Point::default(); 5] }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_and_sorts() {
        let kept = nms(vec![face(0.0, 0.7), face(1.0, 0.9), face(50.0, 0.8)], 0.3, 100);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].score, 0.8);
    }

    #[test]
    fn letterbox_geometry_matches_opencv_padding() {
        assert_eq!(Detector::input_geometry(400, 300, 640), (400, 300, 416, 320));
        assert_eq!(Detector::input_geometry(1434, 2333, 640), (393, 640, 416, 640));
    }
}
