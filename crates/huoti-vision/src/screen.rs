//! Cheap cues of a screen held in front of the camera (issue 17): no model, a few
//! milliseconds per frame, measured on the few frames a session scores with the passive
//! models.
//!
//! - **Border**: a screen's edge or bezel is a long straight edge around the face. For each
//!   side of the face box, the strongest straight edge parallel to it, between the face and
//!   the frame edge (up to 1.5 face sizes away), spanning the face's extent plus a quarter on
//!   each side; a side counts when the edge covers at least [`SIDE_MIN_COVERAGE`] of that
//!   span with one sign. Three sides give 0.67, four give 1 (a door frame behind a person
//!   gives one or two).
//! - **Moiré**: a camera filming a screen samples its pixel grid and leaves narrow spectral
//!   peaks in the skin, which is smooth. On a 64×64 window of the face's centre at native
//!   resolution (Hann-windowed), the largest ratio of a spectral magnitude to the median of its
//!   frequency ring, away from the axes (block and edge artefacts) and the lowest frequencies
//!   (the face's own shape).
//! - **Control bar**: a video player's progress bar is a thin straight line across most of
//!   the frame near its top or bottom: two opposite edges a few pixels apart, each covering
//!   at least 70 % of the width.
//!
//! Each cue is 0–1. [`ScreenMedium::score`] is the larger of the border and the control bar;
//! moiré is measured and reported but **not counted**: on the shared webcam clips (cap12,
//! cap13: compressed video, a face about 100 pixels wide) it read 0.5–1.0 on most frames of a
//! live face, because a codec's 8-pixel blocks leave the same narrow peaks a screen's pixel
//! grid does. They are heuristics with known blind spots (a screen filling the frame has no
//! border; an app that draws a box around the face looks like one), which is why the light
//! check, not this cue, is what a session must pass.

use image::RgbImage;
use serde::Serialize;

use crate::Rect;

/// Longer side of the grey grid the border and bar cues work on, pixels.
const GRID_SIDE: u32 = 240;
/// Grey-level step (0–255) that counts as an edge.
const EDGE_STEP: f32 = 18.0;
/// Fraction of a side's span an edge must cover for the side to count.
pub const SIDE_MIN_COVERAGE: f32 = 0.7;
/// Fraction of the frame width a control-bar line must cover.
const BAR_MIN_COVERAGE: f32 = 0.7;
/// Side of the moiré window, pixels (a power of two is not needed: a plain DFT).
const MOIRE_SIDE: usize = 64;
/// Peak-to-ring-median ratios mapped to 0 and 1 (natural skin stays under ~4).
const MOIRE_RATIO: (f32, f32) = (5.0, 10.0);

/// The screen-medium cues of one frame, each 0–1 (higher: more like a screen).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ScreenMedium {
    /// Straight edges around the face: (sides found − 1) / 3, at least 0.
    pub border: f32,
    /// Narrow spectral peaks in the face's skin.
    pub moire: f32,
    /// A thin line across the frame near its top or bottom.
    pub bar: f32,
    /// The larger of `border` and `bar` (moiré is not counted; see the module docs).
    pub score: f32,
    /// How many sides of the face had a straight edge (0–4), for reports.
    pub sides: u8,
}

/// Measures the screen-medium cues of `img` around the main face `face` (pixels). Never
/// fails: a degenerate face box or a tiny image gives zeros.
pub fn screen_medium(img: &RgbImage, face: &Rect) -> ScreenMedium {
    if img.width() < 16 || img.height() < 16 || !(face.w > 2.0 && face.h > 2.0) {
        return ScreenMedium::default();
    }
    let grid = Grey::downscaled(img, GRID_SIDE);
    let s = grid.w as f32 / img.width() as f32;
    let f = Rect::new(face.x * s, face.y * s, face.w * s, face.h * s);
    let sides = border_sides(&grid, &f);
    let border = ((sides as f32 - 1.0) / 3.0).clamp(0.0, 1.0);
    let bar = control_bar(&grid);
    let moire = moire(img, face);
    ScreenMedium { border, moire, bar, score: border.max(bar), sides }
}

/// A grey image (0–255), row-major.
struct Grey {
    w: usize,
    h: usize,
    v: Vec<f32>,
}

