//! A small, strict YUV4MPEG2 reader.

use std::io::{BufRead, BufReader, Read};

use crate::{Frame, MediaError};

/// Largest frame accepted (pixels), so a hostile header can't make us allocate gigabytes.
const MAX_PIXELS: u64 = 8192 * 8192;
const MAX_HEADER: usize = 1024;

/// Chroma layout of a Y4M stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// 4:2:0 (all siting variants are read the same way).
    C420,
    /// 4:2:2.
    C422,
    /// 4:4:4.
    C444,
    /// Luma only.
    Mono,
}

/// The stream header.
#[derive(Debug, Clone, PartialEq)]
pub struct Y4mHeader {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rate numerator.
    pub fps_num: u32,
    /// Frame rate denominator.
    pub fps_den: u32,
    /// Chroma layout.
    pub chroma: Chroma,
    /// True when the stream declares full-range (JPEG) levels.
    pub full_range: bool,
}

impl Y4mHeader {
    fn parse(line: &str) -> Result<Self, MediaError> {
        let mut fields = line.split_ascii_whitespace();
        if fields.next() != Some("YUV4MPEG2") {
            return Err(MediaError::BadY4m("missing YUV4MPEG2 signature".into()));
        }
        let (mut width, mut height) = (None, None);
        let (mut fps_num, mut fps_den) = (25, 1);
        let mut chroma = Chroma::C420;
        let mut full_range = false;
        for field in fields {
            // A field is a one-letter tag and its value. Split after the first *character*:
            // the bytes are outside data, and a multi-byte first character must not panic.
            let mut chars = field.chars();
            let Some(tag) = chars.next() else { continue };
            let value = chars.as_str();
            match tag {
                'W' => width = value.parse().ok(),
                'H' => height = value.parse().ok(),
                'F' => {
                    let (n, d) = value
                        .split_once(':')
                        .ok_or_else(|| MediaError::BadY4m(format!("bad frame rate {value}")))?;
                    fps_num = n.parse().map_err(|_| MediaError::BadY4m(format!("bad frame rate {value}")))?;
                    fps_den = d.parse().map_err(|_| MediaError::BadY4m(format!("bad frame rate {value}")))?;
                }
                'C' => {
                    // 8-bit layouts only: "420p10", "444alpha" and friends are refused.
                    chroma = match value {
                        "420" | "420jpeg" | "420paldv" | "420mpeg2" => Chroma::C420,
                        "422" => Chroma::C422,
                        "444" => Chroma::C444,
                        "mono" => Chroma::Mono,
                        _ => {
                            return Err(MediaError::BadY4m(format!("unsupported colour space C{value} (8-bit only)")));
                        }
                    }
                }
                'X' if value == "COLORRANGE=FULL" => full_range = true,
                _ => {}
            }
        }
        let (width, height) = match (width, height) {
            (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
            _ => return Err(MediaError::BadY4m("missing or zero width/height".into())),
        };
        if u64::from(width) * u64::from(height) > MAX_PIXELS {
            return Err(MediaError::BadY4m(format!("{width}x{height} exceeds the frame size limit")));
        }
        if fps_num == 0 || fps_den == 0 {
            return Err(MediaError::BadY4m("zero frame rate".into()));
        }
        Ok(Y4mHeader { width, height, fps_num, fps_den, chroma, full_range })
    }

    fn chroma_size(&self) -> (usize, usize) {
        let (w, h) = (self.width as usize, self.height as usize);
        match self.chroma {
            Chroma::C420 => (w.div_ceil(2), h.div_ceil(2)),
            Chroma::C422 => (w.div_ceil(2), h),
            Chroma::C444 => (w, h),
            Chroma::Mono => (0, 0),
        }
    }

    fn frame_bytes(&self) -> usize {
        let (cw, ch) = self.chroma_size();
        self.width as usize * self.height as usize + 2 * cw * ch
    }
}

/// Reads frames from a Y4M byte stream.
pub struct Y4mReader<R> {
    reader: BufReader<R>,
    header: Y4mHeader,
    next_index: u32,
    buf: Vec<u8>,
    done: bool,
}

impl<R: Read> Y4mReader<R> {
    /// Reads the stream header.
    pub fn new(inner: R) -> Result<Self, MediaError> {
        let mut reader = BufReader::new(inner);
        let line = read_line(&mut reader)?.ok_or_else(|| MediaError::BadY4m("empty stream".into()))?;
        let header = Y4mHeader::parse(&line)?;
        let buf = vec![0; header.frame_bytes()];
        Ok(Y4mReader { reader, header, next_index: 0, buf, done: false })
    }

