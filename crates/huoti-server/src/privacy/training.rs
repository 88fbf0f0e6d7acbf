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
use crate::vault::VaultError;

/// Keeps one image of `session_id` for training, if and only if the person consented to
/// `retain_for_training` (L2). Returns whether it was kept.
pub async fn keep(st: &AppState, subject_id: &str, session_id: &str, jpeg: Vec<u8>, now_ms: u64) -> Result<bool, AppError> {
    let ledger = consent::ledger(st, subject_id).await?;
    if ledger.may_retain_for_training(&huoti_privacy::SubjectId::new(subject_id), instant(now_ms)).is_err() {
        return Ok(false);
    }
    let key = match st.vault.biometric_key(&st.db, subject_id).await {
        Ok(k) => k,
        Err(VaultError::NoKey) => {
            st.vault.create_biometric_key(&st.db, subject_id, now_ms).await.map_err(AppError::internal)?;
            st.vault.biometric_key(&st.db, subject_id).await.map_err(AppError::internal)?
        }
        Err(e) => return Err(AppError::internal(e)),
    };
    let id = format!("ti_{}", random_hex(12));
    let blob_key = format!("{subject_id}/train-{id}.sealed");
    st.vault.put_at(&key, subject_id, &blob_key, Use::ModelTraining, &jpeg).await.map_err(AppError::internal)?;
    st.db.insert_training_image(&id, subject_id, session_id, &blob_key, now_ms).await?;
    Ok(true)
}

/// Opens a kept training image (for an approved sample only).
pub async fn open(st: &AppState, subject_id: &str, blob_key: &str) -> Result<Vec<u8>, AppError> {
    let key = st.vault.biometric_key(&st.db, subject_id).await.map_err(|e| match e {
        VaultError::NoKey => AppError::new(ErrorCode::SampleExpired, "the image was deleted"),
        e => AppError::internal(e),
    })?;
    st.vault.get_for(&key, subject_id, blob_key, Use::ModelTraining).await.map_err(AppError::internal)
}
