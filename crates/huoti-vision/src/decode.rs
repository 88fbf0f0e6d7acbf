//! Image decoding with limits: the first thing outside bytes meet, so it refuses cleanly.

use std::io::Cursor;

use image::{ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::VisionError;

/// Limits applied before and during decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest number of pixels accepted (width × height), checked from the header before
    /// any pixel buffer is allocated. Default 40 megapixels.
    pub max_pixels: u64,
    /// Smallest side accepted. Default 32 pixels.
    pub min_side: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits { max_pixels: 40_000_000, min_side: 32 }
    }
}

/// Decodes a JPEG or PNG into RGB, applying its EXIF orientation (phones often store pixels
/// sideways and say so in EXIF; a face lying on its side would not be detected).
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, VisionError> {
    if bytes.is_empty() {
        return Err(VisionError::EmptyInput);
    }
    let format = image::guess_format(bytes).map_err(|_| VisionError::NotAnImage)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(VisionError::NotAnImage);
    }
    // zune-jpeg fills a cut-off scan with grey instead of failing: a JPEG must end its
    // entropy-coded data with an EOI marker after the first start-of-scan.
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(VisionError::Truncated);
    }
    let reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder = reader.into_decoder().map_err(map_error)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(VisionError::ZeroSize);
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(VisionError::TooLarge { width, height, max_pixels: limits.max_pixels });
    }
    if width.min(height) < limits.min_side {
        return Err(VisionError::TooSmall { width, height, min: limits.min_side });
    }
    let mut alloc = image::Limits::default();
    alloc.max_image_width = Some(width);
    alloc.max_image_height = Some(height);
    alloc.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    decoder.set_limits(alloc).map_err(map_error)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(map_error)?;
    img.apply_orientation(orientation);
    Ok(img.into_rgb8())
}

fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]);
    let eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((sos, eoi), (Some(s), Some(e)) if e > s)
}

fn map_error(e: image::ImageError) -> VisionError {
    use image::ImageError as E;
    match e {
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => VisionError::Truncated,
        E::Limits(_) => VisionError::Corrupt("the image exceeds the decoder's memory limits".into()),
        E::Unsupported(u) => VisionError::Corrupt(u.to_string()),
        other => {
            let text = other.to_string();
            if text.contains("EOF") || text.contains("eof") || text.contains("truncat") {
                VisionError::Truncated
            } else {
                VisionError::Corrupt(text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(width, height, image::Rgb([10, 200, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_png_and_jpeg() {
        let limits = DecodeLimits::default();
        assert_eq!(decode_image(&png(64, 40), &limits).unwrap().dimensions(), (64, 40));
        assert_eq!(decode_image(&jpeg(100, 80), &limits).unwrap().dimensions(), (100, 80));
    }

    #[test]
    fn empty_text_and_other_formats_are_refused() {
        let limits = DecodeLimits::default();
        assert!(matches!(decode_image(b"", &limits), Err(VisionError::EmptyInput)));
        assert!(matches!(decode_image(b"hello, I am a text file\n", &limits), Err(VisionError::NotAnImage)));
        assert!(matches!(decode_image(b"GIF89a\x01\x00\x01\x00", &limits), Err(VisionError::NotAnImage)));
    }

    #[test]
    fn truncated_jpeg_and_png_are_refused() {
        let limits = DecodeLimits::default();
        let j = jpeg(200, 200);
        assert!(matches!(decode_image(&j[..j.len() / 2], &limits), Err(VisionError::Truncated)));
        let p = png(200, 200);
        let r = decode_image(&p[..p.len() / 2], &limits);
        assert!(matches!(r, Err(VisionError::Truncated | VisionError::Corrupt(_))), "{r:?}");
    }

    #[test]
    fn tiny_images_are_too_small() {
        let r = decode_image(&png(1, 1), &DecodeLimits::default());
        assert!(matches!(r, Err(VisionError::TooSmall { width: 1, height: 1, min: 32 })), "{r:?}");
    }

    #[test]
    fn a_huge_header_is_refused_before_allocation() {
        // A PNG whose IHDR declares 20000×20000 with a few bytes of data: the budget check
        // must fire on the header alone.
        let mut p = png(4, 4);
        p[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        p[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&p[12..29]);
        p[29..33].copy_from_slice(&crc.to_be_bytes());
        let r = decode_image(&p, &DecodeLimits::default());
        assert!(matches!(r, Err(VisionError::TooLarge { width: 20_000, height: 20_000, .. })), "{r:?}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
