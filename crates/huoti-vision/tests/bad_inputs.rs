//! Bad input is a typed error, never a panic — through the whole Analyzer, not just decode.

mod common;

use common::{analyzer, image_bytes};
use huoti_vision::VisionError;

#[test]
fn empty_file_is_empty_input() {
    assert!(matches!(analyzer().analyze_bytes(b""), Err(VisionError::EmptyInput)));
}

#[test]
fn text_file_is_not_an_image() {
    let text = b"name,score\nalice,0.9\n";
    assert!(matches!(analyzer().analyze_bytes(text), Err(VisionError::NotAnImage)));
}

#[test]
fn truncated_jpeg_is_truncated() {
    let jpeg = image_bytes("silent-face-anti-spoofing/image_T1.jpg");
    for cut in [jpeg.len() / 3, jpeg.len() / 2, jpeg.len() - 10] {
        let r = analyzer().analyze_bytes(&jpeg[..cut]);
        assert!(matches!(r, Err(VisionError::Truncated)), "cut at {cut}: {r:?}");
    }
}

#[test]
fn one_pixel_image_is_too_small() {
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(1, 1).write_to(&mut png, image::ImageFormat::Png).unwrap();
    let r = analyzer().analyze_bytes(png.get_ref());
    assert!(matches!(r, Err(VisionError::TooSmall { width: 1, height: 1, .. })), "{r:?}");
}

#[test]
fn a_20000_by_20000_jpeg_header_is_too_large() {
    // A real JPEG whose SOF0 frame header is rewritten to declare 20000×20000.
    let mut jpeg = image_bytes("silent-face-anti-spoofing/image_T1.jpg");
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline JPEG");
    jpeg[sof + 5..sof + 7].copy_from_slice(&20_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&20_000u16.to_be_bytes());
    let r = analyzer().analyze_bytes(&jpeg);
    assert!(matches!(r, Err(VisionError::TooLarge { width: 20_000, height: 20_000, .. })), "{r:?}");
}

#[test]
fn a_missing_model_is_a_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = huoti_vision::ModelPaths::in_dir(dir.path());
    let err = huoti_vision::Analyzer::load(&paths, Default::default()).err().expect("must fail");
    let text = err.to_string();
    assert!(text.contains("face_detection_yunet_2026may.onnx") && text.contains("huoti models fetch"), "{text}");
}

#[test]
fn a_corrupt_model_is_a_model_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for f in ["face_detection_yunet_2026may.onnx", "face_landmark.onnx", "2.7_80x80_MiniFASNetV2.onnx", "4_0_0_80x80_MiniFASNetV1SE.onnx"] {
        std::fs::write(dir.join(f), b"not an onnx file").unwrap();
    }
    let err = huoti_vision::Analyzer::load(&huoti_vision::ModelPaths::in_dir(dir), Default::default()).err().expect("must fail");
    assert!(matches!(err, VisionError::Model { .. }), "{err}");
}
