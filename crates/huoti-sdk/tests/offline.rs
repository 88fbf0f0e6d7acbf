//! Driver paths without a real server: permissions (P1, P2), device-info headers (C1), and
//! camera release on every path out of capture (C2) — success, upload error, network budget,
//! cancel, panic in a Ui callback — with an instrumented source and a tiny loopback HTTP
//! stub (plain HTTP is allowed to 127.0.0.1 only). The same paths against the real server
//! over HTTPS are in `tests/server.rs`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{FastClock, Instrumented, jpeg_quality, jpeg_size};
use huoti_api::{CaptureProfile, CaptureSpan};
use huoti_sdk::{
    Action, Answer, CancelToken, Challenge, ClientToken, Driver, Error, Granted, Hint, NetConfig, NoUi, Permission, Progress,
    RetryPolicy, Ticket, Ui,
};

/// One request the stub received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body_len: usize,
    body: Vec<u8>,
    /// The body, when it is JSON.
    json: Option<serde_json::Value>,
}

/// How the stub answers frame uploads.
#[derive(Clone, Copy)]
enum Frames {
    Accept,
    /// `410 session_expired` from this sequence number on.
    ExpireFrom(u32),
    /// Drop the connection without answering from this sequence number on.
    HangUpFrom(u32),
    /// Store frame N but hang up before answering, the first time only; answer its retry
    /// with `409 duplicate_frame`, as the real server does.
    LoseAnswerOf(u32),
    /// Answer frames from `from` up to `done` (exclusive) with a `turn_further` prompt for
    /// step 0, and later ones without (the turn was seen), as the server does.
    PromptBetween(u32, u32),
}

struct Stub {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn start(frames: Frames) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let log = log.clone();
                std::thread::spawn(move || serve(conn, frames, log));
            }
        });
        Stub { url, seen }
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn frames(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path.contains("/frames")).collect()
    }
}

const POLICY: &str = r#"{"version":"2026-11","digest":"sha256:00","material_change":true,"published_at":"2026-11-01T00:00:00Z","url":"/privacy/policy","privacy_contact":"privacy@huoti.example","scopes":[{"id":"face_capture_and_upload","required":true,"description_en":"face","description_zh":"人脸"}]}"#;

