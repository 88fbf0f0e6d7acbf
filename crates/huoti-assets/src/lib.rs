//! Pinned external files for huoti: the ONNX models and the test data.
//!
//! huoti never commits model weights or face images. Instead a manifest (TOML) pins every
//! file by name, sha256, licence and origin, and this crate makes a local directory match it:
//!
//! 1. **mirror first** — copy from a local mirror directory (an operator's cache, or
//!    `../shared/models` in this project's CI), then
//! 2. **upstream** — download from the file's upstream URL when it has a direct one,
//! 3. **verify** — every byte is hashed; a mismatch is refused and nothing is left behind.
//!
//! Files are written to a temporary name and renamed into place only after verification,
//! so a crash or an interrupted download never leaves a half file that looks valid.
//!
//! What it deliberately does not do: decide *where* the directories live (callers pass
//! paths), or trust a file because it exists (state is always computed from the bytes).
//!
//! ```
//! use huoti_assets::{Manifest, AssetState};
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
//! "#).unwrap();
//! let mirror = tempfile::tempdir().unwrap();
//! std::fs::write(mirror.path().join("hello.txt"), "hello").unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! assert_eq!(manifest.state(dir.path())[0].1, AssetState::Missing);
//! manifest.fetch(dir.path(), Some(mirror.path()), |_| {}).unwrap();
//! assert_eq!(manifest.state(dir.path())[0].1, AssetState::Verified);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod fetch;
mod manifest;

pub use error::AssetError;
pub use fetch::{verify_file, FetchEvent, FetchSource};
pub use manifest::{Asset, AssetState, Manifest};

/// The model manifest shipped with this build (`models/MODELS.toml`).
pub const MODELS_TOML: &str = include_str!("../../../models/MODELS.toml");

/// The test-data manifest (`testdata/DATA.toml`): real public samples used by tests and
/// evaluation, fetched from `../shared/data` or upstream.
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

pub mod testing;
