//! Frame sources behind one trait: a camera (feature `camera`), a `.y4m` file, a directory of
//! images, and any other video through an installed `ffmpeg` (via `huoti-media`).

use std::path::{Path, PathBuf};

use huoti_media::{FfmpegOptions, FrameIter, MediaError};
use image::RgbImage;

/// One captured frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Capture time in milliseconds, on the source's own clock (camera: since it opened;
    /// file: presentation time). The driver turns it into challenge time.
    pub t_ms: u64,
    /// The pixels.
    pub image: RgbImage,
}

/// How a source's time relates to the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Frames arrive in real time (a camera): the driver stamps each frame with the time it
    /// arrived since the challenge started, and plays prompts and flashes on the wall clock.
    Live,
    /// Frames come from a recording: each frame's own `t_ms` (relative to the first frame) is
    /// its capture time, and the driver plays them back in real time (a frame is queued for
    /// upload when its time comes), as a camera would deliver them: the server judges arrival
    /// times against capture times.
    Recorded,
}

/// Why a source failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// What was read.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Video decoding failed (Y4M parse error, ffmpeg missing or failing).
    #[error(transparent)]
    Media(#[from] MediaError),
    /// An image file could not be decoded.
    #[error("{path}: {message}")]
    Image {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The camera could not be opened or read (missing, busy, refused by the OS).
    #[error("camera: {0}")]
    Camera(String),
    /// `next_frame` was called on a source that is not open (a bug in the caller).
    #[error("the source is not open")]
    NotOpen,
}

/// Where frames come from. The driver calls [`open`](FrameSource::open) once,
/// [`next_frame`](FrameSource::next_frame) until capture ends, then
/// [`close`](FrameSource::close) exactly once — through a guard, so `close` runs on success,
/// error, cancel and panic alike (policy C2). After `close` nothing is read.
pub trait FrameSource: Send {
    /// Acquires the device or opens the file. For a camera, this is when it turns on.
    fn open(&mut self) -> Result<(), SourceError>;
    /// The next frame; `Ok(None)` at the end of a file (a camera never ends by itself).
    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError>;
    /// Releases the device (camera off) or the file; must not fail, may be called on a
    /// source that failed to open, and must be idempotent.
    fn close(&mut self);
    /// Real-time device or recording.
    fn timing(&self) -> Timing {
        Timing::Recorded
    }
    /// A short description for logs and errors (never personal data).
    fn describe(&self) -> String;
}

/// Keeps a source open and closes it when dropped — on every path out of the capture loop,
/// unwinding included (policy C2).
pub(crate) struct OpenSource<'a> {
    source: &'a mut dyn FrameSource,
    open: bool,
}

impl<'a> OpenSource<'a> {
    /// Opens `source`; on failure it is closed at once (a half-opened camera is released).
    pub(crate) fn open(source: &'a mut dyn FrameSource) -> Result<OpenSource<'a>, SourceError> {
        let guard = OpenSource { source, open: true };
        guard.source.open()?; // on error `guard` drops here and closes the source
        Ok(guard)
    }

    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        if !self.open {
            return Err(SourceError::NotOpen);
        }
        self.source.next_frame()
    }

    pub(crate) fn timing(&self) -> Timing {
        self.source.timing()
    }

    /// Closes now (capture is over); dropping later does nothing more.
    pub(crate) fn close(&mut self) {
        if std::mem::replace(&mut self.open, false) {
            self.source.close();
        }
    }
}

impl Drop for OpenSource<'_> {
    fn drop(&mut self) {
        self.close();
    }
}

// ---------------------------------------------------------------------------------------------

/// A video file: `.y4m` read natively, anything else decoded by an installed `ffmpeg`
/// (`huoti-media`), optionally trimmed, resampled and scaled.
pub struct VideoFile {
    path: PathBuf,
    options: FfmpegOptions,
    frames: Option<FrameIter>,
}

impl VideoFile {
    /// Any video ffmpeg reads (`.y4m` without options is read without ffmpeg).
    pub fn new(path: impl Into<PathBuf>, options: FfmpegOptions) -> VideoFile {
        VideoFile { path: path.into(), options, frames: None }
    }

    /// A `.y4m` file, read natively, every frame at its own time.
    pub fn y4m(path: impl Into<PathBuf>) -> VideoFile {
        VideoFile::new(path, FfmpegOptions::default())
    }
}

impl FrameSource for VideoFile {
    fn open(&mut self) -> Result<(), SourceError> {
        self.frames = Some(huoti_media::open_video(&self.path, &self.options)?);
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let frames = self.frames.as_mut().ok_or(SourceError::NotOpen)?;
        match frames.next() {
            Some(Ok(f)) => Ok(Some(Frame { t_ms: f.t_ms, image: f.image })),
            Some(Err(e)) => Err(e.into()),
            None => Ok(None),
        }
    }

    fn close(&mut self) {
        // Dropping the iterator kills a running ffmpeg child (huoti-media's FfmpegSource).
        self.frames = None;
    }

    fn describe(&self) -> String {
        format!("video {}", self.path.display())
    }
}

/// A directory of still images (JPEG, PNG), read in file-name order and stamped `1000 / fps`
/// ms apart.
pub struct ImageDir {
    dir: PathBuf,
    fps: f64,
    files: Vec<PathBuf>,
    next: usize,
    open: bool,
}