fn serve(conn: TcpStream, frames: Frames, log: Arc<Mutex<Vec<Seen>>>) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        log.lock().unwrap().push(Seen { method, path: path.clone(), headers, body_len: len, json: serde_json::from_slice(&body).ok(), body });
        let seq: u32 = path.split("seq=").nth(1).and_then(|s| s.split('&').next()).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (status, json) = if path.contains("/frames") {
            let tries = log.lock().unwrap().iter().filter(|s| s.path.contains(&format!("seq={seq}&"))).count();
            match frames {
                Frames::LoseAnswerOf(n) if seq == n && tries == 1 => return,
                Frames::LoseAnswerOf(n) if seq == n => {
                    (409, r#"{"type":"urn:huoti:problem:duplicate_frame","title":"Frame already received","status":409,"code":"duplicate_frame"}"#.to_owned())
                }
                Frames::ExpireFrom(n) if seq >= n => {
                    (410, r#"{"type":"urn:huoti:problem:session_expired","title":"Session expired","status":410,"code":"session_expired","detail":"expired"}"#.to_owned())
                }
                Frames::HangUpFrom(n) if seq >= n => return,
                Frames::PromptBetween(from, done) if (from..done).contains(&seq) => (
                    200,
                    format!(r#"{{"seq":{seq},"frames_received":{},"hint":{{"step":0,"action":"turn_left","code":"turn_further","progress_percent":50}}}}"#, seq + 1),
                ),
                _ => (200, format!(r#"{{"seq":{seq},"frames_received":{}}}"#, seq + 1)),
            }
        } else if path == "/v1/policy" {
            (200, POLICY.to_owned())
        } else if path.ends_with("/consent") {
            (201, r#"{"consent_id":"cn_test","policy_version":"2026-11","scopes":["face_capture_and_upload"],"recorded_at":"2026-11-29T00:00:00Z"}"#.to_owned())
        } else if path.ends_with("/complete") {
            (200, r#"{"session_id":"s_test","passed":true}"#.to_owned())
        } else {
            (404, r#"{"type":"urn:huoti:problem:not_found","title":"Not found","status":404,"code":"not_found"}"#.to_owned())
        };
        let ctype = if status < 300 { "application/json" } else { "application/problem+json" };
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n{json}", json.len());
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn ticket(total_ms: u64) -> Ticket {
    Ticket {
        session_id: "s_test".into(),
        client_token: ClientToken::new("ct_test_token"),
        challenge: Challenge {
            nonce: "00ff".into(),
            neutral_ms: 0,
            actions: vec![],
            flashes: vec![],
            reduced_flash: false,
            transition_ms: 0,
            total_ms,
            capture: None,
        },
        max_frames: None,
    }
}

fn fast_net(budget_ms: u64) -> NetConfig {
    NetConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(1000),
        complete_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 100,
            initial_backoff: Duration::from_millis(20),
            multiplier: 2.0,
            max_backoff: Duration::from_millis(200),
            budget: Duration::from_millis(budget_ms),
        },
        ..NetConfig::default()
    }
}

fn device() -> huoti_sdk::device::DeviceInfo {
    huoti_sdk::device::DeviceInfo { model: Some("Kiosk K1".into()), os_type: Some("linux".into()), os_version: Some("debian 12".into()) }
}

#[test]
fn c2_success_path_opens_and_closes_once_and_uploads_every_frame() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000)).with_device_info(device);
    let mut src = Instrumented::grey(10);
    let calls = src.calls.clone();
    let out = driver.run(&ticket(10_000), &mut src, &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap();
    assert!(out.passed);
    assert_eq!(out.frames_sent, 10);
    calls.assert_released();
    assert_eq!(calls.reads(), 11, "10 frames and the end of the file; nothing after");
    let frames = stub.frames();
    assert_eq!(frames.len(), 10);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.method, "POST");
        assert_eq!(f.path, format!("/v1/sessions/s_test/frames?seq={i}&t_ms={}&nonce=00ff", i * 66));
        assert!(f.body_len > 100);
    }
    assert!(stub.seen().last().unwrap().path.ends_with("/complete"));
}

#[test]
fn capture_ends_with_the_challenge_and_no_frame_is_read_after() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    let mut src = Instrumented::grey(1000);
    let calls = src.calls.clone();
    // 1000 ms challenge + 300 ms tail at 66 ms per frame: frames 0..=19 (t ≤ 1254), frame 20
    // (t = 1320) ends capture.
    let out = driver.run(&ticket(1000), &mut src, &mut Granted::camera_only(), &mut NoUi, &CancelToken::new()).unwrap();
    assert_eq!(out.frames_sent, 20);
    assert_eq!(calls.reads(), 21);
    calls.assert_released();
}

#[test]
fn c1_p2_device_info_allowed_sends_exactly_three_headers_refused_sends_none() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000)).with_device_info(device);
    let out = driver.run(&ticket(10_000), &mut Instrumented::grey(2), &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap();
    assert!(out.device_info_sent);
    for f in stub.frames() {
        let mut names: Vec<&str> = f.headers.iter().map(|(k, _)| k.as_str()).filter(|k| k.starts_with("huoti-")).collect();
        names.sort();
        assert_eq!(names, ["huoti-device-model", "huoti-os-type", "huoti-os-version"]);
        let value = |n: &str| f.headers.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(value("huoti-device-model"), "Kiosk K1");
        assert_eq!(value("huoti-os-version"), "debian 12");
        // Nothing else about the device: only transport headers besides the three.
        for (k, _) in &f.headers {
            assert!(
                k.starts_with("huoti-") || ["host", "authorization", "content-type", "content-length", "user-agent", "accept", "accept-encoding"].contains(&k.as_str()),
                "unexpected header {k}"
            );
        }
    }

    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000)).with_device_info(|| panic!("P2: device info must not be read when refused"));
    let out = driver.run(&ticket(10_000), &mut Instrumented::grey(2), &mut Granted::camera_only(), &mut NoUi, &CancelToken::new()).unwrap();
    assert!(out.passed, "P2: refusing device info changes nothing else");
    assert!(!out.device_info_sent);
    assert_eq!(stub.frames().len(), 2);
    assert!(stub.frames().iter().all(|f| f.headers.iter().all(|(k, _)| !k.starts_with("huoti-"))));
}

