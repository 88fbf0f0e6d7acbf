//! # huoti-sdk: the capture client for native apps, kiosks and terminals
//!
//! The part of huoti (活体) that runs on the person's device. Browsers use the web SDK; native
//! apps, kiosks and terminals (and later mobile apps through FFI) use this crate. It keeps the
//! device-side promises of the privacy policy (`shared/POLICY.md`) by construction:
//!
//! | clause | what the SDK does |
//! |---|---|
//! | **P1** | asks the host for the camera first; refused → [`Error::CameraDenied`] at once: no source opened, no network call, nothing uploaded |
//! | **P2** | asks separately for device info; refused → capture runs exactly the same and no device info is sent |
//! | **A1, L1** | fetches the policy in force (`GET /v1/policy`) and asks [`Permissions::consent`]; refused → [`Error::ConsentDenied`] before the source opens; accepted → records consent (`face_capture_and_upload`, `device_info` only when allowed, `face_comparison` only when [`Permissions::face_comparison`] says yes — face match, asked apart, C6 — channel `sdk`) before the first frame |
//! | **C1** | device info is the model, OS type and OS version — nothing else ([`device`]) |
//! | **C2** | the frame source (camera) is closed when capture ends — on success, error, cancel and panic (an RAII guard) — and nothing is read after that |
//! | **C3** | what was captured is uploaded to the huoti server, which decides |
//! | **S2** | HTTPS only (plain `http://` is refused except to loopback), with the Mozilla roots, the OS store, or a pinned certificate |
//!
//! ## What it does
//!
//! [`Driver::run`] plays one liveness session that the integrator's backend created
//! (`POST /v1/sessions` with its API key, which never reaches the device). The backend hands
//! the app a [`Ticket`]: session id, client token and challenge. The driver then
//!
//! 1. asks [`Permissions::camera`] (refused → [`Error::CameraDenied`]) and
//!    [`Permissions::device_info`] (refused → no device info), then, with the policy in
//!    force in hand, [`Permissions::consent`] (refused → [`Error::ConsentDenied`]), and records
//!    the consent on the server;
//! 2. opens the [`FrameSource`] and captures until the challenge is over, calling the host's
//!    [`Ui`] to show the prompts (`turn_left`, `blink`, … until a deadline) and the light
//!    step's colours at the right times ([`Ui::light`], fading over the challenge's
//!    `transition_ms` in the photosensitivity-safe profile, which the server chooses when the
//!    person asked for reduced flashing; the SDK never leaves the colours out);
//!    Frames are thinned as the challenge's capture profile asks (`Challenge::capture`, from
//!    servers since issue 15: a few frames a second at rest, more in the action and light
//!    windows; without a profile, at most [`CaptureOptions::max_fps`]);
//! 3. meanwhile, on an upload thread, scales each frame down to the profile's width (aspect
//!    kept, never up), JPEG-encodes it at the profile's quality with 4:2:0 chroma, as
//!    browsers do (without a profile: as captured, at [`CaptureOptions::jpeg_quality`]) and
//!    sends it with its sequence
//!    number, capture time (ms since the challenge started) and the challenge nonce — and the
//!    three device-info headers only if allowed — retrying with exponential backoff inside a
//!    time budget ([`RetryPolicy`]); each answer may carry a prompt for the action window open
//!    now ([`ActionHint`]: "turn a little further", "open wider", "blink once"), which the
//!    capture loop hands to [`Ui::action_hint`] while that window is open ([`hint_text`] has
//!    the texts in English and zh-CN);
//! 4. **closes the source as soon as capture ends**, before waiting for the last uploads;
//! 5. calls `complete` and returns the [`Outcome`] the client may see: pass/fail (decision,
//!    score and reasons only when the server exposes them to clients), and the frames and
//!    bytes it sent. The integrator's
//!    backend reads the full, signed verdict from the server.
//!
//! Frame sources: [`VideoFile`] (`.y4m` natively; other formats through an installed
//! `ffmpeg`), [`ImageDir`] (a directory of JPEG/PNG frames), and `Camera` (feature
//! `camera`, through `nokhwa`). Hosts can implement [`FrameSource`] for their own camera
//! stack.
//!
//! ## What it deliberately does not do
//!
//! * **No decision on the device.** Liveness is judged by the server (C3); a client-side
//!   verdict could be forged. The SDK only captures, paces and uploads.
//! * **No drawing.** The host draws prompts and flashes; the SDK tells it what and when.
//! * **No integrator secrets.** Sessions are created by the integrator's backend; the SDK
//!   holds only the session's client token, which never appears in `Debug` output or logs.
//! * **No other data.** No location, identifiers, contacts, serial numbers or audio; device
//!   info is exactly model / OS type / OS version, and only when allowed.
//! * **No disk writes.** Frames live in memory between capture and upload, then are dropped.
//! * **No jitter in retries, no resumption across processes**: a session that fails is
//!   started again by the integrator (sessions are single use and short-lived).
//!
//! ## Threading model
//!
//! [`Driver::run`] is a **blocking** function: call it from a worker thread, never from the
//! UI thread — or call [`Driver::spawn`], which runs it on its own thread and returns a
//! `JoinHandle`. The [`Ui`] and [`Permissions`] callbacks are called **on the driver's
//! thread**; they must return quickly and forward what they draw to the UI thread (a channel,
//! a main-loop post). Permissions may block while the person answers a dialog. Uploads run on
//! a second, internal thread that ends before `run` returns. A [`CancelToken`] stops the
//! session from any thread.
//!
//! ## Permission model
//!
//! The host implements [`Permissions`] over its platform's permission API (or uses
//! [`Granted`] when it asked beforehand). Both are asked once per session, camera first.
//! Anything but [`Answer::Granted`] is a refusal. The doctest below is the P1 path: the camera
//! is refused, the driver returns [`Error::CameraDenied`], the source was never opened, and
//! no request left the device (the server address is not even valid).
//!
//! ```
//! use huoti_sdk::{Driver, Ticket, Granted, NoUi, CancelToken, Error, FrameSource, Frame, SourceError};
//!
//! struct FakeCamera { opened: bool }
//! impl FrameSource for FakeCamera {
//!     fn open(&mut self) -> Result<(), SourceError> { self.opened = true; Ok(()) }
//!     fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> { Ok(None) }
//!     fn close(&mut self) {}
//!     fn describe(&self) -> String { "fake camera".into() }
//! }
//!
//! // What the integrator's backend handed over (the answer of its POST /v1/sessions).
//! let ticket: Ticket = serde_json::from_str(r#"{
//!     "session_id": "s_0123", "client_token": "ct_secret",
//!     "challenge": {"nonce": "ab12", "neutral_ms": 1000, "actions": [], "flashes": [],
//!                   "reduced_flash": false, "total_ms": 4000}
//! }"#).unwrap();
//! assert!(!format!("{ticket:?}").contains("ct_secret")); // tokens never in Debug
//!
//! let driver = Driver::new("https://nowhere.invalid");
//! let mut camera = FakeCamera { opened: false };
//! let refused = Granted { camera: false, device_info: true, policy: true };
//! let result = driver.run(&ticket, &mut camera, &mut { refused }, &mut NoUi, &CancelToken::new());
//! assert!(matches!(result, Err(Error::CameraDenied)));
//! assert!(!camera.opened, "P1: the camera was never opened");
//! ```
//!
//! A whole session against a server (see `examples/verify_clip.rs` for a runnable one):
//!
//! ```no_run
//! use huoti_sdk::{Driver, Ticket, Trust, Granted, NoUi, CancelToken, VideoFile};
//! # fn ticket_from_backend() -> Ticket { unimplemented!() }
//! let ticket: Ticket = ticket_from_backend();
//! let driver = Driver::new("https://127.0.0.1:8443")
//!     // A development server's self-signed certificate: `huoti serve` prints its path
//!     // (by default ~/.local/share/huoti/server/tls/cert.pem).
//!     .with_trust(Trust::pem_file("cert.pem")?);
//! let mut clip = VideoFile::y4m("/tmp/cam.y4m");
//! let outcome = std::thread::spawn(move || {
//!     driver.run(&ticket, &mut clip, &mut Granted::camera_only(), &mut NoUi, &CancelToken::new())
//! }).join().unwrap()?;
//! println!("passed: {}", outcome.passed);
//! # Ok::<(), huoti_sdk::Error>(())
//! ```
//!
//! ## Network resilience
//!
//! Each request has a connect timeout and a whole-request timeout ([`NetConfig`]). Frame
//! uploads are idempotent by sequence number: a retry whose earlier attempt was stored gets
//! `duplicate_frame` from the server, which the SDK counts as success. Transport errors and
//! 500/502/503/504 are retried with exponential backoff; 429 waits `retry_after_s`; other
//! problems (expired session, wrong token, refused frame) end the session with
//! [`Error::Server`] and its stable code. When a request still fails after
//! [`RetryPolicy::budget`] (or `max_attempts`), the session ends with [`Error::Network`],
//! which says how long it tried (`after`) — at most the budget plus one request timeout.
//! `complete` is retried too; if its answer was lost and the retry finds the session already
//! completed, the result is [`Error::ResultUnknown`] (the backend can still read the verdict).
//!
//! ## Features
//!
//! * `camera` — [`Camera`](camera::Camera) through `nokhwa` (Linux: V4L2; building it needs
//!   `libclang` for bindgen: Debian package `libclang-dev`).
//! * `platform-verifier` — [`Trust::Platform`]: the OS certificate store.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "camera")]
pub mod camera;
pub mod device;
mod driver;
mod error;
mod net;
mod permissions;
mod prompts;
mod source;

pub use driver::{Action, ActionHint, CancelToken, CaptureOptions, Challenge, Decision, Driver, Hint, HintCode, NoUi, Outcome, Progress, Reason, Ticket, Ui, encode_jpeg};
pub use error::Error;
pub use huoti_media::FfmpegOptions;
pub use net::{Clock, ClientToken, FrameUpload, NetConfig, RetryPolicy, SystemClock, Trust, check_server_url};
pub use permissions::{Answer, Granted, Permission, Permissions};
pub use prompts::{Lang, hint_text};
pub use source::{Frame, FrameSource, ImageDir, SourceError, Timing, VideoFile};
