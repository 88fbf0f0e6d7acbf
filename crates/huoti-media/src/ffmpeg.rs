//! Video decoding through an installed `ffmpeg`, which emits Y4M on a pipe.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::{Frame, MediaError, Y4mReader};

/// How ffmpeg should sample and scale the video.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FfmpegOptions {
    /// Start time in seconds.
    pub start_s: Option<f64>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// Output frame rate (frames are dropped or duplicated by ffmpeg's `fps` filter).
    pub fps: Option<f64>,
    /// Output width in pixels (height follows the aspect ratio, rounded to even).
    pub width: Option<u32>,
}

impl FfmpegOptions {
    /// True when no resampling, trimming or scaling is asked for.
    pub fn is_passthrough(&self) -> bool {
        *self == FfmpegOptions::default()
    }
}

/// True when an `ffmpeg` executable answers on PATH.
pub fn ffmpeg_available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Frames decoded by a child `ffmpeg` process. The process is killed when this is dropped,
/// so abandoning a stream half-way never leaves a decoder running.
pub struct FfmpegSource {
    child: Child,
    frames: Y4mReader<ChildStdout>,
    path: PathBuf,
    start_ms: u64,
    finished: bool,
}

impl FfmpegSource {
    /// Starts ffmpeg on `path`.
    pub fn spawn(path: &Path, options: &FfmpegOptions) -> Result<Self, MediaError> {
        if !path.exists() {
            return Err(MediaError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-v", "error", "-nostdin"]);
        if let Some(s) = options.start_s {
            cmd.args(["-ss", &format!("{s}")]);
        }
        if let Some(d) = options.duration_s {
            cmd.args(["-t", &format!("{d}")]);
        }
        cmd.arg("-i").arg(path);
        let mut filters = Vec::new();
        if let Some(fps) = options.fps {
            filters.push(format!("fps={fps}"));
        }
        if let Some(w) = options.width {
            filters.push(format!("scale={w}:-2"));
        }
        if !filters.is_empty() {
            cmd.args(["-vf", &filters.join(",")]);
        }
        cmd.args(["-an", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-"]);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => MediaError::FfmpegMissing(path.to_path_buf()),
            _ => MediaError::Io { path: path.to_path_buf(), source: e },
        })?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let frames = match Y4mReader::new(stdout) {
            Ok(f) => f,
            Err(_) => {
                let message = stderr_tail(&mut child);
                return Err(MediaError::Ffmpeg { path: path.to_path_buf(), message });
            }
        };
        let start_ms = options.start_s.map_or(0, |s| (s * 1000.0).round() as u64);
        Ok(FfmpegSource { child, frames, path: path.to_path_buf(), start_ms, finished: false })
    }

    /// The decoded stream's header (size, frame rate).
    pub fn header(&self) -> &crate::Y4mHeader {
        self.frames.header()
    }
}

fn stderr_tail(child: &mut Child) -> String {
    let _ = child.wait();
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    let joined = lines.into_iter().rev().collect::<Vec<_>>().join(" | ");
    if joined.is_empty() { "ffmpeg produced no video frames".into() } else { joined }
}

impl Iterator for FfmpegSource {
    type Item = Result<Frame, MediaError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.frames.next() {
            Some(Ok(mut frame)) => {
                // Times are reported relative to the start of the file, not of the excerpt.
                frame.t_ms += self.start_ms;
                Some(Ok(frame))
            }
            Some(Err(e)) => {
                self.finished = true;
                Some(Err(e))
            }
            None => {
                self.finished = true;
                match self.child.wait() {
                    Ok(status) if !status.success() => Some(Err(MediaError::Ffmpeg {
                        path: self.path.clone(),
                        message: stderr_tail(&mut self.child),
                    })),
                    _ => None,
                }
            }
        }
    }
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
