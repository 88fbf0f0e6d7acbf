//! Video decoding through an installed `ffmpeg`, which emits Y4M on a pipe.
//!
//! ffmpeg's stderr is drained on a thread of its own while stdout is read: a pipe holds only
//! 64 KiB, and an ffmpeg that writes more warnings than that (a noisy or damaged input) would
//! otherwise block on stderr while we block on stdout — a deadlock. Only the last
//! [`STDERR_TAIL_BYTES`] are kept, for the error message.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

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
    stderr: StderrTail,
    frames: Y4mReader<ChildStdout>,
    path: PathBuf,
    start_ms: u64,
    finished: bool,
}

impl FfmpegSource {
    /// Starts ffmpeg on `path`.
    pub fn spawn(path: &Path, options: &FfmpegOptions) -> Result<Self, MediaError> {
        Self::spawn_program(OsStr::new("ffmpeg"), path, options)
    }

    /// [`spawn`](Self::spawn) with another executable in ffmpeg's place (tests).
    fn spawn_program(program: &OsStr, path: &Path, options: &FfmpegOptions) -> Result<Self, MediaError> {
        if !path.exists() {
            return Err(MediaError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let mut cmd = Command::new(program);
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
        let mut stderr = StderrTail::drain(child.stderr.take());
        let frames = match Y4mReader::new(stdout) {
            Ok(f) => f,
            Err(_) => {
                let _ = child.wait();
                let message = stderr.message();
                return Err(MediaError::Ffmpeg { path: path.to_path_buf(), message });
            }
        };
        // A negative or non-finite start is ffmpeg's to refuse; the cast saturates.
        let start_ms = options.start_s.map_or(0, |s| (s * 1000.0).round() as u64);
        Ok(FfmpegSource { child, stderr, frames, path: path.to_path_buf(), start_ms, finished: false })
    }

    /// The decoded stream's header (size, frame rate).
    pub fn header(&self) -> &crate::Y4mHeader {
        self.frames.header()
    }
}

/// How much of ffmpeg's stderr is kept (its end) for an error message.
const STDERR_TAIL_BYTES: usize = 16 * 1024;

/// A thread reading a child's stderr to its end, keeping only the last
/// [`STDERR_TAIL_BYTES`].
struct StderrTail {
    reader: Option<JoinHandle<Vec<u8>>>,
}

impl StderrTail {
    fn drain(stderr: Option<ChildStderr>) -> StderrTail {
        let reader = stderr.map(|mut err| {
            std::thread::spawn(move || {
                let mut tail = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    match err.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            tail.extend_from_slice(&chunk[..n]);
                            if tail.len() > 2 * STDERR_TAIL_BYTES {
                                tail.drain(..tail.len() - STDERR_TAIL_BYTES);
                            }
                        }
                    }
                }
                tail
            })
        });
        StderrTail { reader }
    }

    /// The last three lines ffmpeg wrote, once it has exited (call after `wait`: the thread
    /// ends when the pipe closes).
    fn message(&mut self) -> String {
        let bytes = self.reader.take().and_then(|r| r.join().ok()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().rev().take(3).collect();
        let joined = lines.into_iter().rev().collect::<Vec<_>>().join(" | ");
        if joined.is_empty() { "ffmpeg produced no video frames".into() } else { joined }
    }
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
                frame.t_ms = frame.t_ms.saturating_add(self.start_ms);
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
                        message: self.stderr.message(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An "ffmpeg" that writes 1 MiB of warnings to stderr before any frame, then a 2-frame
    /// Y4M clip to stdout: with stderr left undrained it would block on the full stderr pipe
    /// while the reader blocks on stdout.
    #[cfg(unix)]
    #[test]
    fn a_noisy_ffmpeg_does_not_deadlock_and_its_last_words_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("noisy-ffmpeg");
        std::fs::write(
            &fake,
            "#!/bin/sh\n\
             i=0; while [ $i -lt 16384 ]; do echo 'warning: damaged macroblock, concealing the error' >&2; i=$((i+1)); done\n\
             printf 'YUV4MPEG2 W2 H2 F10:1 C420jpeg\\nFRAME\\n123456FRAME\\n123456'\n\
             echo 'last words' >&2\n\
             exit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let input = dir.path().join("in.mp4");
        std::fs::write(&input, b"not read by the fake").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let frames: Vec<_> = FfmpegSource::spawn_program(fake.as_os_str(), &input, &FfmpegOptions::default()).unwrap().collect();
            let _ = tx.send(frames);
        });
        let frames = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("no deadlock: stderr is drained while stdout is read");
        assert_eq!(frames.len(), 3, "two frames, then the failed exit");
        assert!(frames[0].is_ok() && frames[1].is_ok());
        match &frames[2] {
            Err(MediaError::Ffmpeg { message, .. }) => assert!(message.ends_with("last words"), "{message}"),
            other => panic!("expected the exit status as an error, got {other:?}"),
        }
    }
}
