// Shared by the integration tests: one Analyzer per test process.
use std::sync::OnceLock;

use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};

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
