//! `huoti admin …` and a real `huoti serve` process: no leaks in logs, errors or metrics
//! (S2, L-clauses), data residency refused at start (S1), retention, incidents, wind-down
//! and key rotation from the command line (on SQLite and, with `HUOTI_TEST_POSTGRES_URL`,
//! PostgreSQL).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use huoti_assets::testing::free_port;
use serde_json::{Value, json};

const ID_NUMBER: &str = "11010519491231002X";
const PHONE: &str = "13812345678";

fn huoti() -> Command {
    Command::new(env!("CARGO_BIN_EXE_huoti"))
}

fn models() -> PathBuf {
    huoti_assets::testing::models_dir().to_path_buf()
}

fn jpeg() -> Vec<u8> {
    std::fs::read(huoti_assets::testing::data_file("silent-face-anti-spoofing/image_T1.jpg")).unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(120))).build().into()
}

/// Sends a request, returns (status, body text).
fn send(req: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, String) {
    let mut r = req.unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn s2_l1_l3_no_face_data_tokens_keys_or_identity_in_logs_errors_or_metrics() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = huoti()
        .args(["serve", "--dev", "--no-tls", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data.path())
        .arg("--models")
        .arg(models())
        .env("HUOTI_LOG", "debug")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        stdout.read_to_end(&mut s).ok();
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        stderr.read_to_end(&mut s).ok();
        s
    });
    let a = agent();
    let deadline = Instant::now() + Duration::from_secs(300);
    while a.get(format!("{base}/healthz")).call().map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        assert!(Instant::now() < deadline, "huoti serve never answered");
        assert!(child.try_wait().unwrap().is_none(), "huoti serve exited early");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The dev key is printed once on stdout at start; read it from the data directory's
    // database instead: make our own integrator key through the library.
    let (api_key, officer_key, operator_key) = {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let db = huoti_server::store::Db::connect(&format!("sqlite://{}?mode=rwc", data.path().join("huoti.db").display())).await.unwrap();
            let officer = huoti_server::create_api_key(&db, "po", huoti_privacy::Role::PrivacyOfficer, 0).await.unwrap();
            let operator = huoti_server::create_api_key(&db, "op", huoti_privacy::Role::Operator, 0).await.unwrap();
            (huoti_server::create_integrator_key(&db, "leak-test", 0).await.unwrap(), officer, operator)
        })
    };
    let img = jpeg();
    let mut bodies: Vec<String> = Vec::new();
    let auth = |k: &str| format!("Bearer {k}");

    let (status, created) = send(a.post(format!("{base}/v1/sessions")).header("authorization", auth(&api_key)).send(json!({"correlation_id": "acct-77"}).to_string()));
    assert_eq!(status, 201, "{created}");
    let s: Value = serde_json::from_str(&created).unwrap();
    let (sid, token, nonce) = (s["session_id"].as_str().unwrap(), s["client_token"].as_str().unwrap(), s["challenge"]["nonce"].as_str().unwrap());
    let (_, policy) = send(a.get(format!("{base}/v1/policy")).call());
    let policy: Value = serde_json::from_str(&policy).unwrap();
    let (status, b) = send(
        a.post(format!("{base}/v1/sessions/{sid}/consent"))
            .header("authorization", auth(token))
            .send(json!({"policy_version": policy["version"], "scopes": ["face_capture_and_upload", "device_info"], "channel": "sdk"}).to_string()),
    );
    assert_eq!(status, 201, "{b}");
    let identity = json!({"name": "张三", "id_number": ID_NUMBER, "phone": PHONE}).to_string();
    let (status, b) = send(a.put(format!("{base}/v1/sessions/{sid}/identity")).header("authorization", auth(&api_key)).send(identity));
    assert_eq!(status, 204, "{b}");
    // Refused identity: the error names the field, not the value.
    bodies.push(send(a.put(format!("{base}/v1/sessions/{sid}/identity")).header("authorization", auth(&api_key)).send(json!({"id_number": "1381234567899999XX", "phone": "138-1234"}).to_string())).1);
    for seq in 0..6u32 {
        let url = format!("{base}/v1/sessions/{sid}/frames?seq={seq}&t_ms={}&nonce={nonce}", seq * 66);
        let (status, b) = send(
            a.post(&url)
                .header("authorization", auth(token))
                .header("content-type", "image/jpeg")
                .header("huoti-device-model", "Pixel 8")
                .header("huoti-os-type", "android")
                .header("huoti-os-version", "15")
                .send(&img[..]),
        );
        assert_eq!(status, 200, "{b}");
    }
    // Misuse: wrong tokens, the integrator key as a client token, a truncated JPEG, a
    // duplicate, admin endpoints with the wrong key.
    let frame_url = format!("{base}/v1/sessions/{sid}/frames?seq=1&t_ms=66&nonce={nonce}");
    bodies.push(send(a.post(&frame_url).header("authorization", auth(&format!("{token}x"))).header("content-type", "image/jpeg").send(&img[..])).1);
    bodies.push(send(a.post(&frame_url).header("authorization", auth(&api_key)).header("content-type", "image/jpeg").send(&img[..])).1);
    bodies.push(send(a.post(&frame_url.replace("seq=1", "seq=9")).header("authorization", auth(token)).header("content-type", "image/jpeg").send(&img[..img.len() / 2])).1);
    bodies.push(send(a.post(&frame_url).header("authorization", auth(token)).header("content-type", "image/jpeg").send(&img[..])).1);
    bodies.push(send(a.post(format!("{base}/v1/admin/incidents")).header("authorization", auth(&api_key)).send("{}")).1);
    bodies.push(send(a.post(format!("{base}/v1/disclosures")).header("authorization", auth(&officer_key)).header("huoti-purpose", "leak test").send(json!({"subject": sid, "recipient": "acme", "data": ["verdict"], "kind": "share", "basis": {"consent": "share_with:acme"}}).to_string())).1);
    let (status, done) = send(a.post(format!("{base}/v1/sessions/{sid}/complete")).header("authorization", auth(token)).send_empty());
    assert_eq!(status, 200, "{done}");
    bodies.push(done);
    let (status, result) = send(a.get(format!("{base}/v1/sessions/{sid}/result")).header("authorization", auth(&api_key)).call());
    assert_eq!(status, 200, "{result}");
    let (_, metrics) = send(a.get(format!("{base}/metrics")).header("authorization", auth(&operator_key)).call());
    assert!(metrics.contains("huoti_"), "{metrics}");
    let _ = child.kill();
    let _ = child.wait();
    let stdout = out_thread.join().unwrap();
    let stderr = err_thread.join().unwrap();
    assert!(String::from_utf8_lossy(&stderr).contains("DEBUG"), "debug logging was on");

    // What must never appear.
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("client token".into(), token.as_bytes().to_vec()),
        ("client token secret".into(), token["ct_".len()..].as_bytes().to_vec()),
        ("API key".into(), api_key.as_bytes().to_vec()),
        ("API key secret".into(), api_key.split('.').nth(1).unwrap().as_bytes().to_vec()),
        ("privacy officer key".into(), officer_key.as_bytes().to_vec()),
        ("privacy officer key secret".into(), officer_key.split('.').nth(1).unwrap().as_bytes().to_vec()),
        ("operator key secret".into(), operator_key.split('.').nth(1).unwrap().as_bytes().to_vec()),
        ("ID number".into(), ID_NUMBER.as_bytes().to_vec()),
        ("ID number digits".into(), ID_NUMBER[6..14].as_bytes().to_vec()),
        ("phone".into(), PHONE.as_bytes().to_vec()),
        ("JPEG SOI bytes".into(), vec![0xFF, 0xD8, 0xFF]),
        ("JPEG SOI base64".into(), b"/9j/".to_vec()),
        ("JPEG SOI hex".into(), b"ffd8ff".to_vec()),
        ("JPEG SOI hex (upper)".into(), b"FFD8FF".to_vec()),
    ];
    for at in [100, img.len() / 2] {
        secrets.push((format!("JPEG bytes @{at} base64"), b64.encode(&img[at..at + 30]).into_bytes()));
        secrets.push((format!("JPEG bytes @{at} hex"), hex::encode(&img[at..at + 16]).into_bytes()));
    }
    let stdout_text = String::from_utf8_lossy(&stdout).into_owned();
    let logged: Vec<(&str, Vec<u8>)> = vec![
        ("server stderr (logs)", stderr.clone()),
        // The dev key is shown once by design (`--dev`); every other stdout line is checked.
        ("server stdout", stdout_text.lines().filter(|l| !l.starts_with("HUOTI_DEV_API_KEY=")).collect::<Vec<_>>().join("\n").into_bytes()),
        ("metrics", metrics.into_bytes()),
        ("error and completion bodies", bodies.join("\n").into_bytes()),
    ];
    for (where_, hay) in &logged {
        for (what, needle) in &secrets {
            assert!(!hay.windows(needle.len()).any(|w| w == &needle[..]), "{what} found in {where_}");
        }
    }
}

