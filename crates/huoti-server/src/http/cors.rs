//! CORS for the API: `<huoti-liveness>` often runs on the integrator's page, another origin than
//! this server. Only origins in `cors.allowed_origins` get the headers; requests carry bearer
//! tokens, never cookies, so credentials are not allowed. Same-origin requests (the server's own
//! pages) need none of this.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::CorsConfig;

/// Headers a browser may send cross-origin: auth, JSON/JPEG bodies, and the device-info
/// headers (P2; only when the person allowed them).
const ALLOW_HEADERS: &str = "authorization, content-type, huoti-device-model, huoti-os-type, huoti-os-version";
const ALLOW_METHODS: &str = "GET, POST, DELETE";
/// Preflights cached for 10 minutes.
const MAX_AGE: &str = "600";

fn allowed(config: &CorsConfig, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let o = origin.to_str().ok()?;
    config.allowed_origins.iter().any(|a| a.eq_ignore_ascii_case(o)).then(|| origin.clone())
}

/// Answers preflights and adds `Access-Control-Allow-Origin` for allowed origins. An origin
/// that is not allowed gets no CORS headers: its browser then refuses to hand the response to
/// the page (a preflight from it is answered 403 so that the refusal is visible in devtools).
pub async fn layer(State(config): State<Arc<CorsConfig>>, req: Request, next: Next) -> Response {
    // Only the API is cross-origin; pages and `/demo/session` stay same-origin.
    if !req.uri().path().starts_with("/v1/") {
        return next.run(req).await;
    }
    let origin = allowed(&config, req.headers());
    let preflight = req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let Some(origin) = origin else { return StatusCode::FORBIDDEN.into_response() };
        let mut res = StatusCode::NO_CONTENT.into_response();
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        h.insert(header::VARY, HeaderValue::from_static("origin"));
        return res;
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Some(origin) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        // The client reads Retry-After to honour rate limits.
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
    }
    h.append(header::VARY, HeaderValue::from_static("origin"));
    res
}
