//! Face references (face match, 本人核验): a person's template sealed under a biometric data
//! key of its own — owner `fr_<subject>`, apart from the key of the person's kept training
//! images — so that withdrawing `face_comparison` shreds the template and nothing else, and
//! deleting the person or closing the account shreds it with the rest. The image a template
//! was made from is never stored.

use huoti_privacy::uses::Use;

use super::{Domain, FrameVault, VaultError};
use crate::store::Db;

/// The blob key of a person's reference template (one per person; a new one overwrites it).
const TEMPLATE_BLOB: &str = "template.sealed";

impl FrameVault {
    /// The owner of a person's reference key and blob.
    pub fn face_reference_owner(subject_id: &str) -> String {
        format!("fr_{subject_id}")
    }

    /// The blob key of a person's sealed template.
    pub fn face_reference_blob(subject_id: &str) -> String {
        format!("{}/{TEMPLATE_BLOB}", Self::face_reference_owner(subject_id))
    }

    /// Seals a person's template for face comparison (U1: its own listed use) under the
    /// reference key (made on first use); returns its blob key.
    pub async fn put_face_reference(&self, db: &Db, subject_id: &str, template: &[u8], now_ms: u64) -> Result<String, VaultError> {
        let owner = Self::face_reference_owner(subject_id);
        let key = self.key_or_create(db, &owner, Domain::Biometric, now_ms).await?;
        let blob_key = Self::face_reference_blob(subject_id);
        self.put_at(&key, &owner, &blob_key, Use::FaceComparison, template).await?;
        Ok(blob_key)
    }

    /// Opens a person's sealed template, for face comparison only.
    pub async fn face_reference(&self, db: &Db, subject_id: &str, blob_key: &str) -> Result<Vec<u8>, VaultError> {
        let owner = Self::face_reference_owner(subject_id);
        let key = self.biometric_key(db, &owner).await?;
        self.get_for(&key, &owner, blob_key, Use::FaceComparison).await
    }

    /// Erases a person's reference: its row, then its key (crypto-shredding) and its blob,
    /// a failed blob deletion retried by the janitor. Returns whether there was a row.
    pub async fn erase_face_reference(&self, db: &Db, subject_id: &str, now_ms: u64) -> Result<bool, VaultError> {
        let had = db.delete_face_reference(subject_id).await?;
        self.erase_biometric(db, &Self::face_reference_owner(subject_id), now_ms).await?;
        Ok(had)
    }
}
