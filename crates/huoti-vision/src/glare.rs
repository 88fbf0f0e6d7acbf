//! The background's darker and brighter halves, for the flash check's glare test (issue 17).
//!
//! A screen's light on a real face is multiplicative: it adds illuminance, and each surface
//! reflects a fixed fraction of it, so two background surfaces keep their ratio (and a far
//! background gets almost nothing anyway). A replay screen held in front of the camera gets
//! the verifier's colours as glare on its glass: light *added* to every pixel, which moves a
//! dark part of the picture relatively more than a bright one. So the ratio of the background's
//! dark half to its bright half follows the flashed colours only under glare. The camera's
//! exposure and white-balance gains scale both halves alike and cancel in the ratio.

use image::RgbImage;

use crate::Rect;

/// Fewest usable samples in each half for a measurement.
const MIN_SAMPLES: usize = 40;

/// Mean RGB (0–255) of the darker and the brighter half of the background: the pixels outside
/// 1.5× the face box (the head, hair and shoulders a screen lights too are left out), split at
/// their median luma, without clipped pixels (any channel ≥ 250, which no gain moves). Sampled
/// on the same ~160-pixel grid as [`face_and_background_rgb`](crate::face_and_background_rgb).
/// `None` when either half has too few samples (a face filling the frame).
pub fn background_split_rgb(img: &RgbImage, face: &Rect) -> Option<[[f32; 3]; 2]> {
    let (cx, cy) = (face.x + face.w / 2.0, face.y + face.h / 2.0);
    let (hw, hh) = (0.75 * face.w, 0.75 * face.h);
    let step = (img.width().max(img.height()) / 160).max(1) as usize;
    // (luma, sampling order, RGB)
    let mut samples: Vec<(f32, u32, [u8; 3])> = Vec::new();
    for y in (0..img.height()).step_by(step) {
        for x in (0..img.width()).step_by(step) {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            let near_head = (fx - cx).abs() < hw && fy > cy - hh; // the head and what is below it
            if near_head {
                continue;
            }
            let p = img.get_pixel(x, y).0;
            if p.iter().any(|&v| v >= 250) {
                continue;
            }
            let order = samples.len() as u32;
            samples.push((0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32, order, p));
        }
    }
    if samples.len() < 2 * MIN_SAMPLES {
        return None;
    }
    // The darker half is the lower half in (luma, sampling order): a selection, not a sort
    // (a sort cost ≈ 6 % of a session's server CPU at 256 px, issue 15). With sampling order
    // breaking ties, both halves hold exactly the pixels a stable sort would put there; the
    // sums are integers (below 2^24 here: at most ≈ 100 000 samples), so the order is moot.
    let mid = samples.len() / 2;
    samples.select_nth_unstable_by(mid, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (dark, bright) = samples.split_at(mid);
    let mean = |s: &[(f32, u32, [u8; 3])]| -> [f32; 3] {
        std::array::from_fn(|c| s.iter().map(|(_, _, p)| u32::from(p[c])).sum::<u32>() as f32 / s.len() as f32)
    };
    Some([mean(dark), mean(bright)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn halves_are_split_at_the_median_without_the_head_or_clipped_pixels() {
        let face = Rect::new(80.0, 40.0, 40.0, 50.0);
        let img = RgbImage::from_fn(200, 150, |x, y| {
            if y < 10 {
                Rgb([255, 255, 255]) // a clipped strip of window: ignored
            } else if (80..120).contains(&x) && y >= 28 {
                Rgb([200, 150, 120]) // the head and body
            } else if x < 100 {
                Rgb([40, 50, 60])
            } else {
                Rgb([150, 160, 170])
            }
        });
        let [dark, bright] = background_split_rgb(&img, &face).unwrap();
        assert_eq!((dark, bright), ([40.0, 50.0, 60.0], [150.0, 160.0, 170.0]));
        // Glare (the same light added everywhere) moves the dark half relatively more.
        let glared = RgbImage::from_fn(200, 150, |x, y| {
            let p = img.get_pixel(x, y).0;
            Rgb(p.map(|v| v.saturating_add(20)))
        });
        let [d2, b2] = background_split_rgb(&glared, &face).unwrap();
        assert!(d2[0] / dark[0] > 1.3 && b2[0] / bright[0] < 1.15);
        // A face filling the frame leaves no background to measure.
        assert_eq!(background_split_rgb(&img, &Rect::new(0.0, 0.0, 200.0, 150.0)), None);
    }

    #[test]
    fn the_selection_splits_exactly_as_a_stable_sort_of_the_samples() {
        // Noise with few distinct lumas: many ties at the median, between different colours.
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            [0u8, 29, 58, 87][(state % 4) as usize]
        };
        let img = RgbImage::from_fn(300, 200, |_, _| Rgb([next(), next(), next()]));
        let face = Rect::new(120.0, 60.0, 60.0, 80.0);
        let mut sorted: Vec<(f32, [u8; 3])> = Vec::new();
        for y in 0..200 {
            for x in 0..300 {
                let near_head = ((x as f32 + 0.5) - 150.0).abs() < 45.0 && (y as f32 + 0.5) > 40.0;
                let p = img.get_pixel(x, y).0;
                if !near_head {
                    sorted.push((
                        0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32,
                        p,
                    ));
                }
            }
        }
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (dark, bright) = sorted.split_at(sorted.len() / 2);
        let mean = |s: &[(f32, [u8; 3])]| -> [f32; 3] {
            std::array::from_fn(|c| {
                s.iter().map(|(_, p)| f32::from(p[c])).sum::<f32>() / s.len() as f32
            })
        };
        assert_eq!(
            background_split_rgb(&img, &face),
            Some([mean(dark), mean(bright)])
        );
    }
}
