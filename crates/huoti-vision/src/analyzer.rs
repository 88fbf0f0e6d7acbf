//! The `Analyzer`: every model loaded once, shared by any number of threads.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

use crate::antispoof::{AntiSpoof, Passive};
use crate::decode::{decode_image, DecodeLimits};
use crate::detect::{Detector, DetectorConfig, Face};
use crate::eyes::{EyeAnalysis, EyeRegions, IrisModel, IRIS_INPUT};
use crate::geometry::{Rect, RotatedCrop};
use crate::measures::{measure, shape_signature, Measures};
use crate::mesh::{crop_for_face, Mesh, MeshModel, MESH_INPUT};
use crate::model::{FixedModel, ShapeCachedModel};
use crate::glare::background_split_rgb;
use crate::quality::{assess, face_and_background_rgb, frame_hash, Quality};
use crate::VisionError;

/// Where the model files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// YuNet detector.
    pub yunet: PathBuf,
    /// FaceMesh landmarks.
    pub facemesh: PathBuf,
    /// MiniFASNetV2 (×2.7).
    pub minifasnet_v2: PathBuf,
    /// MiniFASNetV1SE (×4.0).
    pub minifasnet_v1se: PathBuf,
    /// MediaPipe Iris (eye contour + iris), for precise eye openness.
    pub iris: PathBuf,
    /// SFace face recognition (face match only; the [`Analyzer`] does not load it).
    pub sface: PathBuf,
}

impl ModelPaths {
    /// The pinned file names (models/MODELS.toml) inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        ModelPaths {
            yunet: dir.join("face_detection_yunet_2026may.onnx"),
            facemesh: dir.join("face_landmark.onnx"),
            minifasnet_v2: dir.join("2.7_80x80_MiniFASNetV2.onnx"),
            minifasnet_v1se: dir.join("4_0_0_80x80_MiniFASNetV1SE.onnx"),
            iris: dir.join("iris_landmark.onnx"),
            sface: dir.join("face_recognition_sface_2021dec_int8bq.onnx"),
        }
    }
}

/// Analyzer settings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AnalyzerConfig {
    /// Face detection.
    pub detector: DetectorConfig,
    /// Image decoding limits.
    pub decode: DecodeLimits,
}

/// Milliseconds spent per stage.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Timings {
    /// Image decoding (0 when given pixels).
    pub decode_ms: f64,
    /// Face detection, including letterboxing and NMS.
    pub detect_ms: f64,
    /// FaceMesh, including the crop warp and the measures.
    pub mesh_ms: f64,
    /// Both anti-spoof models, including crops.
    pub antispoof_ms: f64,
    /// Quality, hash and colour statistics.
    pub quality_ms: f64,
    /// Everything.
    pub total_ms: f64,
}

/// What was found about the main face of an image.
#[derive(Debug, Clone, Serialize)]
pub struct FaceAnalysis {
    /// The detection.
    pub face: Face,
    /// FaceMesh's face-presence probability on the crop.
    pub presence: f32,
    /// Eye, mouth and head-pose measures.
    pub measures: Measures,
    /// Passive anti-spoof.
    pub passive: Passive,
    /// Mean RGB of the face's central skin.
    pub face_rgb: [f32; 3],
    /// Mean RGB outside the face box.
    pub background_rgb: [f32; 3],
}

/// The full analysis of one image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageAnalysis {
    /// Width in pixels (after EXIF orientation).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// All faces, best score first.
    pub faces: Vec<Face>,
    /// The main (largest) face, analysed in full.
    pub main: Option<FaceAnalysis>,
    /// Capture quality.
    pub quality: Quality,
    /// 64-bit difference hash of the whole frame.
    pub frame_hash: u64,
    /// Time per stage.
    pub timings: Timings,
}