#[test]
fn p1_camera_refused_nothing_opened_no_request() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url);
    let mut src = Instrumented::grey(5);
    let calls = src.calls.clone();
    let mut asked = Vec::new();
    let mut perms = |p: Permission| {
        asked.push(p);
        Answer::Denied
    };
    let err = driver.run(&ticket(10_000), &mut src, &mut perms, &mut NoUi, &CancelToken::new()).unwrap_err();
    assert!(matches!(err, Error::CameraDenied));
    assert_eq!(asked, [Permission::Camera], "asked for the camera only, and first");
    assert_eq!((calls.opens(), calls.reads()), (0, 0));
    std::thread::sleep(Duration::from_millis(100));
    assert!(stub.seen().is_empty(), "no network call");
}

#[test]
fn c2_upload_refused_by_the_server_ends_capture_and_releases_the_camera() {
    let stub = Stub::start(Frames::ExpireFrom(3));
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    let mut src = Instrumented::grey(1000);
    let calls = src.calls.clone();
    let err = driver.run(&ticket(100_000), &mut src, &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap_err();
    assert!(matches!(&err, Error::Server { status: 410, code, .. } if code == "session_expired"), "{err:?}");
    assert_eq!(err.server_code(), Some(huoti_api::ErrorCode::SessionExpired));
    calls.assert_released();
    assert!(calls.reads() < 3 + 8 + 4, "capture stopped soon after the failure ({} reads)", calls.reads());
    assert!(!stub.seen().iter().any(|s| s.path.ends_with("/complete")), "no complete after a failed upload");
}

#[test]
fn c2_network_failure_gives_up_within_the_budget_and_releases_the_camera() {
    let stub = Stub::start(Frames::HangUpFrom(2));
    let budget = 1500;
    let driver = Driver::new(&stub.url).with_net(fast_net(budget));
    let mut src = Instrumented::grey(1000);
    let calls = src.calls.clone();
    let started = Instant::now();
    let err = driver.run(&ticket(100_000), &mut src, &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap_err();
    let took = started.elapsed();
    match &err {
        Error::Network { after, attempts, what, .. } => {
            assert_eq!(what, "frame 2");
            assert!(*attempts > 2, "{err}");
            assert!(*after <= Duration::from_millis(budget), "{err}");
        }
        e => panic!("{e:?}"),
    }
    // Budget + one request timeout + slack.
    assert!(took < Duration::from_millis(budget + 1000 + 1500), "{took:?}");
    calls.assert_released();
    assert!(stub.frames().iter().filter(|f| f.path.contains("seq=2&")).count() > 2, "frame 2 was retried with the same seq");
}

#[test]
fn c2_cancel_releases_the_camera_and_stops_reading() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let mut src = Instrumented::grey(1000).on_read(move |n| {
        if n == 5 {
            c.cancel();
        }
    });
    let calls = src.calls.clone();
    let err = driver.run(&ticket(100_000), &mut src, &mut Granted::all(), &mut NoUi, &cancel).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err:?}");
    calls.assert_released();
    assert_eq!(calls.reads(), 6, "frames 0..=5, then the cancel is seen before the next read");
    assert!(!stub.seen().iter().any(|s| s.path.ends_with("/complete")));
}

#[test]
fn c2_cancel_from_another_thread_with_spawn() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    let src = Instrumented::new(100_000, 66, image::RgbImage::from_pixel(96, 96, image::Rgb([1, 2, 3]))).on_read(|_| std::thread::sleep(Duration::from_millis(5)));
    let calls = src.calls.clone();
    let cancel = CancelToken::new();
    let handle = driver.spawn(ticket(10_000_000), src, Granted::all(), NoUi, cancel.clone());
    std::thread::sleep(Duration::from_millis(300));
    cancel.cancel();
    let err = handle.join().unwrap().unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    calls.assert_released();
}

struct PanicsOnProgress(u32);
impl Ui for PanicsOnProgress {
    fn progress(&mut self, p: Progress) {
        if p.frames_captured == self.0 {
            panic!("host UI bug");
        }
    }
}

