//! In-process tests of the router with a manual clock: expiry and the abuse lock to the
//! millisecond. No models needed (the engine is absent; `complete` is not exercised here).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{call, consented_session, create, frame, setup};
use serde_json::json;
use tower::ServiceExt;

const T0: u64 = common::T0;

#[tokio::test]
async fn session_expires_exactly_at_its_ttl() {
    let common::Env { dir: _dir, clock, app, key, .. } = setup().await;
    let s = consented_session(&app, &key, json!({})).await;
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
    let common::Env { dir: _dir, clock, state, app, key, .. } = setup().await;
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
    let common::Env { dir: _dir, app, key, .. } = setup().await;
    let s = consented_session(&app, &key, json!({})).await;
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
    let common::Env { dir: _dir, app, key, .. } = setup().await;
    let s = consented_session(&app, &key, json!({})).await;
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
    let common::Env { dir: _dir, app, .. } = setup().await;
    let (status, doc) = call(&app, Request::get("/v1/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for p in ["/v1/sessions", "/v1/sessions/{id}/frames", "/v1/sessions/{id}/complete", "/v1/sessions/{id}/result", "/v1/keys", "/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][p].is_object(), "missing {p}");
    }
    assert!(doc["components"]["schemas"]["ErrorCode"].is_object());
    // Issue 16: the upload answer's prompt and its stable codes are documented.
    assert!(doc["components"]["schemas"]["FrameAccepted"]["properties"]["hint"].is_object(), "{}", doc["components"]["schemas"]["FrameAccepted"]);
    let codes = doc["components"]["schemas"]["HintCode"].to_string();
    for code in ["face_the_camera", "turn_further", "open_wider", "blink_once", "close_eyes_fully"] {
        assert!(codes.contains(code), "{code}: {codes}");
    }
}

/// Every `in: path` parameter of the document is a `{name}` of its route and every `{name}` is
/// documented as a path parameter, so generated clients build the right URLs.
#[tokio::test]
async fn openapi_path_parameters_match_the_route_templates() {
    let common::Env { dir: _dir, app, .. } = setup().await;
    let (_, doc) = call(&app, Request::get("/v1/openapi.json").body(Body::empty()).unwrap()).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let placeholders: std::collections::BTreeSet<&str> =
            path.split('{').skip(1).filter_map(|s| s.split('}').next()).collect();
        for (method, op) in item.as_object().unwrap() {
            let documented: std::collections::BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(documented, placeholders, "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} operations");
    let list = &doc["paths"]["/v1/disclosures"]["get"]["parameters"];
    assert!(list.as_array().unwrap().iter().any(|p| p["name"] == "subject" && p["in"] == "query"), "{list}");
}
