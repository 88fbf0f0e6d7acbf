//! FaceMesh and Iris are published upstream only as another ONNX conversion of the same
//! MediaPipe weights: other bytes than the pinned files (models/MODELS.toml lists them as
//! sources with their own sha256 and a note). The manifest accepts those bytes because they give
//! the same landmarks; these tests prove it on the sample images, so a machine that downloaded
//! the alternates analyses faces exactly like one that copied the pinned files.

mod common;

use std::path::PathBuf;

use common::{analyzer, image_bytes};
use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths, Point, crop_for_face, decode_image};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::tract_hir::internal::DimLike;

const IMAGES: &[&str] = &[
    "silent-face-anti-spoofing/image_T1.jpg",
    "silent-face-anti-spoofing/image_T2.jpg",
    "silent-face-anti-spoofing/image_F1.jpg",
    "scikit-image/astronaut.png",
    "ageitgey-face_recognition/biden.jpg",
    "ageitgey-face_recognition/obama.jpg",
];

/// The pinned file and the upstream alternate of model `name`.
fn pinned_and_alternate(name: &str) -> (PathBuf, PathBuf) {
    let manifest = huoti_assets::models();
    let asset = manifest.get(name).unwrap();
    let alternate = asset.sources.iter().find(|s| s.sha256 != asset.sha256).expect("an alternate source");
    (
        huoti_assets::testing::model_source_file(name, &asset.sha256),
        huoti_assets::testing::model_source_file(name, &alternate.sha256),
    )
}

#[test]
fn facemesh_alternate_gives_the_same_landmarks_as_the_pinned_file() {
    let (pinned, alternate) = pinned_and_alternate("facemesh");
    assert_ne!(std::fs::read(&pinned).unwrap(), std::fs::read(&alternate).unwrap(), "the alternate really is other bytes");
    let paths = ModelPaths { facemesh: alternate, ..ModelPaths::in_dir(huoti_assets::testing::models_dir()) };
    let other = Analyzer::load(&paths, AnalyzerConfig::default()).expect("the alternate loads");
    let mut worst = 0f32;
    for path in IMAGES {
        let img = decode_image(&image_bytes(path), &AnalyzerConfig::default().decode).unwrap();
        let faces = analyzer().detect(&img, &AnalyzerConfig::default().detector).unwrap();
        let face = faces.first().unwrap_or_else(|| panic!("{path}: no face"));
        let a = analyzer().mesh(&img, crop_for_face(face)).unwrap();
        let b = other.mesh(&img, crop_for_face(face)).unwrap();
        assert_eq!(a.points.len(), 468);
        assert_eq!(a.points.len(), b.points.len());
        for (p, q) in a.points.iter().zip(&b.points) {
            for k in 0..3 {
                worst = worst.max((p[k] - q[k]).abs());
            }
        }
        assert!((a.presence - b.presence).abs() < 1e-5, "{path}: presence {} vs {}", a.presence, b.presence);
    }
    // Landmarks are image pixels: a thousandth of a pixel is float noise, not a model change.
    assert!(worst < 1e-3, "largest landmark difference {worst} px");
}

/// An Iris model with its input laid out as the file declares it (NCHW or NHWC).
struct Iris {
    plan: std::sync::Arc<TypedRunnableModel>,
    channels_last: bool,
}

impl Iris {
    fn load(path: &std::path::Path) -> Iris {
        let model = tract_onnx::onnx().model_for_path(path).unwrap();
        let fact = model.input_fact(0).unwrap().clone();
        let last = fact.shape.dims().last().and_then(|d| d.concretize()).and_then(|d| d.to_usize().ok());
        let channels_last = last == Some(3);
        let shape: [usize; 4] = if channels_last { [1, 64, 64, 3] } else { [1, 3, 64, 64] };
        let plan = model.with_input_fact(0, f32::fact(shape).into()).unwrap().into_optimized().unwrap().into_runnable().unwrap();
        Iris { plan, channels_last }
    }

    /// The outputs, largest first (71 eye points ×3, then 5 iris points ×3).
    fn run(&self, crop: &image::RgbImage) -> Vec<Vec<f32>> {
        let px = |x: usize, y: usize, c: usize| crop.get_pixel(x as u32, y as u32)[c] as f32 / 255.0;
        let input = if self.channels_last {
            tract_ndarray::Array4::from_shape_fn((1, 64, 64, 3), |(_, y, x, c)| px(x, y, c))
        } else {
            tract_ndarray::Array4::from_shape_fn((1, 3, 64, 64), |(_, c, y, x)| px(x, y, c))
        };
        let outputs = self.plan.run(tvec!(Tensor::from(input).into())).unwrap();
        let mut out: Vec<Vec<f32>> = outputs.iter().map(|t| t.try_as_plain_ram().and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec)).unwrap()).collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.len()));
        out
    }
}

/// A 64×64 crop around one eye: centred between its corners, 2.3 × their distance wide.
fn eye_crop(img: &image::RgbImage, corner_a: Point, corner_b: Point) -> image::RgbImage {
    let centre = corner_a.mid(corner_b);
    let side = (corner_a.dist(corner_b) * 2.3).max(8.0);
    let x = (centre.x - side / 2.0).clamp(0.0, img.width() as f32 - side) as u32;
    let y = (centre.y - side / 2.0).clamp(0.0, img.height() as f32 - side) as u32;
    let view = image::imageops::crop_imm(img, x, y, side as u32, side as u32).to_image();
    image::imageops::resize(&view, 64, 64, image::imageops::FilterType::Triangle)
}

#[test]
fn iris_alternate_gives_the_same_eye_and_iris_landmarks_as_the_pinned_file() {
    let (pinned, alternate) = pinned_and_alternate("iris");
    let (a, b) = (Iris::load(&pinned), Iris::load(&alternate));
    let mut worst = 0f32;
    let mut crops = 0;
    for path in IMAGES {
        let img = decode_image(&image_bytes(path), &AnalyzerConfig::default().decode).unwrap();
        let face = analyzer().detect(&img, &AnalyzerConfig::default().detector).unwrap()[0];
        let mesh = analyzer().mesh(&img, crop_for_face(&face)).unwrap();
        // FaceMesh's eye corners: right eye 33–133, left eye 362–263.
        for (i, j) in [(33, 133), (362, 263)] {
            let crop = eye_crop(&img, mesh.point(i), mesh.point(j));
            let (x, y) = (a.run(&crop), b.run(&crop));
            assert_eq!(x.iter().map(Vec::len).collect::<Vec<_>>(), [213, 15], "{path}: 71 eye and 5 iris points");
            assert_eq!(x.iter().map(Vec::len).collect::<Vec<_>>(), y.iter().map(Vec::len).collect::<Vec<_>>());
            for (u, v) in x.iter().flatten().zip(y.iter().flatten()) {
                worst = worst.max((u - v).abs());
            }
            crops += 1;
        }
    }
    assert_eq!(crops, 2 * IMAGES.len());
    // Outputs are pixels of the 64×64 crop.
    assert!(worst < 1e-3, "largest eye/iris landmark difference {worst} px");
}
