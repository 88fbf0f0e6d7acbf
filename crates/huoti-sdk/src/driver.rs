//! The session driver: permissions → capture loop (prompts and flashes paced through the
//! host's [`Ui`]) → uploads → camera released → complete → the client-visible result.

use std::sync::{Arc, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use huoti_api as wire;
use huoti_api::CaptureProfile;
use huoti_media::{encode_jpeg_420, scale_to_width};
use image::RgbImage;

use crate::net::{Client, ClientToken, Clock, FrameUpload, NetConfig, SystemClock, Trust, with_retries};
use crate::source::{OpenSource, Timing};
use crate::{Error, FrameSource, Permissions};

pub use huoti_api::{Action, ActionHint, Challenge, Decision, HintCode, Reason};

/// What the integrator's backend hands the app for one session: the answer of its
/// `POST /v1/sessions`, minus nothing the app may not see. The app never holds the
/// integrator's API key.
#[derive(Clone, serde::Deserialize, serde::Serialize)]
pub struct Ticket {
    /// Session id.
    pub session_id: String,
    /// The session's client token (redacted in `Debug`).
    pub client_token: ClientToken,
    /// The challenge to play.
    pub challenge: Challenge,
    /// Most frames the session accepts (from the create answer), if known.
    #[serde(default)]
    pub max_frames: Option<u32>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("session_id", &self.session_id)
            .field("client_token", &self.client_token)
            .field("challenge", &self.challenge)
            .field("max_frames", &self.max_frames)
            .finish()
    }
}

impl From<wire::CreateSessionResponse> for Ticket {
    fn from(r: wire::CreateSessionResponse) -> Ticket {
        Ticket {
            session_id: r.session_id,
            client_token: ClientToken::new(r.client_token),
            challenge: r.challenge,
            max_frames: Some(r.max_frames),
        }
    }
}

/// Guidance for the person, drawn by the host as it likes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// The camera is on; the neutral phase: look at the screen and hold still.
    HoldStill,
    /// Between two actions: back to a neutral face.
    BackToNeutral,
    /// Capture is over and the camera is released (policy C2); frames are still uploading.
    CaptureDone,
    /// All frames are sent; the server is analysing.
    Analysing,
}

/// Where the session stands (called once per captured frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Challenge time of the latest frame, ms.
    pub elapsed_ms: u64,
    /// Length of the challenge, ms.
    pub total_ms: u64,
    /// Frames captured and queued so far.
    pub frames_captured: u32,
    /// Frames the server has acknowledged so far.
    pub frames_uploaded: u32,
}

/// The host's drawing surface. Every method is called **on the driver's thread** (never the
/// UI thread), must return quickly, and should hand the event to the UI thread (a channel, a
/// `post` to the main loop). All methods default to doing nothing.
pub trait Ui {
    /// Show this action until `deadline` (challenge time, from the challenge start).
    fn prompt(&mut self, action: Action, deadline: Duration) {
        let _ = (action, deadline);
    }
    /// Fill the screen with this colour (sRGB), or `None` to return to the normal screen.
    fn flash(&mut self, rgb: Option<[u8; 3]>) {
        let _ = rgb;
    }
    /// Change the full-screen colour to `rgb` (or back to the normal screen with `None`),
    /// fading linearly from what is shown now over `fade` (zero: at once). The driver calls
    /// this for every colour change of the light step; the photosensitivity-safe profile
    /// (`Challenge::reduced_flash`) asks for a fade of a few hundred ms. The default calls
    /// [`flash`](Ui::flash), a hard cut: the safe profile's colours have equal luminance and
    /// no saturated red, so even a cut stays below WCAG's flash thresholds, but draw the fade
    /// when you can.
    fn light(&mut self, rgb: Option<[u8; 3]>, fade: Duration) {
        let _ = fade;
        self.flash(rgb);
    }
    /// Progress of capture and upload.
    fn progress(&mut self, progress: Progress) {
        let _ = progress;
    }
    /// A hint for the person.
    fn hint(&mut self, hint: Hint) {
        let _ = hint;
    }
    /// What the person still has to do in the action window open now, from the server's
    /// answer to the latest upload ("turn a little further", "open wider", "blink once"; see
    /// [`ActionHint`] and [`hint_text`](crate::hint_text)), shown until the next call; `None`
    /// clears it (the action was seen, or its window closed). Called only while the window of
    /// the hint's step is open, and only when the hint changes.
    fn action_hint(&mut self, hint: Option<ActionHint>) {
        let _ = hint;
    }
}

