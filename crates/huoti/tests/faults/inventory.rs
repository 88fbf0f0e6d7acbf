//! What a data directory and its database hold after a fault, and whether it keeps the
//! promises: every blob belongs to an owner that still needs it, every data key to an owner
//! that exists, every key and frame still opens, and no plaintext face data or identity is
//! anywhere on disk (the scan of the crypto-shredding test). Also the seeding of data
//! directories for the retention and rotation faults.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use huoti_server::store::Db;
use huoti_server::testkit::strings;
use huoti_server::vault::{DirBlobStore, Domain, FrameVault};
use huoti_server::{AppState, ManualClock};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::server::block_on;

pub const ID_NUMBER: &str = "11010519491231002X";
pub const PHONE: &str = "13812345678";

/// What was found; `problems` lists every broken promise.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Sealed blobs on disk.
    pub blobs: usize,
    /// Temporary files of interrupted writes (`*.tmp`).
    pub temp_files: usize,
    /// Frame rows.
    pub frames: usize,
    /// Data key rows.
    pub key_rows: usize,
    /// Frame blobs without a row, in a session still open or analysing (an upload cut off
    /// between writing its blob and inserting its row; erased with the session).
    pub rowless_blobs: usize,
    /// Blobs whose key is already shredded and whose deletion is recorded (`blob_deletions`:
    /// an erasure cut off between its transaction and the store's delete; unreadable, and
    /// deleted by the next janitor pass on any node).
    pub pending_deletion: usize,
    /// Training-image rows whose blob is gone (a deletion cut off; finished on the next run).
    pub rows_without_blob: usize,
    /// Frame rows whose blob is missing or does not open.
    pub unreadable_frames: usize,
    /// Key rows that do not unwrap with the key file.
    pub unreadable_keys: usize,
    blobs_by_owner: BTreeMap<String, usize>,
    keys_by_owner: BTreeMap<String, usize>,
    /// Broken promises.
    pub problems: Vec<String>,
}

fn split(row: &str) -> Vec<&str> {
    row.split('|').collect()
}

fn domain(name: &str) -> Option<Domain> {
    [Domain::Biometric, Domain::Device, Domain::Identity].into_iter().find(|d| d.name() == name)
}

impl Inventory {
    /// Takes stock of `data` and its database `db`, scanning for `needles` (and any JPEG).
    pub fn take(data: &Path, db: &Db, needles: &[(String, Vec<u8>)]) -> Inventory {
        block_on(Inventory::take_async(data, db, needles))
    }

