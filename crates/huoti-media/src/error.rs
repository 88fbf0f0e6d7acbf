use std::path::PathBuf;

/// What can go wrong reading frames.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Reading the stream failed mid-way.
    #[error("reading the video stream failed: {0}")]
    Read(#[from] std::io::Error),
    /// The Y4M header or a frame header is malformed.
    #[error("not a valid Y4M stream: {0}")]
    BadY4m(String),
    /// The stream ended inside a frame.
    #[error("the Y4M stream ends inside frame {0} (truncated file?)")]
    TruncatedFrame(u32),
    /// `ffmpeg` is not installed or not on PATH.
    #[error("`ffmpeg` was not found on PATH; it is needed to read {0}. Install it (Debian: `apt-get install ffmpeg`) or convert the file to .y4m")]
    FfmpegMissing(PathBuf),
    /// `ffmpeg` ran but failed.
    #[error("ffmpeg could not read {path}: {message}")]
    Ffmpeg {
        /// The input file.
        path: PathBuf,
        /// What ffmpeg said (its last lines of stderr).
        message: String,
    },
    /// A frame could not be JPEG-encoded (larger than 65 535 px on a side).
    #[error("JPEG encoding failed: {0}")]
    Encode(String),
}
