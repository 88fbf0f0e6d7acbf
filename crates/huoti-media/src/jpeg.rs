//! Encoding a frame as a capture-profile client sends it.

use image::RgbImage;

use crate::MediaError;

/// JPEG-encodes a frame compactly: 4:2:0 chroma, as browsers and phone cameras encode (the
/// face models see luminance detail, not chroma). The quantisation tables are the standard
/// ones scaled by `quality` as libjpeg scales them, so a quality means the same as in a
/// browser's `toBlob`. What the Rust SDK sends under a capture profile, and what
/// `huoti eval --capture` presents, so both see the same bytes.
///
/// ```
/// let frame = image::RgbImage::from_pixel(64, 48, image::Rgb([90, 120, 150]));
/// let jpeg = huoti_media::encode_jpeg_420(&frame, 70).unwrap();
/// assert_eq!(image::load_from_memory(&jpeg).unwrap().to_rgb8().dimensions(), (64, 48));
/// ```
pub fn encode_jpeg_420(image: &RgbImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let (w, h) = image.dimensions();
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(MediaError::Encode(format!(
            "{w}×{h} is too large for a JPEG"
        )));
    };
    let mut out = Vec::with_capacity(image.as_raw().len() / 12);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    // Standard Huffman tables: with jpeg-encoder 0.7's optimised ones, the `image` crate's
    // decoder (the server's) read a flat colour out of a frame that ffmpeg decodes fine.
    encoder.set_optimized_huffman_tables(false);
    encoder
        .encode(image.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| MediaError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_4_2_0_and_smaller_than_the_full_chroma_encoding() {
        let frame = RgbImage::from_fn(320, 240, |x, y| {
            image::Rgb([(x * 3 + y) as u8, (x * y / 64) as u8, (200 - y / 2) as u8])
        });
        let compact = encode_jpeg_420(&frame, 70).unwrap();
        let mut full = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut full, 70)
            .encode_image(&frame)
            .unwrap();
        assert!(
            compact.len() * 10 < full.len() * 9,
            "{} vs {} bytes",
            compact.len(),
            full.len()
        );
        let decoded = image::load_from_memory(&compact).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (320, 240));
        let error = decoded
            .pixels()
            .zip(frame.pixels())
            .map(|(a, b)| (i32::from(a.0[0]) - i32::from(b.0[0])).abs())
            .sum::<i32>()
            / (320 * 240);
        assert!(error < 6, "mean red error {error}");
        // SOF0: the first component (luma) is sampled 2×2, so chroma is at half resolution.
        let sof = compact
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline JPEG");
        assert_eq!(compact[sof + 11], 0x22);
        assert!(matches!(
            encode_jpeg_420(&RgbImage::new(70_000, 1), 70),
            Err(MediaError::Encode(_))
        ));
    }
}