/// A UI that draws nothing (batch clients, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoUi;
impl Ui for NoUi {}

/// Stops a running session from any thread: capture ends, the camera is released, queued
/// frames are dropped, and the driver returns [`Error::Cancelled`].
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh token.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    /// Asks the session to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Capture settings. When the challenge states a capture profile (`Challenge::capture`, from
/// servers since issue 15), the profile decides each frame's size, JPEG quality and which
/// frames are sent; `max_fps` still caps the rate, and `jpeg_quality` applies only to
/// challenges without a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureOptions {
    /// Keep capturing this long after the challenge's last step, ms.
    pub tail_ms: u64,
    /// Most frames sent per second (faster sources are thinned; a capture profile may thin
    /// them further).
    pub max_fps: f64,
    /// JPEG quality, 1–100, when the challenge states no capture profile (frames are then
    /// sent at the source's size).
    pub jpeg_quality: u8,
    /// Frames queued between capture and upload; capture waits when the queue is full.
    pub queue: usize,
}

impl Default for CaptureOptions {
    /// 300 ms tail, 15 fps, quality 85, 8 queued frames.
    fn default() -> Self {
        CaptureOptions { tail_ms: 300, max_fps: 15.0, jpeg_quality: 85, queue: 8 }
    }
}

/// How a session ended, as the capturing client may see it: pass/fail, and the decision,
/// score and reasons only when the server is configured to show them to clients. The
/// integrator's backend reads the full, signed verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Session id.
    pub session_id: String,
    /// True when the server judged the session live.
    pub passed: bool,
    /// The decision, when exposed to clients.
    pub decision: Option<Decision>,
    /// The score 0–100, when exposed to clients.
    pub score: Option<u8>,
    /// The reasons, when exposed to clients (policy L4).
    pub reasons: Option<Vec<Reason>>,
    /// Frames uploaded.
    pub frames_sent: u32,
    /// Bytes of JPEG uploaded, each frame counted once (retries of a frame not counted again).
    pub bytes_sent: u64,
    /// Whether device info was sent (the person allowed it, P2).
    pub device_info_sent: bool,
}

type DeviceInfoFn = dyn Fn() -> wire::DeviceInfo + Send + Sync;

/// Runs liveness sessions against one huoti server. Cheap to clone; holds no session state.
#[derive(Clone)]
pub struct Driver {
    server: String,
    net: NetConfig,
    capture: CaptureOptions,
    clock: Arc<dyn Clock>,
    device_info: Arc<DeviceInfoFn>,
    channel: String,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("server", &self.server).field("net", &self.net).field("capture", &self.capture).finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver for the server at `server_url` (`https://…`; `http://` only to loopback).
    /// The URL is checked when a session runs.
    pub fn new(server_url: impl Into<String>) -> Driver {
        Driver {
            server: server_url.into(),
            net: NetConfig::default(),
            capture: CaptureOptions::default(),
            clock: Arc::new(SystemClock::default()),
            device_info: Arc::new(crate::device::collect),
            channel: "sdk".into(),
        }
    }

    /// Network settings (timeouts, retries, trust).
    pub fn with_net(mut self, net: NetConfig) -> Driver {
        self.net = net;
        self
    }

    /// Which certificates to trust (shortcut for the `trust` member of [`NetConfig`]).
    pub fn with_trust(mut self, trust: Trust) -> Driver {
        self.net.trust = trust;
        self
    }

    /// Capture settings.
    pub fn with_capture(mut self, capture: CaptureOptions) -> Driver {
        self.capture = capture;
        self
    }

    /// The consent channel recorded with the person's agreement: `sdk` (default), `cli` or
    /// `web`.
    pub fn with_consent_channel(mut self, channel: impl Into<String>) -> Driver {
        self.channel = channel.into();
        self
    }

