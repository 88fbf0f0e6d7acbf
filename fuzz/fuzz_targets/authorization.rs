//! The credential headers as a client can send them: `Authorization` (the bearer token, then
//! the API key's id and secret) and `huoti-purpose` (percent-decoded UTF-8, audited).
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value.clone());
    headers.insert("huoti-purpose", value);
    if let Some(token) = huoti_server::http::bearer(&headers) {
        if let Some((id, secret)) = huoti_server::http::auth::parse_api_key(token) {
            assert_eq!(id.len(), 16);
            assert!(!secret.is_empty());
        }
    }
    let _ = huoti_server::http::auth::purpose(&headers, None);
});
