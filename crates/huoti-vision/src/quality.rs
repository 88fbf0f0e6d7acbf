//! Capture quality: is this a frame worth judging?

use image::RgbImage;
use serde::Serialize;

use crate::geometry::Rect;
use crate::tensor::gray_region;

/// Quality facts about a frame and its main face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    /// Number of faces detected in the frame.
    pub faces: usize,
    /// Face box width over frame width (0 when no face).
    pub face_width_ratio: f32,
    /// Distance of the face centre from the frame centre, as a fraction of the frame
    /// (0 = centred; 0.5 ≈ at an edge).
    pub centre_offset: f32,
    /// Variance of the Laplacian of the face, resampled to 128×128 luma (scale-free): < ~50
    /// is blurred.
    pub sharpness: f32,
    /// Mean luma of the face, 0–255.
    pub exposure_mean: f32,
    /// Fraction of face pixels at ≤ 5 or ≥ 250 (clipped shadows/highlights).
    pub exposure_clipped: f32,
    /// True when the whole face box lies inside the frame.
    pub face_inside: bool,
}

const SHARP_SIDE: u32 = 128;

/// Computes quality for the main face `face` (if any) of `img`.
pub fn assess(img: &RgbImage, face: Option<&Rect>, faces: usize) -> Quality {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let Some(face) = face else {
        return Quality {
            faces,
            face_width_ratio: 0.0,
            centre_offset: 0.0,
            sharpness: 0.0,
            exposure_mean: 0.0,
            exposure_clipped: 0.0,
            face_inside: false,
        };
    };
    let c = face.centre();
    let region = clamp_region(img, face);
    let luma = gray_region(img, region, SHARP_SIDE, SHARP_SIDE);
    let mean = luma.iter().sum::<f32>() / luma.len() as f32;
    let clipped = luma.iter().filter(|&&v| v <= 5.0 || v >= 250.0).count() as f32 / luma.len() as f32;
    Quality {
        faces,
        face_width_ratio: face.w / w,
        centre_offset: ((c.x - w / 2.0) / w).hypot((c.y - h / 2.0) / h),
        sharpness: laplacian_variance(&luma, SHARP_SIDE as usize),
        exposure_mean: mean,
        exposure_clipped: clipped,
        face_inside: face.inside(img.width(), img.height()),
    }
}

/// Variance of the Laplacian of a region's luma resampled to 128×128 (scale-free, so a face
/// crop of any size reads on one scale: below ~50 is blurred).
pub(crate) fn sharpness(img: &RgbImage, region: (u32, u32, u32, u32)) -> f32 {
    laplacian_variance(&gray_region(img, region, SHARP_SIDE, SHARP_SIDE), SHARP_SIDE as usize)
}

/// The part of a box inside the image, in whole pixels (at least 1×1).
pub(crate) fn clamp_region(img: &RgbImage, r: &Rect) -> (u32, u32, u32, u32) {
    let x0 = r.x.max(0.0).min(img.width() as f32 - 1.0) as u32;
    let y0 = r.y.max(0.0).min(img.height() as f32 - 1.0) as u32;
    let x1 = ((r.x + r.w).ceil().max(0.0) as u32).min(img.width()).max(x0 + 1);
    let y1 = ((r.y + r.h).ceil().max(0.0) as u32).min(img.height()).max(y0 + 1);
    (x0, y0, x1 - x0, y1 - y0)
}

fn laplacian_variance(luma: &[f32], side: usize) -> f32 {
    let mut values = Vec::with_capacity((side - 2) * (side - 2));
    for y in 1..side - 1 {
        for x in 1..side - 1 {
            let i = y * side + x;
            values.push(luma[i - side] + luma[i + side] + luma[i - 1] + luma[i + 1] - 4.0 * luma[i]);
        }
    }
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / values.len() as f32
}

/// A 64-bit difference hash of the whole frame (9×8 luma, left < right): near-identical
/// frames hash within a few bits, so a still image sent as video shows itself.
pub fn frame_hash(img: &RgbImage) -> u64 {
    let luma = gray_region(img, (0, 0, img.width(), img.height()), 9, 8);
    let mut bits = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            bits = (bits << 1) | u64::from(luma[y * 9 + x] < luma[y * 9 + x + 1]);
        }
    }
    bits
}

/// The step of the ~160-per-side sampling grid that the flash checks' colour measures share
/// ([`face_and_background_rgb`], [`background_split_rgb`](crate::background_split_rgb)).
pub(crate) fn colour_grid_step(img: &RgbImage) -> usize {
    (img.width().max(img.height()) / 160).max(1) as usize
}

