//! Scoring presentations with the vision engine (passive) or whole sessions (session mode).
//!
//! - **Passive** (`Mode::Passive`): an image's score is the passive anti-spoof
//!   `real_probability` of its main (largest) face; an image without a face scores **0** and
//!   is counted (a bona fide image without a detected face is a rejection, an attack without
//!   one is correctly rejected) and marked `no_face`. A clip is sampled at `fps`, the face
//!   followed with the [`Tracker`](huoti_vision::Tracker), each sampled frame with exactly one
//!   face scored, and the clip's score is the **median** of those; a clip with no such frame
//!   scores 0 (`no_face`).
//! - **Session** (`Mode::Session`): a clip with a fixed challenge (from the manifest's
//!   `challenge`/`start`/`duration` columns, or `--challenge`) is decoded at `session_fps`
//!   from `start`, run through [`huoti_engine::SessionRun`] against a reduced-flash
//!   [`ChallengePlan::fixed`](huoti_liveness::ChallengePlan::fixed) (a recording cannot follow
//!   colour flashes), and scores `verdict.score / 100`. An image is presented as a perfectly
//!   still clip lasting the session (a photo held still, or a still injected as a virtual
//!   camera). Presentations without a challenge are skipped in this mode.
//!
//! With a capture profile (`RunOptions::capture`, `huoti eval --capture`), every image is
//! first made what a client following the server's profile would send: scaled down to its
//! width and JPEG-encoded at its quality; in session mode, the clip's frames are also thinned
//! to the profile's rate for each part of the plan (issue 15: the same decisions with less
//! data?).
//!
//! A file that cannot be analysed (corrupt image, unreadable video) gets no score: it is
//! listed as an error and left out of the figures.

use std::path::Path;

use huoti_engine::SessionRun;
use huoti_liveness::{CaptureConfig, CaptureProfile, ChallengePlan, SeenFrames, StepEvidence, Thresholds};
use huoti_media::{open_video, FfmpegOptions, MediaError};
use huoti_vision::{Analyzer, TrackerConfig, VisionError};
use image::RgbImage;
use serde::Serialize;

use crate::dataset::{Dataset, Label, Media, Presentation, SessionSpec, Skipped};

/// Nonce bound to the fixed-challenge sessions of an evaluation.
pub const EVAL_NONCE: &str = "e7a1";

/// What is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Passive anti-spoof score per image / clip.
    Passive,
    /// Whole liveness sessions with a fixed challenge, per clip.
    Session,
}

/// How to score.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Passive or session.
    pub mode: Mode,
    /// Frames per second sampled from clips in passive mode (default 5).
    pub fps: f64,
    /// Frames per second decoded from clips in session mode (default 15, a typical upload
    /// rate).
    pub session_fps: f64,
    /// The challenge for clips whose manifest line gives none (session mode).
    pub default_challenge: Option<SessionSpec>,
    /// Present what a client following this capture profile sends (see the module docs).
    pub capture: Option<CaptureConfig>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { mode: Mode::Passive, fps: 5.0, session_fps: 15.0, default_challenge: None, capture: None }
    }
}

/// How a presentation came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Scored.
    Scored,
    /// No (single) face found: scored 0 and counted.
    NoFace,
    /// Could not be analysed: not counted.
    Error,
}

/// Session details in session mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    /// live / spoof / uncertain.
    pub decision: String,
    /// 0–100.
    pub score: u8,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Frames in the session.
    pub frames: usize,
    /// Per step of the challenge: what it was measured on, the person's resting value, the
    /// departure needed and the largest one seen (the calibration data of the action checks).
    pub steps: Vec<StepEvidence>,
    /// Per step: when the movement started against the step's window start (its prompt, in a
    /// production session; here the window is laid over the recording), issue 17's reaction
    /// timing. Reported, not judged: a fixed plan's actions react to no prompt.
    pub reactions: Vec<huoti_liveness::Reaction>,
}

/// One presentation's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// The file as listed.
    pub name: String,
    /// Ground truth.
    pub label: String,
    /// Image or video.
    pub media: Media,
    /// Manifest line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 0–1, higher = more bona fide; `None` on error.
    pub score: Option<f64>,
    /// Outcome.
    pub status: Status,
    /// Faces detected (images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faces: Option<usize>,
    /// Frames analysed (clips).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<usize>,
    /// Frames with exactly one face, scored (passive clips).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames_scored: Option<usize>,
    /// The verdict (session mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionSummary>,
    /// What went wrong (errors) or a note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Scored {
    fn new(p: &Presentation) -> Scored {
        Scored {
            name: p.name.clone(),
            label: p.label.name().to_owned(),
            media: p.media,
            line: p.line,
            score: None,
            status: Status::Error,
            faces: None,
            frames: None,
            frames_scored: None,
            session: None,
            message: None,
        }
    }

    /// True for bona fide presentations.
    pub fn is_bona_fide(&self) -> bool {
        self.label == crate::dataset::BONA_FIDE
    }
}