    /// Time source (tests inject a fake one; see [`Clock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Driver {
        self.clock = clock;
        self
    }

    /// Replaces the device-info reader (default [`device::collect`](crate::device::collect));
    /// called only when the person allowed device info.
    pub fn with_device_info(mut self, f: impl Fn() -> wire::DeviceInfo + Send + Sync + 'static) -> Driver {
        self.device_info = Arc::new(f);
        self
    }

    /// Runs one session to its end. **Blocking**: call it from a worker thread, never from
    /// the UI thread (or use [`spawn`](Self::spawn)). The `ui` callbacks run on the calling
    /// thread.
    ///
    /// Order: camera permission (refused → [`Error::CameraDenied`], nothing opened, nothing
    /// sent) → device-info permission (refused → no device info sent) → the policy in force
    /// (`GET /v1/policy`) and the person's agreement to it (refused →
    /// [`Error::ConsentDenied`], nothing opened or uploaded) → consent recorded with scope
    /// `face_capture_and_upload` (+ `device_info` when allowed) → the source opens →
    /// frames are captured, paced and queued while an upload thread sends them → the source
    /// is closed (C2; on every path, panics included) → `complete` → [`Outcome`].
    pub fn run(
        &self,
        ticket: &Ticket,
        source: &mut dyn FrameSource,
        permissions: &mut dyn Permissions,
        ui: &mut dyn Ui,
        cancel: &CancelToken,
    ) -> Result<Outcome, Error> {
        // P1: nothing happens before the camera is allowed.
        if !permissions.camera().is_granted() {
            return Err(Error::CameraDenied);
        }
        // P2: device info only when allowed; refusing changes nothing else.
        let device = permissions.device_info().is_granted().then(|| (self.device_info)());
        let device = device.filter(|d| d.model.is_some() || d.os_type.is_some() || d.os_version.is_some());
        let client = Client::new(&self.net, &self.server, &ticket.session_id, ticket.client_token.clone())?;
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        // A1, L1: the person agrees to the policy in force before anything is captured; the
        // consent names the scopes actually used (device_info only when allowed: P2).
        let is_cancelled = || cancel.is_cancelled();
        let policy = with_retries(&self.net.retry, &*self.clock, "policy", &is_cancelled, |n| client.policy(n))?;
        if !permissions.consent(&policy).is_granted() {
            return Err(Error::ConsentDenied);
        }
        let mut scopes = vec!["face_capture_and_upload".to_owned()];
        if device.is_some() {
            scopes.push("device_info".to_owned());
        }
        // Face match has its own consent, asked apart (C6); without it liveness runs alone.
        if permissions.face_comparison(&policy).is_granted() {
            scopes.push("face_comparison".to_owned());
        }
        let consent = wire::ConsentRequest { policy_version: policy.version, scopes, channel: self.channel.clone() };
        with_retries(&self.net.retry, &*self.clock, "consent", &is_cancelled, |n| client.consent(&consent, n))?;

        let abort = AtomicBool::new(false);
        let uploaded = AtomicU32::new(0);
        // The latest upload's prompt, from the upload thread to the capture loop (the Ui's).
        let latest_hint = Mutex::new(None);
        let (tx, rx) = sync_channel::<Queued>(self.capture.queue.max(1));
        let device_info_sent = device.is_some();
        let encoding = Encoding::for_challenge(&ticket.challenge, &self.capture);
        let sent = std::thread::scope(|scope| {
            let uploader = scope.spawn(|| self.upload_loop(&client, rx, encoding, &abort, (&uploaded, &latest_hint), cancel));
            let captured = {
                // If capture unwinds (a panicking Ui callback), stop the uploader at once.
                let _stop = SetOnDrop(&abort);
                let r = self.capture_loop(ticket, source, ui, cancel, tx, device, (&uploaded, &latest_hint));
                std::mem::forget(_stop);
                r
            };
            if captured.is_err() {
                abort.store(true, Ordering::SeqCst);
            }
            let upload = match uploader.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            match (captured, upload) {
                // The uploader failed first: capture stopped because of it.
                (Err(CaptureEnd::UploaderGone), Err(e)) | (Ok(_), Err(e)) => Err(e),
                (Err(CaptureEnd::UploaderGone), Ok(_)) => Err(Error::Protocol("the uploader stopped".into())),
                (Err(CaptureEnd::Error(e)), _) => Err(e),
                (Ok(captured), Ok(sent)) => {
                    debug_assert_eq!(captured, sent.frames);
                    Ok(sent)
                }
            }
        })?;
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if sent.frames == 0 {
            return Err(Error::NoFrames);
        }
        ui.hint(Hint::Analysing);
        let done = with_retries(&self.net.retry, &*self.clock, "complete", &|| cancel.is_cancelled(), |n| client.complete(n))?;
        Ok(Outcome {
            session_id: done.session_id,
            passed: done.passed,
            decision: done.decision,
            score: done.score,
            reasons: done.reasons,
            frames_sent: sent.frames,
            bytes_sent: sent.bytes,
            device_info_sent,
        })
    }

    /// Runs [`run`](Self::run) on a new thread and returns at once; join the handle for the
    /// result. The `ui` is called on that thread.
    pub fn spawn<S, P, U>(
        &self,
        ticket: Ticket,
        mut source: S,
        mut permissions: P,
        mut ui: U,
        cancel: CancelToken,
    ) -> std::thread::JoinHandle<Result<Outcome, Error>>
    where
        S: FrameSource + 'static,
        P: Permissions + Send + 'static,
        U: Ui + Send + 'static,
    {
        let driver = self.clone();
        std::thread::Builder::new()
            .name("huoti-session".into())
            .spawn(move || driver.run(&ticket, &mut source, &mut permissions, &mut ui, &cancel))
            .expect("spawning the session thread")
    }

    /// Reads frames until the challenge (plus tail) is over, the source ends, the session's
    /// frame limit is reached, or something fails; queues them for upload. The source is
    /// closed before this returns, on every path (the guard's `Drop` covers unwinding).
    #[allow(clippy::too_many_arguments)]
    fn capture_loop(
        &self,
        ticket: &Ticket,
        source: &mut dyn FrameSource,
        ui: &mut dyn Ui,
        cancel: &CancelToken,
        tx: SyncSender<Queued>,
        device: Option<wire::DeviceInfo>,
        (uploaded, latest_hint): (&AtomicU32, &Mutex<Option<ActionHint>>),
    ) -> Result<u32, CaptureEnd> {
        let challenge = &ticket.challenge;
        let end_ms = challenge.total_ms + self.capture.tail_ms;
        let min_gap_ms = if self.capture.max_fps > 0.0 { 750.0 / self.capture.max_fps } else { 0.0 };
        // The server's profile: fewer frames where the analysis needs fewer (issue 15).
        let profile = challenge.capture.as_ref();
        let max_frames = ticket.max_frames.unwrap_or(u32::MAX);
        let mut pacer = Pacer::new(challenge);
        let mut shown_hint: Option<ActionHint> = None;

        let mut camera = OpenSource::open(source).map_err(|e| CaptureEnd::Error(e.into()))?;
        let live = camera.timing() == Timing::Live;
        ui.hint(Hint::HoldStill);
        let mut origin: Option<Duration> = None; // live: clock time of the challenge start
        let mut first_t: Option<u64> = None; // recorded: source time of the first frame
        let mut playback_origin: Option<Duration> = None; // recorded: clock time of the first frame
        let mut last_sent: Option<u64> = None;
        let mut seq = 0u32;
        let result = loop {
            if cancel.is_cancelled() {
                break Err(CaptureEnd::Error(Error::Cancelled));
            }
            if seq >= max_frames {
                break Ok(seq);
            }
            if let (true, Some(o)) = (live, origin) {
                let now = self.clock.now().saturating_sub(o).as_millis() as u64;
                if now >= end_ms {
                    break Ok(seq);
                }
                pacer.advance(now, ui); // show what should be on screen before capturing
            }
            let frame = match camera.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break Ok(seq),
                Err(e) => break Err(CaptureEnd::Error(e.into())),
            };
            let t_ms = if live {
                let o = *origin.get_or_insert_with(|| self.clock.now());
                self.clock.now().saturating_sub(o).as_millis() as u64
            } else {
                frame.t_ms.saturating_sub(*first_t.get_or_insert(frame.t_ms))
            };
            if t_ms >= end_ms {
                break Ok(seq);
            }
            if last_sent.is_some_and(|l| (t_ms.saturating_sub(l) as f64) < min_gap_ms) || profile.is_some_and(|p| !p.wants(t_ms, last_sent)) {
                continue; // thinned
            }
            if !live {
                // A recording plays back in real time, as a camera would deliver it: the server
                // judges arrival times against capture times, and frames that reach it faster
                // than they were captured are not a live capture (`arrival_burst`).
                let o = *playback_origin.get_or_insert_with(|| self.clock.now());
                let due = o + Duration::from_millis(t_ms);
                let now = self.clock.now();
                if due > now {
                    self.clock.sleep(due - now);
                }
            }
            pacer.advance(t_ms, ui);
            show_hint(challenge, t_ms, *latest_hint.lock().unwrap_or_else(|e| e.into_inner()), &mut shown_hint, ui);
            let upload = FrameUpload { seq, t_ms, nonce: challenge.nonce.clone(), device: device.clone() };
            if tx.send(Queued { upload, image: frame.image }).is_err() {
                break Err(CaptureEnd::UploaderGone);
            }
            last_sent = Some(t_ms);
            seq += 1;
            ui.progress(Progress {
                elapsed_ms: t_ms,
                total_ms: challenge.total_ms,
                frames_captured: seq,
                frames_uploaded: uploaded.load(Ordering::SeqCst),
            });
        };
        // C2: capture is over; release the camera now, before waiting for uploads.
        camera.close();
        drop(camera);
        if shown_hint.is_some() {
            ui.action_hint(None);
        }
        pacer.finish(ui);
        if result.is_ok() {
            ui.hint(Hint::CaptureDone);
        }
        result
    }

    /// Scales, encodes and uploads queued frames in order, each with retries; stops at the
    /// first final failure (dropping the receiver, which ends capture).
    fn upload_loop(
        &self,
        client: &Client,
        rx: Receiver<Queued>,
        encoding: Encoding,
        abort: &AtomicBool,
        (uploaded, latest_hint): (&AtomicU32, &Mutex<Option<ActionHint>>),
        cancel: &CancelToken,
    ) -> Result<Sent, Error> {
        let stop = || cancel.is_cancelled() || abort.load(Ordering::SeqCst);
        let mut sent = Sent::default();
        for Queued { upload, image } in rx.iter() {
            if stop() {
                return Err(Error::Cancelled);
            }
            let jpeg = encoding.encode(image)?;
            let what = format!("frame {}", upload.seq);
            let accepted = with_retries(&self.net.retry, &*self.clock, &what, &stop, |n| client.upload_frame(&upload, &jpeg, n))?;
            *latest_hint.lock().unwrap_or_else(|e| e.into_inner()) = accepted.hint;
            sent.frames += 1;
            sent.bytes += jpeg.len() as u64;
            uploaded.store(sent.frames, Ordering::SeqCst);
        }
        Ok(sent)
    }
}