/// Mean RGB of the face's central skin region and of everything outside the face box
/// (sampled on a grid): the inputs of the flash-reflection check.
pub fn face_and_background_rgb(img: &RgbImage, face: &Rect) -> ([f32; 3], [f32; 3]) {
    let skin = Rect::new(face.x + 0.25 * face.w, face.y + 0.3 * face.h, 0.5 * face.w, 0.5 * face.h);
    let (sx, sy, sw, sh) = clamp_region(img, &skin);
    let (sx, sy, sw, sh) = (sx as usize, sy as usize, sw as usize, sh as usize);
    // Integer sums of 8-bit values, exact (the f64 sums they replace were exact too), walked
    // row by row over the raw pixels: this runs on every frame (issue 15).
    let (mut fsum, mut fn_) = ([0u64; 3], 0u64);
    let (mut bsum, mut bn) = ([0u64; 3], 0u64);
    let step = colour_grid_step(img);
    let width = img.width() as usize;
    let add = |sum: &mut [u64; 3], p: &[u8]| sum.iter_mut().zip(p).for_each(|(s, &v)| *s += u64::from(v));
    let face_column = |x: usize| {
        let fx = x as f32 + 0.5;
        fx >= face.x && fx < face.x + face.w
    };
    for (y, row) in img.as_raw().chunks_exact(3 * width).enumerate().step_by(step) {
        let fy = y as f32 + 0.5;
        let face_row = fy >= face.y && fy < face.y + face.h;
        let skin_row = y >= sy && y < sy + sh;
        for x in (0..width).step_by(step) {
            let p = &row[3 * x..3 * x + 3];
            if skin_row && x >= sx && x < sx + sw {
                add(&mut fsum, p);
                fn_ += 1;
            } else if !(face_row && face_column(x)) {
                add(&mut bsum, p);
                bn += 1;
            }
        }
    }
    let mean = |s: [u64; 3], n: u64| if n == 0 { [0.0; 3] } else { s.map(|v| (v as f64 / n as f64) as f32) };
    (mean(fsum, fn_), mean(bsum, bn))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `face_and_background_rgb` as first written: every grid pixel tested, f64 sums.
    fn plain_face_and_background_rgb(img: &RgbImage, face: &Rect) -> ([f32; 3], [f32; 3]) {
        let skin = Rect::new(face.x + 0.25 * face.w, face.y + 0.3 * face.h, 0.5 * face.w, 0.5 * face.h);
        let (sx, sy, sw, sh) = clamp_region(img, &skin);
        let (mut fsum, mut fn_, mut bsum, mut bn) = ([0f64; 3], 0f64, [0f64; 3], 0f64);
        let step = (img.width().max(img.height()) / 160).max(1) as usize;
        for y in (0..img.height()).step_by(step) {
            for x in (0..img.width()).step_by(step) {
                let p = img.get_pixel(x, y).0;
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let in_face = fx >= face.x && fx < face.x + face.w && fy >= face.y && fy < face.y + face.h;
                if x >= sx && x < sx + sw && y >= sy && y < sy + sh {
                    fsum.iter_mut().zip(p).for_each(|(s, v)| *s += f64::from(v));
                    fn_ += 1.0;
                } else if !in_face {
                    bsum.iter_mut().zip(p).for_each(|(s, v)| *s += f64::from(v));
                    bn += 1.0;
                }
            }
        }
        let mean = |s: [f64; 3], n: f64| if n == 0.0 { [0.0; 3] } else { s.map(|v| (v / n) as f32) };
        (mean(fsum, fn_), mean(bsum, bn))
    }

    #[test]
    fn face_and_background_colours_are_exactly_the_plain_walks() {
        let mut state = 0x1234_5679_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        };
        for (w, h) in [(256, 192), (480, 360), (97, 131)] {
            let img = RgbImage::from_fn(w, h, |_, _| image::Rgb([next(), next(), next()]));
            for face in [
                Rect::new(70.3, 40.8, 101.5, 120.2),
                Rect::new(-20.0, -10.0, 80.0, 90.0), // partly outside
                Rect::new(0.0, 0.0, w as f32, h as f32), // no background
            ] {
                assert_eq!(face_and_background_rgb(&img, &face), plain_face_and_background_rgb(&img, &face), "{w}×{h} {face:?}");
            }
        }
    }

    #[test]
    fn sharp_edges_score_higher_than_flat() {
        let flat = RgbImage::from_pixel(200, 200, image::Rgb([120, 120, 120]));
        let checker = RgbImage::from_fn(200, 200, |x, y| {
            if (x / 4 + y / 4) % 2 == 0 { image::Rgb([250, 250, 250]) } else { image::Rgb([5, 5, 5]) }
        });
        let r = Rect::new(50.0, 50.0, 100.0, 100.0);
        assert!(assess(&checker, Some(&r), 1).sharpness > 100.0 * (1.0 + assess(&flat, Some(&r), 1).sharpness));
        let q = assess(&flat, Some(&r), 1);
        assert!((q.exposure_mean - 120.0).abs() < 1.0 && q.exposure_clipped == 0.0 && q.face_inside);
        assert!(q.centre_offset < 1e-3 && (q.face_width_ratio - 0.5).abs() < 1e-6);
    }

    #[test]
    fn hash_is_stable_for_copies_and_differs_for_different_frames() {
        let a = RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 0]));
        let b = RgbImage::from_fn(64, 48, |x, y| image::Rgb([(255 - x * 4) as u8, (y * 5) as u8, 0]));
        assert_eq!(frame_hash(&a), frame_hash(&a.clone()));
        assert!((frame_hash(&a) ^ frame_hash(&b)).count_ones() > 20);
    }
}
