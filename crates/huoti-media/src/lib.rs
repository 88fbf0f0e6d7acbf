//! Frame sources for huoti: the frames a session or a check is made of.
//!
//! - **Y4M** (`.y4m`), parsed natively: the uncompressed format Chromium's fake camera reads,
//!   and the easiest way to hand exact frames around. 4:2:0, 4:2:2, 4:4:4 and mono.
//! - **Other video formats** (`.mp4`, `.webm`, `.gif`, …) through an installed `ffmpeg`,
//!   which is asked to emit Y4M on a pipe, so there is one parser. Missing `ffmpeg` is a
//!   clear error, not a panic.
//!
//! Every frame carries its index and its presentation time in milliseconds, so callers can
//! sample, seek and build realistic timelines. Image *files* are not decoded here: that is
//! `huoti-vision`'s job (with its limits against decompression bombs).
//!
//! What it deliberately doesn't do: audio, seeking inside Y4M by byte offset, or colour
//! management beyond BT.601 (limited range unless the stream says full).
//!
//! ```
//! use huoti_media::Y4mReader;
//! // a 2×2 grey 4:2:0 clip with two frames at 10 fps
//! let mut bytes = b"YUV4MPEG2 W2 H2 F10:1 C420jpeg\n".to_vec();
//! for _ in 0..2 { bytes.extend_from_slice(b"FRAME\n"); bytes.extend_from_slice(&[128; 6]); }
//! let frames: Vec<_> = Y4mReader::new(&bytes[..]).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!(frames.len(), 2);
//! assert_eq!(frames[1].t_ms, 100);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod ffmpeg;
mod jpeg;
mod scale;
mod y4m;

pub use error::MediaError;
pub use ffmpeg::{ffmpeg_available, FfmpegOptions, FfmpegSource};
pub use jpeg::encode_jpeg_420;
pub use scale::scale_to_width;
pub use y4m::{Y4mHeader, Y4mReader};

use std::path::Path;

/// One decoded video frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// 0-based index in the stream (after any sampling by ffmpeg).
    pub index: u32,
    /// Presentation time in milliseconds from the start of the stream.
    pub t_ms: u64,
    /// RGB pixels.
    pub image: image::RgbImage,
}

/// A stream of frames from a file.
pub type FrameIter = Box<dyn Iterator<Item = Result<Frame, MediaError>> + Send>;

/// File extensions treated as video (anything ffmpeg can read; `.y4m` natively).
pub const VIDEO_EXTENSIONS: &[&str] =
    &["y4m", "mp4", "m4v", "mov", "webm", "mkv", "avi", "gif", "mpg", "mpeg", "ts", "3gp"];

/// True when the path's extension names a video format.
pub fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Opens a video file: `.y4m` natively (unless `options` ask ffmpeg to resample or scale),
/// anything else through ffmpeg.
pub fn open_video(path: &Path, options: &FfmpegOptions) -> Result<FrameIter, MediaError> {
    let is_y4m = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("y4m"));
    if is_y4m && options.is_passthrough() {
        let file = std::fs::File::open(path)
            .map_err(|source| MediaError::Io { path: path.to_path_buf(), source })?;
        Ok(Box::new(Y4mReader::new(std::io::BufReader::new(file))?))
    } else {
        Ok(Box::new(FfmpegSource::spawn(path, options)?))
    }
}
