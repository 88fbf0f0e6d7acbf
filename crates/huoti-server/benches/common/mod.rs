//! What the server benches share: driving the router in process and reading the frames.
//! Each bench uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.expect("router");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

pub fn post_json(path: &str, token: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The paths of the `.jpg` files of `dir`, sorted by name (the frames of one capture, in order);
/// at least one.
pub fn jpeg_paths(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("jpeg dir").flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "jpg"));
    files.sort();
    assert!(!files.is_empty(), "no .jpg in {}", dir.display());
    files
}

/// The `.jpg` files of `dir`, sorted by name (the frames of one capture, in order).
pub fn read_jpegs(dir: &Path) -> Vec<Vec<u8>> {
    jpeg_paths(dir).iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Uploads `jpegs` to session `id` paced as a camera would (one every `frame_gap`, `t_ms` the
/// capture time), each answered 200; returns each upload request's duration in ms.
pub async fn upload_paced(app: &axum::Router, id: &str, token: &str, nonce: &str, jpegs: &[Vec<u8>], frame_gap: Duration) -> Vec<f64> {
    let frames: Vec<(u64, Vec<u8>)> = jpegs.iter().enumerate().map(|(i, j)| ((frame_gap * i as u32).as_millis() as u64, j.clone())).collect();
    upload_at(app, id, token, nonce, &frames).await
}

/// Uploads `(t_ms, jpeg)` frames to session `id`, each when its capture time has come (as a
/// client sending while it captures), each answered 200; returns each request's ms.
pub async fn upload_at(app: &axum::Router, id: &str, token: &str, nonce: &str, frames: &[(u64, Vec<u8>)]) -> Vec<f64> {
    let start = Instant::now();
    let mut took = Vec::with_capacity(frames.len());
    for (i, (t_ms, jpeg)) in frames.iter().enumerate() {
        if let Some(wait) = Duration::from_millis(*t_ms).checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let t = Instant::now();
        let req = Request::post(format!("/v1/sessions/{id}/frames?seq={i}&t_ms={t_ms}&nonce={nonce}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "image/jpeg")
            .body(Body::from(jpeg.clone()))
            .unwrap();
        let (status, v) = call(app, req).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        took.push(ms(t.elapsed()));
    }
    took
}

/// `POST /v1/sessions/{id}/complete` as the client; the answer must be 200. Returns it and its ms.
pub async fn complete(app: &axum::Router, id: &str, token: &str) -> (Value, f64) {
    let t = Instant::now();
    let req = Request::post(format!("/v1/sessions/{id}/complete")).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
    let (status, v) = call(app, req).await;
    let took = ms(t.elapsed());
    assert_eq!(status, StatusCode::OK, "{v}");
    (v, took)
}
