//! The server's cost of a session (issues 3 and 15), through the real router, store, vault and
//! models, for two clients of one typical production challenge (a 1 s neutral phase, six
//! colours of 400 ms, a head turn and a blink, 9.4 s; test mode fixes it so every run is the
//! same):
//!
//! - **legacy**: every camera frame (15 fps) as given in `--jpegs` — what clients sent before
//!   the capture profile, and what clients that ignore it still send;
//! - **profile**: what a client following the challenge's `capture` profile sends — the frames
//!   it picks from `--profile-jpegs` (the same camera frames, scaled to the profile's width and
//!   encoded at its quality by libjpeg-turbo, as a browser does; `bench/session.sh` makes them).
//!
//! Frames are uploaded at their capture times, each measured on arrival as in production, then
//! `complete` is timed. Per session it records the process's CPU time from the first upload to
//! the signed verdict (user + system time of every thread, what `getrusage(RUSAGE_SELF)` sums,
//! read from `/proc/self/stat`), the wall time of `complete`, each upload request's wall time,
//! and the bytes uploaded.
//!
//! `taskset -c 0 cargo bench -p huoti-server --bench complete -- --jpegs DIR --profile-jpegs DIR
//!  [--client legacy|profile|both] [--runs N] [--json OUT]`
//!
//! `bench/session.sh` runs it on one core beside the naive reference on the legacy JPEGs.
//! `--runs 0` runs only the warm-up session: `bench/instructions.sh` counts instructions with
//! runs 0 and 1 and takes the difference (one warm session).

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use huoti_server::models::Models;
use huoti_server::{AppState, ServerConfig, SystemClock, build_state, create_integrator_key, router};
use common::{call, post_json};
use serde_json::{Value, json};

/// The camera's frame interval: 15 fps.
const FRAME_GAP_MS: f64 = 1000.0 / 15.0;

/// The challenge every session plays: shaped like a random production plan
/// (`ChallengeConfig::default()`: 1 s neutral, 5–7 colours of 400 ms, 2–3 actions of 3 s).
fn challenge() -> Value {
    let colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255]];
    let flashes: Vec<Value> =
        colours.iter().enumerate().map(|(i, rgb)| json!({"rgb": rgb, "start_ms": 1000 + 400 * i, "end_ms": 1400 + 400 * i})).collect();
    json!({"actions": [
        {"action": "turn_left", "start_ms": 3400, "end_ms": 6400},
        {"action": "blink", "start_ms": 6400, "end_ms": 9400}
    ], "flashes": flashes})
}

/// The `p`-th percentile (nearest rank) of `v`; NaN when empty (`--runs 0`).
fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((p / 100.0 * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)]
}

fn median(v: Vec<f64>) -> f64 {
    percentile(v, 50.0)
}

/// CPU time of this whole process so far (all threads), ms: `(utime, stime)` of
/// `/proc/self/stat`, the figures `getrusage(RUSAGE_SELF)` sums, in clock ticks (10 ms;
/// a session takes hundreds). Read from /proc rather than through a syscall binding: the
/// bench needs no unsafe code and no extra dependency.
fn process_cpu_ms() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat (Linux)");
    // Fields after the command name (which may hold spaces, so split after its ')'):
    // state is field 3, utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ms = |field: &str| field.parse::<f64>().unwrap() * 1000.0 / CLOCK_TICKS_PER_S;
    (ms(fields[11]), ms(fields[12]))
}