/// Image decoding limits: a camera frame never needs more.
const MAX_IMAGE_PIXELS: u64 = 4_194_304;

impl ImageDir {
    /// Frames from `dir`, `fps` per second (must be > 0).
    pub fn new(dir: impl Into<PathBuf>, fps: f64) -> ImageDir {
        ImageDir { dir: dir.into(), fps, files: Vec::new(), next: 0, open: false }
    }

    /// Decodes one image, applying its EXIF orientation: phone photos are often stored
    /// sideways with an EXIF note, and the frame is re-encoded without that note.
    fn decode(path: &Path) -> Result<RgbImage, SourceError> {
        use image::ImageDecoder;
        let bad = |message: String| SourceError::Image { path: path.to_path_buf(), message };
        let reader = image::ImageReader::open(path)
            .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?
            .with_guessed_format()
            .map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
        let mut decoder = reader.into_decoder().map_err(|e| bad(e.to_string()))?;
        let (w, h) = decoder.dimensions();
        if u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS {
            return Err(bad(format!("{w}×{h} is over {MAX_IMAGE_PIXELS} pixels")));
        }
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(MAX_IMAGE_PIXELS * 4);
        decoder.set_limits(limits).map_err(|e| bad(e.to_string()))?;
        let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
        let mut img = image::DynamicImage::from_decoder(decoder).map_err(|e| bad(e.to_string()))?;
        img.apply_orientation(orientation);
        Ok(img.to_rgb8())
    }
}

impl FrameSource for ImageDir {
    fn open(&mut self) -> Result<(), SourceError> {
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(SourceError::Image { path: self.dir.clone(), message: format!("fps must be > 0, not {}", self.fps) });
        }
        let io = |source| SourceError::Io { path: self.dir.clone(), source };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
            })
            .collect();
        files.sort();
        self.files = files;
        self.next = 0;
        self.open = true;
        Ok(())
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        if !self.open {
            return Err(SourceError::NotOpen);
        }
        let Some(path) = self.files.get(self.next) else { return Ok(None) };
        let t_ms = (self.next as f64 * 1000.0 / self.fps).round() as u64;
        self.next += 1;
        Ok(Some(Frame { t_ms, image: ImageDir::decode(path)? }))
    }

    fn close(&mut self) {
        self.open = false;
        self.files.clear();
    }

    fn describe(&self) -> String {
        format!("images in {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG stored sideways with EXIF Orientation = 6 (rotate 90° clockwise), as phones
    /// write them: the frame sent must be upright, because the re-encoded JPEG carries no EXIF.
    #[test]
    fn image_dir_applies_exif_orientation() {
        let wide = RgbImage::from_fn(64, 32, |x, _| image::Rgb([if x < 32 { 255 } else { 0 }, 0, 0]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95).encode_image(&wide).unwrap();
        // APP1 "Exif\0\0", big-endian TIFF, one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
        let mut app1 = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec();
        let len = (app1.len() + 2) as u16;
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&len.to_be_bytes());
        segment.append(&mut app1);
        jpeg.splice(2..2, segment);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sideways.jpg"), &jpeg).unwrap();
        let img = ImageDir::decode(&dir.path().join("sideways.jpg")).unwrap();
        assert_eq!(img.dimensions(), (32, 64), "rotated upright");
        // rotating 90° clockwise puts the left (red) half on top
        assert!(img.get_pixel(16, 8).0[0] > 200 && img.get_pixel(16, 56).0[0] < 60);
    }

    #[test]
    fn image_dir_reads_in_name_order_at_fps() {
        let dir = tempfile::tempdir().unwrap();
        for (name, shade) in [("b.png", 20u8), ("a.jpg", 10), ("c.txt", 0)] {
            let img = RgbImage::from_pixel(80, 60, image::Rgb([shade; 3]));
            if name.ends_with(".txt") {
                std::fs::write(dir.path().join(name), "not an image").unwrap();
            } else {
                img.save(dir.path().join(name)).unwrap();
            }
        }
        let mut src = ImageDir::new(dir.path(), 10.0);
        assert!(matches!(src.next_frame(), Err(SourceError::NotOpen)));
        src.open().unwrap();
        let a = src.next_frame().unwrap().unwrap();
        let b = src.next_frame().unwrap().unwrap();
        assert!(src.next_frame().unwrap().is_none());
        assert_eq!((a.t_ms, b.t_ms), (0, 100));
        assert_eq!(b.image.get_pixel(0, 0).0, [20; 3]);
        src.close();
        assert!(matches!(src.next_frame(), Err(SourceError::NotOpen)));
    }

    #[test]
    fn y4m_file_frames_carry_their_times() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.y4m");
        let mut bytes = b"YUV4MPEG2 W4 H4 F15:1 C420jpeg\n".to_vec();
        for _ in 0..3 {
            bytes.extend_from_slice(b"FRAME\n");
            bytes.extend_from_slice(&[128; 24]);
        }
        std::fs::write(&path, bytes).unwrap();
        let mut src = VideoFile::y4m(&path);
        src.open().unwrap();
        let times: Vec<u64> = std::iter::from_fn(|| src.next_frame().unwrap()).map(|f| f.t_ms).collect();
        assert_eq!(times, vec![0, 66, 133]);
        src.close();
        assert!(matches!(src.next_frame(), Err(SourceError::NotOpen)));
    }
}
