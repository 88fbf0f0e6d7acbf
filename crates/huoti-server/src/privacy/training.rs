//! Face images kept for model training: only with the person's own `retain_for_training`
//! consent (L2), sealed under the person's biometric data key at `<subject>/train-…` so that
//! deleting the key shreds them all, and seen by people only through an approved random
//! sample (C4). No routes of its own.

use huoti_api::ErrorCode;
use huoti_privacy::uses::Use;

use super::consent;
use crate::error::AppError;
use crate::state::AppState;
use crate::util::{instant, random_hex};
use crate::vault::{Domain, VaultError};

/// Keeps one image of `session_id` for training, if and only if the person consented to
/// `retain_for_training` (L2). Returns whether it was kept.
pub async fn keep(st: &AppState, subject_id: &str, session_id: &str, jpeg: Vec<u8>, now_ms: u64) -> Result<bool, AppError> {
    Ok(keep_all(st, subject_id, session_id, vec![jpeg], now_ms).await? == 1)
}

/// Keeps a session's images for training, if and only if the person consented to
/// `retain_for_training` (L2): each sealed for model training under the person's own
/// biometric key (made on first use), so that withdrawing the consent or deleting the person
/// shreds them all. Returns how many were kept (0 without consent).
pub async fn keep_all(st: &AppState, subject_id: &str, session_id: &str, jpegs: Vec<Vec<u8>>, now_ms: u64) -> Result<u64, AppError> {
    let ledger = consent::ledger(st, subject_id).await?;
    if ledger.may_retain_for_training(&huoti_privacy::SubjectId::new(subject_id), instant(now_ms)).is_err() {
        return Ok(0);
    }
    // Two sessions of one person finishing at once both find no key: `key_or_create` lets
    // the second use the first one's.
    let key = st.vault.key_or_create(&st.db, subject_id, Domain::Biometric, now_ms).await.map_err(AppError::internal)?;
    let mut kept = 0;
    for jpeg in jpegs {
        let id = format!("ti_{}", random_hex(12));
        let blob_key = format!("{subject_id}/train-{id}.sealed");
        st.vault.put_at(&key, subject_id, &blob_key, Use::ModelTraining, &jpeg).await.map_err(AppError::internal)?;
        st.db.insert_training_image(&id, subject_id, session_id, &blob_key, now_ms).await?;
        kept += 1;
    }
    Ok(kept)
}

/// Opens a kept training image (for an approved sample only).
pub async fn open(st: &AppState, subject_id: &str, blob_key: &str) -> Result<Vec<u8>, AppError> {
    let key = st.vault.biometric_key(&st.db, subject_id).await.map_err(|e| match e {
        VaultError::NoKey => AppError::new(ErrorCode::SampleExpired, "the image was deleted"),
        e => AppError::internal(e),
    })?;
    st.vault.get_for(&key, subject_id, blob_key, Use::ModelTraining).await.map_err(AppError::internal)
}
