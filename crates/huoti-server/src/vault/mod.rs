//! The vault: every byte of personal data the server keeps outside a table row is sealed here
//! first (envelope encryption, `huoti-privacy`; policy S2, C4) and kept in a [`BlobStore`].
//! (Leaf module: it names no feature.)
//!
//! Data keys belong to an *owner*: a liveness session (its frames, its device info) or a
//! person (their identity data, their face images kept for training). Each owner has one data
//! key per [`Domain`], wrapped by the key-encryption key of the [`KekRing`]
//! (`<data_dir>/kek.json`, mode 0600, or from outside the data directory: [`kek`]) and stored
//! wrapped in the database. A session's
//! biometric key is made with the session; after the verdict its frames *and* the wrapped key
//! are deleted (L2: no images kept without separate consent).
//!
//! **Erasure shreds the key first** ([`FrameVault::erase_biometric`]): the frame rows and the
//! key go, and the deletion of the blobs is recorded, in one transaction — from then on every
//! copy of the blobs is unreadable (crypto-shredding), whatever happens to the blob store. The
//! blobs are then deleted at once; a deletion the store refuses (it is down, say) is retried
//! by the job ([`FrameVault::retry_deletions`], every janitor pass, on any node) until nothing
//! is left under the owner's prefix.
//!
//! * [`blobs`]: the blob store trait and the directory store.
//! * [`s3`]: the S3-compatible store (`[blobs] kind = "s3"`).
//! * [`kek`]: the key-encryption keys, reloaded when `huoti admin kek rotate` changes them.
//! * [`sealing`]: key domains, sealed records, and key rotation.

pub mod blobs;
pub mod kek;
pub mod s3;
mod references;
pub mod sealing;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use huoti_privacy::envelope::{self, SealedBlob};
use huoti_privacy::uses::Use;
use huoti_privacy::{BlobContext, DataKey, KeyDomain, SubjectId};
use rand_core::OsRng;

pub use blobs::{BlobStore, DirBlobStore};
pub use kek::{KekRing, KekSource};
pub use s3::S3BlobStore;
pub use sealing::{RotationReport, rotate_kek};

use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::metrics;
use crate::store::Db;
use crate::util::random_hex;

/// A failed blob deletion is tried again after this, doubling per failure up to
/// [`DELETION_RETRY_MAX_MS`].
const DELETION_RETRY_MS: u64 = 15_000;
/// The longest wait between two tries of a blob deletion.
const DELETION_RETRY_MAX_MS: u64 = 60 * 60 * 1000;
/// A claimed deletion is someone's for this long (a node that dies frees it after).
const DELETION_LEASE_MS: u64 = 5 * 60 * 1000;
/// Deletions claimed per batch.
const DELETION_BATCH: u32 = 50;

/// Opens the blob store the configuration names: the directory `blobs.dir` (default
/// `<data_dir>/blobs`), or the S3-compatible bucket of `[blobs]` with credentials from the
/// environment or `blobs.credentials_file`, checked to answer and to be in `data_region` (S1).
pub async fn open_store(config: &ServerConfig) -> Result<Arc<dyn BlobStore>, ServerError> {
    let b = &config.blobs;
    if b.is_s3() {
        let creds = s3::credentials(b, |k| std::env::var(k).ok())?;
        return Ok(Arc::new(S3BlobStore::open(b, &creds, &config.data_region).await?));
    }
    let dir = if b.dir.is_empty() { config.data_dir.join("blobs") } else { std::path::PathBuf::from(&b.dir) };
    Ok(Arc::new(DirBlobStore::new(&dir)?))
}

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
    store: Arc<dyn BlobStore>,
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
    /// The owner's earlier blobs are still being deleted: no new key until they are gone, so
    /// a late deletion can never take blobs sealed under the new key.
    #[error("an earlier erasure of the owner's blobs is still pending")]
    DeletionPending,
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

/// What one pass of [`FrameVault::retry_deletions`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeletionReport {
    /// Deletions completed.
    pub done: u64,
    /// Deletions that failed again (retried later).
    pub failed: u64,
}

