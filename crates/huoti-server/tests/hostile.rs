//! Issue 19 (part B): hostile clients. Request data never panics a handler; a node's memory for
//! frames is bounded (`503 server_busy` with `Retry-After` past it, `408` for a body that
//! trickles); API keys expire and a revoked key is refused by every node from its next
//! request. Storage tests run on SQLite and PostgreSQL (`HUOTI_TEST_POSTGRES_URL`).

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{T0, backends, bearer, call, consented_session, create, database_url, frame, frame_of};
use huoti_privacy::Role;
use huoti_server::{AppState, ManualClock, ServerConfig, build_state, create_expiring_api_key, create_integrator_key, router};
use serde_json::json;
use tower::ServiceExt;

struct Node {
    state: Arc<AppState>,
    app: axum::Router,
}

/// A node on `url` with data in `dir` and `config` adjusted by `adjust`.
async fn node(dir: &std::path::Path, url: &str, clock: Arc<ManualClock>, adjust: impl FnOnce(&mut ServerConfig)) -> Node {
    let mut config = ServerConfig { data_dir: dir.to_path_buf(), database_url: url.to_owned(), ..ServerConfig::default() };
    adjust(&mut config);
    let state = build_state(config, clock, None).await.unwrap();
    Node { app: router(state.clone()), state }
}

#[tokio::test]
async fn l3_identity_with_a_multibyte_id_number_is_invalid_request_never_a_panic() {
    // Reproduced against a running server before the fix: `{"id_number":"é"}` panicked the
    // handler (a byte split inside a character) and reset the connection.
    let common::Env { dir: _dir, app, key, .. } = common::setup().await;
    let (status, s) = call(&app, create(&key, json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let uri = format!("/v1/sessions/{}/identity", s["session_id"].as_str().unwrap());
    for id in ["é", "12345678901234567é", "1234567890123456é", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨", "12345678901234567X"] {
        let res = app.clone().oneshot(bearer("PUT", &uri, &key, Some(json!({"id_number": id})))).await.expect("an answer, not a panic");
        let status = res.status();
        let body: serde_json::Value = serde_json::from_slice(&axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap()).unwrap_or_default();
        if id.ends_with('X') {
            assert_eq!(status, StatusCode::NO_CONTENT, "a valid 18-character number: {body}");
        } else {
            assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{id:?}");
            assert!(!body.to_string().contains(id), "the value is not echoed: {body}");
        }
    }
}

#[tokio::test]
async fn c3_a_capture_time_past_2_pow_53_is_invalid_request() {
    let common::Env { dir: _dir, app, key, state, .. } = common::setup().await;
    let s = consented_session(&app, &key, json!({})).await;
    let uri = |t: u64| format!("/v1/sessions/{}/frames?seq=0&t_ms={t}&nonce={}", s["session_id"].as_str().unwrap(), s["challenge"]["nonce"].as_str().unwrap());
    for t in [u64::MAX, 1 << 63, 1 << 53] {
        let req = Request::post(uri(t))
            .header("authorization", format!("Bearer {}", s["client_token"].as_str().unwrap()))
            .header("content-type", "image/jpeg")
            .body(Body::from(common::tiny_jpeg()))
            .unwrap();
        let (status, v) = call(&app, req).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "t_ms={t}: {v}");
    }
    let sid = s["session_id"].as_str().unwrap();
    assert_eq!(state.db.session(sid).await.unwrap().unwrap().frame_count, 0, "nothing stored");
}

#[tokio::test]
async fn s2_frames_past_the_memory_budget_are_503_server_busy_with_retry_after_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url("sqlite", dir.path()).await;
    let n = node(dir.path(), &url, Arc::new(ManualClock::new(T0)), |c| c.limits.memory_budget_mib = 24).await;
    let key = create_integrator_key(&n.state.db, "t", T0).await.unwrap();
    let s = consented_session(&n.app, &key, json!({})).await;
    let sid = s["session_id"].as_str().unwrap().to_owned();
    let budget = &n.state.budget;
    assert_eq!(budget.total_bytes(), 18 << 20, "three quarters of 24 MiB for uploads");
    let jpeg = common::tiny_jpeg();

    // Other uploads hold all but 64 KiB: this frame's body does not fit.
    let others = budget.try_reserve(budget.total_bytes() - (64 << 10)).unwrap();
    let body_too = jpeg.iter().copied().chain(std::iter::repeat_n(0u8, 100 << 10)).collect::<Vec<u8>>();
    let len = body_too.len().to_string();
    let res = n.app.clone().oneshot(frame_of(&s, 0, &[("content-length", &len)], body_too)).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    let v: serde_json::Value = serde_json::from_slice(&axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap()).unwrap();
    assert_eq!((v["code"].as_str(), v["retry_after_s"].as_u64()), (Some("server_busy"), Some(1)));
    drop(others);

    // The body fits but its decoded pixels (80×80×3 = 19 200 bytes) do not.
    let others = budget.try_reserve(budget.total_bytes() - (jpeg.len() as u64).div_ceil(1024) * 1024 - 4096).unwrap();
    let len = jpeg.len().to_string();
    let (status, v) = call(&n.app, frame_of(&s, 0, &[("content-length", &len)], jpeg.clone())).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("server_busy")), "{v}");
    assert_eq!(n.state.db.session(&sid).await.unwrap().unwrap().frame_count, 0, "nothing stored");
    assert_eq!(budget.in_use_bytes(), budget.total_bytes() - (jpeg.len() as u64).div_ceil(1024) * 1024 - 4096, "the refused upload gave its share back");
    drop(others);

    // Room again: the same frame is accepted (without a Content-Length it reserves the
    // largest frame first), and its reservation ends with its answer.
    let (status, v) = call(&n.app, frame(&s, 0)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(budget.in_use_bytes(), 0);
}

