//! The web SDK bundle and the pages a person or a member of staff opens in a browser, served by
//! the server itself so that one `cargo run -- serve` needs no npm and no second web server.
//!
//! * `/sdk/huoti-liveness.js`: the `<huoti-liveness>` bundle, built by `npm run build` in
//!   `web/` and committed (`web/test.sh` checks the committed file equals a fresh build), then
//!   embedded here. Cacheable with an `ETag`; readable cross-origin (integrators load it from
//!   their own pages as a module script, which needs CORS).
//! * `/demo` (dev mode only): a page that creates a session through the demo integrator on the
//!   server side (`demo.rs`) and runs the element; `POST /demo/session` and
//!   `GET /demo/sessions/{id}/result` exist only in dev mode.
//! * `/privacy/policy`: the policy in force, as text (the `url` of `GET /v1/policy`).
//! * `/privacy` (a person, through a link token in the URL fragment) and `/console` (staff,
//!   with an API key kept in `sessionStorage`): small server-rendered HTML in zh-CN and en,
//!   with vanilla JS that calls the API; the API enforces every role.
//!
//! Every page and asset carries [`security`] headers: a CSP without inline scripts or styles,
//! `nosniff`, `no-referrer` (the privacy link token must not leak), and a Permissions-Policy
//! that allows the camera to this origin only.

pub(crate) mod demo;
pub mod security;
mod strings;

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::OpenApi;

use crate::error::AppError;
use crate::http::auth::{Access, Route};
use crate::privacy::policy;
use crate::state::AppState;
use strings::{Lang, Page};

/// The built web SDK (`web/dist/huoti-liveness.js`, committed; see the module docs).
pub const SDK_BUNDLE: &str = include_str!("../../../../web/dist/huoti-liveness.js");

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(sdk, demo_page, privacy_page, console_page, policy_page, demo::create, demo::result))]
pub struct Doc;

/// Their access rules: static or empty of personal data until their scripts call the API with
/// a link token or a staff key. The /demo routes exist only on a server started with --dev
/// (404 otherwise), where they act as the demo integrator. (The page assets under
/// `/pages/{name}` are not part of the documented API.)
pub const ACCESS: &[Route] = &[
    ("get", "/sdk/huoti-liveness.js", Access::Public),
    ("get", "/demo", Access::Public),
    ("post", "/demo/session", Access::Public),
    ("get", "/demo/sessions/{id}/result", Access::Public),
    ("get", "/privacy", Access::Public),
    ("get", "/privacy/policy", Access::Public),
    ("get", "/console", Access::Public),
];

/// A static file embedded in the binary, with its content type and a strong ETag of its bytes.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: String,
}

impl Asset {
    fn new(body: &'static str, content_type: &'static str) -> Asset {
        let digest = hex::encode(Sha256::digest(body.as_bytes()));
        Asset { body, content_type, etag: format!("\"{}\"", &digest[..32]) }
    }

    /// 200 with the body, or 304 when the client already holds this version.
    fn respond(&self, headers: &HeaderMap, cache: &'static str) -> Response {
        let fresh = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == self.etag || t.trim() == "*"));
        let mut res = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { self.body.into_response() };
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, v);
        }
        res
    }
}

const JS: &str = "text/javascript; charset=utf-8";
/// Unversioned URLs: cached briefly, then revalidated with the ETag (a new release must reach
/// browsers within minutes, and an unchanged file costs a 304).
const ASSET_CACHE: &str = "public, max-age=300, must-revalidate";

static SDK: LazyLock<Asset> = LazyLock::new(|| Asset::new(SDK_BUNDLE, JS));
static ASSETS: LazyLock<[(&str, Asset); 5]> = LazyLock::new(|| {
    [
        ("pages.css", Asset::new(include_str!("assets/pages.css"), "text/css; charset=utf-8")),
        ("common.js", Asset::new(include_str!("assets/common.js"), JS)),
        ("demo.js", Asset::new(include_str!("assets/demo.js"), JS)),
        ("privacy.js", Asset::new(include_str!("assets/privacy.js"), JS)),
        ("console.js", Asset::new(include_str!("assets/console.js"), JS)),
    ]
});

/// What the page handlers share.
#[derive(Clone)]
pub struct PagesState {
    app: Arc<AppState>,
    /// The demo integrator's API key, held in memory only and only in dev mode; `None` turns
    /// `/demo` and `POST /demo/session` off (404).
    demo_key: Option<Arc<str>>,
}

