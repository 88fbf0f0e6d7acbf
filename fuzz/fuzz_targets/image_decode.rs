//! Uploaded frames and still images: the server's header peek (the memory budget reserves
//! width × height before decoding) and `huoti_vision::decode_image` under the frame limits and
//! the default ones. Any outcome but a panic, an abort or a blown memory limit is fine.
#![no_main]

use huoti_vision::{DecodeLimits, decode_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frame = DecodeLimits { max_pixels: 4_194_304, min_side: 64 };
    let peek = image::ImageReader::with_format(std::io::Cursor::new(data), image::ImageFormat::Jpeg).into_dimensions();
    if let Ok(img) = decode_image(data, &frame) {
        // What the upload reserved must cover what it holds.
        let (w, h) = peek.expect("a decodable JPEG has readable dimensions");
        assert!(u64::from(img.width()) * u64::from(img.height()) <= (u64::from(w) * u64::from(h)).max(frame.max_pixels));
    }
    let _ = decode_image(data, &DecodeLimits::default());
});