#[test]
fn c2_panic_in_a_ui_callback_still_releases_the_camera() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    let mut src = Instrumented::grey(1000);
    let calls = src.calls.clone();
    let result = catch_unwind(AssertUnwindSafe(|| {
        driver.run(&ticket(100_000), &mut src, &mut Granted::all(), &mut PanicsOnProgress(4), &CancelToken::new())
    }));
    let panic = result.unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>().copied(), Some("host UI bug"));
    calls.assert_released();
    assert_eq!(calls.reads(), 4);
    assert!(!stub.seen().iter().any(|s| s.path.ends_with("/complete")));
}

#[test]
fn c2_a_source_that_fails_to_open_is_closed_and_nothing_is_sent() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    let mut src = Instrumented::grey(10);
    src.fail_open = true;
    let calls = src.calls.clone();
    let err = driver.run(&ticket(10_000), &mut src, &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap_err();
    assert!(matches!(err, Error::Source(_)), "{err:?}");
    calls.assert_released();
    assert_eq!(calls.reads(), 0);
    // Only the policy was read and the consent recorded (A1, before any capture); no frame.
    let paths: Vec<String> = stub.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0] == "/v1/policy" && paths[1].ends_with("/consent"), "{paths:?}");
}

#[derive(Default)]
struct Events(Vec<String>);
impl Ui for Events {
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
fn prompts_and_flashes_follow_the_challenge_and_the_camera_is_off_before_analysis() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    let mut t = ticket(0);
    t.challenge = serde_json::from_value(serde_json::json!({
        "nonce": "00ff", "neutral_ms": 500, "reduced_flash": false, "total_ms": 1500,
        "flashes": [{"rgb": [255, 0, 0], "start_ms": 500, "end_ms": 800}],
        "actions": [{"action": "blink", "start_ms": 800, "end_ms": 1500}]
    }))
    .unwrap();
    let mut ui = Events::default();
    let mut src = Instrumented::grey(1000);
    let calls = src.calls.clone();
    driver.run(&t, &mut src, &mut Granted::all(), &mut ui, &CancelToken::new()).unwrap();
    calls.assert_released();
    assert_eq!(
        ui.0,
        ["hint HoldStill", "flash Some([255, 0, 0])", "flash None", "prompt Blink 1500", "hint BackToNeutral", "hint CaptureDone", "hint Analysing"]
    );
}

#[test]
fn a_lost_answer_is_retried_with_the_same_seq_and_duplicate_frame_counts_as_stored() {
    let stub = Stub::start(Frames::LoseAnswerOf(3));
    let driver = Driver::new(&stub.url).with_net(fast_net(3000));
    let out = driver.run(&ticket(10_000), &mut Instrumented::grey(6), &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap();
    assert_eq!(out.frames_sent, 6);
    let seqs: Vec<String> = stub.frames().iter().map(|f| f.path.split("seq=").nth(1).unwrap().split('&').next().unwrap().to_owned()).collect();
    assert_eq!(seqs, ["0", "1", "2", "3", "3", "4", "5"]);
}


#[test]
fn c2_a_live_camera_is_stamped_by_the_clock_and_released_when_the_challenge_ends() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    // A "camera" delivering a frame every 20 ms, forever.
    let mut src = Instrumented::grey(u32::MAX).on_read(|_| std::thread::sleep(Duration::from_millis(20)));
    src.live = true;
    let calls = src.calls.clone();
    let started = Instant::now();
    // 400 ms challenge + 300 ms tail, at most 15 fps.
    let out = driver.run(&ticket(400), &mut src, &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap();
    let took = started.elapsed();
    calls.assert_released();
    assert!(took >= Duration::from_millis(700) && took < Duration::from_secs(3), "{took:?}");
    assert!((8..=12).contains(&out.frames_sent), "about 0.7 s at 15 fps: {}", out.frames_sent);
    let times: Vec<u64> = stub
        .frames()
        .iter()
        .map(|f| f.path.split("t_ms=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(times[0], 0, "time 0 is the first frame");
    assert!(times.windows(2).all(|w| w[1] - w[0] >= 50), "thinned to ≤ 15 fps: {times:?}");
    assert!(*times.last().unwrap() < 700, "{times:?}");
}

#[test]
fn a1_l1_policy_refused_nothing_opened_nothing_sent_but_the_policy_read() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000));
    let mut src = Instrumented::grey(5);
    let calls = src.calls.clone();
    let mut asked = Vec::new();
    let mut perms = |p: Permission| {
        asked.push(p);
        if p == Permission::PolicyConsent { Answer::Denied } else { Answer::Granted }
    };
    let err = driver.run(&ticket(10_000), &mut src, &mut perms, &mut NoUi, &CancelToken::new()).unwrap_err();
    assert!(matches!(err, Error::ConsentDenied), "{err:?}");
    assert_eq!(asked, [Permission::Camera, Permission::DeviceInfo, Permission::PolicyConsent]);
    assert_eq!((calls.opens(), calls.reads()), (0, 0), "the source was never opened");
    let paths: Vec<String> = stub.seen().iter().map(|s| format!("{} {}", s.method, s.path)).collect();
    assert_eq!(paths, ["GET /v1/policy"], "no consent recorded, no frame sent");
}