/// Routes of the SDK bundle and the pages. `demo_key`: see [`PagesState`].
pub fn router(app: Arc<AppState>, demo_key: Option<String>) -> Router {
    let state = PagesState { app, demo_key: demo_key.map(Arc::from) };
    Router::new()
        .route("/sdk/huoti-liveness.js", get(sdk))
        .route("/pages/{name}", get(asset))
        .route("/demo", get(demo_page))
        .route("/demo/session", post(demo::create))
        .route("/demo/sessions/{id}/result", get(demo::result))
        .route("/privacy", get(privacy_page))
        .route("/console", get(console_page))
        .route("/privacy/policy", get(policy_page))
        .with_state(state)
        .layer(axum::middleware::from_fn(security::page_headers))
}

/// The `<huoti-liveness>` web SDK (ES module).
#[utoipa::path(get, path = "/sdk/huoti-liveness.js", tag = "web",
    params(("if-none-match" = Option<String>, Header, description = "An ETag from an earlier answer")),
    responses(
        (status = 200, description = "The bundle, with ETag and Cache-Control; readable from any origin", body = String, content_type = "text/javascript"),
        (status = 304, description = "Unchanged since the given ETag"),
    ))]
pub(crate) async fn sdk(headers: HeaderMap) -> Response {
    let mut res = SDK.respond(&headers, ASSET_CACHE);
    // Integrators load the bundle from their own origin as a module script: a public file,
    // never sent with credentials, so any origin may read it.
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    res
}

/// A page's stylesheet or script.
async fn asset(axum::extract::Path(name): axum::extract::Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|(n, _)| *n == name) {
        Some((_, a)) => a.respond(&headers, ASSET_CACHE),
        None => AppError::new(huoti_api::ErrorCode::NotFound, "no such route").into_response(),
    }
}

/// `?lang=`: the page language asked for.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

/// The demo page (dev mode only): runs the element on a session made server-side.
#[utoipa::path(get, path = "/demo", tag = "web",
    params(("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language)")),
    responses((status = 200, description = "HTML", body = String, content_type = "text/html"), (status = 404, description = "not_found: not in dev mode", body = huoti_api::Problem, content_type = "application/problem+json")))]
pub(crate) async fn demo_page(State(st): State<PagesState>, q: Query<LangQuery>, headers: HeaderMap) -> Response {
    if st.demo_key.is_none() {
        return demo::not_dev();
    }
    render(Page::Demo, &q, &headers, &[])
}

/// A person's privacy page (their data, export, consents, requests), reached with a link token in the fragment (`#t=…`).
#[utoipa::path(get, path = "/privacy", tag = "web",
    params(("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language)")),
    responses((status = 200, description = "HTML", body = String, content_type = "text/html")))]
pub(crate) async fn privacy_page(q: Query<LangQuery>, headers: HeaderMap) -> Response {
    render(Page::Privacy, &q, &headers, &[])
}

/// The staff console (requests with due dates, complaints, incidents, audit verification).
#[utoipa::path(get, path = "/console", tag = "web",
    params(("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language)")),
    responses((status = 200, description = "HTML", body = String, content_type = "text/html")))]
pub(crate) async fn console_page(q: Query<LangQuery>, headers: HeaderMap) -> Response {
    render(Page::Console, &q, &headers, &[])
}

/// The policy in force (`PolicyInfo.url`), as a readable page: the same text whose digest
/// `GET /v1/policy` gives and to which consents refer.
#[utoipa::path(get, path = "/privacy/policy", tag = "web",
    params(("lang" = Option<String>, Query, description = "`zh-CN` or `en` (default: Accept-Language)")),
    responses((status = 200, description = "HTML", body = String, content_type = "text/html")))]
pub(crate) async fn policy_page(State(st): State<PagesState>, q: Query<LangQuery>, headers: HeaderMap) -> Response {
    match policy::current(&st.app.db, st.app.clock.now_ms()).await {
        Ok(p) => render(Page::Policy, &q, &headers, &[("version", &p.version), ("text", &p.text)]),
        Err(e) => e.into_response(),
    }
}

/// The page in the language asked for (`?lang=`), else the browser's (`Accept-Language`).
fn render(page: Page, q: &LangQuery, headers: &HeaderMap, values: &[(&str, &str)]) -> Response {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let lang = Lang::pick(q.lang.as_deref(), accept);
    let mut res = strings::html(page, lang, values).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // /privacy and /console show personal data once their scripts run; the HTML itself holds
    // none, but no page is worth a stale copy in a shared cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::VARY, HeaderValue::from_static("accept-language"));
    res
}

