//! Privacy operations against the real router and store, on SQLite and (when
//! `HUOTI_TEST_POSTGRES_URL` is set) PostgreSQL: crypto-shredding with a scan of every byte
//! stored, key rotation, retention with row claims, incidents, disclosures, wind-down and
//! data residency. Each test is named after the POLICY.md clauses it proves.

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{T0, call};
use huoti_server::{ManualClock, ServerConfig, build_state, create_integrator_key, router};
use serde_json::{Value, json};

const DAY: u64 = 86_400_000;
const ID_NUMBER: &str = "11010519491231002X";
const PHONE: &str = "13812345678";

struct Env {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    url: String,
    clock: Arc<ManualClock>,
    state: Arc<huoti_server::AppState>,
    app: axum::Router,
    key: String,
    /// A privacy officer's key (incidents, disclosures).
    officer: String,
}

fn config(dir: &Path, url: &str) -> ServerConfig {
    ServerConfig { data_dir: dir.to_path_buf(), database_url: url.to_owned(), ..ServerConfig::default() }
}

async fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    let probe = tempfile::tempdir().unwrap();
    for url in huoti_server::testkit::database_urls(probe.path()).await {
        let dir = tempfile::tempdir().unwrap();
        // Each run gets its own SQLite file in its own data directory.
        let url = if url.starts_with("sqlite:") { format!("sqlite://{}?mode=rwc", dir.path().join("huoti.db").display()) } else { url };
        let clock = Arc::new(ManualClock::new(T0));
        let state = build_state(config(dir.path(), &url), clock.clone(), None).await.unwrap();
        let key = create_integrator_key(&state.db, "test", T0).await.unwrap();
        let officer = huoti_server::create_api_key(&state.db, "po", huoti_privacy::Role::PrivacyOfficer, T0).await.unwrap();
        let app = router(state.clone());
        out.push(Env { dir: dir.path().to_path_buf(), _dir: dir, url, clock, state, app, key, officer });
    }
    out
}