/// Why a presentation is not run in this mode (`None`: it is).
pub fn not_applicable(p: &Presentation, options: &RunOptions) -> Option<String> {
    match options.mode {
        Mode::Passive => None,
        Mode::Session if p.session.is_none() && options.default_challenge.is_none() => {
            Some("no challenge for session mode (manifest column `challenge`, or --challenge)".into())
        }
        Mode::Session => None,
    }
}

/// Splits a dataset into what runs in this mode and what is skipped (appended to the
/// dataset's own skipped list).
pub fn plan(dataset: &Dataset, options: &RunOptions) -> (Vec<Presentation>, Vec<Skipped>) {
    let mut skipped = dataset.skipped.clone();
    let mut run = Vec::new();
    for p in &dataset.presentations {
        match not_applicable(p, options) {
            Some(why) => skipped.push(Skipped { name: p.name.clone(), why }),
            None => run.push(p.clone()),
        }
    }
    (run, skipped)
}

/// Scores one presentation. Never fails: problems become [`Status::Error`] with a message.
pub fn score(analyzer: &Analyzer, p: &Presentation, options: &RunOptions) -> Scored {
    let mut out = Scored::new(p);
    let result = match (options.mode, p.media) {
        (Mode::Passive, Media::Image) => passive_image(analyzer, &p.path, options.capture.as_ref(), &mut out),
        (Mode::Passive, Media::Video) => passive_video(analyzer, &p.path, options.fps, options.capture.as_ref(), &mut out),
        (Mode::Session, _) => match p.session.as_ref().or(options.default_challenge.as_ref()) {
            Some(spec) => session(analyzer, p, spec, (options.session_fps, options.capture.as_ref()), &mut out),
            None => Err("no challenge for session mode".into()),
        },
    };
    if let Err(message) = result {
        out.status = Status::Error;
        out.score = None;
        out.message = Some(message);
    }
    out
}

fn vision(e: VisionError) -> String {
    e.to_string()
}

fn media(e: MediaError) -> String {
    e.to_string()
}

/// `image` as a client following `capture` would send it: scaled down to its width (never
/// up), JPEG-encoded at its quality with 4:2:0 chroma (the Rust SDK's encoder, as browsers
/// encode), and decoded again.
pub fn recapture(image: &RgbImage, capture: &CaptureConfig) -> Result<RgbImage, String> {
    let image = huoti_media::scale_to_width(image.clone(), capture.width);
    let jpeg = huoti_media::encode_jpeg_420(&image, capture.jpeg_quality).map_err(media)?;
    Ok(image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).map_err(|e| format!("JPEG decoding: {e}"))?.to_rgb8())
}

fn passive_image(analyzer: &Analyzer, path: &Path, capture: Option<&CaptureConfig>, out: &mut Scored) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let a = match capture {
        None => analyzer.analyze_bytes(&bytes).map_err(vision)?,
        Some(c) => {
            let image = huoti_vision::decode_image(&bytes, &analyzer.config().decode).map_err(vision)?;
            analyzer.analyze(&recapture(&image, c)?).map_err(vision)?
        }
    };
    out.faces = Some(a.faces.len());
    match &a.main {
        Some(main) => {
            out.score = Some(f64::from(main.passive.real_probability));
            out.status = Status::Scored;
            if a.faces.len() > 1 {
                out.message = Some(format!("{} faces: the largest was scored", a.faces.len()));
            }
        }
        None => {
            out.score = Some(0.0);
            out.status = Status::NoFace;
            out.message = Some("no face detected: scored 0".into());
        }
    }
    Ok(())
}

fn passive_video(analyzer: &Analyzer, path: &Path, fps: f64, capture: Option<&CaptureConfig>, out: &mut Scored) -> Result<(), String> {
    let options = FfmpegOptions { fps: Some(fps), ..FfmpegOptions::default() };
    let frames = open_video(path, &options).map_err(media)?;
    let mut tracker = analyzer.tracker(TrackerConfig::default());
    let mut reals = Vec::new();
    let mut n = 0usize;
    for frame in frames {
        let frame = frame.map_err(media)?;
        n += 1;
        let image = match capture {
            Some(c) => recapture(&frame.image, c)?,
            None => frame.image,
        };
        let a = tracker.step(&image).map_err(vision)?;
        if let (Some(bbox), 1) = (a.face_box, a.faces) {
            reals.push(f64::from(analyzer.passive(&image, &bbox).map_err(vision)?.real_probability));
        }
    }
    if n == 0 {
        return Err(format!("{}: no video frames could be read", path.display()));
    }
    out.frames = Some(n);
    out.frames_scored = Some(reals.len());
    match median(&mut reals) {
        Some(m) => {
            out.score = Some(m);
            out.status = Status::Scored;
        }
        None => {
            out.score = Some(0.0);
            out.status = Status::NoFace;
            out.message = Some("no frame with exactly one face: scored 0".into());
        }
    }
    Ok(())
}

