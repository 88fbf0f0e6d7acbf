//! The huoti vision engine: what a camera frame shows about the face in it.
//!
//! Pure Rust on [`tract-onnx`](https://docs.rs/tract-onnx). The pipeline, per image:
//!
//! ```text
//! bytes ─decode_image─▶ RGB ─YuNet─▶ faces ─FaceMesh (eye-levelled crop)─▶ 468 landmarks
//!                                      │                                    ├▶ eye/mouth openness, head pose
//!                                      │                                    └▶ eye crops ─Iris (on request)─▶ lid-gap eye openness
//!                                      ├─MiniFASNetV2 ×2.7 + V1SE ×4.0─▶ real_probability
//!                                      ├─quality: size, centring, sharpness, exposure, count
//!                                      └─(face match) 5 landmarks ─align 112×112─▶ SFace ─▶ Template
//! ```
//!
//! - [`decode_image`] refuses bad input with a typed [`VisionError`]: empty, not an image,
//!   truncated, zero-sized, too small, or over the pixel budget (checked from the header,
//!   before any allocation — decompression bombs cost nothing).
//! - [`Analyzer`] loads every model once and is `Send + Sync`; [`Analyzer::analyze`] does
//!   the whole pipeline on the largest face and reports per-stage [`Timings`].
//! - [`Tracker`] follows one face through a video: detect once, then track with FaceMesh,
//!   re-detecting every few frames and whenever the face is lost. Each tracked frame carries
//!   its [`EyeRegions`]; [`Analyzer::eye_openness`] runs the Iris model on them only where the
//!   caller needs a precise eye measure (a blink), since its two model runs cost more than FaceMesh.
//!
//! - [`FaceMatcher`] (face match, 本人核验; needs the optional SFace model): the one face of
//!   an image → five landmarks → [`align`] onto a 112×112 template → SFace → a unit-length
//!   128-d [`Template`]; two templates' [`similarity`](Template::similarity) (cosine) at or
//!   above [`DEFAULT_MATCH_THRESHOLD`] is a [`MatchDecision::Match`]; [`compare`] takes the
//!   median over a live session's 2–3 frames. No face or several are typed errors
//!   ([`VisionError::NoFace`], [`VisionError::SeveralFaces`]), and [`MatchQuality`] says
//!   whether a face makes a good reference. SFace's block-quantised weights, which tract
//!   refuses, are folded into float32 in memory at load; the pinned bytes never change.
//!
//! What it deliberately does not do: read files other than the models, know about sessions
//! or challenges (that is `huoti-liveness`), or decide "live" — `real_probability` is one
//! input to a verdict, never the verdict. Nor does it keep or seal face templates: a
//! [`Template`] leaves only as bytes, for the caller to seal.
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
//!
//! Face match (with SFace fetched too):
//!
//! ```no_run
//! use huoti_vision::{FaceMatcher, MatchDecision, ModelPaths, QualityLimits, DEFAULT_MATCH_THRESHOLD};
//! let matcher = FaceMatcher::load(&ModelPaths::in_dir("models".as_ref()), Default::default())?;
//! let reference = matcher.embed_bytes(&std::fs::read("id-photo.jpg").unwrap())?.embedding;
//! assert!(reference.quality.problems(&QualityLimits::default()).is_empty(), "a poor reference");
//! let probe = matcher.embed_bytes(&std::fs::read("selfie.jpg").unwrap())?.embedding;
//! let similarity = reference.template.similarity(&probe.template);
//! println!("{similarity:.3}: {:?}", MatchDecision::at(similarity, DEFAULT_MATCH_THRESHOLD));
//! let sealed_elsewhere: Vec<u8> = reference.template.to_bytes().to_vec(); // 512 bytes
//! # Ok::<(), huoti_vision::VisionError>(())
//! ```
// `deny`, not `forbid`: one measured exception, the call into the AVX build of the depthwise
// convolution (see `depthwise`), allowed where it is made.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod align;
mod analyzer;
mod antispoof;
mod decode;
mod depthwise;
mod detect;
mod error;
mod eyes;
mod face_match;
mod geometry;
mod glare;
mod maxpool;
mod measures;
mod mesh;
mod model;
mod onnx_fold;
mod onnx_prelu;
mod pad;
mod quality;
#[cfg(test)]
mod rewrite_check;
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
pub use eyes::{EyeAnalysis, EyeLandmarks, EyeRegions};
pub use face_match::{
    compare, Comparison, FaceEmbedding, FaceMatcher, ImageEmbedding, MatchDecision, MatchQuality, MatcherConfig,
    QualityLimits, QualityProblem, Template, DEFAULT_MATCH_THRESHOLD, TEMPLATE_LEN, TEMPLATE_MODEL,
};
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