/// Loads every model once; `Send + Sync`, so one instance serves all threads.
pub struct Analyzer {
    detector: Detector,
    mesh: MeshModel,
    antispoof: AntiSpoof,
    iris: IrisModel,
    config: AnalyzerConfig,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

impl Analyzer {
    /// Loads and optimises all models. A missing file is [`VisionError::ModelMissing`]
    /// naming it; a file tract cannot read is [`VisionError::Model`].
    pub fn load(paths: &ModelPaths, config: AnalyzerConfig) -> Result<Self, VisionError> {
        Ok(Analyzer {
            detector: Detector::new(ShapeCachedModel::load(&paths.yunet)?),
            mesh: MeshModel::new(FixedModel::load(&paths.facemesh, &[1, 3, MESH_INPUT as usize, MESH_INPUT as usize])?),
            antispoof: AntiSpoof::new(
                FixedModel::load(&paths.minifasnet_v2, &[1, 3, 80, 80])?,
                FixedModel::load(&paths.minifasnet_v1se, &[1, 3, 80, 80])?,
            ),
            iris: IrisModel::new(FixedModel::load(&paths.iris, &[1, 3, IRIS_INPUT as usize, IRIS_INPUT as usize])?),
            config,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// Decodes and analyses an encoded JPEG/PNG.
    pub fn analyze_bytes(&self, bytes: &[u8]) -> Result<ImageAnalysis, VisionError> {
        let start = Instant::now();
        let img = decode_image(bytes, &self.config.decode)?;
        let decode_ms = ms(start);
        let mut analysis = self.analyze(&img)?;
        analysis.timings.decode_ms = decode_ms;
        analysis.timings.total_ms += decode_ms;
        Ok(analysis)
    }

    /// Detects every face, then analyses the largest in full (mesh, measures, passive,
    /// quality).
    pub fn analyze(&self, img: &RgbImage) -> Result<ImageAnalysis, VisionError> {
        let start = Instant::now();
        let mut timings = Timings::default();
        let t = Instant::now();
        let faces = self.detect(img, &self.config.detector)?;
        timings.detect_ms = ms(t);
        let main_face = faces.iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area())).copied();
        let mut main = None;
        if let Some(face) = main_face {
            let t = Instant::now();
            let mesh = self.mesh(img, crop_for_face(&face))?;
            let measures = measure(&mesh);
            timings.mesh_ms = ms(t);
            let t = Instant::now();
            let passive = self.passive(img, &face.bbox)?;
            timings.antispoof_ms = ms(t);
            let (face_rgb, background_rgb) = face_and_background_rgb(img, &face.bbox);
            main = Some(FaceAnalysis { face, presence: mesh.presence, measures, passive, face_rgb, background_rgb });
        }
        let t = Instant::now();
        let quality = assess(img, main_face.as_ref().map(|f| &f.bbox), faces.len());
        let hash = frame_hash(img);
        timings.quality_ms = ms(t);
        timings.total_ms = ms(start);
        Ok(ImageAnalysis { width: img.width(), height: img.height(), faces, main, quality, frame_hash: hash, timings })
    }

    /// Face detection alone.
    pub fn detect(&self, img: &RgbImage, config: &DetectorConfig) -> Result<Vec<Face>, VisionError> {
        self.detector.detect(img, config)
    }

    /// FaceMesh on a crop (from [`crop_for_face`](crate::crop_for_face) or a previous mesh).
    pub fn mesh(&self, img: &RgbImage, crop: RotatedCrop) -> Result<Mesh, VisionError> {
        self.mesh.run(img, crop)
    }

    /// Passive anti-spoof for a face box.
    pub fn passive(&self, img: &RgbImage, face: &Rect) -> Result<Passive, VisionError> {
        self.antispoof.run(img, face)
    }

    /// The Iris model on both eyes (two model runs, more than FaceMesh costs): lid-gap eye
    /// openness that, unlike FaceMesh's eye aspect ratio, falls near zero when the eyes close.
    /// `eyes` come from a tracked frame ([`FrameAnalysis::eyes`]) or [`EyeRegions::of`].
    pub fn eye_openness(&self, img: &RgbImage, eyes: &EyeRegions) -> Result<EyeAnalysis, VisionError> {
        self.iris.run(img, eyes)
    }

    /// A per-video tracker: detects, then follows the face with FaceMesh alone.
    pub fn tracker(&self, config: TrackerConfig) -> Tracker<'_> {
        Tracker { analyzer: self, config, crop: None, prev: None, frame_no: 0, faces: 0 }
    }

    /// A tracker that continues from a [`TrackState`] saved by [`Tracker::suspend`].
    pub fn resume(&self, state: TrackState) -> Tracker<'_> {
        let TrackState { config, crop, prev, frame_no, faces } = state;
        Tracker { analyzer: self, config, crop, prev, frame_no, faces }
    }
}

/// A [`Tracker`]'s memory without its borrow of the [`Analyzer`]: what a server keeps per
/// session between frames that arrive in separate requests (analysed on arrival, so that
/// `complete` has little left to do). Owned and `Send`; a few kilobytes (the previous
/// frame's landmarks), no pixels.
#[derive(Debug, Clone)]
pub struct TrackState {
    config: TrackerConfig,
    crop: Option<RotatedCrop>,
    prev: Option<Vec<[f32; 3]>>,
    frame_no: u64,
    faces: usize,
}