/// Shows the latest upload's prompt while its step's window is open at `t_ms` (challenge
/// time), and clears it when the step was seen or its window closed; calls the [`Ui`] only
/// when what is shown changes.
fn show_hint(challenge: &Challenge, t_ms: u64, latest: Option<ActionHint>, shown: &mut Option<ActionHint>, ui: &mut dyn Ui) {
    let open = latest.filter(|h| challenge.actions.get(h.step as usize).is_some_and(|s| s.action == h.action && t_ms < s.end_ms));
    if open != *shown {
        *shown = open;
        ui.action_hint(open);
    }
}

struct Queued {
    upload: FrameUpload,
    image: RgbImage,
}

/// What the upload thread sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sent {
    frames: u32,
    bytes: u64,
}

/// How each frame is turned into the JPEG that is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Encoding {
    /// Scale frames wider than this down to it (keeping the aspect ratio); `None`: as captured.
    max_width: Option<u32>,
    quality: u8,
}

impl Encoding {
    /// The challenge's capture profile when it states one, else the host's options (frames
    /// at the source's size, as before profiles existed).
    fn for_challenge(challenge: &Challenge, options: &CaptureOptions) -> Encoding {
        match &challenge.capture {
            Some(CaptureProfile { width, jpeg_quality, .. }) => Encoding { max_width: Some((*width).max(1)), quality: *jpeg_quality },
            None => Encoding { max_width: None, quality: options.jpeg_quality },
        }
    }

