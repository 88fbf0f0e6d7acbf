//! Pixel → tensor preparation. Resampling here matches OpenCV's `INTER_LINEAR` (half-pixel
//! centres, no antialiasing) so that boxes and scores agree with the OpenCV/onnxruntime
//! reference pipelines the models were validated with.

use image::RgbImage;

use crate::geometry::RotatedCrop;

/// Channel order and scaling of a model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// BGR, raw 0–255 (YuNet, MiniFASNet).
    BgrRaw,
    /// RGB, divided by 255 (FaceMesh).
    RgbUnit,
    /// RGB, raw 0–255 (SFace, which normalises inside its graph).
    RgbRaw,
}

impl Layout {
    // Always inlined: called once per pixel of every model input, where a call and the match
    // cost more than the write (≈ 3 % of a session's server instructions, issue 15).
    #[inline(always)]
    fn write(self, out: &mut [f32], plane: usize, i: usize, rgb: [f32; 3]) {
        match self {
            Layout::BgrRaw => {
                out[i] = rgb[2];
                out[plane + i] = rgb[1];
                out[2 * plane + i] = rgb[0];
            }
            Layout::RgbUnit => {
                out[i] = rgb[0] / 255.0;
                out[plane + i] = rgb[1] / 255.0;
                out[2 * plane + i] = rgb[2] / 255.0;
            }
            Layout::RgbRaw => {
                out[i] = rgb[0];
                out[plane + i] = rgb[1];
                out[2 * plane + i] = rgb[2];
            }
        }
    }
}

/// A whole image as a `[1,3,h,w]` tensor buffer, pixel for pixel (an already aligned crop).
pub(crate) fn planar(img: &RgbImage, layout: Layout) -> Vec<f32> {
    let plane = (img.width() * img.height()) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (i, p) in img.pixels().enumerate() {
        layout.write(&mut out, plane, i, p.0.map(f32::from));
    }
    out
}

/// One axis of a bilinear resize: for each destination index, the two source indices and
/// the weight of the second.
fn axis_taps(src: u32, dst: u32, offset: f32, step: f32) -> Vec<(usize, usize, f32)> {
    (0..dst)
        .map(|d| {
            let f = (d as f32 + 0.5) * step - 0.5 + offset;
            let f = f.max(0.0);
            let i0 = (f.floor() as usize).min(src as usize - 1);
            let i1 = (i0 + 1).min(src as usize - 1);
            let a = if i1 == i0 { 0.0 } else { f - i0 as f32 };
            (i0, i1, a)
        })
        .collect()
}

/// Resizes the region `(x0, y0, sw, sh)` (whole pixels) of `img` to `dw`×`dh` and writes it
/// into the top-left of a zero-filled `[1,3,ph,pw]` tensor buffer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn resize_region_into(
    img: &RgbImage,
    region: (u32, u32, u32, u32),
    dw: u32,
    dh: u32,
    pw: u32,
    ph: u32,
    layout: Layout,
) -> Vec<f32> {
    let mut out = vec![0f32; 3 * (pw * ph) as usize];
    resize_region_to(img, region, (dw, dh), (pw, ph), layout, &mut out);
    out
}

/// [`resize_region_into`] writing into `out`, a zero-filled `[1,3,ph,pw]` buffer (a model's
/// input tensor, so the pixels are not copied again).
pub(crate) fn resize_region_to(
    img: &RgbImage,
    (x0, y0, sw, sh): (u32, u32, u32, u32),
    (dw, dh): (u32, u32),
    (pw, ph): (u32, u32),
    layout: Layout,
    out: &mut [f32],
) {
    let plane = (pw * ph) as usize;
    let xs = axis_taps(sw, dw, 0.0, sw as f32 / dw as f32);
    let ys = axis_taps(sh, dh, 0.0, sh as f32 / dh as f32);
    let raw = img.as_raw();
    let stride = img.width() as usize * 3;
    for (dy, &(y_a, y_b, wy)) in ys.iter().enumerate() {
        let row_a = (y0 as usize + y_a) * stride;
        let row_b = (y0 as usize + y_b) * stride;
        for (dx, &(x_a, x_b, wx)) in xs.iter().enumerate() {
            let ca = (x0 as usize + x_a) * 3;
            let cb = (x0 as usize + x_b) * 3;
            let mut rgb = [0f32; 3];
            for (c, v) in rgb.iter_mut().enumerate() {
                let top = f32::from(raw[row_a + ca + c]) * (1.0 - wx) + f32::from(raw[row_a + cb + c]) * wx;
                let bot = f32::from(raw[row_b + ca + c]) * (1.0 - wx) + f32::from(raw[row_b + cb + c]) * wx;
                *v = top * (1.0 - wy) + bot * wy;
            }
            layout.write(out, plane, dy * pw as usize + dx, rgb);
        }
    }
}