impl TrackState {
    /// A fresh track (nothing seen yet).
    pub fn new(config: TrackerConfig) -> TrackState {
        TrackState { config, crop: None, prev: None, frame_no: 0, faces: 0 }
    }
}

/// Tracker settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// Run the detector every this many frames even when tracking holds, to count faces
    /// (someone stepping into the picture) — 1 detects on every frame. Default 10: about once
    /// a second at the capture profile's 6–10 fps (0.7 s for a 15 fps client). The count
    /// carries over to the frames in between, so the multiple-faces check still sees the share
    /// of frames with a second face; a lost track is re-detected at once whatever this says.
    pub redetect_every: u32,
    /// Detector settings for video frames (a face in a selfie video is large: 320 suffices).
    pub detector: DetectorConfig,
    /// Below this FaceMesh presence the track is lost and the detector runs again.
    pub presence_threshold: f32,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            redetect_every: 10,
            detector: DetectorConfig { max_side: 320, ..DetectorConfig::default() },
            presence_threshold: 0.5,
        }
    }
}

/// What the tracker measured on one video frame.
#[derive(Debug, Clone, Serialize)]
pub struct FrameAnalysis {
    /// Faces counted by the last detector run (detection runs every few frames).
    pub faces: usize,
    /// True when the detector ran on this frame.
    pub detected: bool,
    /// The main face's box (from its landmarks) when a face is tracked.
    pub face_box: Option<Rect>,
    /// FaceMesh presence probability.
    pub presence: f32,
    /// Measures of the tracked face.
    pub measures: Option<Measures>,
    /// Where the eyes are, for [`Analyzer::eye_openness`] (not run by the tracker: the caller
    /// decides which frames need it).
    pub eyes: Option<EyeRegions>,
    /// Landmark-geometry signature (see [`shape_signature`](crate::shape_signature)).
    pub shape: Vec<f32>,
    /// Mean landmark displacement since the previous frame, in face widths.
    pub landmark_motion: f32,
    /// Mean RGB of the face's central skin.
    pub face_rgb: [f32; 3],
    /// Mean RGB outside the face box.
    pub background_rgb: [f32; 3],
    /// Mean RGB of the background's darker and brighter halves (see
    /// [`background_split_rgb`](crate::background_split_rgb)), for the flash check's glare test.
    pub background_split_rgb: Option<[[f32; 3]; 2]>,
    /// 64-bit difference hash of the frame.
    pub frame_hash: u64,
    /// Capture quality.
    pub quality: Quality,
    /// Time per stage (no anti-spoof: the session picks a few frames for that).
    pub timings: Timings,
}

/// Follows one face through a video: the detector runs on the first frame, every
/// `redetect_every` frames, and whenever FaceMesh loses the face; in between, the crop comes
/// from the previous frame's landmarks (as MediaPipe does). This halves the per-frame cost.
pub struct Tracker<'a> {
    analyzer: &'a Analyzer,
    config: TrackerConfig,
    crop: Option<RotatedCrop>,
    prev: Option<Vec<[f32; 3]>>,
    frame_no: u64,
    faces: usize,
}

