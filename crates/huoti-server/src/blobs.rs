//! Frame storage: a small [`BlobStore`] trait (a local directory by default; an object store
//! later) and [`FrameVault`], which seals every frame with the subject's data key before it
//! reaches the store (envelope encryption, `huoti-privacy`; policy S2, C4).
//!
//! The subject of a liveness session is pseudonymous: its id is the session id. Its data key
//! is made at session creation, wrapped by the key-encryption key of a [`LocalKeyFile`] in the
//! data directory, and stored (wrapped) in the database. After the verdict the frames *and*
//! the wrapped key are deleted (L2: no images kept without separate consent); deleting the
//! key alone already makes any copy of the blobs unreadable (crypto-shredding).

use std::path::{Path, PathBuf};

use huoti_privacy::envelope::{self, SealedBlob};
use huoti_privacy::uses::Use;
use huoti_privacy::{BlobContext, DataKey, KeyDomain, SubjectId, WrappedKey};
use rand_core::OsRng;

use crate::ServerError;
use crate::kek::KekRing;
use crate::store::Db;

/// Where sealed blobs live. Keys are `<session>/<name>`, made of `[A-Za-z0-9_.-]` only.
pub trait BlobStore: Send + Sync + 'static {
    /// Writes a blob (replacing any).
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// Reads a blob.
    fn get(&self, key: &str) -> std::io::Result<Vec<u8>>;
    /// Deletes every blob under `prefix/` (no error when none).
    fn delete_prefix(&self, prefix: &str) -> std::io::Result<()>;
    /// Deletes one blob (no error when it is gone).
    fn delete(&self, key: &str) -> std::io::Result<()>;
}

/// Blobs as files under a directory.
#[derive(Debug, Clone)]
pub struct DirBlobStore {
    root: PathBuf,
}

fn safe(key: &str) -> std::io::Result<&str> {
    let ok = !key.is_empty()
        && !key.starts_with('.')
        && key.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b));
    if ok { Ok(key) } else { Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad blob key")) }
}

impl DirBlobStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: &Path) -> Result<DirBlobStore, ServerError> {
        std::fs::create_dir_all(root).map_err(ServerError::io(format!("creating {}", root.display())))?;
        Ok(DirBlobStore { root: root.to_path_buf() })
    }
}

impl BlobStore for DirBlobStore {
    fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.root.join(safe(key)?);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, path)
    }

    fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.root.join(safe(key)?))
    }

    fn delete(&self, key: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.root.join(safe(key)?)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    fn delete_prefix(&self, prefix: &str) -> std::io::Result<()> {
        match std::fs::remove_dir_all(self.root.join(safe(prefix)?)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
}

/// Seals frames under per-subject keys and keeps them in a [`BlobStore`].
pub struct FrameVault {
    pub(crate) kek: KekRing,
    pub(crate) store: Box<dyn BlobStore>,
}

impl std::fmt::Debug for FrameVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameVault").field("kek", &self.kek).finish_non_exhaustive()
    }
}

const DOMAIN: &str = "biometric";

/// Vault failures (opaque on purpose: no decryption oracle, no key material).
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Blob store I/O.
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
    /// Database.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The subject has no data key (shredded or never made).
    #[error("no data key for the subject")]
    NoKey,
    /// Wrapping, unwrapping, sealing or opening failed.
    #[error("cryptography failed")]
    Crypto,
}

impl FrameVault {
    /// Opens (or creates, mode 0600) the key-encryption key file and the blob store.
    pub fn open(kek_file: &Path, store: Box<dyn BlobStore>) -> Result<FrameVault, ServerError> {
        let kek = KekRing::open_or_create(kek_file).map_err(|e| ServerError::Keys(e.to_string()))?;
        Ok(FrameVault { kek, store })
    }

    /// Makes and stores (wrapped) a fresh biometric data key for `subject`.
    pub async fn create_subject_key(&self, db: &Db, subject: &str, now_ms: u64) -> Result<(), VaultError> {
        let key = DataKey::generate(KeyDomain::Biometric, &mut OsRng);
        let wrapped = self.kek.with(|kek| envelope::wrap(kek, &key, &SubjectId::new(subject), &mut OsRng)).map_err(|_| VaultError::Crypto)?;
        db.put_subject_key(subject, DOMAIN, &wrapped.kek_id, &hex::encode(&wrapped.bytes), now_ms).await?;
        Ok(())
    }

    /// The subject's data key, unwrapped.
    pub async fn subject_key(&self, db: &Db, subject: &str) -> Result<DataKey, VaultError> {
        let (kek_id, wrapped_hex) = db.subject_key(subject, DOMAIN).await?.ok_or(VaultError::NoKey)?;
        let bytes = hex::decode(wrapped_hex).map_err(|_| VaultError::Crypto)?;
        self.kek
            .with(|kek| envelope::unwrap(kek, &WrappedKey { kek_id, bytes }, KeyDomain::Biometric, &SubjectId::new(subject)))
            .map_err(|_| VaultError::Crypto)
    }