#[test]
fn s1_serve_refuses_to_start_with_storage_outside_the_data_region() {
    let data = tempfile::tempdir().unwrap();
    let out = huoti()
        .args(["serve", "--no-tls", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data.path())
        .env("HUOTI_DATA_REGION", "cn")
        .env("HUOTI_DATABASE_REGION", "eu")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("data residency (S1)") && stderr.contains("\"eu\""), "{stderr}");
    assert!(!data.path().join("huoti.db").exists(), "nothing stored");
    let out = huoti().args(["admin", "retention", "run", "--dry-run"]).arg("--data-dir").arg(data.path()).env("HUOTI_BLOB_ENDPOINT", "https://s3.eu-west-1.amazonaws.com").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("blob endpoint"));
}

/// A data directory holding `n` verdicts given in 2020 (long past their 3-year minimum), one
/// of them with a session whose frames were kept for training; returns the database URL
/// env for the CLI.
async fn old_verdicts(dir: &Path, url: &str, n: usize) -> Vec<String> {
    let config = huoti_server::ServerConfig { data_dir: dir.to_path_buf(), database_url: url.to_owned(), ..Default::default() };
    let t0 = 1_580_000_000_000; // 2020-01-26
    let st = huoti_server::build_state(config, Arc::new(huoti_server::ManualClock::new(t0)), None).await.unwrap();
    let key = huoti_server::create_integrator_key(&st.db, "cli", t0).await.unwrap();
    let app = huoti_server::router(st.clone());
    let mut ids = Vec::new();
    for _ in 0..n {
        use tower::ServiceExt;
        let req = axum::http::Request::post("/v1/sessions").header("authorization", format!("Bearer {key}")).body(axum::body::Body::from("{}")).unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        let sid = serde_json::from_slice::<Value>(&body).unwrap()["session_id"].as_str().unwrap().to_owned();
        assert!(st.db.claim_complete(&sid, t0, t0 + 30_000).await.unwrap());
        assert!(st.db.finish(&sid, "spoof", &json!({"decision": "spoof", "score": 0.1, "model_versions": [], "frames": 2}).to_string(), "", t0).await.unwrap());
        st.db.release_analysis_lease(&sid).await.unwrap();
        ids.push(sid);
    }
    ids
}