/// Times a blob-store call and counts it in `/metrics` by operation and outcome.
async fn timed<T>(op: &'static str, f: impl std::future::Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
    let started = Instant::now();
    let r = f.await;
    metrics::global().blob_request(op, r.is_ok(), started.elapsed().as_secs_f64());
    r
}

impl FrameVault {
    /// Opens (or creates, mode 0600) the key-encryption key file, over the blob store.
    pub fn open(kek_file: &Path, store: Arc<dyn BlobStore>) -> Result<FrameVault, ServerError> {
        Self::open_with(&KekSource::File(kek_file.to_path_buf()), store)
    }

    /// Opens the key-encryption keys of `source` (see [`kek`]), over the blob store.
    pub fn open_with(source: &KekSource, store: Arc<dyn BlobStore>) -> Result<FrameVault, ServerError> {
        let kek = KekRing::open(source).map_err(|e| ServerError::Keys(e.into()))?;
        Ok(Self::with_keys(kek, store))
    }

    /// A vault over keys already opened (a KMS client: [`KekRing::from_provider`]).
    pub fn with_keys(kek: KekRing, store: Arc<dyn BlobStore>) -> FrameVault {
        FrameVault { kek, store }
    }

    /// The blob store (audits and tests list it; everything else goes through the vault).
    pub fn store(&self) -> &dyn BlobStore {
        &*self.store
    }

