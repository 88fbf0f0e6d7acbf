//! Small geometry: points, boxes, and the crop transforms the models need.

use serde::Serialize;

/// A point in image pixel coordinates (continuous: the centre of pixel (0,0) is (0.5,0.5)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Point {
    /// Horizontal, growing to the right.
    pub x: f32,
    /// Vertical, growing downwards.
    pub y: f32,
}

impl Point {
    /// A point.
    pub const fn new(x: f32, y: f32) -> Self {
        Point { x, y }
    }
    /// Euclidean distance.
    pub fn dist(self, o: Point) -> f32 {
        (self.x - o.x).hypot(self.y - o.y)
    }
    /// Midpoint.
    pub fn mid(self, o: Point) -> Point {
        Point::new((self.x + o.x) / 2.0, (self.y + o.y) / 2.0)
    }
}

/// An axis-aligned box: top-left corner, width and height, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Rect {
    /// A box.
    pub const fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        Rect { x, y, w, h }
    }
    /// Centre.
    pub fn centre(&self) -> Point {
        Point::new(self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
    /// Area (0 for degenerate boxes).
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }
    /// Intersection over union.
    pub fn iou(&self, o: &Rect) -> f32 {
        let x1 = self.x.max(o.x);
        let y1 = self.y.max(o.y);
        let x2 = (self.x + self.w).min(o.x + o.w);
        let y2 = (self.y + self.h).min(o.y + o.h);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + o.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
    /// The bounding box of some points.
    pub fn bounding(points: impl IntoIterator<Item = Point>) -> Rect {
        let (mut x1, mut y1, mut x2, mut y2) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in points {
            x1 = x1.min(p.x);
            y1 = y1.min(p.y);
            x2 = x2.max(p.x);
            y2 = y2.max(p.y);
        }
        Rect::new(x1, y1, (x2 - x1).max(0.0), (y2 - y1).max(0.0))
    }
    /// True when the whole box lies inside a `width`×`height` frame.
    pub fn inside(&self, width: u32, height: u32) -> bool {
        self.x >= 0.0 && self.y >= 0.0 && self.x + self.w <= width as f32 && self.y + self.h <= height as f32
    }
}

/// A rotated square crop: centre, side and rotation (radians), mapped to an `n`×`n` tensor.
/// Crop pixel centre (u+0.5, v+0.5) sits at `centre + R(angle)·((u+0.5)/n − ½, (v+0.5)/n − ½)·side`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RotatedCrop {
    /// Centre in image coordinates.
    pub centre: Point,
    /// Side length in image pixels.
    pub side: f32,
    /// Rotation of the crop's x axis in the image, radians.
    pub angle: f32,
}

impl RotatedCrop {
    /// Maps a continuous point in an `n`-pixel crop back to image coordinates.
    pub fn to_image(&self, u: f32, v: f32, n: f32) -> Point {
        self.mapper().to_image(u, v, n)
    }

    /// [`to_image`](Self::to_image) with the rotation's sine and cosine computed once, for
    /// loops over every pixel of a crop (the same arithmetic, so the same points).
    pub(crate) fn mapper(&self) -> CropMapper {
        let (sin, cos) = self.angle.sin_cos();
        CropMapper { centre: self.centre, side: self.side, sin, cos }
    }
}

/// [`RotatedCrop::to_image`] split in two, so that a loop over a crop's pixels computes each
/// row's and each column's offset once: `to_image(u, v, n) = point(offset(u, n), offset(v, n))`,
/// with the same arithmetic in the same order, so the same points.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CropMapper {
    centre: Point,
    side: f32,
    sin: f32,
    cos: f32,
}

impl CropMapper {
    /// How far crop coordinate `u` (of `n`) lies from the crop's centre, along its axis.
    pub(crate) fn offset(self, u: f32, n: f32) -> f32 {
        (u / n - 0.5) * self.side
    }

    /// The image point at offsets `(qx, qy)` from the centre along the crop's axes.
    pub(crate) fn point(self, qx: f32, qy: f32) -> Point {
        Point::new(self.centre.x + self.cos * qx - self.sin * qy, self.centre.y + self.sin * qx + self.cos * qy)
    }

    /// The image point of crop coordinates `(u, v)` (of `n`).
    pub(crate) fn to_image(self, u: f32, v: f32, n: f32) -> Point {
        self.point(self.offset(u, n), self.offset(v, n))
    }
}
