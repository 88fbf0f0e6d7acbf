//! The gate of the staff endpoints (`/v1/admin/*`, `/v1/disclosures`): S2 least privilege —
//! an integrator key never opens them. The operator key is configured by its SHA-256
//! (`admin.key_sha256`); without one, every caller is refused.

use axum::http::HeaderMap;
use huoti_api::ErrorCode;

use crate::api::{AppState, bearer, ct_eq, sha256_hex};
use crate::error::AppError;

/// The acting staff member's label, for the records (never the key).
pub(crate) async fn require_staff(st: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
    let expected = &st.config.admin.key_sha256;
    let Some(key) = bearer(headers).filter(|k| !k.is_empty()) else {
        return Err(AppError::new(ErrorCode::Unauthorized, "send `Authorization: Bearer <operator key>`"));
    };
    if expected.len() == 64 && ct_eq(&sha256_hex(key), expected) {
        return Ok("operator".into());
    }
    if key.starts_with("hk_") && st.integrator(headers).await.is_ok() {
        return Err(AppError::new(ErrorCode::Forbidden, "integrator keys cannot use staff endpoints"));
    }
    if expected.is_empty() {
        return Err(AppError::new(ErrorCode::Forbidden, "staff endpoints are disabled: no admin.key_sha256 is configured"));
    }
    Err(AppError::new(ErrorCode::Unauthorized, "send `Authorization: Bearer <operator key>`"))
}
