//! Scaling a frame down to the width a capture profile asks for.

use image::RgbImage;
use image::imageops::FilterType;

/// Scales `image` down to `width` px, keeping its aspect ratio (the height rounded to the
/// nearest row, at least one); never up: a frame no wider is returned as it is (enlarging adds
/// bytes and no detail). What a client following a capture profile does to each camera frame
/// (the Rust SDK, and `huoti eval --capture` presenting samples as such a client sends them).
///
/// ```
/// use huoti_media::scale_to_width;
/// let frame = image::RgbImage::new(480, 360);
/// assert_eq!(scale_to_width(frame, 256).dimensions(), (256, 192));
/// ```
pub fn scale_to_width(image: RgbImage, width: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    if w <= width {
        return image;
    }
    let height = ((u64::from(h) * u64::from(width) + u64::from(w) / 2) / u64::from(w)).max(1) as u32;
    // Triangle (bilinear over the source footprint): smooth enough that the downscale adds no
    // aliasing the face models would see, and cheap on a phone-class CPU.
    image::imageops::resize(&image, width, height, FilterType::Triangle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_scaled_down_to_the_width_keeping_aspect_and_never_up() {
        let wide = RgbImage::from_pixel(480, 360, image::Rgb([90, 120, 150]));
        assert_eq!(scale_to_width(wide.clone(), 320).dimensions(), (320, 240));
        assert_eq!(scale_to_width(RgbImage::new(481, 271), 320).dimensions(), (320, 180), "rounded to the nearest row");
        assert_eq!(scale_to_width(RgbImage::new(240, 180), 320).dimensions(), (240, 180), "never scaled up");
        assert_eq!(scale_to_width(RgbImage::new(4000, 1), 320).dimensions(), (320, 1), "at least one row");
        // A flat colour stays that colour: the filter adds nothing.
        assert_eq!(scale_to_width(wide, 320).get_pixel(100, 100).0, [90, 120, 150]);
    }
}
