//! Face alignment for recognition: the five detector landmarks onto SFace's 112×112 template
//! (OpenCV `FaceRecognizerSF::alignCrop`), then a bilinear warp.
//!
//! Coordinates follow OpenCV here, because the template and the reference embeddings do: a
//! landmark at (x, y) and a crop pixel at integer (u, v) are compared as they are (pixel
//! centres on integers), exactly as `warpAffine` does.

use image::RgbImage;

use crate::detect::Face;
use crate::geometry::Point;

/// Side of the aligned crop SFace takes.
pub const ALIGNED_SIDE: u32 = 112;

/// Where the five landmarks land in the 112×112 crop: right eye, left eye, nose tip, right
/// and left mouth corners (the ArcFace template OpenCV uses).
pub const TEMPLATE: [Point; 5] = [
    Point::new(38.2946, 51.6963),
    Point::new(73.5318, 51.5014),
    Point::new(56.0252, 71.7366),
    Point::new(41.5493, 92.3655),
    Point::new(70.7299, 92.2041),
];

/// A similarity transform (rotation, uniform scale, shift; never a reflection):
/// `(x, y) ↦ (a·x − b·y + tx, b·x + a·y + ty)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// `scale · cos(angle)`.
    pub a: f64,
    /// `scale · sin(angle)`.
    pub b: f64,
    /// Shift along x.
    pub tx: f64,
    /// Shift along y.
    pub ty: f64,
}

impl Similarity {
    /// The least-squares similarity taking `from[i]` to `to[i]` (Umeyama 1991 without
    /// reflection). In 2-D its closed form is the complex-number fit `z ↦ c·z + t` with
    /// `c = Σ conj(p)·q / Σ |p|²` over the centred points, which is also what OpenCV's SVD
    /// solution gives. `None` when the source points all coincide.
    pub fn fit(from: &[Point], to: &[Point]) -> Option<Similarity> {
        let n = from.len().min(to.len());
        if n == 0 {
            return None;
        }
        let mean = |ps: &[Point]| {
            let (sx, sy) = ps[..n].iter().fold((0.0, 0.0), |(sx, sy), p| (sx + f64::from(p.x), sy + f64::from(p.y)));
            (sx / n as f64, sy / n as f64)
        };
        let ((fx, fy), (tx, ty)) = (mean(from), mean(to));
        let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
        for (p, q) in from[..n].iter().zip(&to[..n]) {
            let (px, py) = (f64::from(p.x) - fx, f64::from(p.y) - fy);
            let (qx, qy) = (f64::from(q.x) - tx, f64::from(q.y) - ty);
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
            norm += px * px + py * py;
        }
        if norm <= f64::EPSILON {
            return None;
        }
        let (a, b) = (dot / norm, cross / norm);
        Some(Similarity { a, b, tx: tx - (a * fx - b * fy), ty: ty - (b * fx + a * fy) })
    }

    /// Where `p` goes.
    pub fn apply(&self, p: Point) -> Point {
        let (x, y) = (f64::from(p.x), f64::from(p.y));
        Point::new((self.a * x - self.b * y + self.tx) as f32, (self.b * x + self.a * y + self.ty) as f32)
    }

    /// The scale factor.
    pub fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }

    /// The inverse transform (`None` for a zero scale).
    pub fn inverse(&self) -> Option<Similarity> {
        let s2 = self.a * self.a + self.b * self.b;
        if s2 <= f64::EPSILON {
            return None;
        }
        let (a, b) = (self.a / s2, -self.b / s2);
        Some(Similarity { a, b, tx: -(a * self.tx - b * self.ty), ty: -(b * self.tx + a * self.ty) })
    }
}

/// A face aligned for recognition.
#[derive(Debug, Clone)]
pub struct AlignedFace {
    /// The 112×112 crop, RGB.
    pub crop: RgbImage,
    /// Image → crop transform.
    pub transform: Similarity,
    /// Root-mean-square distance, in crop pixels, between the mapped landmarks and the
    /// template: how far this face's landmark layout is from a frontal face's.
    pub landmark_fit_px: f32,
    /// Share of the crop's pixels that fell outside the image (filled black): a face cut by
    /// the image's edge.
    pub outside_fraction: f32,
}

/// Aligns `face` of `img` onto the template; `None` when its landmarks are degenerate.
pub fn align_face(img: &RgbImage, face: &Face) -> Option<AlignedFace> {
    let transform = Similarity::fit(&face.landmarks, &TEMPLATE)?;
    let inverse = transform.inverse()?;
    let squared: f32 = face.landmarks.iter().zip(&TEMPLATE).map(|(p, t)| transform.apply(*p).dist(*t).powi(2)).sum();
    let landmark_fit_px = (squared / TEMPLATE.len() as f32).sqrt();
    let (crop, outside) = warp(img, &inverse, ALIGNED_SIDE);
    let outside_fraction = outside as f32 / (ALIGNED_SIDE * ALIGNED_SIDE) as f32;
    Some(AlignedFace { crop, transform, landmark_fit_px, outside_fraction })
}

