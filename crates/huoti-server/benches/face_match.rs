//! Face match's cost at `complete` (issue 14): the server's `complete` through the real router,
//! store, vault and models, without and with face match, alternately in one process. A
//! session's frames are uploaded at the capture pace (15 fps), each measured on arrival as in
//! production, then `complete` is timed. (The issue-3/15 session bench is `complete.rs`.)
//!
//! `taskset -c 0 cargo bench -p huoti-server --bench face_match -- --jpegs DIR [--runs N] [--json OUT]
//!  [--fixed-challenge PLAN.json --face-match REFERENCE.jpg]`
//!
//! With `--face-match` every run is done twice — without and with matching on — and both
//! medians and their difference are reported: the added `complete` latency of face match.
//! Matching runs only on a live session, so the frames must follow the test-mode challenge in
//! `--fixed-challenge` (e.g. cap12 10–20.7 s), and the reference is an image of the clip's
//! person. Paths are absolute (cargo runs benches in the crate's directory).

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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut jpeg_dir, mut json_out, mut runs) = (None, None, 5usize);
    let (mut fixed, mut reference): (Option<serde_json::Value>, Option<Vec<u8>>) = (None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jpegs" => jpeg_dir = args.next().map(PathBuf::from),
            "--json" => json_out = args.next().map(PathBuf::from),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--fixed-challenge" => fixed = args.next().map(|p| serde_json::from_slice(&std::fs::read(p).expect("plan file")).expect("plan JSON")),
            "--face-match" => reference = args.next().map(|p| std::fs::read(p).expect("reference image")),
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
        config.test_mode = fixed.is_some();
        config.model_dir = huoti_assets::testing::models_dir().to_path_buf();
        let engine = Models::load(&config.model_dir).expect("models");
        let state = build_state(config, Arc::new(SystemClock), Some(Arc::new(engine))).await.expect("state");
        let key = create_integrator_key(&state.db, "bench", 0).await.unwrap();
        let app = router(state.clone());
        let frame_gap = Duration::from_micros(66_667);
        let (mut complete_ms, mut upload_ms) = (Vec::new(), Vec::new());
        let (mut matched_ms, mut decisions) = (Vec::new(), Vec::new());
        // Without matching, then (with --face-match) with it, alternately in each run.
        let modes: &[bool] = if reference.is_some() { &[false, true] } else { &[false] };
        let mut enrolled = false;
        for run in 0..=runs {
            for &matching in modes {
                // Frames repeat across runs: forget the earlier runs' hashes (the replay check).
                state.db.prune_seen_frames(u64::MAX).await.unwrap();
                let mut create = json!({});
                if let Some(plan) = &fixed {
                    create["fixed_challenge"] = plan.clone();
                }
                if matching {
                    (create["subject_ref"], create["face_match"]) = (json!("bench-person"), json!(true));
                }
                let (status, s) = call(&app, post_json("/v1/sessions", &key, &create)).await;
                assert_eq!(status, StatusCode::CREATED, "{s}");
                let (id, token, nonce) =
                    (s["session_id"].as_str().unwrap(), s["client_token"].as_str().unwrap(), s["challenge"]["nonce"].as_str().unwrap());
                // The person's consent comes before any frame (policy A1); face match has its own.
                let (_, policy) = call(&app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
                let scopes = if matching { json!(["face_capture_and_upload", "face_comparison"]) } else { json!(["face_capture_and_upload"]) };
                let consent = json!({"policy_version": policy["version"], "scopes": scopes, "channel": "sdk"});
                let (status, v) = call(&app, post_json(&format!("/v1/sessions/{id}/consent"), token, &consent)).await;
                assert_eq!(status, StatusCode::CREATED, "{v}");
                if matching && !enrolled {
                    let req = Request::put("/v1/subjects/bench-person/reference")
                        .header("authorization", format!("Bearer {key}"))
                        .header("content-type", "image/jpeg")
                        .body(Body::from(reference.clone().unwrap()))
                        .unwrap();
                    let (status, v) = call(&app, req).await;
                    assert_eq!(status, StatusCode::CREATED, "{v}");
                    enrolled = true;
                }
                let uploads = common::upload_paced(&app, id, token, nonce, &jpegs, frame_gap).await;
                if run > 0 {
                    upload_ms.extend(uploads);
                }
                let (_, took) = common::complete(&app, id, token).await;
                if matching {
                    let (_, r) = call(&app, Request::get(format!("/v1/sessions/{id}/result")).header("authorization", format!("Bearer {key}")).body(Body::empty()).unwrap()).await;
                    let decision = r["verdict"]["face_match"]["decision"].clone();
                    assert!(decision.is_string(), "face match must have run (a live session): {}", r["verdict"]);
                    decisions.push(decision);
                }
                // Run 0 warms up (tract plans per input shape, page cache) and is not counted.
                if run > 0 {
                    if matching { matched_ms.push(took) } else { complete_ms.push(took) }
                }
            }
        }
        let metrics = huoti_server::metrics::global().render();
        let series = format!("huoti_analyses_total{{path=\"on_arrival\"}} {}", (runs + 1) * modes.len());
        assert!(metrics.contains(&series), "every run must take the on-arrival path:\n{metrics}");
        let face_match = (!matched_ms.is_empty()).then(|| {
            let (with, without) = (median(matched_ms.clone()), median(complete_ms.clone()));
            json!({"complete_to_verdict_ms": with, "complete_to_verdict_ms_all": matched_ms, "added_ms": with - without, "decisions": decisions})
        });
        json!({
            "face_match": face_match,
            "frames": jpegs.len(),
            "runs": runs,
            "complete_to_verdict_ms": median(complete_ms.clone()),
            "complete_to_verdict_ms_all": complete_ms,
            "upload_request_ms_mean": upload_ms.iter().sum::<f64>() / upload_ms.len() as f64,
            "upload_request_ms_median": median(upload_ms),
        })
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    if let Some(p) = json_out {
        std::fs::write(p, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
}