    async fn take_async(data: &Path, db: &Db, needles: &[(String, Vec<u8>)]) -> Inventory {
        let mut inv = Inventory::default();
        let rows = |sql: &'static str| strings(db, sql);
        // id | state | lease
        let sessions: BTreeMap<String, (String, bool)> = rows("SELECT id || '|' || state || '|' || COALESCE(CAST(analysis_lease_until_ms AS TEXT), '') FROM sessions")
            .await
            .iter()
            .map(|r| {
                let p = split(r);
                (p[0].to_owned(), (p[1].to_owned(), !p[2].is_empty()))
            })
            .collect();
        let subjects: BTreeSet<String> = rows("SELECT id FROM subjects").await.into_iter().collect();
        let frame_rows: Vec<(String, String)> =
            rows("SELECT session_id || '|' || blob_key FROM frames").await.iter().map(|r| (split(r)[0].to_owned(), split(r)[1].to_owned())).collect();
        let training: BTreeSet<String> = rows("SELECT blob_key FROM training_images").await.into_iter().collect();
        let pending: BTreeSet<String> = rows("SELECT target FROM blob_deletions").await.into_iter().collect();
        let keys: Vec<(String, String)> =
            rows("SELECT subject_id || '|' || domain FROM subject_keys").await.iter().map(|r| (split(r)[0].to_owned(), split(r)[1].to_owned())).collect();
        inv.frames = frame_rows.len();
        inv.key_rows = keys.len();
        for (owner, _) in &keys {
            *inv.keys_by_owner.entry(owner.clone()).or_default() += 1;
        }
        let has_key = |owner: &str, d: &str| keys.iter().any(|(o, k)| o == owner && k == d);
        let frame_blobs: BTreeSet<&str> = frame_rows.iter().map(|(_, b)| b.as_str()).collect();
        let live = |id: &str| sessions.get(id).is_some_and(|(state, lease)| *lease || state == "open" || state == "analysing");

        // Every blob belongs to an owner that still needs it, and can be opened by its key.
        let root = data.join("blobs");
        for owner in std::fs::read_dir(&root).map(|rd| rd.filter_map(Result::ok).collect::<Vec<_>>()).unwrap_or_default() {
            let owner_name = owner.file_name().to_string_lossy().into_owned();
            for f in std::fs::read_dir(owner.path()).map(|rd| rd.filter_map(Result::ok).collect::<Vec<_>>()).unwrap_or_default() {
                let name = f.file_name().to_string_lossy().into_owned();
                let key = format!("{owner_name}/{name}");
                if name.ends_with(".tmp") {
                    inv.temp_files += 1;
                    if !live(&owner_name) {
                        inv.problems.push(format!("a temporary file of a finished owner: {key}"));
                    }
                    continue;
                }
                inv.blobs += 1;
                *inv.blobs_by_owner.entry(owner_name.clone()).or_default() += 1;
                if (pending.contains(&owner_name) || pending.contains(&key)) && !has_key(&owner_name, "biometric") {
                    inv.pending_deletion += 1;
                    continue;
                }
                if !has_key(&owner_name, "biometric") {
                    inv.problems.push(format!("a blob whose owner has no key (unreadable, never erased): {key}"));
                }
                if sessions.contains_key(&owner_name) {
                    if frame_blobs.contains(key.as_str()) {
                        if !live(&owner_name) {
                            inv.problems.push(format!("frames kept after the verdict (L2): {key}"));
                        }
                    } else if live(&owner_name) {
                        inv.rowless_blobs += 1;
                    } else {
                        inv.problems.push(format!("an orphan blob of a finished session: {key}"));
                    }
                } else if subjects.contains(&owner_name) {
                    if !training.contains(&key) {
                        inv.problems.push(format!("a person's blob that is no training image: {key}"));
                    }
                } else {
                    inv.problems.push(format!("a blob of nobody: {key}"));
                }
            }
        }
        for t in &training {
            if !root.join(t).exists() {
                inv.rows_without_blob += 1;
            }
        }

        // Every key belongs to someone; a finished session's face key goes with its frames.
        for (owner, d) in &keys {
            if !sessions.contains_key(owner) && !subjects.contains(owner) {
                inv.problems.push(format!("a {d} key without an owner: {owner}"));
            }
            if d == "biometric" && sessions.contains_key(owner) && !live(owner) && !frame_rows.iter().any(|(s, _)| s == owner) {
                inv.problems.push(format!("a face key outliving its frames: {owner}"));
            }
        }

        // Every key unwraps with the key file, every frame row's blob opens.
        let vault = FrameVault::open(&data.join("kek.json"), std::sync::Arc::new(DirBlobStore::new(&root).unwrap())).unwrap();
        for (owner, d) in &keys {
            let ok = match domain(d) {
                Some(d) => vault.domain_key(db, owner, d).await.is_ok(),
                None => false,
            };
            if !ok {
                inv.unreadable_keys += 1;
                inv.problems.push(format!("a {d} key of {owner} does not unwrap"));
            }
        }
        for (session, blob) in &frame_rows {
            let opens = match vault.biometric_key(db, session).await {
                Ok(k) => vault.get_frame(&k, session, blob).await.is_ok(),
                Err(_) => false,
            };
            if !opens {
                inv.unreadable_frames += 1;
            }
        }

        // No plaintext anywhere: every file (key material aside), and PostgreSQL's tables.
        let mut stored: Vec<(String, Vec<u8>)> = Vec::new();
        let mut stack = vec![data.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = entry.path();
                let name = p.display().to_string();
                if p.is_dir() {
                    if !name.ends_with("/tls") {
                        stack.push(p);
                    }
                } else if !name.ends_with("kek.json") && !name.ends_with(".key") && !name.ends_with(".pem") {
                    stored.push((name, std::fs::read(&p).unwrap_or_default()));
                }
            }
        }
        // `current_schema()` exists on PostgreSQL only.
        if let Ok(tables) = db.test_strings("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()").await {
            for t in tables {
                let text = strings(db, &format!("SELECT t::text FROM {t} t")).await;
                stored.push((format!("pg:{t}"), text.join("\n").into_bytes()));
            }
        }
        for (name, bytes) in &stored {
            if let Some(at) = jpeg_start(bytes) {
                inv.problems.push(format!("a JPEG start in {name} at {at}"));
            }
            for (what, needle) in needles {
                if bytes.windows(needle.len()).any(|w| w == &needle[..]) {
                    inv.problems.push(format!("{what} found in {name}"));
                }
            }
        }
        inv
    }

    /// Fails with every broken promise.
    pub fn assert_clean(&self, when: &str) {
        assert!(self.problems.is_empty(), "{when}: {:#?}", self.problems);
    }

    /// Blobs under a session (or person).
    pub fn session_blobs(&self, owner: &str) -> usize {
        self.blobs_by_owner.get(owner).copied().unwrap_or(0)
    }

    /// Key rows of an owner.
    pub fn keys_of(&self, owner: &str) -> usize {
        self.keys_by_owner.get(owner).copied().unwrap_or(0)
    }
}

/// A JPEG start: the SOI marker followed by a JFIF/Exif header or a quantisation table.
fn jpeg_start(hay: &[u8]) -> Option<usize> {
    (0..hay.len().saturating_sub(10)).find(|&i| {
        hay[i..i + 3] == [0xFF, 0xD8, 0xFF] && (matches!(&hay[i + 6..i + 10], b"JFIF" | b"Exif") || hay[i + 3..i + 6] == [0xDB, 0x00, 0x43])
    })
}

