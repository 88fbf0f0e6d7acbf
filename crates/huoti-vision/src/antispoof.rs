//! Passive anti-spoof: MiniFASNetV2 (crop ×2.7) and MiniFASNetV1SE (crop ×4.0), cropped
//! exactly as upstream Silent-Face-Anti-Spoofing does, softmax averaged.

use image::RgbImage;
use serde::Serialize;

use crate::geometry::Rect;
use crate::model::FixedModel;
use crate::tensor::{resize_region_to, Layout};
use crate::VisionError;

const INPUT: u32 = 80;

/// The passive result for one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Passive {
    /// Mean of the two models' softmax "real" probability (upstream's fusion).
    pub real_probability: f32,
    /// MiniFASNetV2 (×2.7 crop) alone.
    pub v2_real: f32,
    /// MiniFASNetV1SE (×4.0 crop) alone.
    pub v1se_real: f32,
}

pub(crate) struct AntiSpoof {
    v2: FixedModel,
    v1se: FixedModel,
}

/// Upstream's `CropImage._get_new_box`: scale the box about its centre (clamped so the crop
/// fits), shift it back inside the image, truncate to whole pixels. Returns x, y, w, h.
pub(crate) fn crop_box(width: u32, height: u32, b: &Rect, scale: f32) -> (u32, u32, u32, u32) {
    let (src_w, src_h) = (width as f32, height as f32);
    let scale = scale.min((src_h - 1.0) / b.h).min((src_w - 1.0) / b.w);
    let (nw, nh) = (b.w * scale, b.h * scale);
    let (cx, cy) = (b.x + b.w / 2.0, b.y + b.h / 2.0);
    let (mut x1, mut y1, mut x2, mut y2) = (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if x1 < 0.0 {
        x2 -= x1;
        x1 = 0.0;
    }
    if y1 < 0.0 {
        y2 -= y1;
        y1 = 0.0;
    }
    if x2 > src_w - 1.0 {
        x1 -= x2 - src_w + 1.0;
        x2 = src_w - 1.0;
    }
    if y2 > src_h - 1.0 {
        y1 -= y2 - src_h + 1.0;
        y2 = src_h - 1.0;
    }
    let (x1, y1) = (x1.max(0.0) as u32, y1.max(0.0) as u32);
    let (x2, y2) = ((x2 as u32).min(width - 1), (y2 as u32).min(height - 1));
    (x1, y1, (x2 + 1 - x1).max(1), (y2 + 1 - y1).max(1))
}

fn softmax_real(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    exps[1] / exps.iter().sum::<f32>()
}

impl AntiSpoof {
    pub(crate) fn new(v2: FixedModel, v1se: FixedModel) -> Self {
        AntiSpoof { v2, v1se }
    }

    fn score(model: &FixedModel, img: &RgbImage, face: &Rect, scale: f32) -> Result<f32, VisionError> {
        let region = crop_box(img.width(), img.height(), face, scale);
        let out = model.run_filled(|input| resize_region_to(img, region, (INPUT, INPUT), (INPUT, INPUT), Layout::BgrRaw, input))?;
        Ok(softmax_real(&out[0]))
    }

    pub(crate) fn run(&self, img: &RgbImage, face: &Rect) -> Result<Passive, VisionError> {
        let v2_real = Self::score(&self.v2, img, face, 2.7)?;
        let v1se_real = Self::score(&self.v1se, img, face, 4.0)?;
        Ok(Passive { real_probability: (v2_real + v1se_real) / 2.0, v2_real, v1se_real })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_is_scaled_about_the_centre_and_shifted_inside() {
        // centred box, room to spare
        assert_eq!(crop_box(1000, 1000, &Rect::new(450.0, 450.0, 100.0, 100.0), 2.7), (365, 365, 271, 271));
        // near the left edge: shifted right, not clipped
        let (x, _, w, _) = crop_box(1000, 1000, &Rect::new(0.0, 450.0, 100.0, 100.0), 2.7);
        assert_eq!(x, 0);
        assert!(w >= 270);
        // box larger than the image allows: the scale shrinks to fit
        let (x, y, w, h) = crop_box(300, 300, &Rect::new(50.0, 50.0, 200.0, 200.0), 4.0);
        assert!(x + w <= 300 && y + h <= 300);
    }

    #[test]
    fn softmax_index_one_is_real() {
        assert!(softmax_real(&[0.0, 10.0, 0.0]) > 0.99);
        assert!(softmax_real(&[10.0, 0.0, 0.0]) < 0.01);
    }
}