#[tokio::test]
async fn s2_a_frame_body_that_trickles_past_the_timeout_is_408_and_holds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url("sqlite", dir.path()).await;
    let n = node(dir.path(), &url, Arc::new(ManualClock::new(T0)), |c| c.limits.body_timeout_s = 1).await;
    let key = create_integrator_key(&n.state.db, "t", T0).await.unwrap();
    let s = consented_session(&n.app, &key, json!({})).await;
    // A slow-loris client: the first bytes, then nothing.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
    tx.send(Ok(axum::body::Bytes::from_static(&[0xFF, 0xD8, 0xFF]))).await.unwrap();
    let body = Body::from_stream(tokio_stream_of(rx));
    let req = Request::post(format!(
        "/v1/sessions/{}/frames?seq=0&t_ms=0&nonce={}",
        s["session_id"].as_str().unwrap(),
        s["challenge"]["nonce"].as_str().unwrap()
    ))
    .header("authorization", format!("Bearer {}", s["client_token"].as_str().unwrap()))
    .header("content-type", "image/jpeg")
    .body(body)
    .unwrap();
    let started = std::time::Instant::now();
    let (status, v) = call(&n.app, req).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::REQUEST_TIMEOUT, Some("request_timeout")), "{v}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(n.state.budget.in_use_bytes(), 0);
    drop(tx);
}

/// A stream of the chunks sent on `rx` (what a client trickles).
fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn s2_a_revoked_key_is_refused_by_every_node_from_its_next_request() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(backend, dir.path()).await;
        let clock = Arc::new(ManualClock::new(T0));
        // Two nodes on one database, as behind a load balancer.
        let a = node(dir.path(), &url, clock.clone(), |_| {}).await;
        let b = node(dir.path(), &url, clock.clone(), |_| {}).await;
        let key = create_integrator_key(&a.state.db, "shop", T0).await.unwrap();
        let other = create_integrator_key(&a.state.db, "other shop", T0).await.unwrap();
        for n in [&a, &b] {
            assert_eq!(call(&n.app, create(&key, json!({}))).await.0, StatusCode::CREATED, "{backend}");
        }
        let id = key.strip_prefix("hk_").unwrap().split_once('.').unwrap().0;
        assert!(a.state.db.revoke_api_key(id, T0 + 5).await.unwrap());
        assert!(!a.state.db.revoke_api_key(id, T0 + 6).await.unwrap(), "{backend}: once");
        for n in [&a, &b] {
            let (status, v) = call(&n.app, create(&key, json!({}))).await;
            assert_eq!((status, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("api_key_revoked")), "{backend}: {v}");
            assert_eq!(call(&n.app, create(&other, json!({}))).await.0, StatusCode::CREATED, "{backend}: other keys unaffected");
        }
        // A wrong secret for a revoked id is still just unauthorized: nothing learnt without it.
        let (status, v) = call(&b.app, create(&format!("hk_{id}.wrong"), json!({}))).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{backend}");
        let listed = a.state.db.list_api_keys().await.unwrap();
        let row = listed.iter().find(|k| k.id == id).unwrap();
        assert_eq!((row.revoked_at_ms, row.name.as_str()), (Some((T0 + 5) as i64), "shop"), "{backend}");
    }
}

#[tokio::test]
async fn s2_an_api_key_is_refused_from_its_expiry_on() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(backend, dir.path()).await;
        let clock = Arc::new(ManualClock::new(T0));
        let n = node(dir.path(), &url, clock.clone(), |_| {}).await;
        let key = create_expiring_api_key(&n.state.db, "temp", Role::Integrator, T0, Some(T0 + 60_000)).await.unwrap();
        clock.advance_ms(59_999);
        assert_eq!(call(&n.app, create(&key, json!({}))).await.0, StatusCode::CREATED, "{backend}");
        clock.advance_ms(1);
        let (status, v) = call(&n.app, create(&key, json!({}))).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("api_key_expired")), "{backend}: {v}");
        let never = create_expiring_api_key(&n.state.db, "forever", Role::Integrator, T0, None).await.unwrap();
        clock.advance_ms(100 * 365 * 86_400_000);
        assert_eq!(call(&n.app, create(&never, json!({}))).await.0, StatusCode::CREATED, "{backend}");
    }
}