impl Grey {
    /// Box-averaged so that the longer side is at most `side`.
    fn downscaled(img: &RgbImage, side: u32) -> Grey {
        let k = img.width().max(img.height()).div_ceil(side).max(1);
        let (w, h) = ((img.width() / k).max(1) as usize, (img.height() / k).max(1) as usize);
        let mut v = vec![0.0; w * h];
        for (y, row) in v.chunks_mut(w).enumerate() {
            for (x, out) in row.iter_mut().enumerate() {
                let mut sum = 0.0;
                for dy in 0..k {
                    for dx in 0..k {
                        let p = img.get_pixel(x as u32 * k + dx, y as u32 * k + dy).0;
                        sum += luma(p);
                    }
                }
                *out = sum / (k * k) as f32;
            }
        }
        Grey { w, h, v }
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        self.v[y * self.w + x]
    }

    /// Mean of rows `y0..y1` at column `x` (or of columns at row, when `vertical`).
    fn band(&self, along: usize, from: usize, to: usize, vertical: bool) -> f32 {
        let n = (to - from).max(1) as f32;
        (from..to).map(|i| if vertical { self.at(i, along) } else { self.at(along, i) }).sum::<f32>() / n
    }
}

fn luma(p: [u8; 3]) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// The fraction of positions `along` whose step across the line at `at` (bands of `b` on each
/// side) exceeds [`EDGE_STEP`] with the majority sign. `vertical` lines run along y.
fn line_coverage(g: &Grey, at: usize, along: std::ops::Range<usize>, b: usize, vertical: bool) -> f32 {
    let limit = if vertical { g.w } else { g.h };
    if at < b || at + b >= limit || along.is_empty() {
        return 0.0;
    }
    let (mut up, mut down) = (0usize, 0usize);
    for q in along.clone() {
        let before = g.band(q, at - b, at, vertical);
        let after = g.band(q, at + 1, at + 1 + b, vertical);
        let d = after - before;
        if d > EDGE_STEP {
            up += 1;
        } else if d < -EDGE_STEP {
            down += 1;
        }
    }
    up.max(down) as f32 / along.len() as f32
}

/// How many sides of the face have a long straight edge parallel to them.
fn border_sides(g: &Grey, f: &Rect) -> u8 {
    let b = ((0.04 * f.w.min(f.h)).round() as usize).max(2);
    let clip = |a: f32, hi: usize| (a.max(0.0) as usize).min(hi);
    // Spans: the face's extent plus a quarter on each side, clipped to the frame; a side whose
    // span is mostly outside the frame cannot be judged.
    let xs = clip(f.x - 0.25 * f.w, g.w)..clip(f.x + 1.25 * f.w, g.w);
    let ys = clip(f.y - 0.25 * f.h, g.h)..clip(f.y + 1.25 * f.h, g.h);
    let (min_x, min_y) = ((0.8 * f.w) as usize, (0.8 * f.h) as usize);
    let best = |lines: std::ops::Range<usize>, along: &std::ops::Range<usize>, vertical: bool, min_len: usize| {
        if along.len() < min_len.max(4) {
            return 0.0f32;
        }
        lines.map(|at| line_coverage(g, at, along.clone(), b, vertical)).fold(0.0, f32::max)
    };
    let gap_x = (0.1 * f.w) as usize + b;
    let gap_y = (0.1 * f.h) as usize + b;
    let reach_x = (1.5 * f.w) as usize;
    let reach_y = (1.5 * f.h) as usize;
    let top_end = clip(f.y, g.h).saturating_sub(gap_y);
    let bottom_start = clip(f.y + f.h, g.h) + gap_y;
    let left_end = clip(f.x, g.w).saturating_sub(gap_x);
    let right_start = clip(f.x + f.w, g.w) + gap_x;
    let sides = [
        best(top_end.saturating_sub(reach_y)..top_end, &xs, false, min_x),
        best(bottom_start..(bottom_start + reach_y).min(g.h), &xs, false, min_x),
        best(left_end.saturating_sub(reach_x)..left_end, &ys, true, min_y),
        best(right_start..(right_start + reach_x).min(g.w), &ys, true, min_y),
    ];
    sides.iter().filter(|&&c| c >= SIDE_MIN_COVERAGE).count() as u8
}

/// 1 when a thin line (two opposite edges 1–4 rows apart) crosses most of the frame in its top
/// fifth or bottom quarter, else 0.
fn control_bar(g: &Grey) -> f32 {
    let full = 0..g.w;
    let signed = |y: usize| -> f32 {
        if y < 1 || y + 1 >= g.h {
            return 0.0;
        }
        let (mut up, mut down) = (0usize, 0usize);
        for x in full.clone() {
            let d = g.at(x, y + 1) - g.at(x, y - 1);
            if d > EDGE_STEP {
                up += 1;
            } else if d < -EDGE_STEP {
                down += 1;
            }
        }
        let n = g.w as f32;
        if up as f32 / n >= BAR_MIN_COVERAGE {
            1.0
        } else if down as f32 / n >= BAR_MIN_COVERAGE {
            -1.0
        } else {
            0.0
        }
    };
    let rows: Vec<usize> = (0..g.h / 5).chain(g.h - g.h / 4..g.h).collect();
    let edges: Vec<(usize, f32)> = rows.into_iter().map(|y| (y, signed(y))).filter(|e| e.1 != 0.0).collect();
    let line = edges
        .iter()
        .any(|&(y, s)| edges.iter().any(|&(y2, s2)| y2 > y + 1 && y2 <= y + 5 && s2 == -s));
    if line { 1.0 } else { 0.0 }
}

