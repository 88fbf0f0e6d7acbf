//! Face match (1:1 verification, 本人核验): is this the same person as that one?
//!
//! ```text
//! image ─YuNet─▶ one face, 5 landmarks ─align (similarity → 112×112)─▶ SFace ─L2─▶ Template (128 f32)
//! Template · Template = cosine similarity ≥ threshold (0.363, upstream's) → match
//! ```
//!
//! A [`Template`] is biometric data: it has no `Serialize` and its `Debug` hides the
//! numbers, so it cannot slip into a log or a JSON answer; [`Template::to_bytes`] is the one
//! way out (to be sealed), and it is zeroed when dropped.

use std::time::Instant;

use image::RgbImage;
use serde::Serialize;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::align::{align_face, AlignedFace, ALIGNED_SIDE};
use crate::analyzer::ModelPaths;
use crate::decode::{decode_image, DecodeLimits};
use crate::detect::{Detector, DetectorConfig, Face};
use crate::model::{FixedModel, ShapeCachedModel};
use crate::quality::sharpness;
use crate::tensor::{planar, Layout};
use crate::VisionError;

/// Numbers in a template.
pub const TEMPLATE_LEN: usize = 128;

/// Upstream's threshold (OpenCV model zoo): cosine similarity at or above it is the same
/// person. Measured by upstream on LFW; measure your own with `huoti eval --match`.
pub const DEFAULT_MATCH_THRESHOLD: f32 = 0.363;

/// The model templates come from; templates of different models cannot be compared.
pub const TEMPLATE_MODEL: &str = "sface-2021dec-int8bq";

/// A face template: SFace's 128-d embedding, L2-normalised (unit length).
#[derive(Clone, PartialEq, Zeroize, ZeroizeOnDrop)]
pub struct Template {
    values: Vec<f32>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Template({} values, not shown)", self.values.len())
    }
}

impl Template {
    /// A template from a model's raw output: L2-normalised here.
    fn from_raw(mut values: Vec<f32>) -> Result<Template, VisionError> {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if values.len() != TEMPLATE_LEN || !norm.is_normal() {
            let n = values.len();
            values.zeroize();
            return Err(VisionError::BadTemplate(format!("the model gave {n} values of length {norm}")));
        }
        values.iter_mut().for_each(|v| *v /= norm);
        Ok(Template { values })
    }

    /// A template from its 128 numbers; they must be finite and of unit length (±0.1 %).
    pub fn from_values(values: Vec<f32>) -> Result<Template, VisionError> {
        let template = Template { values };
        if template.values.len() != TEMPLATE_LEN {
            return Err(VisionError::BadTemplate(format!("{} values; {TEMPLATE_LEN} expected", template.values.len())));
        }
        let norm = template.values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !(norm - 1.0).abs().le(&1e-3) {
            return Err(VisionError::BadTemplate(format!("length {norm}; a template has unit length")));
        }
        Ok(template)
    }

    /// The 128 numbers, little-endian f32: what is sealed and stored. Zeroed when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    /// The inverse of [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Template, VisionError> {
        if bytes.len() != TEMPLATE_LEN * 4 {
            return Err(VisionError::BadTemplate(format!("{} bytes; {} expected", bytes.len(), TEMPLATE_LEN * 4)));
        }
        Template::from_values(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// The numbers themselves.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Cosine similarity, −1 … 1 (both are unit vectors: the dot product).
    pub fn similarity(&self, other: &Template) -> f32 {
        self.values.iter().zip(&other.values).map(|(a, b)| a * b).sum::<f32>().clamp(-1.0, 1.0)
    }
}

/// Match or not, at a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchDecision {
    /// Similarity at or above the threshold: the same person.
    Match,
    /// Below it.
    NoMatch,
}

impl MatchDecision {
    /// The decision for `similarity` at `threshold` (ties match, as in `huoti eval`).
    pub fn at(similarity: f32, threshold: f32) -> MatchDecision {
        if similarity >= threshold {
            MatchDecision::Match
        } else {
            MatchDecision::NoMatch
        }
    }
}

/// A reference compared with one or more probes (the 2–3 best frames of a live session).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    /// The median similarity over the probes (the mean of the middle two for an even
    /// count): one bad frame neither makes nor breaks a match.
    pub similarity: f32,
    /// The highest similarity of one probe.
    pub best: f32,
    /// The lowest.
    pub worst: f32,
    /// How many probes.
    pub probes: usize,
    /// The threshold decided at.
    pub threshold: f32,
    /// `similarity` against `threshold`.
    pub decision: MatchDecision,
}

