//! Device info (P2: phone model, OS type and version, only when the person allowed it), kept
//! sealed under the session's `device` key (S2) — never in clear in the database — and for
//! `retention.device_info_days` only.
//!
//! The stored verdict therefore holds no device info: the signed verdict handed to the
//! integrator adds it back while it is still kept, and is signed when it is fetched (Ed25519
//! signatures are deterministic: the same payload gives the same JWS). No routes of its own:
//! device info arrives with frames (`sessions`).

use huoti_api as wire;
use huoti_privacy::uses::Use;

use crate::error::AppError;
use crate::state::AppState;
use crate::store::Db;
use crate::vault::{Domain, FrameVault};

/// P2: device info serves fraud detection only (U1 security).
const PURPOSE: Use = Use::FraudDetection;

/// Stores the device info of a session, once (the first frame that carries it).
pub async fn record(st: &AppState, session: &str, info: &wire::DeviceInfo, now_ms: u64) -> Result<(), AppError> {
    if st.db.has_session_device(session).await? {
        return Ok(());
    }
    let key = st.vault.key_or_create(&st.db, session, Domain::Device, now_ms).await.map_err(AppError::internal)?;
    let json = serde_json::to_vec(info).map_err(AppError::internal)?;
    let sealed = FrameVault::seal_record(&key, session, PURPOSE, &json).map_err(AppError::internal)?;
    st.db.insert_session_device(session, &sealed, now_ms).await?;
    Ok(())
}

/// The session's device info, if it is still kept.
pub async fn load(st: &AppState, session: &str) -> Result<Option<wire::DeviceInfo>, AppError> {
    let Some(sealed) = st.db.session_device_sealed(session).await? else { return Ok(None) };
    let Ok(key) = st.vault.domain_key(&st.db, session, Domain::Device).await else { return Ok(None) };
    let json = FrameVault::open_record(&key, session, PURPOSE, &sealed).map_err(AppError::internal)?;
    serde_json::from_slice(&json).map(Some).map_err(AppError::internal)
}

/// Deletes the session's device info and shreds its key.
pub async fn erase(db: &Db, session: &str) -> Result<(), sqlx::Error> {
    db.delete_session_device(session).await?;
    db.delete_wrapped_key(session, Domain::Device.name()).await
}

/// The signed verdict as the integrator gets it: the stored payload plus the device info
/// still kept, signed now.
pub async fn signed_verdict(st: &AppState, session: &str, stored_json: &str) -> Result<(String, wire::SessionVerdict), AppError> {
    let mut verdict: wire::SessionVerdict = serde_json::from_str(stored_json).map_err(AppError::internal)?;
    verdict.device = load(st, session).await?;
    let json = serde_json::to_string(&verdict).map_err(AppError::internal)?;
    Ok((st.signer.sign(json.as_bytes()), verdict))
}
