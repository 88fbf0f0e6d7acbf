//! What operators and integrators read about the service itself: the verdict signing keys
//! (JWKS), the OpenAPI document, liveness and readiness — public: none of it holds personal
//! data — and Prometheus metrics, for operators only (an API key with the `operator` role:
//! counters of the service's use are not for the open internet). A scrape renders counters
//! kept in memory; it reads no table.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use huoti_api as wire;
use utoipa::OpenApi;

use crate::http::auth::{Access, Key, Permits, Route, permits};
use crate::metrics;
use crate::state::AppState;
use crate::util::instant;
use huoti_privacy::calendar::local_date;

permits!(
    /// Who may scrape `/metrics`: operators.
    pub ReadMetrics = [ReadHealth]
);

/// The routes about the service. `document` is the whole API's OpenAPI document, which the
/// application assembles from every feature's (this module cannot know them).
pub fn router(document: utoipa::openapi::OpenApi) -> Router<Arc<AppState>> {
    let json: Arc<str> = document.to_pretty_json().unwrap_or_default().into();
    Router::new()
        .route("/v1/keys", get(keys))
        .route("/v1/openapi.json", get(move || openapi(json.clone())))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(keys, openapi, healthz, readyz, metrics_text))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("get", "/v1/keys", Access::Public),
    ("get", "/v1/openapi.json", Access::Public),
    ("get", "/healthz", Access::Public),
    ("get", "/readyz", Access::Public),
    ("get", "/metrics", Access::Key(ReadMetrics::ANY_OF)),
];

/// Public keys that verify result signatures (JWKS).
#[utoipa::path(get, path = "/v1/keys", tag = "keys", responses((status = 200, description = "JSON Web Key Set", body = wire::Jwks)))]
async fn keys(State(st): State<Arc<AppState>>) -> Json<wire::Jwks> {
    Json(st.signer.jwks())
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1")))]
async fn openapi(json: Arc<str>) -> Response {
    let mut res = json.to_string().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    res
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "Serving", body = wire::Health)))]
async fn healthz() -> Json<wire::Health> {
    Json(wire::Health { status: "ok".into(), warnings: Vec::new() })
}

/// Readiness: database reachable and models loaded.
#[utoipa::path(get, path = "/readyz", tag = "meta", responses((status = 200, description = "Ready", body = wire::Health), (status = 503, description = "Not ready", body = wire::Health)))]
async fn readyz(State(st): State<Arc<AppState>>) -> (StatusCode, Json<wire::Health>) {
    let status = if !st.db.ping().await {
        "database unavailable"
    } else if st.models.is_none() {
        "models not loaded"
    } else {
        "ok"
    };
    let code = if status == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut warnings = Vec::new();
    // Issue 18: a calendar that ends soon never makes the node unready (requests are still
    // taken, with provisional due dates), but the operator is told.
    let calendar = st.calendar.current();
    if calendar.ends_soon(local_date(instant(st.clock.now_ms()))) {
        warnings.push(format!(
            "working-day calendar covers through {}: install the next year's holiday notice as [rights] calendar_file; \
             until then R5/R9 due dates past it are provisional",
            calendar.coverage_ends().map_or_else(|| "no year".to_owned(), |d| d.to_string())
        ));
    }
    (code, Json(wire::Health { status: status.into(), warnings }))
}

/// Prometheus metrics (operators; no personal data, no tokens): process counters and this
/// server's gauges, as last refreshed by the background jobs.
#[utoipa::path(get, path = "/metrics", tag = "meta", security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
async fn metrics_text(State(st): State<Arc<AppState>>, _operator: Key<ReadMetrics>) -> Response {
    let mut text = metrics::global().render();
    text.push_str(&st.gauges.render());
    // Issue 18: the calendar's coverage (in memory, no table read).
    let calendar = st.calendar.current();
    let ends_soon = calendar.ends_soon(local_date(instant(st.clock.now_ms())));
    text.push_str(&format!(
        "# HELP huoti_calendar_covered_through_year Last year the working-day calendar covers (R5, R9).\n# TYPE huoti_calendar_covered_through_year gauge\nhuoti_calendar_covered_through_year {}\n\
         # HELP huoti_calendar_ends_soon 1 from 1 November of the calendar's last year: install the next year's notice.\n# TYPE huoti_calendar_ends_soon gauge\nhuoti_calendar_ends_soon {}\n",
        calendar.years().last().unwrap_or(0),
        u8::from(ends_soon)
    ));
    let mut res = text.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; version=0.0.4"));
    res
}
