//! What every handler shares about HTTP, and nothing about any feature: request bodies read
//! with a hard limit ([`JsonBody`], `read_limited`, `drain`), the credentials of a request
//! as extractors ([`auth`]), and CORS for the API ([`cors`]). (Leaf module: it names no feature.)
//!
//! A handler takes the extractors it needs, in the order it must check them: axum runs them
//! left to right, so `async fn h(staff: Staff<P>, JsonBody(req): JsonBody<T>)` answers 401/403
//! before it reads a byte of the body. Where a handler must do something between two checks
//! (audit a staff call before reading its body, refuse a wound-down service before parsing),
//! it takes the raw `Body` and calls `json_body` itself.

pub mod auth;
pub mod cors;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use huoti_api::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Largest JSON request body.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// A JSON request body of at most [`MAX_JSON_BYTES`]; an empty body is `T::default()`
/// (`invalid_request` for bad JSON, `request_too_large` past the limit).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, AppError> {
        json_body(req.into_body()).await.map(JsonBody)
    }
}

/// Reads a JSON body as [`JsonBody`] does, for handlers that must check something first.
pub(crate) async fn json_body<T: DeserializeOwned + Default>(body: Body) -> Result<T, AppError> {
    let bytes = read_limited(body, MAX_JSON_BYTES)
        .await
        .map_err(|too_large| if too_large { AppError::new(ErrorCode::RequestTooLarge, format!("JSON bodies are limited to {MAX_JSON_BYTES} bytes")) } else { AppError::new(ErrorCode::InvalidRequest, "the request body could not be read") })?;
    parse_json(&bytes)
}

/// Parses JSON bytes already read: blank is `T::default()`, anything else must parse.
pub(crate) fn parse_json<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| AppError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {e}")))
}

/// A JSON body that must be there and be a `T` (no default): read as a value first, so that
/// a missing member is the same `invalid_request` as bad JSON.
pub(crate) async fn json_body_required<T: DeserializeOwned>(body: Body) -> Result<T, AppError> {
    let v: serde_json::Value = json_body(body).await?;
    serde_json::from_value(v).map_err(|e| AppError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {e}")))
}

/// Reads a body, stopping as soon as it exceeds `limit` (`Err(true)`); `Err(false)` when the
/// client broke off.
pub(crate) async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, bool> {
    let mut out: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(false) };
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > limit {
                // Read and discard a bounded remainder, so that a client that does not wait
                // for `100 Continue` still reads the 413 instead of a reset connection.
                drain(body, (limit as u64).saturating_mul(4)).await;
                return Err(true);
            }
            out.extend_from_slice(data);
        }
    }
    Ok(Bytes::from(out))
}

/// Reads and discards up to `cap` bytes of a body (never stores them), for at most 5 s.
pub(crate) async fn drain(mut body: Body, cap: u64) {
    let mut seen = 0u64;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen += data.len() as u64;
                if seen > cap {
                    break;
                }
            }
        }
    })
    .await;
}
