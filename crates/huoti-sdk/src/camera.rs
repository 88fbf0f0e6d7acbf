//! A real camera through `nokhwa` (feature `camera`).
//!
//! The camera is owned by a dedicated thread (nokhwa's camera handles are not `Send` on every
//! backend): [`open`](FrameSource::open) starts it and waits until the stream runs or fails;
//! [`close`](FrameSource::close) stops the stream and **joins the thread**, so when `close`
//! returns the device is released (policy C2).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::source::{Frame, FrameSource, SourceError, Timing};

/// A camera by index (0 = the system's first camera; on phones and laptops the front one).
pub struct Camera {
    index: u32,
    running: Option<Running>,
}

struct Running {
    frames: Receiver<Result<Frame, String>>,
    stop: SyncSender<()>,
    thread: JoinHandle<()>,
}

impl Camera {
    /// The camera with this index.
    pub fn new(index: u32) -> Camera {
        Camera { index, running: None }
    }
}

fn capture_thread(index: u32, opened: SyncSender<Result<(), String>>, frames: SyncSender<Result<Frame, String>>, stop: Receiver<()>) {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};
    let requested = RequestedFormat::new::<RgbFormat>(RequestedFormatType::AbsoluteHighestFrameRate);
    let mut camera = match nokhwa::Camera::new(CameraIndex::Index(index), requested) {
        Ok(c) => c,
        Err(e) => {
            let _ = opened.send(Err(e.to_string()));
            return;
        }
    };
    if let Err(e) = camera.open_stream() {
        let _ = opened.send(Err(e.to_string()));
        return;
    }
    let _ = opened.send(Ok(()));
    let start = Instant::now();
    loop {
        if stop.try_recv().is_ok() {
            break;
        }
        let frame = camera.frame().map_err(|e| e.to_string()).and_then(|buf| decode(&buf)).map(|image| Frame { t_ms: start.elapsed().as_millis() as u64, image });
        let failed = frame.is_err();
        // Blocks while the driver is busy; a stop request ends the wait via disconnect.
        if frames.send(frame).is_err() || failed {
            break;
        }
    }
    let _ = camera.stop_stream();
    drop(camera); // the device is released here, before the thread ends
}

/// RGB pixels of a camera buffer: MJPEG through `image` (pure Rust), the raw formats (YUYV,
/// NV12, RGB, grey) through nokhwa's own decoders.
fn decode(buf: &nokhwa::Buffer) -> Result<image::RgbImage, String> {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::FrameFormat;
    if buf.source_frame_format() == FrameFormat::MJPEG {
        return image::load_from_memory_with_format(buf.buffer(), image::ImageFormat::Jpeg).map(|i| i.to_rgb8()).map_err(|e| e.to_string());
    }
    let img = buf.decode_image::<RgbFormat>().map_err(|e| e.to_string())?;
    let (w, h) = (img.width(), img.height());
    image::RgbImage::from_raw(w, h, img.into_raw()).ok_or_else(|| "bad frame buffer".to_owned())
}

impl FrameSource for Camera {
    fn open(&mut self) -> Result<(), SourceError> {
        self.close();
        let (opened_tx, opened_rx) = sync_channel(1);
        let (frames_tx, frames_rx) = sync_channel(1);
        let (stop_tx, stop_rx) = sync_channel(1);
        let index = self.index;
        let thread = std::thread::Builder::new()
            .name("huoti-camera".into())
            .spawn(move || capture_thread(index, opened_tx, frames_tx, stop_rx))
            .map_err(|e| SourceError::Camera(e.to_string()))?;
        let opened = opened_rx.recv_timeout(Duration::from_secs(10));
        self.running = Some(Running { frames: frames_rx, stop: stop_tx, thread });
        match opened {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.close();
                Err(SourceError::Camera(e))
            }
            Err(_) => {
                self.close();
                Err(SourceError::Camera("the camera did not start within 10 s".into()))
            }
        }
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let running = self.running.as_ref().ok_or(SourceError::NotOpen)?;
        match running.frames.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(frame)) => Ok(Some(frame)),
            Ok(Err(e)) => Err(SourceError::Camera(e)),
            Err(_) => Err(SourceError::Camera("no frame from the camera for 5 s".into())),
        }
    }

    fn close(&mut self) {
        if let Some(Running { frames, stop, thread }) = self.running.take() {
            let _ = stop.try_send(());
            drop(frames); // unblocks a pending send in the capture thread
            let _ = thread.join();
        }
    }

    fn timing(&self) -> Timing {
        Timing::Live
    }

    fn describe(&self) -> String {
        format!("camera {}", self.index)
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.close();
    }
}
