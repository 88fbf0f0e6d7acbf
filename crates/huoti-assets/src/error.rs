use std::path::PathBuf;

/// Everything that can go wrong while reading a manifest or fetching its files.
///
/// Each message names the file and says how to fix the problem, because these errors are
/// what a newcomer sees first on a fresh machine.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The manifest text is not valid TOML of the expected shape.
    #[error("invalid manifest: {0}")]
    Manifest(String),
    /// A file is neither in the directory, nor in the mirror, nor downloadable.
    #[error(
        "{name} ({path}) is missing from {dir} and could not be fetched: {why}.\n  \
         Fix: run `{fetch_command}` with internet access (it downloads from the sources in the \
         manifest), or `{fetch_command} --mirror DIR` (or set {mirror_env}) with a directory \
         holding the file; its origin is: {origin}"
    )]
    Unavailable {
        /// Asset name.
        name: String,
        /// Path relative to the directory.
        path: String,
        /// The directory that should hold it.
        dir: PathBuf,
        /// Why no place worked (each place and its failure).
        why: String,
        /// Where the file comes from.
        origin: String,
        /// The environment variable that names a mirror for this kind of file.
        mirror_env: String,
        /// The command that fetches this kind of file.
        fetch_command: String,
    },
    /// A file's bytes do not hash to the pinned sha256.
    #[error(
        "{path} is corrupt or not the pinned version: sha256 {actual}, expected {expected}.\n  \
         Fix: run `huoti models fetch` (or `huoti testdata fetch`) to replace it"
    )]
    Mismatch {
        /// The offending file.
        path: PathBuf,
        /// What its bytes hash to.
        actual: String,
        /// What the manifest pins.
        expected: String,
    },
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl AssetError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| AssetError::Io { path, source }
    }
}