/// A POST with a key and a stated purpose (staff endpoints audit it; others ignore it).
fn post(path: &str, key: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {key}"))
        .header("huoti-purpose", "privacy-ops test")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn get_staff(path: &str, key: &str) -> Request<Body> {
    Request::get(path).header("authorization", format!("Bearer {key}")).header("huoti-purpose", "privacy-ops test").body(Body::empty()).unwrap()
}

fn sample_jpeg() -> Vec<u8> {
    std::fs::read(huoti_assets::testing::data_file("silent-face-anti-spoofing/image_T1.jpg")).unwrap()
}

/// A session whose person consented to capture and device info (L1, P2).
async fn session(e: &Env) -> Value {
    session_with(e, &["face_capture_and_upload", "device_info"]).await
}

async fn session_with(e: &Env, scopes: &[&str]) -> Value {
    let (status, s) = call(&e.app, post("/v1/sessions", &e.key, json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    consent(e, &s, scopes, None).await;
    s
}

/// Records consent under the current policy version (or `version`).
async fn consent(e: &Env, s: &Value, scopes: &[&str], version: Option<&str>) {
    let (_, policy) = call(&e.app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
    let version = version.map_or_else(|| policy["version"].clone(), |v| json!(v));
    let req = post(
        &format!("/v1/sessions/{}/consent", s["session_id"].as_str().unwrap()),
        s["client_token"].as_str().unwrap(),
        json!({"policy_version": version, "scopes": scopes, "channel": "sdk"}),
    );
    let (status, v) = call(&e.app, req).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

async fn upload(e: &Env, s: &Value, seq: u32, jpeg: &[u8], device: bool) {
    let headers: &[(&str, &str)] = if device { &[("huoti-device-model", "Pixel 8"), ("huoti-os-type", "android"), ("huoti-os-version", "15")] } else { &[] };
    let (status, v) = call(&e.app, common::frame_of(s, seq, headers, jpeg.to_vec())).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

async fn put_identity(e: &Env, sid: &str) {
    let (status, v) = put_identity_body(e, sid, json!({"name": "张三", "id_number": ID_NUMBER, "phone": PHONE})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
}

/// Completes a session without the vision engine (these tests need no models): the verdict
/// is written as the analysis would.
async fn finish(e: &Env, sid: &str, at: u64) {
    assert!(e.state.db.claim_complete(sid, at, at + 30_000).await.unwrap());
    let verdict = json!({"iss": "huoti", "iat": at / 1000, "session_id": sid, "decision": "live", "score": 0.93, "reasons": [],
        "checks": [], "reference_frame": null, "model_versions": [{"name": "m", "version": "1"}], "frames": 3,
        "fixed_challenge": false, "completed_at": "2027-01-15T08:00:00Z"});
    assert!(e.state.db.finish(sid, "live", &verdict.to_string(), "", at).await.unwrap());
    // As the analysis would once its frames are dealt with (here: kept, as before issue 19).
    e.state.db.release_analysis_lease(sid).await.unwrap();
}

/// Every byte the server stored: files under the data directory, and on PostgreSQL the text
/// of every table of the test's schema.
async fn stored_bytes(e: &Env) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![e.dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    if e.url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&e.url).await.unwrap();
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert!(tables.contains(&"sessions".to_owned()), "{tables:?}");
        for t in tables {
            let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {t} t")).fetch_all(&pool).await.unwrap();
            out.push((format!("pg:{t}"), rows.join("\n").into_bytes()));
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A JPEG start: the SOI marker `FF D8 FF` followed by a JFIF/Exif header or a quantisation
/// table — as a JPEG file begins. (A bare `FF D8 FF` turns up by chance in a few hundred KiB
/// of ciphertext; with its header it cannot.)
fn jpeg_start(hay: &[u8]) -> Option<usize> {
    (0..hay.len().saturating_sub(10)).find(|&i| {
        hay[i..i + 3] == [0xFF, 0xD8, 0xFF]
            && (matches!(&hay[i + 6..i + 10], b"JFIF" | b"Exif") || hay[i + 3..i + 6] == [0xDB, 0x00, 0x43])
    })
}

/// Byte patterns that betray the input: the input's header (raw and as hex), runs of the
/// JPEG's own bytes, runs of its decoded pixels, and the identity and device values.
fn needles(jpeg: &[u8]) -> Vec<(String, Vec<u8>)> {
    assert!(jpeg_start(jpeg) == Some(0), "the sample is a JPEG file");
    let mut n = vec![("SOI + header".to_owned(), jpeg[..8].to_vec()), ("SOI + header as hex".to_owned(), hex::encode(&jpeg[..8]).into_bytes())];
    for at in [200, jpeg.len() / 2, jpeg.len() - 100] {
        n.push((format!("jpeg bytes @{at}"), jpeg[at..at + 24].to_vec()));
        n.push((format!("jpeg hex @{at}"), hex::encode(&jpeg[at..at + 16]).into_bytes()));
    }
    let rgb = image::load_from_memory(jpeg).unwrap().to_rgb8();
    let raw = rgb.as_raw();
    for at in [raw.len() / 3, raw.len() / 2, 2 * raw.len() / 3] {
        n.push((format!("pixel run @{at}"), raw[at..at + 48].to_vec()));
    }
    n.push(("id number".into(), ID_NUMBER.as_bytes().to_vec()));
    n.push(("phone".into(), PHONE.as_bytes().to_vec()));
    n.push(("device model".into(), b"Pixel 8".to_vec()));
    n
}

fn assert_clean(stored: &[(String, Vec<u8>)], needles: &[(String, Vec<u8>)], when: &str) {
    for (name, bytes) in stored {
        if name.ends_with("kek.json") || name.ends_with(".key") || name.contains("/tls/") {
            continue; // key material, not data
        }
        assert_eq!(jpeg_start(bytes), None, "{when}: a JPEG start (SOI marker) in {name}");
        for (what, needle) in needles {
            assert!(!find(bytes, needle), "{when}: {what} found in {name}");
        }
    }
}

#[tokio::test]
async fn s2_c4_l3_crypto_shredding_deleted_subject_blobs_no_longer_decrypt_and_no_plaintext_anywhere() {
    let jpeg = sample_jpeg();
    let needles = needles(&jpeg);
    for e in envs().await {
        let s = session(&e).await;
        let sid = s["session_id"].as_str().unwrap().to_owned();
        put_identity(&e, &sid).await;
        for seq in 0..3 {
            upload(&e, &s, seq, &jpeg, true).await;
        }
        // Kept before the verdict: sealed at rest (S2, C4), identity apart (L3).
        let frames = e.state.db.frames(&sid).await.unwrap();
        assert_eq!(frames.len(), 3);
        let key = e.state.vault.biometric_key(&e.state.db, &sid).await.unwrap();
        let copies: Vec<(String, Vec<u8>)> =
            frames.iter().map(|f| (f.blob_key.clone(), std::fs::read(e.dir.join("blobs").join(&f.blob_key)).unwrap())).collect();
        for f in &frames {
            assert_eq!(e.state.vault.get_frame(&key, &sid, &f.blob_key).await.unwrap(), jpeg, "opens while the key exists");
        }
        // Identity data belongs to the person, under a key of its own domain (L3).
        let person = e.state.db.session_subject(&sid).await.unwrap().unwrap();
        assert_eq!(huoti_server::identity::load(&e.state, &person).await.unwrap().unwrap().id_number.as_deref(), Some(ID_NUMBER));
        assert_eq!(key_domains(&e.state, &sid).await, ["biometric", "device"], "one key per domain (L3)");
        assert_eq!(key_domains(&e.state, &person).await, ["identity"]);
        assert_clean(&stored_bytes(&e).await, &needles, "at rest");

        huoti_server::retention::delete_session_data(&e.state, &sid).await.unwrap();

        // Every blob of the subject, restored from a copy taken before (a backup), no longer
        // opens: its key is gone, and no key the server still holds opens it.
        assert!(e.state.vault.biometric_key(&e.state.db, &sid).await.is_err(), "biometric key shredded");
        let other = session(&e).await;
        upload(&e, &other, 0, &jpeg, false).await;
        let subjects = huoti_server::testkit::strings(&e.state.db, "SELECT subject_id FROM subject_keys WHERE domain = 'biometric'").await;
        assert!(!subjects.is_empty() && !subjects.contains(&sid));
        for (blob_key, bytes) in &copies {
            assert!(!e.dir.join("blobs").join(blob_key).exists(), "blob deleted");
            std::fs::create_dir_all(e.dir.join("blobs").join(&sid)).unwrap();
            std::fs::write(e.dir.join("blobs").join(blob_key), bytes).unwrap();
            for s in &subjects {
                let k = e.state.vault.biometric_key(&e.state.db, s).await.unwrap();
                assert!(e.state.vault.get_frame(&k, &sid, blob_key).await.is_err());
                assert!(e.state.vault.get_frame(&k, s, blob_key).await.is_err());
            }
        }
        std::fs::remove_dir_all(e.dir.join("blobs").join(&sid)).unwrap();
        huoti_server::retention::delete_session_data(&e.state, other["session_id"].as_str().unwrap()).await.unwrap();
        assert!(huoti_server::devices::load(&e.state, &sid).await.unwrap().is_none(), "device info shredded");
        assert_clean(&stored_bytes(&e).await, &needles, "after deletion");
    }
}

async fn key_domains(st: &huoti_server::AppState, subject: &str) -> Vec<String> {
    let mut v = Vec::new();
    for d in ["biometric", "device", "identity"] {
        if st.db.wrapped_key(subject, d).await.unwrap().is_some() {
            v.push(d.to_owned());
        }
    }
    v
}

#[tokio::test]
async fn s2_kek_rotation_rewraps_data_keys_without_rewriting_blobs_and_old_kek_is_not_needed() {
    let jpeg = sample_jpeg();
    for e in envs().await {
        let s = session(&e).await;
        let sid = s["session_id"].as_str().unwrap().to_owned();
        put_identity(&e, &sid).await;
        upload(&e, &s, 0, &jpeg, true).await;
        let blob_key = e.state.db.frames(&sid).await.unwrap()[0].blob_key.clone();
        let blob_path = e.dir.join("blobs").join(&blob_key);
        let before = std::fs::read(&blob_path).unwrap();
        let old_kek = e.state.db.wrapped_key(&sid, "biometric").await.unwrap().unwrap().0;

        let report = huoti_server::vault::rotate_kek(&e.dir.join("kek.json"), &e.state.db, true).await.unwrap();
        assert_eq!(report.rewrapped, 3, "biometric, device and identity keys");
        assert_eq!(report.retired, vec![old_kek.clone()]);
        let file: Value = serde_json::from_slice(&std::fs::read(e.dir.join("kek.json")).unwrap()).unwrap();
        let ids: Vec<&str> = file["keks"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [report.new_kek.as_str()], "the old KEK is gone from the key file");

        // A server started now has only the new KEK, and everything still opens.
        let st = build_state(config(&e.dir, &e.url), e.clock.clone(), None).await.unwrap();
        assert_eq!(std::fs::read(&blob_path).unwrap(), before, "blob not rewritten");
        let key = st.vault.biometric_key(&st.db, &sid).await.unwrap();
        assert_eq!(st.vault.get_frame(&key, &sid, &blob_key).await.unwrap(), jpeg);
        let person = st.db.session_subject(&sid).await.unwrap().unwrap();
        assert_eq!(huoti_server::identity::load(&st, &person).await.unwrap().unwrap().phone.as_deref(), Some(PHONE));
        assert_eq!(huoti_server::devices::load(&st, &sid).await.unwrap().unwrap().model.as_deref(), Some("Pixel 8"));
    }
}

async fn count(e: &Env, sql: &str) -> i64 {
    huoti_server::testkit::scalar(&e.state.db, sql).await
}

#[tokio::test]
async fn l2_s1_s5_retention_keeps_training_frames_at_most_the_configured_period_then_anonymises_verdicts() {
    let jpeg = sample_jpeg();
    for mut e in envs().await {
        // Configured, not built in: training frames 7 days.
        let mut c = config(&e.dir, &e.url);
        c.retention.training_max_days = 7;
        e.state = build_state(c, e.clock.clone(), None).await.unwrap();
        e.app = router(e.state.clone());
        let s = session_with(&e, &["face_capture_and_upload", "device_info", "retain_for_training"]).await;
        let sid = s["session_id"].as_str().unwrap().to_owned();
        put_identity(&e, &sid).await;
        upload(&e, &s, 0, &jpeg, true).await;
        finish(&e, &sid, T0 + 1_000).await;
        // An image kept for training in the subject's own store (privacy::training).
        let subject = e.state.db.session_subject(&sid).await.unwrap().unwrap();
        assert!(huoti_server::privacy::training::keep(&e.state, &subject, &sid, jpeg.clone(), T0 + 1_000).await.unwrap());
        // A second session without training consent: its frames are due at once (L2).
        let s2 = session(&e).await;
        let sid2 = s2["session_id"].as_str().unwrap().to_owned();
        upload(&e, &s2, 0, &jpeg, false).await;
        finish(&e, &sid2, T0 + 1_000).await;

        e.clock.advance_ms(2_000);
        let r = huoti_server::retention::run(&e.state, false).await.unwrap();
        assert_eq!((r.categories["frames"].checked, r.categories["frames"].deleted), (2, 1), "{r:?}");
        assert_eq!(e.state.db.frames(&sid).await.unwrap().len(), 1, "training frames kept");
        assert!(e.state.db.frames(&sid2).await.unwrap().is_empty());

        e.clock.advance_ms(7 * DAY);
        let dry = huoti_server::retention::run(&e.state, true).await.unwrap();
        assert!(dry.dry_run);
        assert_eq!((dry.categories["frames"].due, dry.categories["frames"].deleted), (1, 0), "{dry:?}");
        assert_eq!(e.state.db.frames(&sid).await.unwrap().len(), 1, "dry run changes nothing");
        assert_eq!(dry.categories["training_images"].due, 1, "{dry:?}");
        let r = huoti_server::retention::run(&e.state, false).await.unwrap();
        assert_eq!(r.categories["frames"].deleted, 1, "{r:?}");
        assert_eq!(r.categories["training_images"].deleted, 1, "{r:?}");
        assert!(e.state.db.training_images(&subject).await.unwrap().is_empty());
        assert!(e.state.db.frames(&sid).await.unwrap().is_empty());
        assert!(e.state.vault.biometric_key(&e.state.db, &sid).await.is_err(), "key shredded with the frames");

        e.clock.advance_ms(30 * DAY);
        let r = huoti_server::retention::run(&e.state, false).await.unwrap();
        assert_eq!(r.categories["device_info"].deleted, 1, "{r:?}");
        assert!(huoti_server::devices::load(&e.state, &sid).await.unwrap().is_none());
        assert!(e.state.db.session(&sid).await.unwrap().is_some(), "verdict kept for its legal minimum");

        e.clock.advance_ms(1096 * DAY);
        let r = huoti_server::retention::run(&e.state, false).await.unwrap();
        assert_eq!(r.categories["verdict"].anonymised, 2, "{r:?}");
        assert!(e.state.db.session(&sid).await.unwrap().is_none(), "subject link removed");
        assert!(huoti_server::identity::load(&e.state, &subject).await.unwrap().is_none(), "a person known only by the session goes with it");
        assert_eq!(count(&e, "SELECT COUNT(*) FROM verdict_aggregates WHERE outcome = 'live' AND score_milli = 930").await, 2, "aggregates kept");
        assert_eq!(count(&e, "SELECT COUNT(*) FROM subject_keys").await, 0);
    }
}

#[tokio::test]
async fn s1_s5_two_nodes_running_retention_at_once_never_process_a_row_twice() {
    for e in envs().await {
        let n = 40;
        let mut ids = Vec::new();
        for _ in 0..n {
            let s = session(&e).await;
            let sid = s["session_id"].as_str().unwrap().to_owned();
            finish(&e, &sid, T0).await;
            ids.push(sid);
        }
        e.clock.advance_ms(1100 * DAY);
        // Two nodes: two states (own pools) over the same database, small batches.
        let node = |batch| {
            let mut c = config(&e.dir, &e.url);
            c.retention.batch = batch;
            build_state(c, e.clock.clone(), None)
        };
        let (a, b) = (node(3).await.unwrap(), node(4).await.unwrap());
        let (ra, rb) = tokio::join!(huoti_server::retention::run(&a, false), huoti_server::retention::run(&b, false));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let mut all: Vec<String> = ra.processed.iter().chain(&rb.processed).cloned().collect();
        eprintln!("node a processed {}, node b {}", ra.processed.len(), rb.processed.len());
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!(before, all.len(), "a row was processed twice");
        ids.sort();
        assert_eq!(all, ids, "every due row processed once");
        assert_eq!(count(&e, "SELECT COUNT(*) FROM verdict_aggregates").await, n);
        assert_eq!(count(&e, "SELECT COUNT(*) FROM sessions").await, 0);
    }
}

fn incident(subjects: &[&str], from: Option<&str>) -> Value {
    json!({"summary": "A backup disk was stolen", "impact": "Verdict records may be read", "measures": "Keys rotated; police informed",
        "advice": "Watch for calls asking for your face scan", "remedy": "Free identity monitoring for a year",
        "subjects": subjects, "from": from, "to": from.map(|_| "2030-01-01T00:00:00Z")})
}

#[tokio::test]
async fn s3_incident_notices_to_each_affected_person_and_regulator_report_in_the_file_outbox() {
    for e in envs().await {
        let s = session(&e).await;
        let sid = s["session_id"].as_str().unwrap().to_owned();
        // S2 least privilege: integrator keys and strangers are refused.
        assert_eq!(call(&e.app, post("/v1/admin/incidents", &e.key, incident(&[&sid], None))).await.1["code"], "forbidden");
        assert_eq!(call(&e.app, post("/v1/admin/incidents", "nope", incident(&[&sid], None))).await.1["code"], "unauthorized");
        let (status, inc) = call(&e.app, post("/v1/admin/incidents", &e.officer, incident(&["s_named"], Some("2027-01-01T00:00:00Z")))).await;
        assert_eq!(status, StatusCode::CREATED, "{inc}");
        assert_eq!(inc["affected_subjects"], 2, "the named subject and the session in the range");
        assert_eq!(inc["notices_queued"], 3, "two people and the regulator");
        let id = inc["id"].as_str().unwrap();
        let (status, d) = call(&e.app, post(&format!("/v1/admin/incidents/{id}/dispatch"), &e.officer, json!({}))).await;
        assert_eq!((status, d["sent"].as_u64()), (StatusCode::OK, Some(3)), "{d}");
        let files: Vec<Value> = std::fs::read_dir(e.dir.join("outbox"))
            .unwrap()
            .map(|f| serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap())
            .collect();
        assert_eq!(files.len(), 3, "one file per notice");
        let mut to_people: Vec<&str> = files.iter().filter(|n| n["kind"] == "subject").map(|n| n["recipient"].as_str().unwrap()).collect();
        to_people.sort();
        let mut expected = vec!["s_named", sid.as_str()];
        expected.sort();
        assert_eq!(to_people, expected);
        for n in files.iter().filter(|n| n["kind"] == "subject") {
            for k in ["what_happened", "likely_impact", "what_we_did", "what_you_can_do", "remedy"] {
                assert!(n["body"][k].as_str().is_some_and(|t| !t.is_empty()), "S3 notice says {k}: {n}");
            }
        }
        let report = files.iter().find(|n| n["kind"] == "regulator").expect("regulator report");
        assert_eq!(report["body"]["affected_people"], 2);
        assert!(!report.to_string().contains(&sid), "the regulator report names no one");
        let (_, shown) = call(&e.app, get_staff(&format!("/v1/admin/incidents/{id}"), &e.officer)).await;
        assert_eq!(shown["notices_sent"], 3);
        // The console's list shows it, with the same counts; an integrator may not list.
        let (status, listed) = call(&e.app, get_staff("/v1/admin/incidents", &e.officer)).await;
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed.as_array().unwrap().iter().find(|i| i["id"] == shown["id"]), Some(&shown));
        assert_eq!(call(&e.app, get_staff("/v1/admin/incidents", &e.key)).await.1["code"], "forbidden");
        // Dispatching again sends nothing twice.
        assert_eq!(huoti_server::incidents::dispatch_all(&e.state).await.unwrap().sent, 0);
    }
}

#[tokio::test]
async fn s3_when_nobody_can_be_told_individually_a_public_notice_goes_out() {
    for e in envs().await {
        let inc = huoti_server::incidents::record(&e.state, &serde_json::from_value(incident(&[], Some("2020-01-01T00:00:00Z"))).unwrap()).await.unwrap();
        // The range holds no stored session: a public notice and the regulator report.
        assert_eq!((inc.affected_subjects, inc.notices_queued), (0, 2));
        huoti_server::incidents::dispatch_all(&e.state).await.unwrap();
        let kinds: Vec<String> = std::fs::read_dir(e.dir.join("outbox"))
            .unwrap()
            .map(|f| serde_json::from_slice::<Value>(&std::fs::read(f.unwrap().path()).unwrap()).unwrap()["kind"].as_str().unwrap().to_owned())
            .collect();
        assert!(kinds.contains(&"public".to_owned()) && kinds.contains(&"regulator".to_owned()), "{kinds:?}");
        assert!(huoti_server::incidents::record(&e.state, &serde_json::from_value(json!({"summary": "x", "impact": "", "measures": "m", "advice": "a", "remedy": "r", "subjects": ["s"]})).unwrap()).await.is_err(), "every S3 point is required");
    }
}

#[tokio::test]
async fn s3_webhook_sender_posts_each_notice_and_keeps_refused_ones_queued() {
    use std::sync::Mutex;
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (g, f) = (got.clone(), fail.clone());
    let hook = axum::Router::new().route(
        "/notices",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            if f.load(std::sync::atomic::Ordering::SeqCst) {
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
            g.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
            StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });
    let e = envs().await.remove(0);
    huoti_server::incidents::record(&e.state, &serde_json::from_value(incident(&["s_a", "s_b"], None)).unwrap()).await.unwrap();
    let sender: Arc<dyn huoti_server::incidents::NoticeSender> = Arc::new(huoti_server::incidents::WebhookSender { url: format!("http://{addr}/notices") });
    let r = huoti_server::incidents::dispatch_with(&e.state, sender.clone()).await.unwrap();
    assert_eq!((r.sent, r.failed), (0, 3), "a failing gateway loses nothing");
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let r = huoti_server::incidents::dispatch_with(&e.state, sender).await.unwrap();
    assert_eq!((r.sent, r.failed), (3, 0));
    let got = got.lock().unwrap();
    assert_eq!(got.iter().filter(|n| n["kind"] == "subject").count(), 2);
    assert_eq!(got.iter().filter(|n| n["kind"] == "regulator").count(), 1);
}

fn disclosure(subject: &str, recipient: &str, kind: &str, basis: Value) -> Value {
    json!({"subject": subject, "recipient": recipient, "data": ["verdict"], "kind": kind, "basis": basis})
}

async fn disclose(e: &Env, body: Value) -> (StatusCode, Value) {
    call(&e.app, post("/v1/disclosures", &e.officer, body)).await
}

async fn recorded(e: &Env, subject: &str) -> Vec<Value> {
    let (status, v) = call(&e.app, get_staff(&format!("/v1/disclosures?subject={subject}"), &e.officer)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v.as_array().unwrap().clone()
}

#[tokio::test]
async fn d1_sharing_needs_consent_within_its_scope_and_without_it_nothing_is_recorded() {
    for e in envs().await {
        // No consent to share with acme: refused, typed, nothing recorded.
        let (status, v) = disclose(&e, disclosure("s_1", "acme", "share", json!({"consent": "share_with:acme"}))).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("disclosure_not_allowed")), "{v}");
        // A consent to another recipient does not cover this one (D1: within its scope).
        let (_, v) = disclose(&e, disclosure("s_1", "acme", "share", json!({"consent": "share_with:other"}))).await;
        assert_eq!(v["code"], "disclosure_not_allowed");
        assert!(recorded(&e, "s_1").await.is_empty());
        // Integrator keys cannot disclose (S2).
        assert_eq!(call(&e.app, post("/v1/disclosures", &e.key, disclosure("s_1", "acme", "share", json!({"consent": "share_with:acme"})))).await.1["code"], "forbidden");
    }
}

#[tokio::test]
async fn d1_r4_sharing_within_the_consented_recipient_is_recorded_and_stops_after_withdrawal() {
    for e in envs().await {
        // A (non-material) policy version that names a recipient one may agree to share with.
        let row = huoti_server::privacy::policy::row("2027-01", "policy text naming acme", false, (T0 - DAY) as i64, "privacy@huoti.example", &["acme".to_owned()], None).unwrap();
        assert!(e.state.db.insert_policy(&row).await.unwrap());
        let (_, s) = call(&e.app, post("/v1/sessions", &e.key, json!({}))).await;
        consent(&e, &s, &["face_capture_and_upload", "share_with:acme"], Some("2027-01")).await;
        let sid = s["session_id"].as_str().unwrap();
        let (status, v) = disclose(&e, disclosure(sid, "acme", "share", json!({"consent": "share_with:acme"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        // Only within its scope: another recipient is refused.
        let (_, v) = disclose(&e, disclosure(sid, "other-co", "share", json!({"consent": "share_with:acme"}))).await;
        assert_eq!(v["code"], "disclosure_not_allowed");
        // R4: after withdrawal, sharing stops.
        let subject = e.state.db.session_subject(sid).await.unwrap().unwrap();
        huoti_server::privacy::consent::withdraw(&e.state, &subject, "share_with:acme", T0).await.unwrap();
        e.clock.advance_ms(1);
        let (_, v) = disclose(&e, disclosure(sid, "acme", "share", json!({"consent": "share_with:acme"}))).await;
        assert_eq!(v["code"], "disclosure_not_allowed", "{v}");
        let recs = recorded(&e, sid).await;
        assert_eq!(recs.len(), 1, "one disclosure happened and is recorded");
        assert_eq!(recs[0]["basis"], json!({"consent": "share_with:acme"}));
    }
}

#[tokio::test]
async fn d6_c5_a_legal_ground_with_its_reason_allows_disclosure_and_is_recorded() {
    for e in envs().await {
        let basis = json!({"law": {"ground": "criminal_investigation_and_trial", "reason": "court order 2027-17"}});
        let (status, v) = disclose(&e, disclosure("s_1", "public-security-bureau", "share", basis.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let recs = recorded(&e, "s_1").await;
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0]["recipient"], "public-security-bureau", "who");
        assert_eq!(recs[0]["data"], json!(["verdict"]), "what");
        assert_eq!(recs[0]["basis"], basis, "on which ground, with the reason");
        assert!(recs[0]["at"].as_str().unwrap().starts_with("2027-01-15"), "when");
        // A ground without a reason is refused.
        let (_, v) = disclose(&e, disclosure("s_1", "x", "share", json!({"law": {"ground": "national_security", "reason": " "}}))).await;
        assert_eq!(v["code"], "disclosure_not_allowed");
    }
}

#[tokio::test]
async fn d3_complaint_facts_go_to_the_regulator_on_a_named_law_and_are_recorded() {
    for e in envs().await {
        let basis = json!({"law": {"ground": "other", "law": "Consumer Rights Protection Law art. 39", "reason": "complaint escalated by the person"}});
        let (status, v) = disclose(&e, disclosure("s_2", "consumer-association", "share", basis)).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        let (_, v) = disclose(&e, disclosure("s_2", "consumer-association", "share", json!({"law": {"ground": "other", "reason": "r"}}))).await;
        assert_eq!(v["code"], "disclosure_not_allowed", "`other` must name the law");
        assert_eq!(recorded(&e, "s_2").await.len(), 1);
    }
}

#[tokio::test]
async fn d4_d5_transfer_or_public_disclosure_without_consent_or_law_is_refused() {
    for e in envs().await {
        let (_, v) = disclose(&e, disclosure("s_3", "acquirer-co", "transfer", json!({"consent": "share_with:acquirer-co"}))).await;
        assert_eq!(v["code"], "disclosure_not_allowed");
        let (_, v) = disclose(&e, disclosure("s_3", "public", "public", json!({"consent": "share_with:public"}))).await;
        assert_eq!(v["code"], "disclosure_not_allowed", "no consent to publish");
        let (_, v) = disclose(&e, disclosure("s_3", "newspaper", "public", json!({"consent": "share_with:newspaper"}))).await;
        assert_eq!(v["code"], "disclosure_not_allowed", "a public disclosure is to the public");
        assert!(recorded(&e, "s_3").await.is_empty());
    }
}

#[tokio::test]
async fn s6_wind_down_stops_collection_queues_notices_and_releases_training_frames() {
    let jpeg = sample_jpeg();
    for e in envs().await {
        let s = session_with(&e, &["face_capture_and_upload", "retain_for_training"]).await;
        let sid = s["session_id"].as_str().unwrap().to_owned();
        upload(&e, &s, 0, &jpeg, false).await;
        finish(&e, &sid, T0 + 1_000).await;
        e.clock.advance_ms(1_000);
        assert_eq!(huoti_server::retention::run(&e.state, false).await.unwrap().categories["frames"].deleted, 0, "kept for training");
        let r = huoti_server::winddown::wind_down(&e.state, "huoti demo service closes on 2027-03-01").await.unwrap();
        assert!(r.newly_stopped);
        assert_eq!(r.notices_queued, 2, "the person and a public notice");
        assert_eq!(r.training_frames_released, 1);
        assert!(r.anonymised_by.is_some());
        let (status, v) = call(&e.app, post("/v1/sessions", &e.key, json!({}))).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("service_wound_down")));
        e.clock.advance_ms(1_000);
        let rr = huoti_server::retention::run(&e.state, false).await.unwrap();
        assert_eq!(rr.categories["frames"].deleted, 1, "training frames go once collection stops");
        assert!(!huoti_server::winddown::wind_down(&e.state, "again").await.unwrap().newly_stopped, "idempotent");
    }
}

#[tokio::test]
async fn s1_storage_outside_the_data_region_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let mut c = config(dir.path(), "");
    c.residency.database_region = "us".into();
    let err = build_state(c, clock.clone(), None).await.err().expect("refused").to_string();
    assert!(err.contains("data residency (S1)") && err.contains("\"us\"") && err.contains("\"cn\""), "{err}");
    let mut c = config(dir.path(), "");
    c.residency.blob_endpoint = "https://s3.us-east-1.amazonaws.com/bucket".into();
    assert!(build_state(c, clock.clone(), None).await.err().expect("refused").to_string().contains("blob endpoint"));
    let mut c = config(dir.path(), "");
    c.residency.blob_endpoint = "https://oss-cn-beijing.aliyuncs.com".into();
    c.residency.database_region = "CN".into();
    build_state(c, clock, None).await.expect("in-region storage starts");
}

#[tokio::test]
async fn l3_identity_values_are_validated_without_echoing_them() {
    let e = envs().await.remove(0);
    let s = session(&e).await;
    let (status, v) = put_identity_body(&e, s["session_id"].as_str().unwrap(), json!({"id_number": "1234567890ABCDEFG9"})).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    assert!(!v.to_string().contains("1234567890"), "{v}");
}

/// A real SMTP server for the e-mail sender: Debian's aiosmtpd, STARTTLS required, storing
/// each message in a Maildir. Missing → the test fails saying how to get it.
struct MailServer {
    child: std::process::Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_with_aiosmtpd() -> String {
    let candidates = [std::env::var("HUOTI_PYTHON3").unwrap_or_default(), "/usr/bin/python3".into(), "python3".into()];
    candidates
        .into_iter()
        .filter(|p| !p.is_empty())
        .find(|p| std::process::Command::new(p).args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success()))
        .expect("the SMTP test needs a real SMTP server, aiosmtpd: apt-get install python3-aiosmtpd (or pip install aiosmtpd and set HUOTI_PYTHON3)")
}

fn start_mail_server(dir: &Path, cert: &Path, key: &Path) -> MailServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let maildir = dir.join("maildir");
    let child = std::process::Command::new(python_with_aiosmtpd())
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg("--tlscert")
        .arg(cert)
        .arg("--tlskey")
        .arg(key)
        .arg(&maildir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return MailServer { child, port, maildir };
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("aiosmtpd did not start on port {port}");
}

/// The delivered messages, parsed and decoded by Python's `email` package: headers and the
/// text of each part.
fn delivered(maildir: &Path, python: &str) -> Vec<Value> {
    let script = r#"
import email, email.policy, json, os, sys
out = []
d = os.path.join(sys.argv[1], "new")
for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
    m = email.message_from_bytes(open(os.path.join(d, f), "rb").read(), policy=email.policy.default)
    parts = [p.get_content() for p in m.walk() if not p.is_multipart()]
    out.append({"to": str(m["To"]), "from": str(m["From"]), "subject": str(m["Subject"]), "kind": m["X-Huoti-Kind"],
                "recipient": m["X-Huoti-Recipient"], "notice": m["X-Huoti-Notice"], "parts": [p if isinstance(p, str) else p.decode() for p in parts]})
print(json.dumps(out))
"#;
    let o = std::process::Command::new(python).args(["-c", script]).arg(maildir).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<Vec<Value>>(&o.stdout).unwrap()
}

#[tokio::test]
async fn s2_s3_smtp_sender_mails_each_notice_over_verified_starttls_and_keeps_undelivered_ones_queued() {
    let tmp = tempfile::tempdir().unwrap();
    // A certificate for "localhost", made the way `huoti serve` makes its own.
    let (cert, key) = huoti_server::serve::ensure_certificate(tmp.path(), None, None).unwrap();
    let server = start_mail_server(tmp.path(), &cert, &key);
    let python = python_with_aiosmtpd();
    let smtp = huoti_server::config::SmtpConfig {
        host: "localhost".into(),
        port: server.port,
        ca_file: cert.display().to_string(),
        from: "huoti <privacy@shop.example.com>".into(),
        to: "notices@shop.example.com".into(),
        regulator_to: "report@regulator.example.gov".into(),
        ..Default::default()
    };
    for mut e in envs().await {
        let mut c = config(&e.dir, &e.url);
        c.incidents.sender = "smtp".into();
        c.incidents.smtp = smtp.clone();
        e.state = build_state(c, e.clock.clone(), None).await.unwrap();
        e.app = router(e.state.clone());
        // Maildir file names do not sort by arrival: tell new mail by its notice id.
        let before: Vec<Value> = delivered(&server.maildir, &python).iter().map(|m| m["notice"].clone()).collect();
        let mut body = incident(&["s_a", "s_b"], None);
        body["summary"] = json!("备份盘失窃 — a backup disk was stolen");
        let (status, inc) = call(&e.app, post("/v1/admin/incidents", &e.officer, body)).await;
        assert_eq!(status, StatusCode::CREATED, "{inc}");
        let (status, d) = call(&e.app, post(&format!("/v1/admin/incidents/{}/dispatch", inc["id"].as_str().unwrap()), &e.officer, json!({}))).await;
        assert_eq!((status, d["sent"].as_u64(), d["failed"].as_u64()), (StatusCode::OK, Some(3), Some(0)), "{d}");
        let mails: Vec<Value> = delivered(&server.maildir, &python).into_iter().filter(|m| !before.contains(&m["notice"])).collect();
        assert_eq!(mails.len(), 3, "{mails:?}");
        let mut people: Vec<&str> = mails.iter().filter(|m| m["kind"] == "subject").map(|m| m["recipient"].as_str().unwrap()).collect();
        people.sort();
        assert_eq!(people, ["s_a", "s_b"]);
        for m in mails.iter().filter(|m| m["kind"] == "subject") {
            assert_eq!(m["to"], "notices@shop.example.com");
            let text = m["parts"][0].as_str().unwrap();
            for (label, value) in [("What happened", "备份盘失窃"), ("Likely impact", "Verdict records may be read"), ("What we did", "Keys rotated"), ("What you can do", "Watch for calls"), ("Remedy", "Free identity monitoring")] {
                assert!(text.contains(label) && text.contains(value), "S3 point {label:?} in {text}");
            }
            let json: Value = serde_json::from_str(m["parts"][1].as_str().unwrap()).unwrap();
            assert_eq!(json["recipient"], m["recipient"], "the attachment is the notice itself");
        }
        let report = mails.iter().find(|m| m["kind"] == "regulator").expect("the regulator report");
        assert_eq!(report["to"], "report@regulator.example.gov");
        assert!(!report.to_string().contains("s_a"), "the regulator report names no one: {report}");
    }
    // Refused, nothing lost: a relay whose certificate is not trusted (S2: verified TLS), then
    // a relay that is down — the notices stay queued and go out once it is back.
    let e = envs().await.remove(0);
    huoti_server::incidents::record(&e.state, &serde_json::from_value(incident(&["s_c"], None)).unwrap()).await.unwrap();
    let untrusted = huoti_server::incidents::smtp::SmtpSender::new(&huoti_server::config::SmtpConfig { ca_file: String::new(), ..smtp.clone() }).unwrap();
    let r = huoti_server::incidents::dispatch_with(&e.state, Arc::new(untrusted)).await.unwrap();
    assert_eq!((r.sent, r.failed), (0, 2), "an unverified relay gets nothing");
    drop(server);
    let trusted: Arc<dyn huoti_server::incidents::NoticeSender> = Arc::new(huoti_server::incidents::smtp::SmtpSender::new(&smtp).unwrap());
    let r = huoti_server::incidents::dispatch_with(&e.state, trusted.clone()).await.unwrap();
    assert_eq!((r.sent, r.failed), (0, 2), "relay down: kept in the outbox");
    let again = start_mail_server(tmp.path(), &cert, &key);
    let smtp_again = huoti_server::config::SmtpConfig { port: again.port, ..smtp };
    let r = huoti_server::incidents::dispatch_with(&e.state, Arc::new(huoti_server::incidents::smtp::SmtpSender::new(&smtp_again).unwrap())).await.unwrap();
    assert_eq!((r.sent, r.failed), (2, 0));
}

#[tokio::test]
async fn u1_each_record_is_sealed_for_its_listed_use_and_opens_for_no_other() {
    use huoti_privacy::uses::Use;
    use huoti_server::vault::FrameVault;
    use huoti_server::vault::Domain;
    let jpeg = sample_jpeg();
    for e in envs().await {
        let s = session_with(&e, &["face_capture_and_upload", "device_info", "retain_for_training"]).await;
        let sid = s["session_id"].as_str().unwrap().to_owned();
        put_identity(&e, &sid).await;
        upload(&e, &s, 0, &jpeg, true).await;
        let person = e.state.db.session_subject(&sid).await.unwrap().unwrap();
        assert!(huoti_server::privacy::training::keep(&e.state, &person, &sid, jpeg.clone(), T0).await.unwrap());

        // (what, the use it was collected for, a way to open it for a given use)
        let frame_key = e.state.db.frames(&sid).await.unwrap()[0].blob_key.clone();
        let session_key = e.state.vault.biometric_key(&e.state.db, &sid).await.unwrap();
        let train_key = e.state.vault.biometric_key(&e.state.db, &person).await.unwrap();
        let train_blob = e.state.db.training_images(&person).await.unwrap()[0].1.clone();
        let id_key = e.state.vault.domain_key(&e.state.db, &person, Domain::Identity).await.unwrap();
        let dev_key = e.state.vault.domain_key(&e.state.db, &sid, Domain::Device).await.unwrap();
        let id_sealed = huoti_server::testkit::strings(&e.state.db, "SELECT sealed_hex FROM identities").await.remove(0);
        let dev_sealed = huoti_server::testkit::strings(&e.state.db, "SELECT sealed_hex FROM session_devices").await.remove(0);
        for u in Use::ALL {
            let opens = [
                ("liveness frame", Use::LivenessCheck, e.state.vault.get_for(&session_key, &sid, &frame_key, u).await.is_ok()),
                ("training image", Use::ModelTraining, e.state.vault.get_for(&train_key, &person, &train_blob, u).await.is_ok()),
                ("identity data", Use::IdentityVerification, FrameVault::open_record(&id_key, &person, u, &id_sealed).is_ok()),
                ("device info", Use::FraudDetection, FrameVault::open_record(&dev_key, &sid, u, &dev_sealed).is_ok()),
            ];
            for (what, collected_for, opened) in opens {
                assert_eq!(opened, u == collected_for, "{what} collected for {collected_for} opened for {u}");
            }
        }
        // A use the policy does not list cannot even be named: fresh consent first (U2).
        assert!("marketing".parse::<Use>().unwrap_err().to_string().contains("fresh consent"));
    }
}

async fn put_identity_body(e: &Env, sid: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::put(format!("/v1/sessions/{sid}/identity")).header("authorization", format!("Bearer {}", e.key)).body(Body::from(body.to_string())).unwrap();
    call(&e.app, req).await
}

#[tokio::test]
async fn d2_identity_from_a_third_party_login_carries_only_what_the_person_agreed_with_that_party() {
    for e in envs().await {
        let s = session(&e).await;
        let sid = s["session_id"].as_str().unwrap().to_owned();
        let person = e.state.db.session_subject(&sid).await.unwrap().unwrap();
        let via = json!({"provider": "wechat", "agreed_fields": ["name"]});
        // The phone was not part of the person's agreement with the provider: refused whole.
        let (status, v) = put_identity_body(&e, &sid, json!({"name": "张三", "phone": PHONE, "third_party_login": via})).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("third_party_scope_exceeded")), "{v}");
        assert!(v["detail"].as_str().unwrap().contains("phone") && v["detail"].as_str().unwrap().contains("wechat"), "{v}");
        assert!(!v.to_string().contains(PHONE), "the value is never echoed");
        assert!(huoti_server::identity::load(&e.state, &person).await.unwrap().is_none(), "nothing stored");
        // A field name the data does not have, or no provider: a plain invalid request.
        let (_, v) = put_identity_body(&e, &sid, json!({"name": "张三", "third_party_login": {"provider": "wechat", "agreed_fields": ["email"]}})).await;
        assert_eq!(v["code"], "invalid_request", "{v}");
        let (_, v) = put_identity_body(&e, &sid, json!({"name": "张三", "third_party_login": {"provider": " ", "agreed_fields": ["name"]}})).await;
        assert_eq!(v["code"], "invalid_request", "{v}");
        // Within the agreement: stored, with where it came from.
        let (status, v) = put_identity_body(&e, &sid, json!({"name": "张三", "third_party_login": via})).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
        let kept = huoti_server::identity::load(&e.state, &person).await.unwrap().unwrap();
        assert_eq!((kept.name.as_deref(), kept.phone, kept.third_party_login.map(|l| l.provider)), (Some("张三"), None, Some("wechat".to_owned())));
        // Sent directly by the integrator (no third-party login): its own agreement with the
        // person governs, and every field is accepted.
        let (status, _) = put_identity_body(&e, &sid, json!({"name": "张三", "phone": PHONE})).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn s2_kek_rotation_while_the_server_runs_needs_no_restart_and_strands_no_key() {
    let jpeg = sample_jpeg();
    for e in envs().await {
        // The server is running and has data from before the rotation.
        let before = session(&e).await;
        upload(&e, &before, 0, &jpeg, true).await;
        let report = huoti_server::vault::rotate_kek(&e.dir.join("kek.json"), &e.state.db, true).await.unwrap();
        assert_eq!(report.retired.len(), 1);
        // The same server, not restarted: new keys are wrapped under the new KEK…
        let after = session(&e).await;
        upload(&e, &after, 0, &jpeg, true).await;
        let sid_after = after["session_id"].as_str().unwrap();
        let keks = huoti_server::testkit::strings(&e.state.db, &format!("SELECT DISTINCT kek_id FROM subject_keys WHERE subject_id = '{sid_after}'")).await;
        assert_eq!(keks, [report.new_kek.clone()], "keys made after the rotation");
        assert_eq!(count(&e, &format!("SELECT COUNT(*) FROM subject_keys WHERE kek_id <> '{}'", report.new_kek)).await, 0, "nothing under a retired KEK");
        // …and everything opens, in this server and in one started from the key file now.
        let restarted = build_state(config(&e.dir, &e.url), e.clock.clone(), None).await.unwrap();
        for st in [&e.state, &restarted] {
            for s in [&before, &after] {
                let sid = s["session_id"].as_str().unwrap();
                let key = st.vault.biometric_key(&st.db, sid).await.unwrap();
                let frame = st.db.frames(sid).await.unwrap().remove(0);
                assert_eq!(st.vault.get_frame(&key, sid, &frame.blob_key).await.unwrap(), jpeg);
                assert!(huoti_server::devices::load(st, sid).await.unwrap().is_some());
            }
        }
    }
}