#[test]
fn l1_p2_consent_recorded_before_the_first_frame_with_device_info_only_when_allowed() {
    for (granted, scopes) in [
        (Granted::all(), vec!["face_capture_and_upload", "device_info"]),
        (Granted::camera_only(), vec!["face_capture_and_upload"]),
    ] {
        let stub = Stub::start(Frames::Accept);
        let driver = Driver::new(&stub.url).with_net(fast_net(2000)).with_device_info(device);
        driver.run(&ticket(10_000), &mut Instrumented::grey(2), &mut { granted }, &mut NoUi, &CancelToken::new()).unwrap();
        let seen = stub.seen();
        assert_eq!(seen[0].path, "/v1/policy");
        assert!(seen[1].path.ends_with("/consent"), "{:?}", seen[1].path);
        assert!(seen[2..].iter().all(|s| !s.path.ends_with("/consent") && s.path != "/v1/policy"));
        let body = seen[1].json.clone().unwrap();
        assert_eq!(body["policy_version"], "2026-11");
        assert_eq!(body["channel"], "sdk");
        assert_eq!(body["scopes"], serde_json::json!(scopes));
        assert!(seen[1].headers.iter().any(|(k, v)| k == "authorization" && v.starts_with("Bearer ")));
    }
}

#[derive(Default)]
struct Prompts(Vec<String>);
impl Ui for Prompts {
    fn prompt(&mut self, action: Action, _: Duration) {
        self.0.push(format!("prompt {action:?}"));
    }
    fn hint(&mut self, hint: Hint) {
        self.0.push(format!("hint {hint:?}"));
    }
    fn action_hint(&mut self, hint: Option<huoti_sdk::ActionHint>) {
        self.0.push(format!("action_hint {:?}", hint.map(|h| (h.step, h.code, h.progress_percent))));
    }
}

/// The server's per-frame prompt reaches the Ui while its window is open, once per change, and
/// is cleared when the server stops sending it (the turn was seen).
#[test]
fn the_servers_prompt_is_shown_while_its_window_is_open_and_cleared_when_the_step_is_seen() {
    let stub = Stub::start(Frames::PromptBetween(4, 8));
    let driver = Driver::new(&stub.url).with_net(fast_net(3000));
    let mut t = ticket(0);
    t.challenge = serde_json::from_value(serde_json::json!({
        "nonce": "00ff", "neutral_ms": 200, "reduced_flash": false, "total_ms": 1400, "flashes": [],
        "actions": [{"action": "turn_left", "start_ms": 200, "end_ms": 1400}]
    }))
    .unwrap();
    let mut ui = Prompts::default();
    let mut src = Instrumented::grey(1000);
    let calls = src.calls.clone();
    driver.run(&t, &mut src, &mut Granted::all(), &mut ui, &CancelToken::new()).unwrap();
    calls.assert_released();
    let shown = "action_hint Some((0, TurnFurther, Some(50)))";
    let at = ui.0.iter().position(|e| e == shown).unwrap_or_else(|| panic!("{:?}", ui.0));
    assert_eq!(ui.0.iter().filter(|e| *e == shown).count(), 1, "once per change: {:?}", ui.0);
    assert!(ui.0[..at].contains(&"prompt TurnLeft".to_owned()), "{:?}", ui.0);
    assert_eq!(ui.0.get(at + 1).map(String::as_str), Some("action_hint None"), "cleared when the server stops: {:?}", ui.0);
    assert!(ui.0.ends_with(&["hint CaptureDone".to_owned(), "hint Analysing".to_owned()]), "{:?}", ui.0);
}

