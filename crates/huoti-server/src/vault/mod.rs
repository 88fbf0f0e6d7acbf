//! The vault: every byte of personal data the server keeps outside a table row is sealed here
//! first (envelope encryption, `huoti-privacy`; policy S2, C4) and kept in a [`BlobStore`].
//! (Leaf module: it names no feature.)
//!
//! Data keys belong to an *owner*: a liveness session (its frames, its device info) or a
//! person (their identity data, their face images kept for training). Each owner has one data
//! key per [`Domain`], wrapped by the key-encryption key of the [`KekRing`]
//! (`<data_dir>/kek.json`, mode 0600) and stored wrapped in the database. A session's
//! biometric key is made with the session; after the verdict its frames *and* the wrapped key
//! are deleted (L2: no images kept without separate consent); deleting the key alone already
//! makes any copy of the blobs unreadable (crypto-shredding).
//!
//! * [`blobs`]: the blob store.
//! * [`kek`]: the key-encryption keys, reloaded when `huoti admin kek rotate` changes them.
//! * [`sealing`]: key domains, sealed records, and key rotation.

pub mod blobs;
pub mod kek;
pub mod sealing;

use std::path::Path;

use huoti_privacy::envelope::{self, SealedBlob};
use huoti_privacy::uses::Use;
use huoti_privacy::{BlobContext, DataKey, KeyDomain, SubjectId};
use rand_core::OsRng;

pub use blobs::{BlobStore, DirBlobStore};
pub use kek::KekRing;
pub use sealing::{RotationReport, rotate_kek};

use crate::error::ServerError;
use crate::store::Db;

/// A key domain as stored in `subject_keys.domain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Face frames.
    Biometric,
    /// Device info (phone model, OS type and version).
    Device,
    /// Identity data (L3).
    Identity,
}

impl Domain {
    /// The name stored in `subject_keys.domain`.
    pub fn name(self) -> &'static str {
        match self {
            Domain::Biometric => "biometric",
            Domain::Device => "device",
            Domain::Identity => "identity",
        }
    }

    /// The domain of a stored name.
    fn from_name(name: &str) -> Option<Domain> {
        [Domain::Biometric, Domain::Device, Domain::Identity].into_iter().find(|d| d.name() == name)
    }

    /// The huoti-privacy key domain: identity data is its own domain (L3); device info is
    /// kept with the session's non-identity data.
    fn key_domain(self) -> KeyDomain {
        match self {
            Domain::Identity => KeyDomain::Identity,
            Domain::Biometric | Domain::Device => KeyDomain::Biometric,
        }
    }

    /// The owner bound into the wrap: distinct per domain, so a wrapped key row cannot be
    /// moved to another domain of the same owner. (Biometric keeps the bare owner id, the
    /// form frames were always wrapped with.)
    fn wrap_owner(self, owner: &str) -> SubjectId {
        match self {
            Domain::Biometric => SubjectId::new(owner),
            other => SubjectId::new(format!("{}:{owner}", other.name())),
        }
    }
}

/// Seals frames and other blobs under their owner's data keys and keeps them in a
/// [`BlobStore`].
pub struct FrameVault {
    kek: KekRing,
    store: Box<dyn BlobStore>,
}

impl std::fmt::Debug for FrameVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameVault").field("kek", &self.kek).finish_non_exhaustive()
    }
}

/// Vault failures (opaque on purpose: no decryption oracle, no key material).
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The blob store failed (or refused a key).
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
    /// Reading or writing a wrapped key failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The owner has no data key of that domain (shredded or never made).
    #[error("no data key for the owner")]
    NoKey,
    /// Wrapping, unwrapping, sealing or opening failed.
    #[error("cryptography failed")]
    Crypto,
}

impl FrameVault {
    /// Opens (or creates, mode 0600) the key-encryption key file and the blob store.
    pub fn open(kek_file: &Path, store: Box<dyn BlobStore>) -> Result<FrameVault, ServerError> {
        let kek = KekRing::open_or_create(kek_file).map_err(|e| ServerError::Keys(e.into()))?;
        Ok(FrameVault { kek, store })
    }

    /// Makes and stores (wrapped) a fresh biometric data key for `owner`.
    pub async fn create_biometric_key(&self, db: &Db, owner: &str, now_ms: u64) -> Result<(), VaultError> {
        let key = DataKey::generate(KeyDomain::Biometric, &mut OsRng);
        let wrapped = self.kek.with(|kek| envelope::wrap(kek, &key, &SubjectId::new(owner), &mut OsRng)).map_err(|_| VaultError::Crypto)?;
        db.put_wrapped_key(owner, Domain::Biometric.name(), &wrapped.kek_id, &hex::encode(&wrapped.bytes), now_ms).await?;
        Ok(())
    }