/// Compares `reference` with every probe; `None` without probes.
pub fn compare(reference: &Template, probes: &[Template], threshold: f32) -> Option<Comparison> {
    let mut s: Vec<f32> = probes.iter().map(|p| reference.similarity(p)).collect();
    s.sort_by(f32::total_cmp);
    let n = s.len();
    let similarity = match n {
        0 => return None,
        _ if n % 2 == 1 => s[n / 2],
        _ => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    };
    Some(Comparison {
        similarity,
        best: s[n - 1],
        worst: s[0],
        probes: n,
        threshold,
        decision: MatchDecision::at(similarity, threshold),
    })
}

/// What makes a face a good reference (or probe): facts, and [`problems`](Self::problems)
/// against limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchQuality {
    /// Detector confidence, 0–1.
    pub detector_score: f32,
    /// Distance between the eyes in image pixels: the face's real resolution (the template
    /// puts the eyes 35 px apart; much below ~20 px the crop is mostly interpolation).
    pub eye_distance_px: f32,
    /// Tilt of the eye line, degrees (clockwise positive in image coordinates).
    pub roll_deg: f32,
    /// The nose tip's offset from the eyes-to-mouth midline, in eye distances: 0 for a
    /// frontal face, growing with yaw (a rough pose proxy from five points, not an angle).
    pub nose_offset: f32,
    /// RMS distance, in crop pixels, of the aligned landmarks from the template: large for
    /// turned faces and bad landmarks.
    pub landmark_fit_px: f32,
    /// Laplacian variance of the aligned crop (same scale as the analyzer's sharpness:
    /// below ~50 is blurred).
    pub sharpness: f32,
    /// Share of the aligned crop that lies outside the image (0 for a whole face; a face
    /// cut by the edge shows here even when the detector's box stays inside).
    pub outside_fraction: f32,
}

/// Limits behind [`MatchQuality::problems`] (starting values chosen on the shared samples;
/// tune them on your own references).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QualityLimits {
    /// Smallest eye distance, pixels.
    pub min_eye_distance_px: f32,
    /// Largest |nose offset| (≈ a quarter of the eye distance is a clearly turned head).
    pub max_nose_offset: f32,
    /// Smallest sharpness.
    pub min_sharpness: f32,
    /// Largest share of the aligned crop outside the image.
    pub max_outside_fraction: f32,
}

impl Default for QualityLimits {
    fn default() -> Self {
        QualityLimits {
            min_eye_distance_px: 20.0,
            max_nose_offset: 0.25,
            min_sharpness: 20.0,
            max_outside_fraction: 0.02,
        }
    }
}

/// Why a face makes a poor reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityProblem {
    /// Too few pixels across the face.
    FaceTooSmall,
    /// The head is turned too far from frontal.
    TurnedAway,
    /// Blurred.
    Blurred,
    /// Part of the face lies outside the image.
    FaceCutOff,
}

impl MatchQuality {
    /// Every limit this face misses (empty: a good face).
    pub fn problems(&self, limits: &QualityLimits) -> Vec<QualityProblem> {
        let mut out = Vec::new();
        if self.eye_distance_px < limits.min_eye_distance_px {
            out.push(QualityProblem::FaceTooSmall);
        }
        if self.nose_offset.abs() > limits.max_nose_offset {
            out.push(QualityProblem::TurnedAway);
        }
        if self.sharpness < limits.min_sharpness {
            out.push(QualityProblem::Blurred);
        }
        if self.outside_fraction > limits.max_outside_fraction {
            out.push(QualityProblem::FaceCutOff);
        }
        out
    }

    fn of(face: &Face, aligned: &AlignedFace) -> MatchQuality {
        let [right_eye, left_eye, nose, right_mouth, left_mouth] = face.landmarks;
        let eye_distance_px = right_eye.dist(left_eye);
        let (top, bottom) = (right_eye.mid(left_eye), right_mouth.mid(left_mouth));
        let (dx, dy) = (bottom.x - top.x, bottom.y - top.y);
        let midline = dx.hypot(dy).max(f32::EPSILON);
        // Signed distance of the nose from the line top→bottom (2-D cross product).
        let offset = (dx * (nose.y - top.y) - dy * (nose.x - top.x)) / midline;
        MatchQuality {
            detector_score: face.score,
            eye_distance_px,
            roll_deg: (left_eye.y - right_eye.y).atan2(left_eye.x - right_eye.x).to_degrees(),
            nose_offset: offset / eye_distance_px.max(f32::EPSILON),
            landmark_fit_px: aligned.landmark_fit_px,
            sharpness: sharpness(&aligned.crop, (0, 0, ALIGNED_SIDE, ALIGNED_SIDE)),
            outside_fraction: aligned.outside_fraction,
        }
    }
}

