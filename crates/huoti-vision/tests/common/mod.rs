// Shared by the integration tests: one Analyzer per test process.
use std::sync::OnceLock;

use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};

#[allow(dead_code)] // the face-match tests use the matcher instead
pub fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| {
        Analyzer::load(&ModelPaths::in_dir(huoti_assets::testing::models_dir()), AnalyzerConfig::default())
            .expect("models load")
    })
}

#[allow(dead_code)] // not every test binary reads images
pub fn image_bytes(path: &str) -> Vec<u8> {
    std::fs::read(huoti_assets::testing::data_file(path)).expect("test image readable")
}

/// One face matcher (YuNet + SFace) per test process.
#[allow(dead_code)] // only the face-match tests use it
pub fn matcher() -> &'static huoti_vision::FaceMatcher {
    static M: OnceLock<huoti_vision::FaceMatcher> = OnceLock::new();
    M.get_or_init(|| {
        huoti_vision::FaceMatcher::load(&ModelPaths::in_dir(huoti_assets::testing::models_dir()), Default::default())
            .expect("YuNet and SFace load")
    })
}
