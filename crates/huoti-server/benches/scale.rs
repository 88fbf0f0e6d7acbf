//! Scale-out figures (issue 20), all in one run, through the real router, store, vault and
//! models, frames uploaded at the capture pace (15 fps) and measured on arrival:
//!
//! * per session, the **directory store** beside the **S3-compatible store** (`s3s-fs` on
//!   loopback, `scripts/s3-server.sh`): upload request p50/p99, `complete` latency, objects and
//!   bytes stored per session, CPU seconds per session;
//! * **no session affinity**: two nodes (two server states on one database and one bucket),
//!   uploads alternating between them, `complete` on one — the fallback path re-measures every
//!   frame; its `complete` latency and CPU per session beside the affinity case;
//! * database rows a session leaves behind.
//!
//! `cargo bench -p huoti-server --bench scale -- --jpegs DIR [--runs N] [--database URL] [--json OUT]`
//! (`bench/scale.sh` makes the JPEGs and runs it; `--database` a PostgreSQL URL, default SQLite).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use huoti_assets::testing::S3Server;
use huoti_server::config::BlobsConfig;
use huoti_server::models::Models;
use huoti_server::{AppState, ServerConfig, SystemClock, build_state, create_integrator_key, router};
use common::{call, ms, post_json};
use serde_json::{Value, json};

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// What one session measured.
#[derive(Default)]
struct Sample {
    uploads_ms: Vec<f64>,
    complete_ms: f64,
    cpu_s: f64,
    objects: usize,
    bytes: u64,
    on_arrival: bool,
}