/// Feeds a session's camera frames as a client does: all of them, or — following a capture
/// profile — only those it picks, each as the client would encode it.
struct Sender {
    profile: Option<(huoti_api::CaptureProfile, CaptureConfig)>,
    last_sent: Option<u64>,
    seq: u32,
}

impl Sender {
    fn new(plan: &ChallengePlan, capture: Option<&CaptureConfig>, th: &Thresholds) -> Result<Sender, String> {
        let profile = match capture {
            None => None,
            // The wire form carries the rule clients follow (`wants`); the two share their JSON.
            Some(c) => Some((
                serde_json::to_value(CaptureProfile::for_plan(plan, c, th))
                    .and_then(serde_json::from_value)
                    .map_err(|e| format!("capture profile: {e}"))?,
                c.clone(),
            )),
        };
        Ok(Sender { profile, last_sent: None, seq: 0 })
    }

    fn send(&mut self, run: &mut SessionRun<'_>, t_ms: u64, image: &RgbImage) -> Result<(), String> {
        let recaptured;
        let image = match &self.profile {
            None => image,
            Some((profile, config)) => {
                if !profile.wants(t_ms, self.last_sent) {
                    return Ok(());
                }
                recaptured = recapture(image, config)?;
                &recaptured
            }
        };
        run.push_frame(self.seq, t_ms, image).map_err(|e| e.to_string())?;
        self.last_sent = Some(t_ms);
        self.seq += 1;
        Ok(())
    }
}

/// The median (mean of the two middle values for an even count); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

fn session(
    analyzer: &Analyzer,
    p: &Presentation,
    spec: &SessionSpec,
    (fps, capture): (f64, Option<&CaptureConfig>),
    out: &mut Scored,
) -> Result<(), String> {
    let plan = ChallengePlan::fixed(EVAL_NONCE, spec.steps.clone(), Vec::new()).map_err(|e| format!("challenge: {e}"))?;
    // Without a duration, play the plan and one second more.
    let duration_s = spec.duration_s.unwrap_or((plan.total_ms + 1000) as f64 / 1000.0);
    let fps = if fps.is_finite() && fps > 0.0 { fps } else { 15.0 };
    let thresholds = Thresholds::default();
    let mut run = SessionRun::new(analyzer, plan.clone()).with_thresholds(thresholds.clone());
    let mut sender = Sender::new(&plan, capture, &thresholds)?;
    match p.media {
        Media::Video => {
            let start_ms = spec.start_s.map_or(0, |s| (s * 1000.0).round() as u64);
            let options =
                FfmpegOptions { start_s: spec.start_s, duration_s: Some(duration_s), fps: Some(fps), ..FfmpegOptions::default() };
            for frame in open_video(&p.path, &options).map_err(media)? {
                let frame = frame.map_err(media)?;
                sender.send(&mut run, frame.t_ms.saturating_sub(start_ms), &frame.image)?;
            }
        }
        Media::Image => {
            // A perfectly still presentation: a photo held still, or a still injected as a
            // virtual camera, for the whole session.
            let bytes = std::fs::read(&p.path).map_err(|e| format!("{}: {e}", p.path.display()))?;
            let image = huoti_vision::decode_image(&bytes, &analyzer.config().decode).map_err(vision)?;
            let n = (duration_s * fps).floor().max(1.0) as u32;
            for i in 0..n {
                sender.send(&mut run, (f64::from(i) * 1000.0 / fps).round() as u64, &image)?;
            }
        }
    }
    let seq = sender.seq;
    if seq == 0 {
        return Err(format!("{}: no video frames in the session window", p.path.display()));
    }
    let (verdict, observations) = run.finish_with_observations(&SeenFrames::new(), Vec::new()).map_err(|e| e.to_string())?;
    out.frames = Some(seq as usize);
    out.score = Some(f64::from(verdict.score) / 100.0);
    out.status = Status::Scored;
    out.session = Some(SessionSummary {
        decision: verdict.decision.as_str().to_owned(),
        score: verdict.score,
        reasons: verdict.reasons.iter().map(|r| r.code.as_str().to_owned()).collect(),
        frames: seq as usize,
        steps: huoti_liveness::step_evidence(&plan, &observations, &thresholds),
        reactions: huoti_liveness::reactions(&plan, &observations, &thresholds),
    });
    Ok(())
}

/// The scores as a [`ScoreSet`](crate::metrics::ScoreSet): errors left out, every species of
/// the dataset declared (so an empty one shows as n/a).
pub fn score_set(results: &[Scored], species: &[String]) -> crate::metrics::ScoreSet {
    let mut set = crate::metrics::ScoreSet::new();
    for s in species {
        set.declare_species(s);
    }
    for r in results {
        let Some(score) = r.score else { continue };
        match Label::parse(&r.label) {
            Some(Label::BonaFide) => set.push_bona_fide(score),
            Some(Label::Attack(s)) => set.push_attack(&s, score),
            None => {}
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&mut [0.3, 0.1, 0.2]), Some(0.2));
        assert_eq!(median(&mut [0.4, 0.1, 0.2, 0.3]), Some(0.25));
        assert_eq!(median(&mut []), None);
    }
}
