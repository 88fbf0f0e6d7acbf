//! Test helpers: an instrumented frame source that counts every call.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use huoti_sdk::{Frame, FrameSource, SourceError, Timing};

/// What an [`Instrumented`] source saw.
#[derive(Debug, Default)]
pub struct Calls {
    pub opens: AtomicU32,
    pub closes: AtomicU32,
    pub reads: AtomicU32,
    /// Reads attempted while closed (must stay 0: nothing is read after the end, C2).
    pub reads_while_closed: AtomicU32,
    pub open: AtomicBool,
}

impl Calls {
    pub fn opens(&self) -> u32 {
        self.opens.load(Ordering::SeqCst)
    }
    pub fn closes(&self) -> u32 {
        self.closes.load(Ordering::SeqCst)
    }
    pub fn reads(&self) -> u32 {
        self.reads.load(Ordering::SeqCst)
    }
    /// Opened once, closed once, never read while closed, and closed now.
    pub fn assert_released(&self) {
        assert_eq!(self.opens(), 1, "opened once");
        assert_eq!(self.closes(), 1, "closed exactly once");
        assert_eq!(self.reads_while_closed.load(Ordering::SeqCst), 0, "no frame read after the end");
        assert!(!self.open.load(Ordering::SeqCst), "released");
    }
}

type Hook = Box<dyn FnMut(u32) + Send>;

/// A source of `frames` frames `interval_ms` apart (recorded timing), made of `image`,
/// counting every call; `on_read(n)` runs before frame `n` is returned.
pub struct Instrumented {
    pub calls: Arc<Calls>,
    frames: u32,
    interval_ms: u64,
    image: image::RgbImage,
    next: u32,
    on_read: Option<Hook>,
    pub fail_open: bool,
    /// Report [`Timing::Live`] (a camera) instead of a recording.
    pub live: bool,
}

impl Instrumented {
    pub fn new(frames: u32, interval_ms: u64, image: image::RgbImage) -> Instrumented {
        Instrumented { calls: Arc::default(), frames, interval_ms, image, next: 0, on_read: None, fail_open: false, live: false }
    }
    pub fn grey(frames: u32) -> Instrumented {
        Instrumented::new(frames, 66, image::RgbImage::from_pixel(96, 96, image::Rgb([128, 128, 128])))
    }
    pub fn on_read(mut self, f: impl FnMut(u32) + Send + 'static) -> Instrumented {
        self.on_read = Some(Box::new(f));
        self
    }
}

impl FrameSource for Instrumented {
    fn open(&mut self) -> Result<(), SourceError> {
        self.calls.opens.fetch_add(1, Ordering::SeqCst);
        self.calls.open.store(true, Ordering::SeqCst);
        if self.fail_open { Err(SourceError::Camera("device busy".into())) } else { Ok(()) }
    }
    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        if !self.calls.open.load(Ordering::SeqCst) {
            self.calls.reads_while_closed.fetch_add(1, Ordering::SeqCst);
            return Err(SourceError::NotOpen);
        }
        self.calls.reads.fetch_add(1, Ordering::SeqCst);
        if self.next >= self.frames {
            return Ok(None);
        }
        let n = self.next;
        self.next += 1;
        if let Some(hook) = &mut self.on_read {
            hook(n);
        }
        Ok(Some(Frame { t_ms: u64::from(n) * self.interval_ms, image: self.image.clone() }))
    }
    fn close(&mut self) {
        self.calls.closes.fetch_add(1, Ordering::SeqCst);
        self.calls.open.store(false, Ordering::SeqCst);
    }
    fn timing(&self) -> Timing {
        if self.live { Timing::Live } else { Timing::Recorded }
    }
    fn describe(&self) -> String {
        "instrumented".into()
    }
}

/// A shared log of events, for ordering assertions.
pub type Log = Arc<Mutex<Vec<String>>>;
