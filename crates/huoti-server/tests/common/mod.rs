//! Shared harness of the in-process router tests: a server state on SQLite (a temporary
//! directory) or on PostgreSQL (`HUOTI_TEST_POSTGRES_URL`, in a fresh schema per test, so
//! tests never collide), a manual clock, and request helpers.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use huoti_server::{AppState, ManualClock, ServerConfig, build_state, create_integrator_key, router};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const T0: u64 = 1_800_000_000_000;

/// The database backends to run a storage test on: SQLite always, PostgreSQL when
/// `HUOTI_TEST_POSTGRES_URL` is set (said on stderr when it is not, never skipped silently).
pub fn backends() -> Vec<&'static str> {
    if std::env::var("HUOTI_TEST_POSTGRES_URL").is_ok() {
        vec!["sqlite", "postgres"]
    } else {
        eprintln!("HUOTI_TEST_POSTGRES_URL not set: PostgreSQL run skipped");
        vec!["sqlite"]
    }
}

/// A database URL for `backend`: SQLite in `dir`, or a fresh PostgreSQL schema.
pub async fn database_url(backend: &str, dir: &std::path::Path) -> String {
    if backend == "sqlite" {
        return format!("sqlite://{}?mode=rwc", dir.join("huoti.db").display());
    }
    let base = std::env::var("HUOTI_TEST_POSTGRES_URL").expect("HUOTI_TEST_POSTGRES_URL");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let schema = format!("t_{}_{:x}", std::process::id(), nanos);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&base).await.unwrap();
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}")).execute(&pool).await.unwrap();
    pool.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub state: Arc<AppState>,
    pub app: axum::Router,
    pub key: String,
}

/// The blob files stored under `owner` (a session id or a subject) in the local blob directory.
pub fn blobs_of(env: &Env, owner: &str) -> Vec<String> {
    match std::fs::read_dir(env.dir.path().join("blobs").join(owner)) {
        Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

pub async fn setup_on(backend: &str) -> Env {
    setup_at(backend, T0).await
}

/// As [`setup_on`], with the clock starting at `t0_ms`.
pub async fn setup_at(backend: &str, t0_ms: u64) -> Env {
    setup_configured(backend, t0_ms, |_| {}).await
}

/// As [`setup_at`], with `adjust` applied to the configuration (whose `data_dir` is the
/// test's temporary directory) before the state is opened.
pub async fn setup_configured(backend: &str, t0_ms: u64, adjust: impl FnOnce(&mut ServerConfig)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let database_url = database_url(backend, dir.path()).await;
    let mut config = ServerConfig { data_dir: dir.path().to_path_buf(), database_url, ..ServerConfig::default() };
    adjust(&mut config);
    let clock = Arc::new(ManualClock::new(t0_ms));
    let state = build_state(config, clock.clone(), None).await.unwrap();
    let key = create_integrator_key(&state.db, "test", t0_ms).await.unwrap();
    let app = router(state.clone());
    Env { dir, clock, state, app, key }
}

pub async fn setup() -> Env {
    setup_on("sqlite").await
}

pub async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

pub fn bearer(method: &str, uri: &str, token: &str, body: Option<Value>) -> Request<Body> {
    let b = Request::builder().method(method).uri(uri).header("authorization", format!("Bearer {token}"));
    match body {
        Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

pub fn create(key: &str, body: Value) -> Request<Body> {
    bearer("POST", "/v1/sessions", key, Some(body))
}

pub fn tiny_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(80, 80, image::Rgb([120, 100, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut out).encode_image(&img).unwrap();
    out
}

pub fn frame(s: &Value, seq: u32) -> Request<Body> {
    frame_with(s, seq, &[])
}

pub fn frame_with(s: &Value, seq: u32, headers: &[(&str, &str)]) -> Request<Body> {
    frame_of(s, seq, headers, tiny_jpeg())
}

/// Frame `seq` of session `s` (captured `seq` × 66 ms in), carrying `jpeg` and `headers`.
pub fn frame_of(s: &Value, seq: u32, headers: &[(&str, &str)], jpeg: Vec<u8>) -> Request<Body> {
    let mut b = Request::post(format!(
        "/v1/sessions/{}/frames?seq={seq}&t_ms={}&nonce={}",
        s["session_id"].as_str().unwrap(),
        seq * 66,
        s["challenge"]["nonce"].as_str().unwrap()
    ))
    .header("authorization", format!("Bearer {}", s["client_token"].as_str().unwrap()))
    .header("content-type", "image/jpeg");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::from(jpeg)).unwrap()
}

/// The policy in force.
pub async fn policy(app: &axum::Router) -> Value {
    let (status, p) = call(app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    p
}

/// Records consent to `scopes` under the current version for session `s`.
pub async fn consent(app: &axum::Router, s: &Value, scopes: &[&str]) -> (StatusCode, Value) {
    let version = policy(app).await["version"].clone();
    let body = json!({"policy_version": version, "scopes": scopes, "channel": "sdk"});
    call(app, bearer("POST", &format!("/v1/sessions/{}/consent", s["session_id"].as_str().unwrap()), s["client_token"].as_str().unwrap(), Some(body))).await
}

/// A session with consent to face capture already recorded.
pub async fn consented_session(app: &axum::Router, key: &str, body: Value) -> Value {
    let (status, s) = call(app, create(key, body)).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let (status, c) = consent(app, &s, &["face_capture_and_upload"]).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    s
}
