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

/// A clock whose `sleep` only moves time on: a recording "plays back in real time" at once.
#[derive(Debug, Default)]
pub struct FastClock(Mutex<std::time::Duration>);

impl huoti_sdk::Clock for FastClock {
    fn now(&self) -> std::time::Duration {
        *self.0.lock().unwrap()
    }
    fn sleep(&self, d: std::time::Duration) {
        *self.0.lock().unwrap() += d;
    }
}

/// The JPEG's frame size (width, height) from its SOF header.
pub fn jpeg_size(jpeg: &[u8]) -> Option<(u32, u32)> {
    segments(jpeg).find(|(marker, _)| matches!(marker, 0xC0..=0xC3)).and_then(|(_, body)| {
        let b = body.get(1..5)?;
        Some((u32::from(u16::from_be_bytes([b[2], b[3]])), u32::from(u16::from_be_bytes([b[0], b[1]]))))
    })
}

/// The IJG quality (1–100) whose scaled standard luminance table (ITU T.81 Annex K, the table
/// libjpeg, browsers and the `image` crate scale) is the JPEG's first quantisation table;
/// `None` when no quality gives exactly that table.
pub fn jpeg_quality(jpeg: &[u8]) -> Option<u8> {
    const LUMA: [u32; 64] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22,
        37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];
    let (_, dqt) = segments(jpeg).find(|(marker, body)| *marker == 0xDB && body.first() == Some(&0))?;
    // Compared as multisets: the file holds the table in zigzag order.
    let mut stored: Vec<u32> = dqt.get(1..65)?.iter().map(|&v| u32::from(v)).collect();
    stored.sort_unstable();
    (1..=100u32).find_map(|q| {
        let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
        let mut table: Vec<u32> = LUMA.iter().map(|v| ((v * scale + 50) / 100).clamp(1, 255)).collect();
        table.sort_unstable();
        (table == stored).then_some(q as u8)
    })
}

/// The marker segments before the scan: (marker, body without the length).
fn segments(jpeg: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut at = 2; // after SOI
    std::iter::from_fn(move || {
        let header = jpeg.get(at..at + 4)?;
        if header[0] != 0xFF || header[1] == 0xDA {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let body = jpeg.get(at + 4..at + 2 + len)?;
        at += 2 + len;
        Some((header[1], body))
    })
}
