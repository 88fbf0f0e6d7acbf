//! What every handler shares about HTTP, and nothing about any feature: request bodies read
//! with a hard limit ([`JsonBody`], `read_limited`, `drain`) and the node's memory budget for
//! frame bodies and pixels ([`budget`]), the credentials of a request
//! as extractors ([`auth`]), CORS for the API ([`cors`]), and the layer that turns a
//! handler's panic into `500 internal` ([`panic`]). (Leaf module: it names no feature.)
//!
//! A handler takes the extractors it needs, in the order it must check them: axum runs them
//! left to right, so `async fn h(staff: Staff<P>, JsonBody(req): JsonBody<T>)` answers 401/403
//! before it reads a byte of the body. Where a handler must do something between two checks
//! (audit a staff call before reading its body, refuse a wound-down service before parsing),
//! it takes the raw `Body` and calls `json_body` itself.

pub mod auth;
pub mod budget;
pub mod cors;
pub mod panic;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use huoti_api::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Largest JSON request body.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// The token of `Authorization: Bearer <token>` (pure: fuzzed with any header bytes).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
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
    serde_json::from_slice(bytes).map_err(|e| invalid_json(&e))
}

/// A JSON body that must be there and be a `T` (no default): read as a value first, so that
/// a missing member is the same `invalid_request` as bad JSON.
pub(crate) async fn json_body_required<T: DeserializeOwned>(body: Body) -> Result<T, AppError> {
    let v: serde_json::Value = json_body(body).await?;
    serde_json::from_value(v).map_err(|e| invalid_json(&e))
}

/// `invalid_request` for a body that did not parse, saying what is wrong and where, but never
/// echoing what was sent: serde's own messages quote the offending value (`invalid type:
/// integer `13812345678``) or member name, and a 422 must not carry an ID number back into
/// logs and proxies. Only the names of members this server expects are repeated.
fn invalid_json(e: &serde_json::Error) -> AppError {
    use serde_json::error::Category;
    let at = if e.line() > 0 { format!(" (line {}, column {})", e.line(), e.column()) } else { String::new() };
    let what = match e.classify() {
        Category::Syntax | Category::Io => "the body is not valid JSON".to_owned(),
        Category::Eof => "the JSON body ends too early".to_owned(),
        Category::Data => {
            let message = e.to_string();
            // `missing field `name`` names a member of ours, not something sent.
            match message.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')) {
                Some((field, _)) => format!("the member `{field}` is required"),
                None if message.starts_with("unknown field") => "the body has a member this request does not take".to_owned(),
                None => "a member has the wrong type or a value out of range".to_owned(),
            }
        }
    };
    AppError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {what}{at}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Identity {
        #[allow(dead_code)]
        phone: Option<String>,
        #[allow(dead_code)]
        kind: Option<Kind>,
        #[allow(dead_code)]
        count: Option<u8>,
    }

    #[derive(Debug, serde::Deserialize)]
    enum Kind {
        #[allow(dead_code)]
        A,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Needs {
        #[allow(dead_code)]
        policy_version: String,
    }

    /// Issue 19, defect 14: a 422 never carries back what was sent — values of the wrong
    /// type, unknown enum variants, numbers out of range, unknown member names.
    #[test]
    fn r1_s2_bad_json_bodies_are_refused_without_echoing_the_submitted_values() {
        for body in [
            r#"{"phone": 13812345678}"#,
            r#"{"phone": ["13812345678"], "x": 1}"#,
            r#"{"kind": "13812345678"}"#,
            r#"{"count": 13812345678}"#,
            r#"{"13812345678": 1}"#,
            r#"{"phone": "13812345678""#,
            r#"{"phone": 13812345678x}"#,
        ] {
            let e = parse_json::<Identity>(body.as_bytes()).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest);
            assert!(!e.detail.contains("13812345678") && !e.detail.contains("345678"), "{body} → {}", e.detail);
            assert!(e.detail.contains("line 1"), "says where: {}", e.detail);
        }
        let missing = parse_json::<Option<Needs>>(br#"{"other": "13812345678"}"#).unwrap_err();
        assert!(missing.detail.contains("`policy_version` is required") && !missing.detail.contains("1381"), "{}", missing.detail);
    }
}