/// One session: created and consented on `nodes[0]`, frame `i` uploaded to `nodes[i % n]` at
/// 15 fps, completed on `nodes[0]`. Objects and bytes are counted just before `complete`.
async fn session(nodes: &[(Arc<AppState>, axum::Router)], key: &str, jpegs: &[Vec<u8>], stored: impl Fn(&str) -> (usize, u64)) -> Sample {
    let (state, app) = &nodes[0];
    state.db.prune_seen_frames(u64::MAX).await.unwrap(); // the same frames every run: no replay
    let cpu0 = cpu_s();
    let (status, s) = call(app, post_json("/v1/sessions", key, &json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let (id, token, nonce) = (s["session_id"].as_str().unwrap(), s["client_token"].as_str().unwrap(), s["challenge"]["nonce"].as_str().unwrap());
    let (_, policy) = call(app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
    let consent = json!({"policy_version": policy["version"], "scopes": ["face_capture_and_upload"], "channel": "sdk"});
    let (status, v) = call(app, post_json(&format!("/v1/sessions/{id}/consent"), token, &consent)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let gap = Duration::from_micros(66_667);
    let start = Instant::now();
    let mut sample = Sample::default();
    for (i, jpeg) in jpegs.iter().enumerate() {
        if let Some(wait) = (gap * i as u32).checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let t = Instant::now();
        let req = Request::post(format!("/v1/sessions/{id}/frames?seq={i}&t_ms={}&nonce={nonce}", (gap * i as u32).as_millis()))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "image/jpeg")
            .body(Body::from(jpeg.clone()))
            .unwrap();
        let (status, v) = call(&nodes[i % nodes.len()].1, req).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        sample.uploads_ms.push(ms(t.elapsed()));
    }
    (sample.objects, sample.bytes) = stored(id);
    let before = huoti_server::metrics::global().render();
    let t = Instant::now();
    let (status, v) = call(app, post_json(&format!("/v1/sessions/{id}/complete"), token, &json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    sample.complete_ms = ms(t.elapsed());
    sample.cpu_s = cpu_s() - cpu0;
    let count = |m: &str| m.lines().find_map(|l| l.strip_prefix("huoti_analyses_total{path=\"on_arrival\"} ")?.parse::<u64>().ok()).unwrap_or(0);
    sample.on_arrival = count(&huoti_server::metrics::global().render()) > count(&before);
    sample
}

/// Files and bytes under `dir` (recursively).
fn disk(dir: &Path) -> (usize, u64) {
    let mut out = (0, 0);
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            let (n, b) = disk(&p);
            out = (out.0 + n, out.1 + b);
        } else {
            out = (out.0 + 1, out.1 + e.metadata().map_or(0, |m| m.len()));
        }
    }
    out
}

/// The rows of every table, summed (what a session leaves behind is the difference).
async fn rows(state: &AppState) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in ["sessions", "frames", "subjects", "consents", "subject_keys", "seen_frames", "rate_buckets", "failures", "blob_deletions", "audit_log"] {
        out.push((t.to_owned(), huoti_server::testkit::scalar(&state.db, &format!("SELECT COUNT(*) FROM {t}")).await));
    }
    out
}

fn summary(name: &str, samples: &[Sample]) -> Value {
    let uploads: Vec<f64> = samples.iter().flat_map(|s| s.uploads_ms.iter().copied()).collect();
    let complete: Vec<f64> = samples.iter().map(|s| s.complete_ms).collect();
    let cpu: Vec<f64> = samples.iter().map(|s| s.cpu_s).collect();
    json!({
        "setup": name,
        "sessions": samples.len(),
        "upload_ms_p50": quantile(&uploads, 0.5),
        "upload_ms_p99": quantile(&uploads, 0.99),
        "complete_ms_median": quantile(&complete, 0.5),
        "complete_ms_all": complete,
        "cpu_s_per_session_median": quantile(&cpu, 0.5),
        "objects_per_session": samples[0].objects,
        "bytes_per_session": samples[0].bytes,
        "on_arrival_path": samples.iter().all(|s| s.on_arrival),
        "fallback_path": samples.iter().all(|s| !s.on_arrival),
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut jpeg_dir, mut json_out, mut runs, mut database) = (None, None, 5usize, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jpegs" => jpeg_dir = args.next().map(PathBuf::from),
            "--json" => json_out = args.next().map(PathBuf::from),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--database" => database = args.next(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let jpeg_dir = jpeg_dir.expect("--jpegs DIR (JPEG frames, sorted by name)");
    let jpegs = common::read_jpegs(&jpeg_dir);

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let report = rt.block_on(async move {
        let models = Arc::new(Models::load(huoti_assets::testing::models_dir()).expect("models"));
        let s3 = S3Server::start("huoti-bench");
        let work = tempfile::tempdir().unwrap();
        let creds = work.path().join("s3.toml");
        std::fs::write(&creds, format!("access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n", s3.access_key, s3.secret_key)).unwrap();
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s3_blobs = BlobsConfig {
            kind: "s3".into(),
            bucket: s3.bucket.clone(),
            endpoint: s3.endpoint.clone(),
            region: "cn-north-1".into(),
            path_style: true,
            credentials_file: creds.display().to_string(),
            ..Default::default()
        };
        let database = match database {
            Some(url) if url.starts_with("postgres") => huoti_server::testkit::fresh_postgres_schema(&url).await,
            Some(url) => url,
            None => format!("sqlite://{}?mode=rwc", work.path().join("huoti.db").display()),
        };
        let node = |dir: PathBuf, blobs: BlobsConfig| {
            let (models, database) = (models.clone(), database.clone());
            async move {
                std::fs::create_dir_all(&dir).unwrap();
                let config = ServerConfig { data_dir: dir, database_url: database, blobs, ..ServerConfig::default() };
                let state = build_state(config, Arc::new(SystemClock), Some(models)).await.expect("state");
                (state.clone(), router(state))
            }
        };
        let dir_node = node(work.path().join("dir-node"), BlobsConfig::default()).await;
        let s3_node = node(work.path().join("s3-node"), s3_blobs.clone()).await;
        for f in ["kek.json", "signing-ed25519.key"] {
            std::fs::create_dir_all(work.path().join("s3-node-2")).unwrap();
            std::fs::copy(work.path().join("s3-node").join(f), work.path().join("s3-node-2").join(f)).unwrap();
        }
        let s3_node_2 = node(work.path().join("s3-node-2"), s3_blobs).await;
        let key = create_integrator_key(&dir_node.0.db, "bench", 0).await.unwrap();
        let dir_blobs = work.path().join("dir-node/blobs");
        let bucket = s3.bucket_dir();

        let rows_before = rows(&dir_node.0).await;
        let (mut dir, mut s3s, mut fallback) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..=runs {
            // Interleaved, so the machine's noise falls on every setup alike; run 0 warms up.
            let d = session(std::slice::from_ref(&dir_node), &key, &jpegs, |id| disk(&dir_blobs.join(id))).await;
            let s = session(std::slice::from_ref(&s3_node), &key, &jpegs, |id| disk(&bucket.join(id))).await;
            let f = session(&[s3_node.clone(), s3_node_2.clone()], &key, &jpegs, |id| disk(&bucket.join(id))).await;
            if run > 0 {
                dir.push(d);
                s3s.push(s);
                fallback.push(f);
            }
        }
        let rows_after = rows(&dir_node.0).await;
        let sessions = 3 * (runs + 1) as i64;
        let per_session: serde_json::Map<String, Value> = rows_before
            .iter()
            .zip(&rows_after)
            .map(|((t, b), (_, a))| (t.clone(), json!((a - b) as f64 / sessions as f64)))
            .collect();
        assert!(dir.iter().chain(&s3s).all(|s| s.on_arrival), "one node: the on-arrival path");
        assert!(fallback.iter().all(|s| !s.on_arrival), "no affinity: the fallback path");
        json!({
            "frames": jpegs.len(),
            "runs": runs,
            "database": if database.starts_with("postgres") { "postgresql" } else { "sqlite" },
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "setups": [summary("one node, directory store", &dir), summary("one node, S3 store", &s3s), summary("two nodes without affinity, S3 store (frames alternate, complete re-measures)", &fallback)],
            "rows_left_per_session": per_session,
        })
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    if let Some(p) = json_out {
        std::fs::write(p, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    }
}
