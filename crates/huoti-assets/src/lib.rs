//! Pinned external files for huoti: the ONNX models and the test data.
//!
//! huoti never commits model weights or face images. Instead a manifest (TOML) pins every
//! file by name, sha256, licence and origin, lists where it can be downloaded, and this crate
//! makes a local directory match it:
//!
//! 1. **mirror first** — copy from a local mirror directory (an operator's cache, or the
//!    shared folder this project's CI keeps beside the checkout), then
//! 2. **each source in order** — download from the file's direct upstream URLs
//!    (`[[asset.source]]`), each checked against *its own* sha256: most sources serve the
//!    pinned bytes, a few serve another conversion of the same weights (their `note` says why
//!    those bytes are accepted, and a test proves the outputs are the same);
//! 3. **verify** — every byte is hashed; a mismatch is refused, nothing is left behind, and
//!    the next source is tried.
//!
//! Downloads are resumable (an interrupted transfer keeps its part and asks only for the
//! rest) and atomic: bytes are written under a temporary name and renamed into place only after
//! verification, so a crash never leaves a half file that looks valid. Two processes fetching
//! the same file wait for each other rather than write into one file. [`FetchEvent`]s report
//! bytes as they arrive, for a progress bar.
//!
//! What it deliberately does not do: decide *where* the directories live (callers pass
//! paths), or trust a file because it exists (state is always computed from the bytes).
//!
//! ```
//! use huoti_assets::{AssetState, FetchOptions, Manifest};
//! let manifest = Manifest::parse(r#"
//!     mirror_env = "EXAMPLE_MIRROR"
//!     fetch_command = "example fetch"
//!     [[asset]]
//!     name = "greeting"
//!     path = "hello.txt"
//!     sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
//!     licence = "CC0-1.0"
//!     role = "an example"
//!     origin = "typed by hand"
//!     [[asset.source]]
//!     url = "https://example.org/hello.txt"
//!     sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
//! "#).unwrap();
//! let mirror = tempfile::tempdir().unwrap();
//! std::fs::write(mirror.path().join("hello.txt"), "hello").unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! assert_eq!(manifest.state(dir.path())[0].1, AssetState::Missing);
//! manifest.fetch(dir.path(), &FetchOptions::mirror(mirror.path()), |_| {}).unwrap();
//! assert_eq!(manifest.state(dir.path())[0].1, AssetState::Verified);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod download;
mod error;
mod fetch;
mod manifest;

pub use error::AssetError;
pub use fetch::{verify_file, FetchEvent, FetchOptions, FetchSource};
pub use manifest::{Asset, AssetState, Manifest, Source};

/// The model manifest shipped with this build (`models/MODELS.toml`).
pub const MODELS_TOML: &str = include_str!("../../../models/MODELS.toml");

/// The test-data manifest (`testdata/DATA.toml`): real public samples used by tests and
/// evaluation, fetched from a data mirror or upstream.
pub const TESTDATA_TOML: &str = include_str!("../../../testdata/DATA.toml");

/// The pinned model list compiled into this build.
pub fn models() -> Manifest {
    Manifest::parse(MODELS_TOML).expect("models/MODELS.toml is valid (checked by a test)")
}

/// The pinned test-data list compiled into this build.
pub fn testdata() -> Manifest {
    Manifest::parse(TESTDATA_TOML).expect("testdata/DATA.toml is valid (checked by a test)")
}

/// Environment variable naming a local mirror of the model files.
pub const MODEL_MIRROR_ENV: &str = "HUOTI_MODEL_MIRROR";
/// Environment variable naming the directory the models are kept in.
pub const MODEL_DIR_ENV: &str = "HUOTI_MODEL_DIR";
/// Environment variable naming a local mirror of the test data.
pub const DATA_MIRROR_ENV: &str = "HUOTI_DATA_MIRROR";
/// **Tests only.** Environment variable that sends every download to a local base URL instead
/// of upstream ([`FetchOptions::source_base`]), so a test can stand a local HTTP server in for
/// the Internet. Never set it in production: it names where model bytes come from.
pub const SOURCE_BASE_ENV: &str = "HUOTI_TEST_SOURCE_BASE";

pub mod testing;