/// Narrow spectral peaks in a 64×64 window of the face's centre, mapped to 0–1.
fn moire(img: &RgbImage, face: &Rect) -> f32 {
    let side = (0.45 * face.w.min(face.h)).max(8.0);
    let (cx, cy) = (face.x + face.w / 2.0, face.y + face.h * 0.45);
    let n = MOIRE_SIDE;
    let hann = |i: usize| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (n - 1) as f32).cos();
    let mut patch = vec![0.0f32; n * n];
    for (j, row) in patch.chunks_mut(n).enumerate() {
        for (i, out) in row.iter_mut().enumerate() {
            let x = cx - side / 2.0 + side * (i as f32 + 0.5) / n as f32;
            let y = cy - side / 2.0 + side * (j as f32 + 0.5) / n as f32;
            *out = bilinear(img, x, y);
        }
    }
    let mean = patch.iter().sum::<f32>() / patch.len() as f32;
    for (k, v) in patch.iter_mut().enumerate() {
        *v = (*v - mean) * hann(k % n) * hann(k / n);
    }
    let mag = dft2_magnitude(&patch, n);
    // Rings of integer radius; only half the plane (the spectrum of a real image is symmetric).
    let half = n as i32 / 2;
    let mut rings: Vec<Vec<f32>> = vec![Vec::new(); half as usize + 1];
    let mut bins = Vec::new();
    for v in 0..=half {
        for u in -half + 1..=half {
            if v == 0 && u <= 0 {
                continue;
            }
            let r = ((u * u + v * v) as f32).sqrt().round() as usize;
            if r < 6 || r > half as usize {
                continue;
            }
            let m = mag[(v.rem_euclid(n as i32) as usize) * n + u.rem_euclid(n as i32) as usize];
            rings[r].push(m);
            if u.abs() > 1 && v > 1 {
                bins.push((r, m));
            }
        }
    }
    let medians: Vec<f32> = rings
        .iter_mut()
        .map(|ring| {
            if ring.is_empty() {
                return f32::INFINITY;
            }
            ring.sort_by(f32::total_cmp);
            ring[ring.len() / 2].max(1e-3)
        })
        .collect();
    let peak = bins.iter().map(|&(r, m)| m / medians[r]).fold(0.0, f32::max);
    let (lo, hi) = MOIRE_RATIO;
    let score = (peak.ln() - lo.ln()) / (hi.ln() - lo.ln());
    if score.is_finite() { score.clamp(0.0, 1.0) } else { 0.0 }
}

fn bilinear(img: &RgbImage, x: f32, y: f32) -> f32 {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let x = (x - 0.5).clamp(0.0, w - 1.0);
    let y = (y - 0.5).clamp(0.0, h - 1.0);
    let (x0, y0) = (x.floor(), y.floor());
    let (x1, y1) = ((x0 + 1.0).min(w - 1.0), (y0 + 1.0).min(h - 1.0));
    let (fx, fy) = (x - x0, y - y0);
    let p = |x: f32, y: f32| luma(img.get_pixel(x as u32, y as u32).0);
    (p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx) * (1.0 - fy) + (p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx) * fy
}