    fn encode(&self, image: RgbImage) -> Result<Vec<u8>, Error> {
        match self.max_width {
            Some(w) => encode_jpeg_420(&scale_to_width(image, w), self.quality)
                .map_err(|e| Error::Encode(e.to_string())),
            None => encode_jpeg(&image, self.quality),
        }
    }
}

enum CaptureEnd {
    Error(Error),
    /// The upload thread stopped taking frames (it failed; its error is the cause).
    UploaderGone,
}

struct SetOnDrop<'a>(&'a AtomicBool);
impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// JPEG-encodes a frame.
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(image.as_raw().len() / 8);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(image)
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(out)
}

/// Turns challenge time into UI events: colours on and off (fading over the challenge's
/// `transition_ms`), prompts as windows open, hints between them. Each event fires once, in
/// order.
struct Pacer<'c> {
    challenge: &'c Challenge,
    flash: Option<[u8; 3]>,
    prompted: usize,
    in_action: bool,
}

impl<'c> Pacer<'c> {
    fn new(challenge: &'c Challenge) -> Pacer<'c> {
        Pacer { challenge, flash: None, prompted: 0, in_action: false }
    }

    fn advance(&mut self, t_ms: u64, ui: &mut dyn Ui) {
        let flash = self.challenge.flashes.iter().find(|f| f.start_ms <= t_ms && t_ms < f.end_ms).map(|f| f.rgb);
        if flash != self.flash {
            self.flash = flash;
            ui.light(flash, self.fade());
        }
        while let Some(step) = self.challenge.actions.get(self.prompted) {
            if t_ms < step.start_ms {
                break;
            }
            self.prompted += 1;
            if t_ms < step.end_ms {
                ui.prompt(step.action, Duration::from_millis(step.end_ms));
                self.in_action = true;
                return;
            }
        }
        if self.in_action && self.prompted > 0 && t_ms >= self.challenge.actions[self.prompted - 1].end_ms {
            self.in_action = false;
            ui.hint(Hint::BackToNeutral);
        }
    }

    fn fade(&self) -> Duration {
        Duration::from_millis(self.challenge.transition_ms)
    }

    fn finish(&mut self, ui: &mut dyn Ui) {
        if self.flash.take().is_some() {
            ui.light(None, self.fade());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use huoti_api::{ActionStep, FlashStep};

    #[derive(Default)]
    struct Recorder(Vec<String>);
    impl Ui for Recorder {
        fn prompt(&mut self, action: Action, deadline: Duration) {
            self.0.push(format!("prompt {action:?} {}", deadline.as_millis()));
        }
        fn flash(&mut self, rgb: Option<[u8; 3]>) {
            self.0.push(format!("flash {rgb:?}"));
        }
        fn hint(&mut self, hint: Hint) {
            self.0.push(format!("hint {hint:?}"));
        }
    }

    #[test]
    fn pacer_fires_each_event_once_in_order() {
        let c = Challenge {
            nonce: "n".into(),
            neutral_ms: 1000,
            actions: vec![
                ActionStep { action: Action::TurnLeft, start_ms: 2000, end_ms: 3000 },
                ActionStep { action: Action::Blink, start_ms: 3000, end_ms: 4000 },
            ],
            flashes: vec![
                FlashStep { rgb: [255, 0, 0], start_ms: 1000, end_ms: 1500 },
                FlashStep { rgb: [0, 0, 255], start_ms: 1500, end_ms: 2000 },
            ],
            reduced_flash: false,
            transition_ms: 0,
            total_ms: 4000,
            capture: None,
        };
        let mut ui = Recorder::default();
        let mut p = Pacer::new(&c);
        for t in (0..4400).step_by(100) {
            p.advance(t, &mut ui);
        }
        p.finish(&mut ui);
        assert_eq!(
            ui.0,
            [
                "flash Some([255, 0, 0])",
                "flash Some([0, 0, 255])",
                "flash None",
                "prompt TurnLeft 3000",
                "prompt Blink 4000",
                "hint BackToNeutral"
            ]
        );
    }

    /// A host that draws fades, recording what it is asked.
    #[derive(Default)]
    struct Fader(Vec<(Option<[u8; 3]>, u128)>);
    impl Ui for Fader {
        fn light(&mut self, rgb: Option<[u8; 3]>, fade: Duration) {
            self.0.push((rgb, fade.as_millis()));
        }
    }

    #[test]
    fn the_safe_profile_is_shown_with_fades_and_never_skipped() {
        let c = Challenge {
            nonce: "n".into(),
            neutral_ms: 1000,
            actions: vec![ActionStep { action: Action::Nod, start_ms: 2600, end_ms: 4000 }],
            flashes: vec![
                FlashStep { rgb: [30, 130, 255], start_ms: 1000, end_ms: 1800 },
                FlashStep { rgb: [40, 160, 40], start_ms: 1800, end_ms: 2600 },
            ],
            reduced_flash: true,
            transition_ms: 300,
            total_ms: 4000,
            capture: None,
        };
        let mut fader = Fader::default();
        let mut p = Pacer::new(&c);
        for t in (0..4000).step_by(66) {
            p.advance(t, &mut fader);
        }
        p.finish(&mut fader);
        assert_eq!(fader.0, [(Some([30, 130, 255]), 300), (Some([40, 160, 40]), 300), (None, 300)]);
        // A host that only implements `flash` still shows every colour (as cuts).
        let mut old_host = Recorder::default();
        let mut p = Pacer::new(&c);
        for t in (0..4000).step_by(66) {
            p.advance(t, &mut old_host);
        }
        assert_eq!(old_host.0[..3], ["flash Some([30, 130, 255])", "flash Some([40, 160, 40])", "flash None"]);
    }

    #[test]
    fn a_skipped_window_is_not_prompted_late() {
        let c = Challenge {
            nonce: "n".into(),
            neutral_ms: 0,
            actions: vec![
                ActionStep { action: Action::Nod, start_ms: 0, end_ms: 100 },
                ActionStep { action: Action::OpenMouth, start_ms: 100, end_ms: 900 },
            ],
            flashes: vec![],
            reduced_flash: false,
            transition_ms: 0,
            total_ms: 900,
            capture: None,
        };
        let mut ui = Recorder::default();
        let mut p = Pacer::new(&c);
        p.advance(500, &mut ui); // first frame arrives late: only the open window is prompted
        assert_eq!(ui.0, ["prompt OpenMouth 900"]);
    }

    /// A challenge with no step and no capture profile, `total_ms` long.
    fn empty_challenge(total_ms: u64) -> Challenge {
        Challenge {
            nonce: "n".into(),
            neutral_ms: 0,
            actions: vec![],
            flashes: vec![],
            reduced_flash: false,
            transition_ms: 0,
            total_ms,
            capture: None,
        }
    }

    #[test]
    fn the_profile_sets_width_and_quality_and_without_one_the_options_do() {
        let mut c = empty_challenge(1000);
        let options = CaptureOptions::default();
        assert_eq!(Encoding::for_challenge(&c, &options), Encoding { max_width: None, quality: 85 });
        c.capture = Some(CaptureProfile { width: 320, jpeg_quality: 70, idle_fps: 4, spans: vec![] });
        assert_eq!(Encoding::for_challenge(&c, &options), Encoding { max_width: Some(320), quality: 70 });
        // A lower quality gives a smaller file from the same frame (the quality is really used).
        let noisy = RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x * 7 + y * 13) as u8, (x * y) as u8, (x ^ y) as u8]));
        let low = Encoding { max_width: Some(320), quality: 40 }.encode(noisy.clone()).unwrap();
        let high = Encoding { max_width: Some(320), quality: 90 }.encode(noisy).unwrap();
        assert!(low.len() < high.len(), "{} vs {}", low.len(), high.len());
    }

    #[test]
    fn ticket_debug_hides_the_token() {
        let t = Ticket {
            session_id: "s_1".into(),
            client_token: ClientToken::new("ct_secret"),
            challenge: empty_challenge(0),
            max_frames: None,
        };
        let d = format!("{t:?}");
        assert!(d.contains("s_1") && !d.contains("ct_secret"), "{d}");
    }
}
