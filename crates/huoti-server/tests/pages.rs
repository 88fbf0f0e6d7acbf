//! The SDK bundle, the pages and their headers, the dev-only demo, CORS: in process, no models.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use huoti_server::{ManualClock, ServerConfig, app, build_state, create_integrator_key};
use serde_json::{Value, json};
use tower::ServiceExt;

const T0: u64 = 1_800_000_000_000;

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = to_bytes(res.into_body(), 1 << 22).await.unwrap();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// The app as `huoti serve` builds it; `dev`: with a demo integrator, as `--dev` does.
async fn setup(dev: bool, config: ServerConfig) -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { data_dir: dir.path().to_path_buf(), ..config };
    let state = build_state(config, Arc::new(ManualClock::new(T0)), None).await.unwrap();
    let demo_key = if dev { Some(create_integrator_key(&state.db, "demo", T0).await.unwrap()) } else { None };
    (dir, app(state, demo_key))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn sdk_bundle_is_the_committed_build_with_js_type_etag_and_304() {
    let (_dir, app) = setup(false, ServerConfig::default()).await;
    let (status, h, body) = call(&app, get("/sdk/huoti-liveness.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, huoti_server::pages::SDK_BUNDLE);
    assert!(body.contains("huoti-liveness"), "the bundle defines the element");
    assert_eq!(header(&h, "content-type"), "text/javascript; charset=utf-8");
    assert!(header(&h, "cache-control").contains("max-age="));
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    // Integrators load it from their own origin as a module script.
    assert_eq!(header(&h, "access-control-allow-origin"), "*");
    let etag = header(&h, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    let again = Request::get("/sdk/huoti-liveness.js").header("if-none-match", &etag).body(Body::empty()).unwrap();
    let (status, h2, body) = call(&app, again).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header(&h2, "etag"), etag);
    let stale = Request::get("/sdk/huoti-liveness.js").header("if-none-match", "\"other\"").body(Body::empty()).unwrap();
    assert_eq!(call(&app, stale).await.0, StatusCode::OK);
}

#[tokio::test]
async fn c1_pages_send_a_csp_without_inline_script_and_allow_the_camera_to_this_origin_only() {
    let (_dir, app) = setup(true, ServerConfig::default()).await;
    for path in ["/demo", "/privacy", "/console", "/privacy/policy", "/pages/demo.js", "/pages/pages.css"] {
        let (status, h, body) = call(&app, get(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let csp = header(&h, "content-security-policy");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&h, "referrer-policy"), "no-referrer", "{path}");
        assert!(header(&h, "permissions-policy").contains("camera=(self)"), "{path}");
        if path.starts_with("/pages/") {
            continue;
        }
        assert_eq!(header(&h, "content-type"), "text/html; charset=utf-8");
        // Every executable script is an external file; the only inline block is JSON data.
        for tag in body.split("<script").skip(1) {
            let open = &tag[..tag.find('>').unwrap()];
            assert!(open.contains("src=\"/pages/") || open.contains("type=\"application/json\""), "{path}: <script{open}>");
        }
        assert!(!body.contains(" style=\""), "{path}: inline style");
    }
}

#[tokio::test]
async fn pages_speak_zh_cn_and_en() {
    let (_dir, app) = setup(true, ServerConfig::default()).await;
    for path in ["/demo", "/privacy", "/console"] {
        let (_, _, en) = call(&app, get(&format!("{path}?lang=en"))).await;
        assert!(en.contains("<html lang=\"en\">"), "{path}");
        let zh = Request::get(path).header("accept-language", "zh-CN,zh;q=0.9,en;q=0.5").body(Body::empty()).unwrap();
        let (_, _, zh) = call(&app, zh).await;
        assert!(zh.contains("<html lang=\"zh-CN\">"), "{path}");
        assert_ne!(en, zh);
        let en_accept = Request::get(path).header("accept-language", "en-GB,en;q=0.8").body(Body::empty()).unwrap();
        assert!(call(&app, en_accept).await.2.contains("<html lang=\"en\">"), "{path}");
    }
}

#[tokio::test]
async fn demo_and_its_session_endpoint_exist_only_in_dev_mode() {
    let (_dir, app) = setup(false, ServerConfig::default()).await;
    assert_eq!(call(&app, get("/demo")).await.0, StatusCode::NOT_FOUND);
    let post = |body: Value| Request::post("/demo/session").header("content-type", "application/json").body(Body::from(body.to_string())).unwrap();
    let (status, _, body) = call(&app, post(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (_dir, app) = setup(true, ServerConfig::default()).await;
    let (status, _, body) = call(&app, post(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    assert!(s["session_id"].as_str().unwrap().starts_with("s_"));
    assert!(s["client_token"].as_str().unwrap().starts_with("ct_"));
    assert!(!body.contains("hk_"), "the demo integrator's key never reaches the page");
    // A fixed challenge goes through the API's own check: refused outside test mode, as
    // `light_required` when it has no light step (no session outside test mode lacks one).
    let fixed = json!({"fixed_challenge": {"actions": [{"action": "blink", "start_ms": 1000, "end_ms": 3000}], "flashes": []}});
    let (status, _, body) = call(&app, post(fixed.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("light_required"));
    let lit = json!({"fixed_challenge": {"actions": [{"action": "blink", "start_ms": 2000, "end_ms": 3000}], "flashes": [
        {"rgb": [255, 0, 0], "start_ms": 1000, "end_ms": 1500}, {"rgb": [0, 0, 255], "start_ms": 1500, "end_ms": 2000}]}});
    let (status, _, body) = call(&app, post(lit)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("test_mode_disabled"));
    // Anything an integrator could send beyond the demo's two fields is refused, and a
    // non-JSON content type (a cross-site form post) too.
    assert_eq!(call(&app, post(json!({"correlation_id": "x"}))).await.0, StatusCode::BAD_REQUEST);
    let form = Request::post("/demo/session").header("content-type", "text/plain").body(Body::from("{}")).unwrap();
    assert_eq!(call(&app, form).await.0, StatusCode::BAD_REQUEST);

    let (_dir, app) = setup(true, ServerConfig { test_mode: true, ..ServerConfig::default() }).await;
    let (status, _, body) = call(&app, post(fixed)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(s["challenge"]["actions"][0]["action"], "blink");
}

#[tokio::test]
async fn cors_only_for_configured_origins_and_only_on_the_api() {
    let mut config = ServerConfig::default();
    config.cors.allowed_origins = vec!["https://shop.example.com".into()];
    let (_dir, app) = setup(true, config).await;
    let preflight = |origin: &str, path: &str| {
        Request::options(path)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .body(Body::empty())
            .unwrap()
    };
    let (status, h, _) = call(&app, preflight("https://shop.example.com", "/v1/sessions/s_1/frames")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(header(&h, "access-control-allow-origin"), "https://shop.example.com");
    assert!(header(&h, "access-control-allow-headers").contains("authorization"));
    assert!(header(&h, "access-control-allow-headers").contains("huoti-os-type"));
    assert!(header(&h, "access-control-allow-credentials").is_empty(), "bearer tokens, never cookies");
    let (status, h, _) = call(&app, preflight("https://evil.example", "/v1/sessions/s_1/frames")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(header(&h, "access-control-allow-origin").is_empty());
    // Actual requests: the header only for the allowed origin.
    let with_origin = |o: &str| Request::get("/v1/keys").header("origin", o).body(Body::empty()).unwrap();
    assert_eq!(header(&call(&app, with_origin("https://shop.example.com")).await.1, "access-control-allow-origin"), "https://shop.example.com");
    assert!(header(&call(&app, with_origin("https://evil.example")).await.1, "access-control-allow-origin").is_empty());
    // The demo's session endpoint is never cross-origin.
    let (status, h, _) = call(&app, preflight("https://shop.example.com", "/demo/session")).await;
    assert_ne!(status, StatusCode::NO_CONTENT);
    assert!(header(&h, "access-control-allow-origin").is_empty());
}

#[test]
fn cors_origins_must_be_bare_origins() {
    for bad in ["*", "https://shop.example.com/", "shop.example.com", "https://*.example.com", "https://a.example/path"] {
        let mut c = ServerConfig::default();
        c.cors.allowed_origins = vec![bad.into()];
        assert!(c.validate().is_err(), "{bad}");
    }
    let mut c = ServerConfig::default();
    c.apply_env([("HUOTI_CORS_ORIGINS".to_string(), "https://a.example, http://localhost:3000".to_string())]).unwrap();
    assert_eq!(c.cors.allowed_origins, ["https://a.example", "http://localhost:3000"]);
    c.validate().unwrap();
}

#[tokio::test]
async fn a2_policy_page_shows_the_version_in_force_and_the_text_consents_refer_to() {
    let (_dir, app) = setup(false, ServerConfig::default()).await;
    let (status, _, info) = call(&app, get("/v1/policy")).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["url"], "/privacy/policy");
    let (status, h, page) = call(&app, get("/privacy/policy?lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&h, "content-security-policy").contains("script-src 'self'"));
    let version = info["version"].as_str().unwrap();
    assert!(page.contains(&format!("<strong id=\"policy-version\">{version}</strong>")), "{page}");
    let (_, _, text) = call(&app, get("/v1/policy/text")).await;
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap();
    let escaped = first_line.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;");
    assert!(page.contains(&escaped), "the policy text is on the page: {first_line}");
    assert!(!page.contains("<script type=\"module\""), "a page without script");
}

#[tokio::test]
async fn openapi_lists_the_sdk_and_the_pages() {
    let (_dir, app) = setup(false, ServerConfig::default()).await;
    let (_, _, doc) = call(&app, get("/v1/openapi.json")).await;
    let doc: Value = serde_json::from_str(&doc).unwrap();
    for p in ["/sdk/huoti-liveness.js", "/demo", "/demo/session", "/demo/sessions/{id}/result", "/privacy", "/privacy/policy", "/console"] {
        assert!(doc["paths"][p].is_object(), "missing {p}");
    }
}