/// Byte patterns that betray the frames sent: runs of their bytes, raw and as hex, and the
/// identity and device values of the seeded people.
pub fn needles(jpegs: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut n = vec![
        ("ID number".to_owned(), ID_NUMBER.as_bytes().to_vec()),
        ("phone".to_owned(), PHONE.as_bytes().to_vec()),
        ("device model".to_owned(), b"Pixel 8".to_vec()),
    ];
    for (i, j) in jpegs.iter().enumerate().step_by(jpegs.len().div_ceil(8).max(1)) {
        for at in [j.len() / 3, j.len() / 2, j.len() - 40] {
            n.push((format!("frame {i} bytes @{at}"), j[at..at + 24].to_vec()));
            n.push((format!("frame {i} hex @{at}"), hex::encode(&j[at..at + 16]).into_bytes()));
        }
    }
    n
}

/// Fills a data directory through the real router and the analysis's own steps (no models):
/// what `complete` leaves behind, without running the vision engine.
pub struct Seeder {
    st: Arc<AppState>,
    clock: Arc<ManualClock>,
    app: axum::Router,
    key: String,
    version: Value,
    jpegs: std::sync::Mutex<Vec<Vec<u8>>>,
}

/// A small JPEG whose bytes depend on `n`.
fn jpeg(n: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(n % 251) as u8, ((x as usize * 3 + n) % 256) as u8, ((y as usize * 5 + n / 7) % 256) as u8]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut out).encode_image(&img).unwrap();
    out
}

impl Seeder {
    pub async fn new(st: Arc<AppState>, clock: Arc<ManualClock>) -> Seeder {
        let key = huoti_server::create_integrator_key(&st.db, "seed", huoti_server::Clock::now_ms(&*clock)).await.unwrap();
        let app = huoti_server::router(st.clone());
        let mut s = Seeder { st, clock, app, key, version: Value::Null, jpegs: Default::default() };
        s.version = s.call(Request::get("/v1/policy").body(Body::empty()).unwrap()).await["version"].clone();
        s
    }

    async fn call(&self, req: Request<Body>) -> Value {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    }

    fn json(&self, method: &str, path: &str, token: &str, body: Value) -> Request<Body> {
        Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}")).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap()
    }

    /// A session of person `p<i>` with consent to `scopes` and one frame (device info with it
    /// when consented); returns (session id, frame).
    async fn session_with_frame(&self, i: usize, scopes: &[&str]) -> (String, Vec<u8>) {
        self.clock.advance_ms(10);
        let s = self.call(self.json("POST", "/v1/sessions", &self.key, json!({"subject_ref": format!("p{i}")}))).await;
        let (id, token, nonce) = (s["session_id"].as_str().unwrap().to_owned(), s["client_token"].as_str().unwrap().to_owned(), s["challenge"]["nonce"].as_str().unwrap().to_owned());
        self.call(self.json("POST", &format!("/v1/sessions/{id}/consent"), &token, json!({"policy_version": self.version, "scopes": scopes, "channel": "sdk"}))).await;
        let frame = jpeg(i);
        let mut req = Request::post(format!("/v1/sessions/{id}/frames?seq=0&t_ms=0&nonce={nonce}")).header("authorization", format!("Bearer {token}")).header("content-type", "image/jpeg");
        if scopes.contains(&"device_info") {
            req = req.header("huoti-device-model", "Pixel 8").header("huoti-os-type", "android").header("huoti-os-version", "15");
        }
        self.call(req.body(Body::from(frame.clone())).unwrap()).await;
        self.jpegs.lock().unwrap().push(frame.clone());
        (id, frame)
    }

    /// A person who gave identity data, device info and a training image, and whose session
    /// has its verdict (frames erased as `complete` does).
    pub async fn finished_session(&self, i: usize) {
        let (id, frame) = self.session_with_frame(i, &["face_capture_and_upload", "device_info", "retain_for_training"]).await;
        self.call(self.json("PUT", &format!("/v1/sessions/{id}/identity"), &self.key, json!({"name": "张三", "id_number": ID_NUMBER, "phone": PHONE}))).await;
        let (db, now) = (&self.st.db, huoti_server::Clock::now_ms(&*self.clock));
        assert!(db.claim_complete(&id, now, now + 30_000).await.unwrap());
        let verdict = json!({"decision": "live", "score": 0.9, "model_versions": [], "frames": 1});
        assert!(db.finish(&id, "live", &verdict.to_string(), "", now).await.unwrap());
        let subject = db.session_subject(&id).await.unwrap().unwrap();
        assert!(huoti_server::privacy::training::keep(&self.st, &subject, &id, frame, now).await.unwrap());
        self.st.vault.erase_biometric(db, &id, now).await.unwrap();
        db.release_analysis_lease(&id).await.unwrap();
    }

    /// A session still open, holding one frame.
    pub async fn open_session(&self, i: usize) {
        self.session_with_frame(i, &["face_capture_and_upload"]).await;
    }

    /// The needles of everything seeded.
    pub fn needles(&self) -> Vec<(String, Vec<u8>)> {
        needles(&self.jpegs.lock().unwrap())
    }
}
