//! The server's cost of a session (issues 3 and 15), through the real router, store, vault and
//! models: a session's frames are uploaded at the capture pace (15 fps), each measured on
//! arrival as in production, then `complete` is timed. Per session it records the process's
//! CPU time from the first upload to the signed verdict (user + system time of every thread,
//! what `getrusage(RUSAGE_SELF)` sums, read from `/proc/self/stat`), the wall time of
//! `complete`, each upload request's wall time, and the bytes uploaded.
//!
//! `taskset -c 0 cargo bench -p huoti-server --bench complete -- --jpegs DIR [--runs N] [--json OUT]`
//!
//! `bench/session.sh` runs it on one core beside the naive reference on the same JPEGs.
//! `--runs 0` runs only the warm-up session: `bench/instructions.sh` counts instructions with
//! runs 0 and 1 and takes the difference (one warm session).

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use huoti_server::models::Models;
use huoti_server::{ServerConfig, SystemClock, build_state, create_integrator_key, router};
use common::{call, post_json};
use serde_json::json;

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

/// CPU time of this whole process so far (all threads, user + system), ms: `utime + stime`
/// of `/proc/self/stat`, the figures `getrusage(RUSAGE_SELF)` sums, in clock ticks (10 ms;
/// a session takes hundreds). Read from /proc rather than through a syscall binding: the
/// bench needs no unsafe code and no extra dependency.
fn process_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat (Linux)");
    // Fields after the command name (which may hold spaces, so split after its ')'):
    // state is field 3, utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks * 1000.0 / CLOCK_TICKS_PER_S
}

/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux this runs on (USER_HZ is fixed at 100 in the
/// kernel's user ABI on x86 and ARM).
const CLOCK_TICKS_PER_S: f64 = 100.0;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut jpeg_dir, mut json_out, mut runs) = (None, None, 5usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jpegs" => jpeg_dir = args.next().map(PathBuf::from),
            "--json" => json_out = args.next().map(PathBuf::from),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let jpeg_dir = jpeg_dir.expect("--jpegs DIR (JPEG frames, sorted by name)");
    let jpegs = common::read_jpegs(&jpeg_dir);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let report = rt.block_on(async move {
        let data = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::default();
        config.data_dir = data.path().to_path_buf();
        config.model_dir = huoti_assets::testing::models_dir().to_path_buf();
        // Under valgrind (bench/instructions.sh) a session takes minutes: let none expire.
        config.session.ttl_s = 3600;
        let engine = Models::load(&config.model_dir).expect("models");
        let state = build_state(config, Arc::new(SystemClock), Some(Arc::new(engine))).await.expect("state");
        let key = create_integrator_key(&state.db, "bench", 0).await.unwrap();
        let app = router(state.clone());
        let frame_gap = Duration::from_micros(66_667);
        let (mut complete_ms, mut upload_ms, mut cpu_ms) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..=runs {
            // Frames repeat across runs: forget the earlier runs' hashes (the replay check).
            state.db.prune_seen_frames(u64::MAX).await.unwrap();
            let (status, s) = call(&app, post_json("/v1/sessions", &key, &json!({}))).await;
            assert_eq!(status, StatusCode::CREATED, "{s}");
            let (id, token, nonce) =
                (s["session_id"].as_str().unwrap(), s["client_token"].as_str().unwrap(), s["challenge"]["nonce"].as_str().unwrap());
            // The person's consent comes before any frame (policy A1).
            let (_, policy) = call(&app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
            let consent = json!({"policy_version": policy["version"], "scopes": ["face_capture_and_upload"], "channel": "sdk"});
            let (status, v) = call(&app, post_json(&format!("/v1/sessions/{id}/consent"), token, &consent)).await;
            assert_eq!(status, StatusCode::CREATED, "{v}");
            let cpu_start = process_cpu_ms();
            let uploads = common::upload_paced(&app, id, token, nonce, &jpegs, frame_gap).await;
            let (v, took) = common::complete(&app, id, token).await;
            assert!(v["passed"].is_boolean(), "a verdict: {v}");
            let cpu = process_cpu_ms() - cpu_start;
            // Run 0 warms up (tract plans per input shape, page cache) and is not counted.
            if run > 0 {
                upload_ms.extend(uploads);
                complete_ms.push(took);
                cpu_ms.push(cpu);
            }
        }
        let metrics = huoti_server::metrics::global().render();
        let series = format!("huoti_analyses_total{{path=\"on_arrival\"}} {}", runs + 1);
        assert!(metrics.contains(&series), "every run must take the on-arrival path:\n{metrics}");
        let bytes: usize = jpegs.iter().map(Vec::len).sum();
        let capture_s = jpegs.len() as f64 * frame_gap.as_secs_f64();
        json!({
            "frames": jpegs.len(),
            "runs": runs,
            "complete_to_verdict_ms": median(complete_ms.clone()),
            "complete_to_verdict_ms_all": complete_ms,
            "server_cpu_ms_per_session": median(cpu_ms.clone()),
            "server_cpu_ms_per_session_all": cpu_ms,
            "upload_request_ms_mean": upload_ms.iter().sum::<f64>() / upload_ms.len().max(1) as f64,
            "upload_request_ms_median": median(upload_ms.clone()),
            "upload_request_ms_p99": percentile(upload_ms, 99.0),
            "bytes_per_session": bytes,
            "capture_s": capture_s,
            "bytes_per_capture_s": bytes as f64 / capture_s,
        })
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    if let Some(p) = json_out {
        std::fs::write(p, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
}