/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux this runs on (USER_HZ is fixed at 100 in the
/// kernel's user ABI on x86 and ARM).
const CLOCK_TICKS_PER_S: f64 = 100.0;

/// The frames a client following `capture` (the challenge's profile) sends from the camera
/// frames (15 fps, already scaled and encoded at the profile's width and quality) until
/// `total_ms`: those `CaptureProfile::wants` picks.
fn profile_frames(capture: &Value, jpegs: &[PathBuf], total_ms: u64) -> Vec<(u64, Vec<u8>)> {
    let profile: huoti_api::CaptureProfile = serde_json::from_value(capture.clone()).expect("challenge.capture");
    let mut last = None;
    let mut out = Vec::new();
    for (i, path) in jpegs.iter().enumerate() {
        let t_ms = (i as f64 * FRAME_GAP_MS).round() as u64;
        if t_ms >= total_ms || !profile.wants(t_ms, last) {
            continue;
        }
        last = Some(t_ms);
        let jpeg = std::fs::read(path).unwrap();
        let width = image::ImageReader::with_format(std::io::Cursor::new(&jpeg), image::ImageFormat::Jpeg).into_dimensions().unwrap().0;
        assert_eq!(width, profile.width, "{}: made for another profile (bench/session.sh makes them)", path.display());
        out.push((t_ms, jpeg));
    }
    out
}

/// What one client's sessions cost, as JSON.
struct Costs {
    complete_ms: Vec<f64>,
    upload_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    /// The system part of `cpu_ms`.
    sys_ms: Vec<f64>,
    frames: usize,
    bytes: usize,
    capture_s: f64,
}

impl Costs {
    fn json(self, runs: usize) -> Value {
        let Costs { complete_ms, upload_ms, cpu_ms, sys_ms, frames, bytes, capture_s } = self;
        json!({
            "frames": frames,
            "runs": runs,
            "complete_to_verdict_ms": median(complete_ms.clone()),
            "complete_to_verdict_ms_all": complete_ms,
            "server_cpu_ms_per_session": median(cpu_ms.clone()),
            "server_cpu_ms_per_session_all": cpu_ms,
            "server_sys_ms_per_session": median(sys_ms),
            "upload_request_ms_mean": upload_ms.iter().sum::<f64>() / upload_ms.len().max(1) as f64,
            "upload_request_ms_median": median(upload_ms.clone()),
            "upload_request_ms_p99": percentile(upload_ms, 99.0),
            "bytes_per_session": bytes,
            "capture_s": capture_s,
            "bytes_per_capture_s": bytes as f64 / capture_s,
        })
    }
}

/// Runs `runs` sessions (after one warm-up) of the client `kind` and returns their costs.
async fn sessions(state: &Arc<AppState>, app: &axum::Router, key: &str, kind: &str, (jpegs, profile_jpegs): (&[PathBuf], &[PathBuf]), runs: usize) -> Costs {
    let total_ms = 9400;
    // The legacy client sends every camera frame; the profile client's are picked once its
    // challenge states the profile (the first run).
    let mut frames: Option<Vec<(u64, Vec<u8>)>> = (kind == "legacy").then(|| {
        jpegs
            .iter()
            .enumerate()
            .map(|(i, p)| ((i as f64 * FRAME_GAP_MS).round() as u64, p))
            .filter(|(t, _)| *t < total_ms)
            .map(|(t, p)| (t, std::fs::read(p).unwrap()))
            .collect()
    });
    let mut costs = Costs { complete_ms: Vec::new(), upload_ms: Vec::new(), cpu_ms: Vec::new(), sys_ms: Vec::new(), frames: 0, bytes: 0, capture_s: total_ms as f64 / 1000.0 };
    for run in 0..=runs {
        // Frames repeat across runs: forget the earlier runs' hashes (the replay check).
        state.db.prune_seen_frames(u64::MAX).await.unwrap();
        let (status, s) = call(app, post_json("/v1/sessions", key, &json!({"fixed_challenge": challenge()}))).await;
        assert_eq!(status, StatusCode::CREATED, "{s}");
        let (id, token, nonce) =
            (s["session_id"].as_str().unwrap(), s["client_token"].as_str().unwrap(), s["challenge"]["nonce"].as_str().unwrap());
        assert_eq!(s["challenge"]["total_ms"], total_ms, "the bench's plan");
        let frames = frames.get_or_insert_with(|| profile_frames(&s["challenge"]["capture"], profile_jpegs, total_ms));
        // The person's consent comes before any frame (policy A1).
        let (_, policy) = call(app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
        let consent = json!({"policy_version": policy["version"], "scopes": ["face_capture_and_upload"], "channel": "sdk"});
        let (status, v) = call(app, post_json(&format!("/v1/sessions/{id}/consent"), token, &consent)).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let cpu_start = process_cpu_ms();
        let uploads = common::upload_at(app, id, token, nonce, frames).await;
        let (v, took) = common::complete(app, id, token).await;
        assert!(v["passed"].is_boolean(), "a verdict: {v}");
        let cpu_end = process_cpu_ms();
        let (user, sys) = (cpu_end.0 - cpu_start.0, cpu_end.1 - cpu_start.1);
        // Run 0 warms up (tract plans per input shape, page cache) and is not counted.
        if run > 0 {
            costs.upload_ms.extend(uploads);
            costs.complete_ms.push(took);
            costs.cpu_ms.push(user + sys);
            costs.sys_ms.push(sys);
        }
    }
    let frames = frames.expect("set in the first run");
    costs.frames = frames.len();
    costs.bytes = frames.iter().map(|(_, j)| j.len()).sum();
    costs
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut jpeg_dir, mut profile_dir, mut json_out, mut runs, mut clients) = (None, None, None, 5usize, vec!["legacy", "profile"]);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jpegs" => jpeg_dir = args.next().map(PathBuf::from),
            "--profile-jpegs" => profile_dir = args.next().map(PathBuf::from),
            "--json" => json_out = args.next().map(PathBuf::from),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--client" => {
                clients = match args.next().as_deref() {
                    Some("legacy") => vec!["legacy"],
                    Some("profile") => vec!["profile"],
                    Some("both") => vec!["legacy", "profile"],
                    other => panic!("--client legacy|profile|both, not {other:?}"),
                }
            }
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let jpegs = common::jpeg_paths(&jpeg_dir.expect("--jpegs DIR (the legacy client's JPEG frames, 15 fps, sorted by name)"));
    let profile_jpegs = profile_dir.map(|d| common::jpeg_paths(&d)).unwrap_or_default();
    assert!(!clients.contains(&"profile") || !profile_jpegs.is_empty(), "--profile-jpegs DIR (the camera frames at the profile's size and quality) for the profile client");

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let report = rt.block_on(async move {
        let data = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::default();
        config.data_dir = data.path().to_path_buf();
        config.model_dir = huoti_assets::testing::models_dir().to_path_buf();
        // A fixed challenge, so that every run plays the same (test mode accepts it).
        config.test_mode = true;
        // Under valgrind (bench/instructions.sh) a session takes minutes: let none expire.
        config.session.ttl_s = 3600;
        let engine = Models::load(&config.model_dir).expect("models");
        let state = build_state(config, Arc::new(SystemClock), Some(Arc::new(engine))).await.expect("state");
        let key = create_integrator_key(&state.db, "bench", 0).await.unwrap();
        let app = router(state.clone());
        let mut report = serde_json::Map::new();
        for kind in &clients {
            let costs = sessions(&state, &app, &key, kind, (&jpegs, &profile_jpegs), runs).await;
            report.insert((*kind).to_owned(), costs.json(runs));
        }
        let metrics = huoti_server::metrics::global().render();
        let series = format!("huoti_analyses_total{{path=\"on_arrival\"}} {}", clients.len() * (runs + 1));
        assert!(metrics.contains(&series), "every run must take the on-arrival path:\n{metrics}");
        Value::Object(report)
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    if let Some(p) = json_out {
        std::fs::write(p, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
}