/// Samples a rotated square crop into `out`, an `n`×`n` `[1,3,n,n]` tensor buffer (bilinear,
/// black outside; every value is written).
pub(crate) fn warp_crop_to(img: &RgbImage, crop: &RotatedCrop, n: u32, layout: Layout, out: &mut [f32]) {
    let plane = (n * n) as usize;
    let (w, h) = (img.width() as i64, img.height() as i64);
    let raw = img.as_raw();
    let stride = w as usize * 3;
    let fetch = |x: i64, y: i64, c: usize| -> f32 {
        if x < 0 || y < 0 || x >= w || y >= h { 0.0 } else { f32::from(raw[y as usize * stride + x as usize * 3 + c]) }
    };
    // The rotation's sine and cosine once per crop, each column's and row's offset once, floor
    // without a library call, and the four neighbours read without bounds tests where all lie
    // inside: this warp runs for every FaceMesh and Iris input (≈ 9 % of a session's server
    // instructions, issue 15). Same arithmetic, same values.
    let mapper = crop.mapper();
    let nf = n as f32;
    let column_offsets: Vec<f32> = (0..n).map(|u| mapper.offset(u as f32 + 0.5, nf)).collect();
    for v in 0..n {
        let qy = mapper.offset(v as f32 + 0.5, nf);
        for (u, &qx) in column_offsets.iter().enumerate() {
            let p = mapper.point(qx, qy);
            let (fx, fy) = (p.x - 0.5, p.y - 0.5);
            let (x0, y0) = (floor_to_int(fx), floor_to_int(fy));
            let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
            // The four neighbours: top left, top right, bottom left, bottom right.
            let corner: [[f32; 3]; 4] = if x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h {
                let at = y0 as usize * stride + x0 as usize * 3;
                let (row0, row1) = (&raw[at..at + 6], &raw[at + stride..at + stride + 6]);
                let px = |row: &[u8], d: usize| -> [f32; 3] { std::array::from_fn(|c| f32::from(row[d + c])) };
                [px(row0, 0), px(row0, 3), px(row1, 0), px(row1, 3)]
            } else {
                [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| std::array::from_fn(|c| fetch(x0 + dx, y0 + dy, c)))
            };
            let rgb: [f32; 3] = std::array::from_fn(|c| {
                let top = corner[0][c] * (1.0 - ax) + corner[1][c] * ax;
                let bot = corner[2][c] * (1.0 - ax) + corner[3][c] * ax;
                top * (1.0 - ay) + bot * ay
            });
            layout.write(out, plane, (v * n) as usize + u, rgb);
        }
    }
}

/// `x.floor() as i64`, exactly, without `floorf` (a library call on the x86-64 baseline, which
/// has no rounding instruction): truncate, then step down where truncation rounded up.
#[inline]
fn floor_to_int(x: f32) -> i64 {
    let t = x as i64;
    if (t as f32) > x { t.saturating_sub(1) } else { t }
}