    /// Makes and stores (wrapped) a fresh biometric data key for `owner` — refused while an
    /// earlier erasure of the owner's blobs is pending and still fails.
    pub async fn create_biometric_key(&self, db: &Db, owner: &str, now_ms: u64) -> Result<(), VaultError> {
        self.finish_pending_deletion(db, owner, now_ms).await?;
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

    /// Seals and stores a session's frame; returns its blob key.
    pub async fn put_frame(&self, key: &DataKey, session: &str, seq: u32, jpeg: &[u8]) -> Result<String, VaultError> {
        let blob_key = Self::frame_key(session, seq);
        let sealed = envelope::seal(key, jpeg, &Self::context(session, &blob_key, Use::LivenessCheck), &mut OsRng).map_err(|_| VaultError::Crypto)?;
        timed("put", self.store.put(&blob_key, sealed.to_bytes())).await?;
        Ok(blob_key)
    }

    /// Seals and stores a blob of `owner` for `purpose` under `blob_key` (which must start
    /// with `<owner>/`, so that [`erase_biometric`](Self::erase_biometric) removes it).
    pub async fn put_at(&self, key: &DataKey, owner: &str, blob_key: &str, purpose: Use, bytes: &[u8]) -> Result<(), VaultError> {
        if !blob_key.starts_with(&format!("{owner}/")) {
            return Err(VaultError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "blob key outside its owner")));
        }
        let sealed = envelope::seal(key, bytes, &Self::context(owner, blob_key, purpose), &mut OsRng).map_err(|_| VaultError::Crypto)?;
        timed("put", self.store.put(blob_key, sealed.to_bytes())).await?;
        Ok(())
    }

    /// Reads and opens a session's frame, for the liveness check it was captured for.
    pub async fn get_frame(&self, key: &DataKey, session: &str, blob_key: &str) -> Result<Vec<u8>, VaultError> {
        self.get_for(key, session, blob_key, Use::LivenessCheck).await
    }

    /// Reads and opens a blob of `owner` for `purpose`; a blob sealed for another use does not
    /// open.
    pub async fn get_for(&self, key: &DataKey, owner: &str, blob_key: &str, purpose: Use) -> Result<Vec<u8>, VaultError> {
        let bytes = timed("get", self.store.get(blob_key)).await?;
        let sealed = SealedBlob::from_bytes(&bytes).map_err(|_| VaultError::Crypto)?;
        envelope::open(key, &sealed, &Self::context(owner, blob_key, purpose)).map_err(|_| VaultError::Crypto)
    }

    /// Deletes one blob (no error when it is gone); the key it was sealed under stays.
    pub async fn delete_blob(&self, blob_key: &str) -> Result<(), VaultError> {
        Ok(timed("delete", self.store.delete(blob_key)).await?)
    }

    /// Erases an owner's face data (L2; issue 19, defect 6): first, in one transaction, its
    /// frame rows and biometric data key go and the deletion of its blobs is recorded — the
    /// blobs are unreadable from that commit on (crypto-shredding); then the blobs are deleted.
    /// A failed deletion is not an error of the erasure: it stays recorded and
    /// [`retry_deletions`](Self::retry_deletions) tries again. Returns whether the blobs are
    /// gone already. Keys of other domains (device info, identity) follow their own retention.
    pub async fn erase_biometric(&self, db: &Db, owner: &str, now_ms: u64) -> Result<bool, VaultError> {
        blobs::safe(owner)?;
        db.shred_biometric(owner, now_ms).await?;
        Ok(self.delete_recorded(db, owner, true, 0, now_ms).await?)
    }

    /// One try of a recorded deletion: done → forgotten; failed → tried again later.
    async fn delete_recorded(&self, db: &Db, target: &str, whole_prefix: bool, attempts: i64, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = if whole_prefix { timed("delete", self.store.delete_prefix(target)).await.map(drop) } else { timed("delete", self.store.delete(target)).await };
        match r {
            Ok(()) => {
                db.blob_deletion_done(target).await?;
                Ok(true)
            }
            Err(e) => {
                let wait = DELETION_RETRY_MS.saturating_mul(1 << attempts.clamp(0, 20)).min(DELETION_RETRY_MAX_MS);
                tracing::warn!(error = %e, attempts = attempts + 1, retry_in_s = wait / 1000, "blob deletion failed (the key is already shredded); retried later");
                metrics::global().blob_deletion_failed();
                db.blob_deletion_failed(target, now_ms + wait, &e.to_string()).await?;
                Ok(false)
            }
        }
    }

    /// The job: tries every recorded blob deletion that is due (claimed, so that several nodes
    /// share the work). Safe to run anywhere, any time.
    pub async fn retry_deletions(&self, db: &Db, now_ms: u64) -> Result<DeletionReport, VaultError> {
        let claimer = format!("bd_{}", random_hex(8));
        let mut report = DeletionReport::default();
        loop {
            let due = db.claim_blob_deletions(&claimer, now_ms, now_ms + DELETION_LEASE_MS, DELETION_BATCH).await?;
            if due.is_empty() {
                return Ok(report);
            }
            for d in due {
                if self.delete_recorded(db, &d.target, d.whole_prefix, d.attempts, now_ms).await? {
                    report.done += 1;
                } else {
                    report.failed += 1;
                }
            }
        }
    }

    /// Before a new biometric key for `owner`: an erasure of its blobs still pending is
    /// finished now, or the key is refused ([`VaultError::DeletionPending`]).
    async fn finish_pending_deletion(&self, db: &Db, owner: &str, now_ms: u64) -> Result<(), VaultError> {
        if !db.blob_deletion_pending(owner).await? {
            return Ok(());
        }
        if self.delete_recorded(db, owner, true, 0, now_ms).await? { Ok(()) } else { Err(VaultError::DeletionPending) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn l2_frames_sealed_then_erased_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display())).await.unwrap();
        let vault = FrameVault::open(&dir.path().join("kek.json"), Arc::new(DirBlobStore::new(&dir.path().join("blobs")).unwrap())).unwrap();
        vault.create_biometric_key(&db, "s_1", 0).await.unwrap();
        let key = vault.biometric_key(&db, "s_1").await.unwrap();
        let blob = vault.put_frame(&key, "s_1", 0, b"\xff\xd8jpeg").await.unwrap();
        let raw = std::fs::read(dir.path().join("blobs").join(&blob)).unwrap();
        assert!(!raw.windows(4).any(|w| w == b"jpeg"), "stored sealed, not in clear");
        assert_eq!(vault.get_frame(&key, "s_1", &blob).await.unwrap(), b"\xff\xd8jpeg");
        assert!(vault.get_frame(&key, "s_2", &blob).await.is_err(), "bound to its subject");
        assert!(vault.erase_biometric(&db, "s_1", 1).await.unwrap(), "blobs gone at once");
        assert_eq!(db.blob_deletions_pending().await.unwrap(), 0);
        assert!(matches!(vault.biometric_key(&db, "s_1").await, Err(VaultError::NoKey)));
        assert!(!dir.path().join("blobs").join("s_1").exists());
    }
}