    /// The owner's biometric data key, unwrapped.
    pub async fn biometric_key(&self, db: &Db, owner: &str) -> Result<DataKey, VaultError> {
        self.domain_key(db, owner, Domain::Biometric).await
    }

    /// The associated data of a blob: its key, its owner and its use (U1) — a blob sealed for
    /// one use opens for no other.
    fn context(owner: &str, blob_key: &str, purpose: Use) -> BlobContext {
        BlobContext::new(blob_key, SubjectId::new(owner), purpose.label())
    }

    /// The blob key of a session's frame.
    pub fn frame_key(session: &str, seq: u32) -> String {
        format!("{session}/{seq:06}.sealed")
    }

    /// Seals and stores a session's frame (blocking I/O: call from a blocking thread).
    pub fn put_frame(&self, key: &DataKey, session: &str, seq: u32, jpeg: &[u8]) -> Result<String, VaultError> {
        let blob_key = Self::frame_key(session, seq);
        let sealed = envelope::seal(key, jpeg, &Self::context(session, &blob_key, Use::LivenessCheck), &mut OsRng).map_err(|_| VaultError::Crypto)?;
        self.store.put(&blob_key, &sealed.to_bytes())?;
        Ok(blob_key)
    }

    /// Seals and stores a blob of `owner` for `purpose` under `blob_key` (which must start
    /// with `<owner>/`, so that [`erase_biometric`](Self::erase_biometric) removes it);
    /// blocking I/O.
    pub fn put_at(&self, key: &DataKey, owner: &str, blob_key: &str, purpose: Use, bytes: &[u8]) -> Result<(), VaultError> {
        if !blob_key.starts_with(&format!("{owner}/")) {
            return Err(VaultError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "blob key outside its owner")));
        }
        let sealed = envelope::seal(key, bytes, &Self::context(owner, blob_key, purpose), &mut OsRng).map_err(|_| VaultError::Crypto)?;
        self.store.put(blob_key, &sealed.to_bytes())?;
        Ok(())
    }

    /// Reads and opens a session's frame, for the liveness check it was captured for
    /// (blocking I/O).
    pub fn get_frame(&self, key: &DataKey, session: &str, blob_key: &str) -> Result<Vec<u8>, VaultError> {
        self.get_for(key, session, blob_key, Use::LivenessCheck)
    }

    /// Reads and opens a blob of `owner` for `purpose`; a blob sealed for another use does not
    /// open (blocking I/O).
    pub fn get_for(&self, key: &DataKey, owner: &str, blob_key: &str, purpose: Use) -> Result<Vec<u8>, VaultError> {
        let bytes = self.store.get(blob_key)?;
        let sealed = SealedBlob::from_bytes(&bytes).map_err(|_| VaultError::Crypto)?;
        envelope::open(key, &sealed, &Self::context(owner, blob_key, purpose)).map_err(|_| VaultError::Crypto)
    }

    /// Deletes one blob (no error when it is gone); the key it was sealed under stays.
    pub fn delete_blob(&self, blob_key: &str) -> Result<(), VaultError> {
        Ok(self.store.delete(blob_key)?)
    }

    /// Deletes every frame row and blob of an owner, then its biometric data key (L2;
    /// crypto-shredding). Keys of other domains (device info, identity) follow their own
    /// retention.
    pub async fn erase_biometric(&self, db: &Db, owner: &str) -> Result<(), VaultError> {
        db.delete_frames(owner).await?;
        self.store.delete_prefix(owner)?;
        db.delete_wrapped_key(owner, Domain::Biometric.name()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn l2_frames_sealed_then_erased_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display())).await.unwrap();
        let vault = FrameVault::open(&dir.path().join("kek.json"), Box::new(DirBlobStore::new(&dir.path().join("blobs")).unwrap())).unwrap();
        vault.create_biometric_key(&db, "s_1", 0).await.unwrap();
        let key = vault.biometric_key(&db, "s_1").await.unwrap();
        let blob = vault.put_frame(&key, "s_1", 0, b"\xff\xd8jpeg").unwrap();
        let raw = std::fs::read(dir.path().join("blobs").join(&blob)).unwrap();
        assert!(!raw.windows(4).any(|w| w == b"jpeg"), "stored sealed, not in clear");
        assert_eq!(vault.get_frame(&key, "s_1", &blob).unwrap(), b"\xff\xd8jpeg");
        assert!(vault.get_frame(&key, "s_2", &blob).is_err(), "bound to its subject");
        vault.erase_biometric(&db, "s_1").await.unwrap();
        assert!(matches!(vault.biometric_key(&db, "s_1").await, Err(VaultError::NoKey)));
        assert!(!dir.path().join("blobs").join("s_1").exists());
    }
}