/// The capture times (`t_ms`) of the frames the stub received.
fn upload_times(stub: &Stub) -> Vec<u64> {
    stub.frames().iter().map(|f| f.path.split("t_ms=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap()).collect()
}

/// A frame with detail (a flat one would compress to nothing whatever the quality).
fn textured(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 7 + y * 3) as u8, ((x / 4) * (y / 4)) as u8, (x ^ y) as u8]))
}

/// Issue 15: a challenge with a capture profile gets the frames the profile asks for — thinned
/// to its rates (4 fps idle, 10 fps in the span), scaled down to its width keeping the aspect
/// ratio, at its JPEG quality — from a 30 fps camera; bytes sent are counted.
#[test]
fn a_capture_profile_thins_to_its_rates_and_sends_its_width_at_its_quality() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000)).with_clock(Arc::new(FastClock::default()));
    let mut t = ticket(3000);
    t.challenge.capture =
        Some(CaptureProfile { width: 160, jpeg_quality: 60, idle_fps: 4, spans: vec![CaptureSpan { start_ms: 1000, end_ms: 2000, fps: 10 }] });
    // 30 fps for 4 s; capture ends at 3000 + 300 ms tail.
    let out = driver.run(&t, &mut Instrumented::new(120, 33, textured(240, 180)), &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap();
    let times = upload_times(&stub);
    let count = |from: u64, to: u64| times.iter().filter(|&&t| (from..to).contains(&t)).count();
    // 4 fps for 1 s, 10 fps for 1 s, 4 fps for 1.3 s (the tail included): one frame per slot of
    // the 1 / fps grid, the first camera frame in it (0, 264, 528, 759; 1023, 1122, …, 1914;
    // 2013, 2277, 2508, 2772, 3003, 3267).
    assert_eq!((count(0, 1000), count(1000, 2000), count(2000, 3300)), (4, 10, 6), "{times:?}");
    for w in times.windows(2) {
        let fps = u64::from(t.challenge.capture.as_ref().unwrap().fps_at(w[1]));
        assert!(w[1] * fps / 1000 > w[0] * fps / 1000, "two frames in one slot of {fps} fps: {w:?} in {times:?}");
    }
    assert_eq!(out.frames_sent as usize, times.len());
    let mut bytes = 0;
    for f in stub.frames() {
        assert_eq!(jpeg_size(&f.body), Some((160, 120)), "scaled down to the profile width, aspect kept");
        assert_eq!(jpeg_quality(&f.body), Some(60), "encoded at the profile quality");
        bytes += f.body.len() as u64;
    }
    assert_eq!(out.bytes_sent, bytes, "bytes sent are the JPEG bodies");

    // A profile wider than the camera never scales up.
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000)).with_clock(Arc::new(FastClock::default()));
    t.challenge.capture.as_mut().unwrap().width = 640;
    driver.run(&t, &mut Instrumented::new(10, 33, textured(240, 180)), &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap();
    assert!(stub.frames().iter().all(|f| jpeg_size(&f.body) == Some((240, 180))));
}

/// An older server states no profile: every frame up to `max_fps` (15) as captured, at the
/// host's quality (85), as before issue 15.
#[test]
fn without_a_capture_profile_frames_are_sent_as_before() {
    let stub = Stub::start(Frames::Accept);
    let driver = Driver::new(&stub.url).with_net(fast_net(2000)).with_clock(Arc::new(FastClock::default()));
    let out = driver.run(&ticket(3000), &mut Instrumented::new(120, 33, textured(240, 180)), &mut Granted::all(), &mut NoUi, &CancelToken::new()).unwrap();
    let times = upload_times(&stub);
    // 750 / 15 = 50 ms apart at least: every other frame of a 30 fps camera, for 3.3 s.
    assert_eq!(times, (0..50).map(|n| n * 66).collect::<Vec<u64>>());
    assert_eq!(out.frames_sent, 50);
    for f in stub.frames() {
        assert_eq!(jpeg_size(&f.body), Some((240, 180)));
        assert_eq!(jpeg_quality(&f.body), Some(85));
    }
    assert_eq!(out.bytes_sent, stub.frames().iter().map(|f| f.body.len() as u64).sum::<u64>());
}