/// One face's template with what it was made from.
#[derive(Debug, Clone)]
pub struct FaceEmbedding {
    /// The template.
    pub template: Template,
    /// The face it belongs to.
    pub face: Face,
    /// How good a face it is.
    pub quality: MatchQuality,
    /// Alignment and model time, ms.
    pub embed_ms: f64,
}

/// A whole image's single face, embedded.
#[derive(Debug, Clone)]
pub struct ImageEmbedding {
    /// Width in pixels (after EXIF orientation).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The face.
    pub embedding: FaceEmbedding,
    /// Decoding time, ms (0 when given pixels).
    pub decode_ms: f64,
    /// Detection time, ms.
    pub detect_ms: f64,
}

/// Face-match settings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MatcherConfig {
    /// Face detection (the analyzer's defaults: 640 px, score 0.6).
    pub detector: DetectorConfig,
    /// Image decoding limits.
    pub decode: DecodeLimits,
}

/// YuNet and SFace, loaded once; `Send + Sync`.
pub struct FaceMatcher {
    detector: Detector,
    sface: FixedModel,
    config: MatcherConfig,
}

impl FaceMatcher {
    /// Loads YuNet and SFace (`paths.yunet`, `paths.sface`), folding SFace's block-quantised
    /// weights on the way (see `onnx_fold`). Loading SFace takes a few hundred milliseconds:
    /// load once.
    pub fn load(paths: &ModelPaths, config: MatcherConfig) -> Result<FaceMatcher, VisionError> {
        let (sface, _) = crate::onnx_fold::load_folded(&paths.sface)?;
        let side = ALIGNED_SIDE as usize;
        Ok(FaceMatcher {
            detector: Detector::new(ShapeCachedModel::load(&paths.yunet)?),
            sface: FixedModel::from_parsed(sface, &paths.sface, &[1, 3, side, side])?,
            config,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &MatcherConfig {
        &self.config
    }

    /// Every face in `img`, best score first.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Face>, VisionError> {
        self.detector.detect(img, &self.config.detector)
    }

    /// The template of one detected face (from [`detect`](Self::detect) or an
    /// [`Analyzer`](crate::Analyzer)'s detector): align, run SFace, normalise.
    pub fn embed(&self, img: &RgbImage, face: &Face) -> Result<FaceEmbedding, VisionError> {
        let start = Instant::now();
        let aligned = align_face(img, face).ok_or(VisionError::Unalignable)?;
        let output = self.sface.run(planar(&aligned.crop, Layout::RgbRaw))?;
        let raw = output.into_iter().next().unwrap_or_default();
        let template = Template::from_raw(raw)?;
        let quality = MatchQuality::of(face, &aligned);
        Ok(FaceEmbedding { template, face: *face, quality, embed_ms: start.elapsed().as_secs_f64() * 1000.0 })
    }

    /// The template of the one face in `img`: [`VisionError::NoFace`] without a face,
    /// [`VisionError::SeveralFaces`] with more than one (whose face to compare would be a
    /// guess).
    pub fn embed_single(&self, img: &RgbImage) -> Result<ImageEmbedding, VisionError> {
        let start = Instant::now();
        let faces = self.detect(img)?;
        let detect_ms = start.elapsed().as_secs_f64() * 1000.0;
        let face = match faces.as_slice() {
            [] => return Err(VisionError::NoFace),
            [face] => face,
            _ => return Err(VisionError::SeveralFaces { count: faces.len() }),
        };
        let embedding = self.embed(img, face)?;
        Ok(ImageEmbedding { width: img.width(), height: img.height(), embedding, decode_ms: 0.0, detect_ms })
    }

    /// [`embed_single`](Self::embed_single) on an encoded JPEG/PNG.
    pub fn embed_bytes(&self, bytes: &[u8]) -> Result<ImageEmbedding, VisionError> {
        let start = Instant::now();
        let img = decode_image(bytes, &self.config.decode)?;
        let decode_ms = start.elapsed().as_secs_f64() * 1000.0;
        Ok(ImageEmbedding { decode_ms, ..self.embed_single(&img)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: usize) -> Template {
        let mut v = vec![0.0; TEMPLATE_LEN];
        v[i] = 1.0;
        Template::from_values(v).unwrap()
    }

    fn towards(angle_deg: f32) -> Template {
        let mut v = vec![0.0; TEMPLATE_LEN];
        (v[0], v[1]) = (angle_deg.to_radians().cos(), angle_deg.to_radians().sin());
        Template::from_values(v).unwrap()
    }

    #[test]
    fn similarity_is_the_cosine() {
        assert_eq!(unit(0).similarity(&unit(0)), 1.0);
        assert_eq!(unit(0).similarity(&unit(1)), 0.0);
        assert!((unit(0).similarity(&towards(60.0)) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn templates_round_trip_through_bytes_and_refuse_garbage() {
        let t = towards(33.0);
        let bytes = t.to_bytes();
        assert_eq!(bytes.len(), 512);
        assert_eq!(Template::from_bytes(&bytes).unwrap(), t);
        assert!(matches!(Template::from_bytes(&bytes[..511]), Err(VisionError::BadTemplate(_))));
        assert!(
            matches!(Template::from_bytes(&[0u8; 512]), Err(VisionError::BadTemplate(m)) if m.contains("unit length"))
        );
        let mut nan = bytes.to_vec();
        nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Template::from_bytes(&nan).is_err());
        assert!(Template::from_values(vec![1.0; 3]).is_err());
        assert_eq!(VisionError::BadTemplate(String::new()).code(), "bad_template");
    }

    #[test]
    fn raw_model_output_is_normalised_and_a_zero_output_refused() {
        let t = Template::from_raw([vec![3.0, 4.0], vec![0.0; TEMPLATE_LEN - 2]].concat()).unwrap();
        assert!((t.values()[0] - 0.6).abs() < 1e-6 && (t.values()[1] - 0.8).abs() < 1e-6);
        assert!(Template::from_raw(vec![0.0; TEMPLATE_LEN]).is_err());
    }

    #[test]
    fn a_template_never_shows_its_numbers() {
        assert_eq!(format!("{:?}", towards(10.0)), "Template(128 values, not shown)");
    }

    #[test]
    fn the_median_of_two_or_three_frames_decides() {
        let reference = towards(0.0);
        // cos 30° ≈ 0.866, cos 75° ≈ 0.259, cos 80° ≈ 0.174
        let three = [towards(30.0), towards(75.0), towards(80.0)];
        let c = compare(&reference, &three, DEFAULT_MATCH_THRESHOLD).unwrap();
        assert!((c.similarity - 0.2588).abs() < 1e-3, "one good frame does not make a match: {c:?}");
        assert_eq!((c.decision, c.probes), (MatchDecision::NoMatch, 3));
        assert!((c.best - 0.866).abs() < 1e-3 && (c.worst - 0.1736).abs() < 1e-3);
        let two = compare(&reference, &three[..2], 0.5).unwrap();
        assert!((two.similarity - (0.866 + 0.2588) / 2.0).abs() < 1e-3);
        assert_eq!(two.decision, MatchDecision::Match);
        assert!(compare(&reference, &[], 0.5).is_none());
    }

    #[test]
    fn ties_at_the_threshold_match() {
        assert_eq!(MatchDecision::at(0.363, 0.363), MatchDecision::Match);
        assert_eq!(MatchDecision::at(0.3629, 0.363), MatchDecision::NoMatch);
    }

    #[test]
    fn quality_names_each_problem() {
        let good = MatchQuality {
            detector_score: 0.9,
            eye_distance_px: 60.0,
            roll_deg: 0.0,
            nose_offset: 0.02,
            landmark_fit_px: 1.0,
            sharpness: 200.0,
            outside_fraction: 0.0,
        };
        let limits = QualityLimits::default();
        assert!(good.problems(&limits).is_empty());
        let bad =
            MatchQuality { eye_distance_px: 12.0, nose_offset: -0.4, sharpness: 5.0, outside_fraction: 0.1, ..good };
        assert_eq!(
            bad.problems(&limits),
            [
                QualityProblem::FaceTooSmall,
                QualityProblem::TurnedAway,
                QualityProblem::Blurred,
                QualityProblem::FaceCutOff
            ]
        );
    }

    #[test]
    fn matcher_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FaceMatcher>();
    }
}
