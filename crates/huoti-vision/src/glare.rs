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
    // (luma, RGB), in sampling order.
    let mut samples: Vec<(f32, [u8; 3])> = Vec::new();
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
            samples.push((0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32, p));
        }
    }
    if samples.len() < 2 * MIN_SAMPLES {
        return None;
    }
    // The darker half is the lower half in (luma, sampling order): with sampling order breaking
    // ties, both halves hold exactly the pixels a stable sort would put there. The sums are
    // integers (below 2^24 here: at most ≈ 100 000 samples), so the order they add in is moot.
    let mid = samples.len() / 2;
    let first_bright = nth_in_luma_order(&samples, mid);
    let (mut dark, mut all) = ([0u32; 3], [0u32; 3]);
    for (order, &(luma, p)) in samples.iter().enumerate() {
        let is_dark = in_luma_order((luma, order), first_bright).is_lt();
        for c in 0..3 {
            all[c] += u32::from(p[c]);
            if is_dark {
                dark[c] += u32::from(p[c]);
            }
        }
    }
    let bright_len = (samples.len() - mid) as f32;
    Some([dark.map(|v| v as f32 / mid as f32), std::array::from_fn(|c| (all[c] - dark[c]) as f32 / bright_len)])
}

/// The order of samples `(luma, sampling order)`.
fn in_luma_order(a: (f32, usize), b: (f32, usize)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Lumas (0–250) per histogram bucket: a bucket is a quarter of a luma step.
const BUCKETS_PER_LUMA: f32 = 4.0;

/// The `n`-th sample (from 0) in (luma, sampling order), as `(luma, sampling order)`.
///
/// A histogram of the lumas finds the bucket holding it; only that bucket's samples are then
/// selected among. Neither a sort nor a selection over all samples: those cost ≈ 6 % and
/// ≈ 3 % of a session's server instructions at 256 px, where every pixel is a sample (issue 15).
fn nth_in_luma_order(samples: &[(f32, [u8; 3])], n: usize) -> (f32, usize) {
    let bucket = |luma: f32| ((luma * BUCKETS_PER_LUMA) as usize).min(1023);
    let mut histogram = [0usize; 1024];
    for &(luma, _) in samples {
        histogram[bucket(luma)] += 1;
    }
    let (mut target, mut below) = (0, 0);
    for (b, &count) in histogram.iter().enumerate() {
        if below + count > n {
            target = b;
            break;
        }
        below += count;
    }
    let mut candidates: Vec<(f32, usize)> =
        samples.iter().enumerate().filter(|(_, (luma, _))| bucket(*luma) == target).map(|(order, &(luma, _))| (luma, order)).collect();
    *candidates.select_nth_unstable_by(n - below, |a, b| in_luma_order(*a, *b)).1
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
    fn the_histogram_finds_the_nth_sample_of_a_stable_sort() {
        // Many distinct lumas, and ties, crowded into few buckets and spread over many.
        let mut state = 0x9e37_79b9_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for spread in [3u32, 40, 249] {
            let samples: Vec<(f32, [u8; 3])> = (0..5000)
                .map(|_| {
                    let p = [(next() % spread) as u8, (next() % spread) as u8, (next() % spread) as u8];
                    (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32, p)
                })
                .collect();
            let mut sorted: Vec<(f32, usize)> = samples.iter().enumerate().map(|(i, s)| (s.0, i)).collect();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            for n in [0, 1, 2499, 2500, 4999] {
                assert_eq!(nth_in_luma_order(&samples, n), sorted[n], "spread {spread}, n {n}");
            }
        }
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
