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
    // Two walks over the samples, neither storing them: the first counts them per luma bucket
    // and sums each bucket's colours, which finds the bucket the median falls in; the second
    // collects that bucket's samples only. A sort, a selection or even a list of all samples
    // cost ≈ 6 %, then ≈ 5 % of a session's server instructions at 256 px, where every pixel
    // is a sample (issue 15).
    let mut histogram = vec![BucketTally::default(); BUCKETS];
    for_each_sample(img, face, |p| histogram[bucket(p)].add(p));
    let len: usize = histogram.iter().map(|b| b.count).sum();
    if len < 2 * MIN_SAMPLES {
        return None;
    }
    // The darker half is the lower half in (luma, sampling order): with sampling order breaking
    // ties, both halves hold exactly the pixels a stable sort would put there. The sums are
    // integers (below 2^24 here: at most ≈ 100 000 samples), so the order they add in is moot.
    let mid = len / 2;
    let (mut dark, mut below) = (BucketTally::default(), 0);
    let mut target = 0;
    for (b, tally) in histogram.iter().enumerate() {
        if below + tally.count > mid {
            target = b;
            break;
        }
        below += tally.count;
        dark.merge(tally);
    }
    // The median bucket's samples, in sampling order: the first `mid - below` of them in
    // (luma, sampling order) are dark.
    let mut candidates: Vec<(f32, usize, [u8; 3])> = Vec::with_capacity(histogram[target].count);
    for_each_sample(img, face, |p| {
        if bucket(p) == target {
            candidates.push((luma(p), candidates.len(), p));
        }
    });
    let in_order = |a: &(f32, usize, [u8; 3]), b: &(f32, usize, [u8; 3])| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    let darker = mid - below;
    if darker > 0 {
        candidates.select_nth_unstable_by(darker - 1, in_order);
        candidates[..darker].iter().for_each(|&(_, _, p)| dark.add(p));
    }
    let mut all = BucketTally::default();
    histogram.iter().for_each(|t| all.merge(t));
    let bright_len = (len - mid) as f32;
    Some([dark.sum.map(|v| v as f32 / mid as f32), std::array::from_fn(|c| (all.sum[c] - dark.sum[c]) as f32 / bright_len)])
}

/// Calls `f(rgb)` for each background sample, in sampling order: the pixels of a grid
/// of ~160 per side outside 1.5× the face box and its extension downwards (the head, hair and
/// shoulders a screen lights too are left out), without clipped pixels (any channel ≥ 250).
fn for_each_sample(img: &RgbImage, face: &Rect, mut f: impl FnMut([u8; 3])) {
    let (cx, cy) = (face.x + face.w / 2.0, face.y + face.h / 2.0);
    let (hw, hh) = (0.75 * face.w, 0.75 * face.h);
    let step = crate::quality::colour_grid_step(img);
    let width = img.width() as usize;
    for (y, row) in img.as_raw().chunks_exact(3 * width).enumerate().step_by(step) {
        let below_head_top = y as f32 + 0.5 > cy - hh;
        for x in (0..width).step_by(step) {
            if below_head_top && (x as f32 + 0.5 - cx).abs() < hw {
                continue; // the head and what is below it
            }
            let p = [row[3 * x], row[3 * x + 1], row[3 * x + 2]];
            if p.iter().any(|&v| v >= 250) {
                continue;
            }
            f(p);
        }
    }
}

/// The luma the halves are split by.
fn luma(p: [u8; 3]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// Luma buckets: a quarter of a luma step each (lumas of unclipped pixels lie in 0–250).
const BUCKETS: usize = 1024;

/// The bucket of a colour, from its luma in integers (`1000 ×` the luma, exactly): a bucket
/// only has to grow with [`luma`], never shrink, and it does. Two colours whose integer lumas
/// differ have true lumas at least 0.001 apart, far more than the f32 rounding of [`luma`]
/// (< 0.0001), so the f32 lumas are in the same order; equal integer lumas share a bucket.
/// Integers spare a float conversion per pixel (test `buckets_grow_with_the_luma`).
fn bucket(p: [u8; 3]) -> usize {
    ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 250) as usize
}

/// How many samples fell in a bucket, and their summed colour.
#[derive(Debug, Clone, Copy, Default)]
struct BucketTally {
    count: usize,
    sum: [u32; 3],
}

impl BucketTally {
    fn add(&mut self, p: [u8; 3]) {
        self.count += 1;
        for (sum, v) in self.sum.iter_mut().zip(p) {
            *sum += u32::from(v);
        }
    }

    fn merge(&mut self, other: &BucketTally) {
        self.count += other.count;
        for (sum, v) in self.sum.iter_mut().zip(other.sum) {
            *sum += v;
        }
    }
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

    /// The halves as first written: every sample listed, stably sorted by luma, split in two.
    fn sorted_halves(img: &RgbImage, face: &Rect) -> [[f32; 3]; 2] {
        let (cx, cy, hw, hh) = (face.x + face.w / 2.0, face.y + face.h / 2.0, 0.75 * face.w, 0.75 * face.h);
        let mut sorted: Vec<(f32, [u8; 3])> = Vec::new();
        for y in 0..img.height() {
            for x in 0..img.width() {
                let near_head = ((x as f32 + 0.5) - cx).abs() < hw && (y as f32 + 0.5) > cy - hh;
                let p = img.get_pixel(x, y).0;
                if !near_head && p.iter().all(|&v| v < 250) {
                    sorted.push((0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32, p));
                }
            }
        }
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (dark, bright) = sorted.split_at(sorted.len() / 2);
        let mean = |s: &[(f32, [u8; 3])]| -> [f32; 3] { std::array::from_fn(|c| s.iter().map(|(_, p)| u32::from(p[c])).sum::<u32>() as f32 / s.len() as f32) };
        [mean(dark), mean(bright)]
    }

    fn noise(seed: u32) -> impl FnMut() -> u32 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        }
    }

    #[test]
    fn buckets_grow_with_the_luma() {
        let mut colours: Vec<(f32, usize)> = Vec::new();
        for r in (0..250u8).step_by(3) {
            for g in (0..250u8).step_by(2) {
                for b in (0..250u8).step_by(5) {
                    colours.push((luma([r, g, b]), bucket([r, g, b])));
                }
            }
        }
        colours.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(colours.windows(2).all(|w| w[0].1 <= w[1].1), "a brighter colour in a lower bucket");
        assert!(colours.iter().all(|c| c.1 < BUCKETS));
    }

    #[test]
    fn the_halves_are_exactly_those_of_a_stable_sort_of_the_samples() {
        let face = Rect::new(120.0, 60.0, 60.0, 80.0);
        // Few distinct lumas: many ties at the median, between different colours.
        let mut next = noise(0x2545_f491);
        let ties = RgbImage::from_fn(300, 200, |_, _| Rgb(std::array::from_fn(|_| [0u8, 29, 58, 87][(next() % 4) as usize])));
        // Many distinct lumas, clipped pixels among them, and a gradient that crowds the median
        // bucket.
        let mut next = noise(0x9e37_79b9);
        let varied = RgbImage::from_fn(300, 200, |x, _| Rgb([0, 1, 2].map(|c| (x * 7 / 8 + c + next() % 40).min(255) as u8)));
        for img in [&ties, &varied] {
            assert_eq!(background_split_rgb(img, &face), Some(sorted_halves(img, &face)));
        }
    }
}