impl Tracker<'_> {
    /// Ends this borrow of the analyzer, keeping what the tracker remembers; continue with
    /// [`Analyzer::resume`]. Stepping a resumed tracker gives exactly what stepping this one
    /// would have.
    pub fn suspend(self) -> TrackState {
        let Tracker { analyzer: _, config, crop, prev, frame_no, faces } = self;
        TrackState { config, crop, prev, frame_no, faces }
    }

    /// Runs the detector. With `keep_track`, a face still followed by FaceMesh keeps its
    /// landmark-derived crop (the detector only counts faces): switching crops on the
    /// periodic re-detection would make the measures jitter every few frames.
    fn redetect(&mut self, img: &RgbImage, timings: &mut Timings, keep_track: bool) -> Result<(), VisionError> {
        let t = Instant::now();
        let faces = self.analyzer.detect(img, &self.config.detector)?;
        timings.detect_ms += ms(t);
        self.faces = faces.len();
        if faces.is_empty() || !keep_track || self.crop.is_none() {
            let main = faces.iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()));
            self.crop = main.map(crop_for_face);
        }
        Ok(())
    }

    fn mesh_if_present(&self, img: &RgbImage, timings: &mut Timings) -> Result<Option<Mesh>, VisionError> {
        let Some(crop) = self.crop else { return Ok(None) };
        let t = Instant::now();
        let m = self.analyzer.mesh(img, crop)?;
        timings.mesh_ms += ms(t);
        Ok((m.presence >= self.config.presence_threshold).then_some(m))
    }

    /// Analyses the next frame.
    pub fn step(&mut self, img: &RgbImage) -> Result<FrameAnalysis, VisionError> {
        self.step_with(img, true)
    }

    /// Analyses the next frame; without `glare`, leaves out the background's darker and
    /// brighter halves (`background_split_rgb` is `None`: a selection over ≈ 35 000 samples
    /// that only the flash check reads, on the light step's frames). Everything else is as
    /// [`step`](Self::step) gives it.
    pub fn step_with(&mut self, img: &RgbImage, glare: bool) -> Result<FrameAnalysis, VisionError> {
        let start = Instant::now();
        let mut timings = Timings::default();
        let due = self.config.redetect_every <= 1 || self.frame_no.is_multiple_of(u64::from(self.config.redetect_every));
        self.frame_no += 1;
        let tracking = self.crop.is_some();
        let mut detected = false;
        if due || !tracking {
            self.redetect(img, &mut timings, true)?;
            detected = true;
        }
        let mut mesh = self.mesh_if_present(img, &mut timings)?;
        // A lost track (the crop came from the previous frame) gets one fresh detection.
        if mesh.is_none() && tracking {
            self.redetect(img, &mut timings, false)?;
            detected = true;
            mesh = self.mesh_if_present(img, &mut timings)?;
        }
        let t = Instant::now();
        let frame_hash = frame_hash(img);
        let result = match mesh {
            None => {
                self.crop = None;
                self.prev = None;
                let quality = assess(img, None, self.faces);
                FrameAnalysis {
                    faces: self.faces,
                    detected,
                    face_box: None,
                    presence: 0.0,
                    measures: None,
                    eyes: None,
                    shape: Vec::new(),
                    landmark_motion: 0.0,
                    face_rgb: [0.0; 3],
                    background_rgb: [0.0; 3],
                    background_split_rgb: None,
                    frame_hash,
                    quality,
                    timings,
                }
            }
            Some(mesh) => {
                let bbox = mesh.bbox();
                let motion = self.prev.as_ref().map_or(0.0, |prev| {
                    let total: f32 =
                        prev.iter().zip(&mesh.points).map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1])).sum();
                    total / prev.len() as f32 / bbox.w.max(1.0)
                });
                let (face_rgb, background_rgb) = face_and_background_rgb(img, &bbox);
                let quality = assess(img, Some(&bbox), self.faces.max(1));
                self.crop = Some(stable_crop(self.crop, mesh.next_crop()));
                let analysis = FrameAnalysis {
                    faces: self.faces.max(1),
                    detected,
                    face_box: Some(bbox),
                    presence: mesh.presence,
                    measures: Some(measure(&mesh)),
                    eyes: Some(EyeRegions::of(&mesh)),
                    shape: shape_signature(&mesh),
                    landmark_motion: motion,
                    face_rgb,
                    background_rgb,
                    background_split_rgb: if glare { background_split_rgb(img, &bbox) } else { None },
                    frame_hash,
                    quality,
                    timings,
                };
                self.prev = Some(mesh.points);
                analysis
            }
        };
        let mut result = result;
        result.timings.quality_ms = ms(t);
        result.timings.total_ms = ms(start);
        Ok(result)
    }
}

/// Keeps the current crop while the face stays within a few percent of it. Re-deriving the
/// crop from every frame's landmarks makes FaceMesh chase its own output (a still picture
/// would "move" for a dozen frames while the crop converges); holding it, as MediaPipe's
/// ROI smoothing does, gives identical landmarks for identical frames.
fn stable_crop(current: Option<RotatedCrop>, next: RotatedCrop) -> RotatedCrop {
    const SHIFT: f32 = 0.04;
    const ANGLE: f32 = 0.05; // radians, ≈ 3°
    match current {
        Some(cur)
            if cur.centre.dist(next.centre) < SHIFT * cur.side
                && (next.side / cur.side - 1.0).abs() < SHIFT
                && (next.angle - cur.angle).abs() < ANGLE =>
        {
            cur
        }
        _ => next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_holds_for_small_moves_and_follows_large_ones() {
        let cur = RotatedCrop { centre: crate::Point::new(100.0, 100.0), side: 200.0, angle: 0.0 };
        let small = RotatedCrop { centre: crate::Point::new(103.0, 101.0), side: 203.0, angle: 0.01 };
        let large = RotatedCrop { centre: crate::Point::new(120.0, 100.0), side: 200.0, angle: 0.0 };
        assert_eq!(stable_crop(Some(cur), small), cur);
        assert_eq!(stable_crop(Some(cur), large), large);
        assert_eq!(stable_crop(None, small), small);
    }

    #[test]
    fn analyzer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Analyzer>();
    }
}
