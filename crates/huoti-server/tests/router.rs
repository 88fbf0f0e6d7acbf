//! In-process tests of the router with a manual clock: expiry and the abuse lock to the
//! millisecond. No models needed (the engine is absent; `complete` is not exercised here).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use huoti_server::{ManualClock, ServerConfig, build_state, create_integrator, router};
use serde_json::{Value, json};
use tower::ServiceExt;

const T0: u64 = 1_800_000_000_000;

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn create(key: &str, body: Value) -> Request<Body> {
    Request::post("/v1/sessions").header("authorization", format!("Bearer {key}")).body(Body::from(body.to_string())).unwrap()
}

fn tiny_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(80, 80, image::Rgb([120, 100, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut out).encode_image(&img).unwrap();
    out
}

fn frame(s: &Value, seq: u32) -> Request<Body> {
    Request::post(format!(
        "/v1/sessions/{}/frames?seq={seq}&t_ms={}&nonce={}",
        s["session_id"].as_str().unwrap(),
        seq * 66,
        s["challenge"]["nonce"].as_str().unwrap()
    ))
    .header("authorization", format!("Bearer {}", s["client_token"].as_str().unwrap()))
    .header("content-type", "image/jpeg")
    .body(Body::from(tiny_jpeg()))
    .unwrap()
}

async fn setup() -> (tempfile::TempDir, Arc<ManualClock>, Arc<huoti_server::AppState>, axum::Router, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { data_dir: dir.path().to_path_buf(), ..ServerConfig::default() };
    let clock = Arc::new(ManualClock::new(T0));
    let state = build_state(config, clock.clone(), None).await.unwrap();
    let key = create_integrator(&state.db, "test", T0).await.unwrap();
    let app = router(state.clone());
    (dir, clock, state, app, key)
}

#[tokio::test]
async fn session_expires_exactly_at_its_ttl() {
    let (_dir, clock, _state, app, key) = setup().await;
    let (status, s) = call(&app, create(&key, json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!(s["ttl_s"], 180);
    clock.advance_ms(179_999);
    let (status, v) = call(&app, frame(&s, 0)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    clock.advance_ms(1);
    let (status, v) = call(&app, frame(&s, 1)).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::GONE, Some("session_expired")));
}

#[tokio::test]
async fn abuse_lock_after_five_failures_in_three_minutes_lifts_on_time() {
    let (_dir, clock, state, app, key) = setup().await;
    for i in 0..5 {
        state.db.insert_failure("dev-1", T0 + i * 10_000).await.unwrap();
    }
    clock.advance_ms(40_000);
    let (status, v) = call(&app, create(&key, json!({"correlation_id": "dev-1"}))).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_failures")));
    assert_eq!(v["retry_after_s"], 140);
    // Another correlation id is not affected.
    assert_eq!(call(&app, create(&key, json!({"correlation_id": "dev-2"}))).await.0, StatusCode::CREATED);
    clock.advance_ms(139_999);
    assert_eq!(call(&app, create(&key, json!({"correlation_id": "dev-1"}))).await.0, StatusCode::TOO_MANY_REQUESTS);
    clock.advance_ms(1);
    assert_eq!(call(&app, create(&key, json!({"correlation_id": "dev-1"}))).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn rate_limit_per_session() {
    let (_dir, _clock, _state, app, key) = setup().await;
    let (_, s) = call(&app, create(&key, json!({}))).await;
    for seq in 0..60 {
        let (status, v) = call(&app, frame(&s, seq)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (status, v) = call(&app, frame(&s, 60)).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!(v["retry_after_s"], 1);
}

#[tokio::test]
async fn complete_without_models_is_analysis_unavailable_and_errors_are_problem_json() {
    let (_dir, _clock, _state, app, key) = setup().await;
    let (_, s) = call(&app, create(&key, json!({}))).await;
    call(&app, frame(&s, 0)).await;
    let req = Request::post(format!("/v1/sessions/{}/complete", s["session_id"].as_str().unwrap()))
        .header("authorization", format!("Bearer {}", s["client_token"].as_str().unwrap()))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // Malformed JSON and unknown members are invalid_request.
    let (status, v) = call(&app, create(&key, json!({"bogus": true}))).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

#[tokio::test]
async fn openapi_is_3_1_and_lists_every_route() {
    let (_dir, _clock, _state, app, _key) = setup().await;
    let (status, doc) = call(&app, Request::get("/v1/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for p in ["/v1/sessions", "/v1/sessions/{id}/frames", "/v1/sessions/{id}/complete", "/v1/sessions/{id}/result", "/v1/keys", "/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][p].is_object(), "missing {p}");
    }
    assert!(doc["components"]["schemas"]["ErrorCode"].is_object());
}