/// `warpAffine(…, INTER_LINEAR, BORDER_CONSTANT 0)`: crop pixel (u, v) takes the bilinear
/// sample of `img` at `crop_to_image(u, v)`, rounded to 8 bits as OpenCV's 8-bit output is.
/// Also counts the crop pixels whose sample point lies outside the image.
fn warp(img: &RgbImage, crop_to_image: &Similarity, side: u32) -> (RgbImage, u32) {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let raw = img.as_raw();
    let stride = w as usize * 3;
    let fetch = |x: i64, y: i64, c: usize| -> f64 {
        if x < 0 || y < 0 || x >= w || y >= h {
            0.0
        } else {
            f64::from(raw[y as usize * stride + x as usize * 3 + c])
        }
    };
    let mut outside = 0;
    let crop = RgbImage::from_fn(side, side, |u, v| {
        let s = crop_to_image;
        let (u, v) = (f64::from(u), f64::from(v));
        let (x, y) = (s.a * u - s.b * v + s.tx, s.b * u + s.a * v + s.ty);
        outside += u32::from(x < 0.0 || y < 0.0 || x > (w - 1) as f64 || y > (h - 1) as f64);
        let (x0, y0) = (x.floor(), y.floor());
        let (ax, ay) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        image::Rgb(std::array::from_fn(|c| {
            let top = fetch(x0, y0, c) * (1.0 - ax) + fetch(x0 + 1, y0, c) * ax;
            let bottom = fetch(x0, y0 + 1, c) * (1.0 - ax) + fetch(x0 + 1, y0 + 1, c) * ax;
            (top * (1.0 - ay) + bottom * ay).round().clamp(0.0, 255.0) as u8
        }))
    });
    (crop, outside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Rect;

    fn close(a: Point, b: Point) -> bool {
        a.dist(b) < 1e-3
    }

    #[test]
    fn a_known_similarity_is_recovered_exactly() {
        // 30° rotation, scale 2, shift (5, −3).
        let (s, c) = (30f64.to_radians().sin() * 2.0, 30f64.to_radians().cos() * 2.0);
        let truth = Similarity { a: c, b: s, tx: 5.0, ty: -3.0 };
        let from = TEMPLATE;
        let to: Vec<Point> = from.iter().map(|p| truth.apply(*p)).collect();
        let fit = Similarity::fit(&from, &to).unwrap();
        assert!((fit.a - c).abs() < 1e-6 && (fit.b - s).abs() < 1e-6, "{fit:?}");
        assert!((fit.tx - 5.0).abs() < 1e-4 && (fit.ty + 3.0).abs() < 1e-4, "{fit:?}");
        assert!((fit.scale() - 2.0).abs() < 1e-6);
        let back = fit.inverse().unwrap();
        assert!(to.iter().zip(&from).all(|(p, q)| close(back.apply(*p), *q)));
    }

    #[test]
    fn a_mirrored_face_is_never_fitted_with_a_reflection() {
        // Mirroring the template left-right: a reflection would fit it exactly; a similarity
        // cannot, so the fit keeps a positive determinant (a² + b² > 0 by construction) and
        // leaves a residual.
        let mirrored: Vec<Point> = TEMPLATE.iter().map(|p| Point::new(112.0 - p.x, p.y)).collect();
        let fit = Similarity::fit(&mirrored, &TEMPLATE).unwrap();
        let residual: f32 = mirrored.iter().zip(&TEMPLATE).map(|(p, t)| fit.apply(*p).dist(*t)).sum();
        assert!(residual > 10.0, "{residual}");
    }

    #[test]
    fn coincident_landmarks_cannot_be_aligned() {
        let p = Point::new(10.0, 10.0);
        let face = Face { bbox: Rect::new(0.0, 0.0, 20.0, 20.0), score: 0.9, landmarks: [p; 5] };
        assert!(align_face(&RgbImage::new(64, 64), &face).is_none());
        assert!(Similarity::fit(&[], &[]).is_none());
    }

    #[test]
    fn a_face_already_on_the_template_is_copied_pixel_for_pixel() {
        let img = RgbImage::from_fn(112, 112, |x, y| image::Rgb([x as u8, y as u8, (x * 2) as u8]));
        let face = Face { bbox: Rect::new(20.0, 20.0, 70.0, 80.0), score: 0.9, landmarks: TEMPLATE };
        let aligned = align_face(&img, &face).unwrap();
        assert!(aligned.landmark_fit_px < 1e-3);
        assert_eq!(aligned.crop, img);
        assert_eq!(aligned.outside_fraction, 0.0);
    }

    #[test]
    fn a_face_twice_the_size_is_sampled_between_pixels_and_black_outside() {
        // Landmarks at twice the template's coordinates: crop pixel (u, v) samples (2u, 2v).
        let img = RgbImage::from_fn(200, 200, |x, _| image::Rgb([(x / 2) as u8, 0, 0]));
        let face =
            Face { bbox: Rect::default(), score: 0.9, landmarks: TEMPLATE.map(|p| Point::new(p.x * 2.0, p.y * 2.0)) };
        let aligned = align_face(&img, &face).unwrap();
        assert!((aligned.transform.scale() - 0.5).abs() < 1e-6);
        assert_eq!(aligned.crop.get_pixel(10, 10).0[0], 10);
        // (2·111, 2·111) = (222, 222) lies outside the 200×200 image: black. Crop pixels from
        // 100 on (sampling 200 and beyond) are outside: 1 − (100/112)².
        assert_eq!(aligned.crop.get_pixel(111, 111).0, [0, 0, 0]);
        assert!(
            (aligned.outside_fraction - (1.0 - (100.0f32 / 112.0).powi(2))).abs() < 1e-3,
            "{}",
            aligned.outside_fraction
        );
    }
}
