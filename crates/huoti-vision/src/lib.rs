//! The huoti vision engine: what a camera frame shows about the face in it.
//!
//! Pure Rust on [`tract-onnx`](https://docs.rs/tract-onnx). The pipeline, per image:
//!
//! ```text
//! bytes ─decode_image─▶ RGB ─YuNet─▶ faces ─FaceMesh (eye-levelled crop)─▶ 468 landmarks
//!                                      │                                    └▶ eye/mouth openness, head pose
//!                                      ├─MiniFASNetV2 ×2.7 + V1SE ×4.0─▶ real_probability
//!                                      └─quality: size, centring, sharpness, exposure, count
//! ```
//!
//! - [`decode_image`] refuses bad input with a typed [`VisionError`]: empty, not an image,
//!   truncated, zero-sized, too small, or over the pixel budget (checked from the header,
//!   before any allocation — decompression bombs cost nothing).
//! - [`Analyzer`] loads every model once and is `Send + Sync`; [`Analyzer::analyze`] does
//!   the whole pipeline on the largest face and reports per-stage [`Timings`].
//! - [`Tracker`] follows one face through a video: detect once, then track with FaceMesh,
//!   re-detecting every few frames and whenever the face is lost.
//!
//! What it deliberately does not do: read files other than the models, know about sessions
//! or challenges (that is `huoti-liveness`), or decide "live" — `real_probability` is one
//! input to a verdict, never the verdict.
//!
//! Coordinates are image pixels; "left/right" of a face mean the *person's* left/right.
//!
//! ```
//! use huoti_vision::{decode_image, DecodeLimits, VisionError};
//! // Bad input is a typed error, never a panic.
//! assert!(matches!(decode_image(b"", &DecodeLimits::default()), Err(VisionError::EmptyInput)));
//! assert!(matches!(decode_image(b"plain text", &DecodeLimits::default()), Err(VisionError::NotAnImage)));
//! ```
//!
//! With models fetched (`huoti models fetch`):
//!
//! ```no_run
//! use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};
//! let analyzer = Analyzer::load(&ModelPaths::in_dir("models".as_ref()), AnalyzerConfig::default())?;
//! let analysis = analyzer.analyze_bytes(&std::fs::read("face.jpg").unwrap())?;
//! if let Some(main) = &analysis.main {
//!     println!("{} face(s); yaw {:.0}°, real p={:.2}", analysis.faces.len(),
//!              main.measures.yaw_deg, main.passive.real_probability);
//! }
//! # Ok::<(), huoti_vision::VisionError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod analyzer;
mod antispoof;
mod decode;
mod detect;
mod error;
mod geometry;
mod glare;
mod measures;
mod mesh;
mod model;
mod quality;
mod screen;
mod tensor;

pub use analyzer::{
    Analyzer, AnalyzerConfig, FaceAnalysis, FrameAnalysis, ImageAnalysis, ModelPaths, Timings, TrackState, Tracker,
    TrackerConfig,
};
pub use antispoof::Passive;
pub use decode::{decode_image, DecodeLimits};
pub use detect::{DetectorConfig, Face};
pub use error::VisionError;
pub use geometry::{Point, Rect, RotatedCrop};
pub use glare::background_split_rgb;
pub use measures::{measure, shape_signature, Measures};
pub use mesh::Mesh;
pub use quality::{face_and_background_rgb, frame_hash, Quality};
pub use screen::{screen_medium, ScreenMedium};

/// The crop FaceMesh should see for a detected face (box ×1.5, square, eyes level).
pub fn crop_for_face(face: &Face) -> RotatedCrop {
    mesh::crop_for_face(face)
}