    /// The associated data of a blob: its key, its subject and its use (U1) — a blob sealed
    /// for one use opens for no other.
    fn context(subject: &str, blob_key: &str, purpose: Use) -> BlobContext {
        BlobContext::new(blob_key, SubjectId::new(subject), purpose.label())
    }

    /// The blob key of a frame.
    pub fn frame_key(subject: &str, seq: u32) -> String {
        format!("{subject}/{seq:06}.sealed")
    }

    /// Seals and stores a frame (blocking I/O: call from a blocking thread).
    pub fn put_frame(&self, key: &DataKey, subject: &str, seq: u32, jpeg: &[u8]) -> Result<String, VaultError> {
        let blob_key = Self::frame_key(subject, seq);
        let sealed = envelope::seal(key, jpeg, &Self::context(subject, &blob_key, Use::LivenessCheck), &mut OsRng).map_err(|_| VaultError::Crypto)?;
        self.store.put(&blob_key, &sealed.to_bytes())?;
        Ok(blob_key)
    }

    /// Seals and stores a blob of `subject` for `purpose` under `blob_key` (which must start
    /// with `<subject>/`, so that [`erase_subject`](Self::erase_subject) removes it); blocking
    /// I/O.
    pub fn put_at(&self, key: &DataKey, subject: &str, blob_key: &str, purpose: Use, bytes: &[u8]) -> Result<(), VaultError> {
        if !blob_key.starts_with(&format!("{subject}/")) {
            return Err(VaultError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "blob key outside the subject")));
        }
        let sealed = envelope::seal(key, bytes, &Self::context(subject, blob_key, purpose), &mut OsRng).map_err(|_| VaultError::Crypto)?;
        self.store.put(blob_key, &sealed.to_bytes())?;
        Ok(())
    }

    /// Reads and opens a frame, for the liveness check it was captured for (blocking I/O).
    pub fn get_frame(&self, key: &DataKey, subject: &str, blob_key: &str) -> Result<Vec<u8>, VaultError> {
        self.get_for(key, subject, blob_key, Use::LivenessCheck)
    }

    /// Reads and opens a blob for `purpose`; a blob sealed for another use does not open
    /// (blocking I/O).
    pub fn get_for(&self, key: &DataKey, subject: &str, blob_key: &str, purpose: Use) -> Result<Vec<u8>, VaultError> {
        let bytes = self.store.get(blob_key)?;
        let sealed = SealedBlob::from_bytes(&bytes).map_err(|_| VaultError::Crypto)?;
        envelope::open(key, &sealed, &Self::context(subject, blob_key, purpose)).map_err(|_| VaultError::Crypto)
    }

    /// Deletes every frame of a subject, then its biometric data key (L2; crypto-shredding).
    /// Keys of other domains (device info, identity) follow their own retention.
    pub async fn erase_subject(&self, db: &Db, subject: &str) -> Result<(), VaultError> {
        db.delete_frames(subject).await?;
        self.store.delete_prefix(subject)?;
        db.delete_subject_key(subject, DOMAIN).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_store_refuses_path_tricks() {
        let dir = tempfile::tempdir().unwrap();
        let s = DirBlobStore::new(dir.path()).unwrap();
        s.put("a/1.sealed", b"x").unwrap();
        assert_eq!(s.get("a/1.sealed").unwrap(), b"x");
        assert!(s.put("../x", b"x").is_err());
        assert!(s.put("/etc/x", b"x").is_err());
        s.delete_prefix("a").unwrap();
        assert!(s.get("a/1.sealed").is_err());
        s.delete_prefix("a").unwrap();
    }

    #[tokio::test]
    async fn l2_frames_sealed_then_erased_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display())).await.unwrap();
        let vault = FrameVault::open(&dir.path().join("kek.json"), Box::new(DirBlobStore::new(&dir.path().join("blobs")).unwrap())).unwrap();
        vault.create_subject_key(&db, "s_1", 0).await.unwrap();
        let key = vault.subject_key(&db, "s_1").await.unwrap();
        let blob = vault.put_frame(&key, "s_1", 0, b"\xff\xd8jpeg").unwrap();
        let raw = std::fs::read(dir.path().join("blobs").join(&blob)).unwrap();
        assert!(!raw.windows(4).any(|w| w == b"jpeg"), "stored sealed, not in clear");
        assert_eq!(vault.get_frame(&key, "s_1", &blob).unwrap(), b"\xff\xd8jpeg");
        assert!(vault.get_frame(&key, "s_2", &blob).is_err(), "bound to its subject");
        vault.erase_subject(&db, "s_1").await.unwrap();
        assert!(matches!(vault.subject_key(&db, "s_1").await, Err(VaultError::NoKey)));
        assert!(!dir.path().join("blobs").join("s_1").exists());
    }
}