/// Mean-area downscale of the luma of a region to `dw`×`dh` (for hashes and sharpness).
pub(crate) fn gray_region(img: &RgbImage, (x0, y0, sw, sh): (u32, u32, u32, u32), dw: u32, dh: u32) -> Vec<f32> {
    let rgb = resize_region_into(img, (x0, y0, sw, sh), dw, dh, dw, dh, Layout::BgrRaw);
    let plane = (dw * dh) as usize;
    (0..plane).map(|i| 0.114 * rgb[i] + 0.587 * rgb[plane + i] + 0.299 * rgb[2 * plane + i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_resize_copies_pixels_in_bgr() {
        let img = RgbImage::from_fn(4, 3, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let t = resize_region_into(&img, (0, 0, 4, 3), 4, 3, 32, 32, Layout::BgrRaw);
        let plane = 32 * 32;
        assert_eq!(t[2 * 32 + 3], 7.0); // B plane
        assert_eq!(t[plane + 2 * 32 + 3], 2.0); // G = y
        assert_eq!(t[2 * plane + 2 * 32 + 3], 3.0); // R = x
        assert_eq!(t[31], 0.0); // padding stays zero
    }

    #[test]
    fn planar_keeps_rgb_order_and_raw_values() {
        let img = RgbImage::from_fn(2, 1, |x, _| image::Rgb([10 + x as u8, 20, 200]));
        assert_eq!(planar(&img, Layout::RgbRaw), [10.0, 11.0, 20.0, 20.0, 200.0, 200.0]);
    }

    /// The warp as first written: every point through `RotatedCrop::to_image`, `floor`, and
    /// each neighbour read with a bounds test. The fast warp must give exactly these values.
    fn plain_warp(img: &RgbImage, crop: &RotatedCrop, n: u32) -> Vec<f32> {
        let plane = (n * n) as usize;
        let mut out = vec![0f32; 3 * plane];
        let at = |x: i64, y: i64, c: usize| -> f32 {
            if x < 0 || y < 0 || x >= i64::from(img.width()) || y >= i64::from(img.height()) { 0.0 } else { f32::from(img.get_pixel(x as u32, y as u32)[c]) }
        };
        for v in 0..n {
            for u in 0..n {
                let p = crop.to_image(u as f32 + 0.5, v as f32 + 0.5, n as f32);
                let (fx, fy) = (p.x - 0.5, p.y - 0.5);
                let (x0, y0) = (fx.floor() as i64, fy.floor() as i64);
                let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
                let rgb: [f32; 3] = std::array::from_fn(|c| {
                    let top = at(x0, y0, c) * (1.0 - ax) + at(x0 + 1, y0, c) * ax;
                    let bot = at(x0, y0 + 1, c) * (1.0 - ax) + at(x0 + 1, y0 + 1, c) * ax;
                    top * (1.0 - ay) + bot * ay
                });
                Layout::RgbUnit.write(&mut out, plane, (v * n + u) as usize, rgb);
            }
        }
        out
    }

    #[test]
    fn the_warp_gives_exactly_the_plain_warps_values_inside_and_across_the_border() {
        let img = RgbImage::from_fn(97, 71, |x, y| image::Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (255 - x - y) as u8]));
        let crops = [
            RotatedCrop { centre: crate::Point::new(48.3, 35.7), side: 40.0, angle: 0.0 },
            RotatedCrop { centre: crate::Point::new(50.0, 30.0), side: 37.5, angle: 0.3 },
            // Partly outside the image, rotated the other way: the border path and negative floors.
            RotatedCrop { centre: crate::Point::new(5.2, 66.9), side: 60.0, angle: -1.1 },
        ];
        for crop in &crops {
            let mut fast = vec![f32::NAN; 3 * 24 * 24];
            warp_crop_to(&img, crop, 24, Layout::RgbUnit, &mut fast);
            let plain = plain_warp(&img, crop, 24);
            assert!(fast.iter().zip(&plain).all(|(a, b)| a.to_bits() == b.to_bits()), "{crop:?}");
        }
    }

    #[test]
    fn floor_to_int_is_floor() {
        for x in [0.0f32, -0.0, 0.5, -0.5, 1.0, -1.0, 2.999_999_8, -2.000_000_2, 16_777_217.0, -1e30, 1e30, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(floor_to_int(x), x.floor() as i64, "{x}");
        }
        for i in -4000..4000 {
            let x = i as f32 * 0.013_7;
            assert_eq!(floor_to_int(x), x.floor() as i64, "{x}");
        }
    }

    #[test]
    fn halving_averages_neighbours_like_opencv() {
        let img = RgbImage::from_fn(4, 1, |x, _| image::Rgb([(x * 10) as u8, 0, 0]));
        let t = resize_region_into(&img, (0, 0, 4, 1), 2, 1, 2, 1, Layout::RgbUnit);
        // OpenCV INTER_LINEAR: dst0 samples x=0.5 → 5, dst1 samples x=2.5 → 25
        assert!((t[0] * 255.0 - 5.0).abs() < 1e-3 && (t[1] * 255.0 - 25.0).abs() < 1e-3, "{t:?}");
    }
}