/// Magnitude of the 2-D DFT of an `n`×`n` real image (row-major), by rows then columns.
fn dft2_magnitude(data: &[f32], n: usize) -> Vec<f32> {
    let (cos, sin): (Vec<f32>, Vec<f32>) = (0..n)
        .map(|k| {
            let a = -2.0 * std::f32::consts::PI * k as f32 / n as f32;
            (a.cos(), a.sin())
        })
        .unzip();
    let mut re = vec![0.0f32; n * n];
    let mut im = vec![0.0f32; n * n];
    for y in 0..n {
        for u in 0..n {
            let (mut r, mut i) = (0.0, 0.0);
            for x in 0..n {
                let k = (u * x) % n;
                r += data[y * n + x] * cos[k];
                i += data[y * n + x] * sin[k];
            }
            re[y * n + u] = r;
            im[y * n + u] = i;
        }
    }
    let mut mag = vec![0.0f32; n * n];
    for u in 0..n {
        for v in 0..n {
            let (mut r, mut i) = (0.0, 0.0);
            for y in 0..n {
                let k = (v * y) % n;
                let (a, b) = (re[y * n + u], im[y * n + u]);
                r += a * cos[k] - b * sin[k];
                i += a * sin[k] + b * cos[k];
            }
            mag[v * n + u] = r.hypot(i);
        }
    }
    mag
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A smooth "face" (a soft blob with noise-free shading) on a textured wall.
    fn scene(w: u32, h: u32, f: Rect) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (cx, cy) = (f.x + f.w / 2.0, f.y + f.h / 2.0);
            let d = ((x as f32 - cx) / f.w).hypot((y as f32 - cy) / f.h);
            let wall = 110.0 + 10.0 * ((x as f32 / 7.0).sin() + (y as f32 / 11.0).cos());
            let v = if d < 0.5 { 190.0 - 40.0 * d } else { wall };
            Rgb([v as u8, (v * 0.8) as u8, (v * 0.7) as u8])
        })
    }

    fn face() -> Rect {
        Rect::new(120.0, 80.0, 80.0, 100.0)
    }

    #[test]
    fn a_plain_scene_shows_no_screen() {
        let m = screen_medium(&scene(320, 240, face()), &face());
        assert_eq!((m.sides, m.bar), (0, 0.0), "{m:?}");
        assert!(m.moire < 0.2 && m.score < 0.2, "{m:?}");
    }

    #[test]
    fn a_bezel_around_the_face_is_a_border() {
        // A bright screen with a black bezel, the face inside, the room around it.
        let f = face();
        let mut img = scene(320, 240, f);
        for (x, y, p) in img.enumerate_pixels_mut() {
            let (x, y) = (x as f32, y as f32);
            let in_screen = (80.0..240.0).contains(&x) && (30.0..232.0).contains(&y);
            let in_bezel = (70.0..250.0).contains(&x) && (20.0..240.0).contains(&y);
            let d = ((x - 160.0) / f.w).hypot((y - 130.0) / f.h);
            if in_bezel && !in_screen {
                *p = Rgb([15, 15, 18]);
            } else if in_screen && d >= 0.5 {
                *p = Rgb([225, 228, 230]);
            }
        }
        let m = screen_medium(&img, &f);
        assert!(m.sides >= 3 && m.border >= 0.66, "{m:?}");
        // The same scene with only a door frame on one side: not a screen.
        let mut door = scene(320, 240, f);
        for (x, _, p) in door.enumerate_pixels_mut() {
            if (40..52).contains(&x) {
                *p = Rgb([60, 40, 30]);
            }
        }
        assert!(screen_medium(&door, &f).border < 0.01);
    }

    #[test]
    fn a_progress_bar_across_the_bottom_is_a_control_bar() {
        let f = face();
        let mut img = scene(320, 240, f);
        for (_, y, p) in img.enumerate_pixels_mut() {
            if (222..225).contains(&y) {
                *p = Rgb([240, 240, 240]);
            }
        }
        assert_eq!(screen_medium(&img, &f).bar, 1.0);
    }

    #[test]
    fn a_fine_grid_on_the_skin_is_moire() {
        let f = face();
        let mut img = scene(320, 240, f);
        for (x, y, p) in img.enumerate_pixels_mut() {
            // A beat pattern of a screen's pixel grid against the sensor's, ~5.3 px period,
            // slanted (moiré is rarely axis-aligned).
            let phase = (x as f32 * 0.95 + y as f32 * 0.55) * 2.0 * std::f32::consts::PI / 5.3;
            let v = p.0[0] as f32 + 22.0 * phase.sin();
            p.0[0] = v.clamp(0.0, 255.0) as u8;
            p.0[1] = (p.0[1] as f32 + 22.0 * phase.sin()).clamp(0.0, 255.0) as u8;
        }
        let m = screen_medium(&img, &f);
        assert!(m.moire > 0.8, "{m:?}");
        // Measured, not counted: compressed video shows the same peaks on live faces.
        assert!(m.score < 0.2, "{m:?}");
    }

    #[test]
    fn degenerate_input_is_zero_not_a_panic() {
        let img = RgbImage::new(8, 8);
        assert_eq!(screen_medium(&img, &face()), ScreenMedium::default());
        let img = scene(64, 48, face());
        let m = screen_medium(&img, &Rect::new(-50.0, 400.0, 900.0, f32::NAN));
        assert!(m.score.is_finite());
        let m = screen_medium(&img, &Rect::new(60.0, 40.0, 30.0, 30.0));
        assert!((0.0..=1.0).contains(&m.score));
    }
}