    /// The stream header.
    pub fn header(&self) -> &Y4mHeader {
        &self.header
    }

    fn read_frame(&mut self) -> Result<Option<Frame>, MediaError> {
        let Some(line) = read_line(&mut self.reader)? else { return Ok(None) };
        if !line.starts_with("FRAME") {
            return Err(MediaError::BadY4m(format!("expected FRAME, found {:?}", truncate(&line))));
        }
        let index = self.next_index;
        self.reader.read_exact(&mut self.buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => MediaError::TruncatedFrame(index),
            _ => MediaError::Read(e),
        })?;
        self.next_index = index.checked_add(1).ok_or_else(|| MediaError::BadY4m("more than 2^32 frames".into()))?;
        let t_ms = frame_time_ms(index, self.header.fps_num, self.header.fps_den);
        Ok(Some(Frame { index, t_ms, image: to_rgb(&self.header, &self.buf) }))
    }
}

impl<R: Read> Iterator for Y4mReader<R> {
    type Item = Result<Frame, MediaError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read_frame().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

/// At most the first 16 characters of `s` (for an error message), cut on a character
/// boundary.
fn truncate(s: &str) -> &str {
    let end = s.char_indices().nth(16).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// The presentation time of frame `index` at `fps_num / fps_den` frames per second, in ms.
/// Computed in 128 bits: the rate comes from the header, and `index × 1000 × fps_den` does
/// not fit 64 bits for a hostile `F1:4294967295`; a time past `u64::MAX` saturates.
fn frame_time_ms(index: u32, fps_num: u32, fps_den: u32) -> u64 {
    let t = u128::from(index) * 1000 * u128::from(fps_den) / u128::from(fps_num.max(1));
    u64::try_from(t).unwrap_or(u64::MAX)
}

/// Reads one `\n`-terminated ASCII line of at most MAX_HEADER bytes; `None` at a clean EOF.
fn read_line<R: Read>(reader: &mut BufReader<R>) -> Result<Option<String>, MediaError> {
    let mut line = Vec::new();
    let n = reader.by_ref().take(MAX_HEADER as u64).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(MediaError::BadY4m("header line too long or unterminated".into()));
    }
    line.pop();
    String::from_utf8(line).map(Some).map_err(|_| MediaError::BadY4m("header is not ASCII".into()))
}

/// BT.601 YCbCr → RGB, the matrix ffmpeg and browsers use for SD webcam video.
fn to_rgb(h: &Y4mHeader, data: &[u8]) -> image::RgbImage {
    let (w, hgt) = (h.width as usize, h.height as usize);
    let (cw, ch) = h.chroma_size();
    let (y_plane, rest) = data.split_at(w * hgt);
    let (u_plane, v_plane) = rest.split_at(cw * ch);
    let mut out = image::RgbImage::new(h.width, h.height);
    let (sx, sy) = match h.chroma {
        Chroma::C420 => (2, 2),
        Chroma::C422 => (2, 1),
        Chroma::C444 | Chroma::Mono => (1, 1),
    };
    for (i, px) in out.pixels_mut().enumerate() {
        let (x, y) = (i % w, i / w);
        let luma = f32::from(y_plane[i]);
        let (cb, cr) = if h.chroma == Chroma::Mono {
            (0.0, 0.0)
        } else {
            let ci = (y / sy) * cw + x / sx;
            (f32::from(u_plane[ci]) - 128.0, f32::from(v_plane[ci]) - 128.0)
        };
        let (yy, k) = if h.full_range { (luma, 1.0) } else { (1.164 * (luma - 16.0), 255.0 / 224.0) };
        let r = yy + 1.402 * k * cr;
        let g = yy - 0.344_136 * k * cb - 0.714_136 * k * cr;
        let b = yy + 1.772 * k * cb;
        px.0 = [clamp(r), clamp(g), clamp(b)];
    }
    out
}

fn clamp(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(header: &str, frames: usize, frame_bytes: usize, value: u8) -> Vec<u8> {
        let mut bytes = format!("{header}\n").into_bytes();
        for _ in 0..frames {
            bytes.extend_from_slice(b"FRAME\n");
            bytes.extend(std::iter::repeat_n(value, frame_bytes));
        }
        bytes
    }

    #[test]
    fn reads_420_frames_with_times() {
        let bytes = clip("YUV4MPEG2 W4 H2 F15:1 Ip A1:1 C420jpeg XYSCSS=420JPEG", 3, 8 + 2 * 2, 128);
        let reader = Y4mReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.header().width, 4);
        let frames: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames.iter().map(|f| f.t_ms).collect::<Vec<_>>(), vec![0, 66, 133]);
        // Y=128 limited range, neutral chroma → mid grey
        let p = frames[0].image.get_pixel(0, 0).0;
        assert!(p.iter().all(|&c| (128..=132).contains(&c)), "{p:?}");
    }

    #[test]
    fn colours_convert_like_bt601() {
        // limited-range pure red is Y=81 Cb=90 Cr=240
        let mut bytes = b"YUV4MPEG2 W2 H2 F30:1 C420\nFRAME\n".to_vec();
        bytes.extend_from_slice(&[81, 81, 81, 81, 90, 240]);
        let f = Y4mReader::new(&bytes[..]).unwrap().next().unwrap().unwrap();
        let [r, g, b] = f.image.get_pixel(1, 1).0;
        assert!(r > 250 && g < 5 && b < 5, "{r} {g} {b}");
    }

    #[test]
    fn truncated_frame_is_an_error_not_a_panic() {
        let mut bytes = clip("YUV4MPEG2 W4 H4 F30:1 C420jpeg", 1, 16 + 8, 100);
        bytes.truncate(bytes.len() - 5);
        let mut r = Y4mReader::new(&bytes[..]).unwrap();
        assert!(matches!(r.next(), Some(Err(MediaError::TruncatedFrame(0)))));
        assert!(r.next().is_none());
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        for bad in [
            &b""[..],
            b"GIF89a....",
            b"YUV4MPEG2 W0 H2 F30:1\n",
            b"YUV4MPEG2 W100000 H100000 F30:1\n",
            b"YUV4MPEG2 W2 H2 F30:0\n",
            b"YUV4MPEG2 W2 H2 C420p10\n",
        ] {
            assert!(matches!(Y4mReader::new(bad), Err(MediaError::BadY4m(_))), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn hostile_headers_are_typed_errors_never_panics() {
        // Regressions: a multi-byte first character in a header field (split_at(1) panicked),
        // a multi-byte character at the 16-byte cut of an error message, and a frame rate whose
        // time arithmetic overflowed 64 bits.
        let unknown_tag = Y4mReader::new("YUV4MPEG2 W2 H2 éx\n".as_bytes()).expect("an unknown tag is ignored");
        assert_eq!(unknown_tag.count(), 0);
        for bad in ["YUV4MPEG2 W\u{e9} H2\n", "YUV4MPEG2 W2 H2 F\u{4e00}:1\n", "YUV4MPEG2 W2 H2 C\u{4e00}\n"] {
            assert!(matches!(Y4mReader::new(bad.as_bytes()), Err(MediaError::BadY4m(_))), "{bad:?}");
        }
        let mut bytes = "YUV4MPEG2 W2 H2 F30:1 C420\nNOTAFRAMExxxxxxé tail\n".as_bytes().to_vec();
        bytes.extend_from_slice(&[0; 6]);
        assert!(matches!(Y4mReader::new(&bytes[..]).unwrap().next(), Some(Err(MediaError::BadY4m(_)))));
        let mut bytes = b"YUV4MPEG2 W2 H2 F1:4294967295 C420\n".to_vec();
        for _ in 0..3 {
            bytes.extend_from_slice(b"FRAME\n");
            bytes.extend_from_slice(&[128; 6]);
        }
        let times: Vec<u64> = Y4mReader::new(&bytes[..]).unwrap().map(|f| f.unwrap().t_ms).collect();
        assert_eq!(times, vec![0, 4_294_967_295_000, 8_589_934_590_000]);
        assert_eq!(frame_time_ms(u32::MAX, 1, u32::MAX), u64::MAX, "saturates instead of overflowing");
        assert_eq!(truncate("αβγδεζηθικλμνξοπρστ"), "αβγδεζηθικλμνξοπ");
    }

    #[test]
    fn other_chroma_layouts() {
        for (c, chroma_bytes) in [("C444", 2 * 4), ("C422", 2 * 2), ("Cmono", 0)] {
            let bytes = clip(&format!("YUV4MPEG2 W2 H2 F30:1 {c}"), 2, 4 + chroma_bytes, 128);
            let frames: Vec<_> = Y4mReader::new(&bytes[..]).unwrap().collect::<Result<_, _>>().unwrap();
            assert_eq!(frames.len(), 2, "{c}");
        }
    }
}
