//! The gate of the staff endpoints of the privacy operations (`/v1/admin/incidents*`,
//! `/v1/disclosures`): the role matrix of `huoti-privacy` (S2 least privilege — an integrator
//! key never opens them), a stated purpose, and an audit entry for every call (S2: every staff
//! action on personal data is logged).

use axum::http::HeaderMap;
use huoti_privacy::Permission;

use crate::api::AppState;
use crate::error::AppError;
use crate::privacy::{audit, auth};

/// Authorises the caller for `needed`, takes the purpose from `huoti-purpose`, and records
/// `action` on `target` in the audit log. Returns the actor's key id.
pub(crate) async fn require_staff(st: &AppState, headers: &HeaderMap, needed: &[Permission], action: &str, target: &str) -> Result<String, AppError> {
    let caller = st.authorize(headers, needed).await?;
    audited(st, &caller, headers, action, target).await
}

/// The purpose and audit entry of an already authorised caller (for handlers that must read
/// the request before they know what it touches — after the key was checked).
pub(crate) async fn audited(st: &AppState, caller: &auth::Caller, headers: &HeaderMap, action: &str, target: &str) -> Result<String, AppError> {
    let purpose = auth::purpose(headers, None)?;
    audit::record(&st.db, caller, &purpose, action, target, st.clock.now_ms()).await?;
    Ok(caller.key_id.clone())
}