fn admin(args: &[&str], dir: &Path, url: &str) -> (Value, String, i32) {
    let out = huoti().arg("admin").args(args).arg("--data-dir").arg(dir).env("HUOTI_DATABASE_URL", url).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "huoti admin {args:?}: {stderr}");
    (serde_json::from_str(&stdout).unwrap_or(Value::Null), stdout, out.status.code().unwrap_or(-1))
}

#[tokio::test]
async fn s1_s5_admin_retention_run_dry_run_then_anonymises_with_a_json_report() {
    let probe = tempfile::tempdir().unwrap();
    for url in huoti_server::testkit::database_urls(probe.path()).await {
        let dir = tempfile::tempdir().unwrap();
        let url = if url.starts_with("sqlite:") { format!("sqlite://{}?mode=rwc", dir.path().join("huoti.db").display()) } else { url };
        old_verdicts(dir.path(), &url, 3).await;
        let (dry, _, _) = admin(&["retention", "run", "--dry-run", "--json"], dir.path(), &url);
        assert_eq!(dry["dry_run"], true);
        assert_eq!((dry["categories"]["verdict"]["due"].as_u64(), dry["categories"]["verdict"]["anonymised"].as_u64()), (Some(3), Some(0)), "{dry}");
        let (_, human, _) = admin(&["retention", "run", "--dry-run"], dir.path(), &url);
        assert!(human.contains("verdict") && human.contains("dry run"), "{human}");
        let (done, _, _) = admin(&["retention", "run", "--json"], dir.path(), &url);
        assert_eq!(done["categories"]["verdict"]["anonymised"], 3, "{done}");
        let (again, _, _) = admin(&["retention", "run", "--json"], dir.path(), &url);
        assert_eq!(again["categories"]["verdict"]["checked"], 0, "nothing left to do: {again}");
    }
}

#[tokio::test]
async fn s3_s6_s2_admin_incident_wind_down_and_kek_rotation_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("huoti.db").display());
    let ids = old_verdicts(dir.path(), &url, 2).await;
    let (inc, _, _) = admin(
        &["incident", "record", "--summary", "s", "--impact", "i", "--measures", "m", "--advice", "a", "--remedy", "r", "--subject", &ids[0], "--json"],
        dir.path(),
        &url,
    );
    assert_eq!((inc["affected_subjects"].as_u64(), inc["notices_queued"].as_u64()), (Some(1), Some(2)), "{inc}");
    let (d, _, _) = admin(&["incident", "dispatch", "--json"], dir.path(), &url);
    assert_eq!(d["sent"], 2);
    assert_eq!(std::fs::read_dir(dir.path().join("outbox")).unwrap().count(), 2, "one file per notice");
    let (w, _, _) = admin(&["wind-down", "--message", "closing", "--json"], dir.path(), &url);
    assert_eq!((w["newly_stopped"].as_bool(), w["notices_queued"].as_u64()), (Some(true), Some(3)), "{w}");
    let (k, _, _) = admin(&["kek", "rotate", "--retire-old", "--json"], dir.path(), &url);
    assert_eq!(k["retired"], json!(["kek-1"]), "{k}");
    assert_eq!(k["rewrapped"], 2, "{k}");
}
