//! Sealed records beyond frames, and key rotation (S2, C4, L3).
//!
//! Each owner (a session or a person) has one data key per domain, wrapped by the
//! key-encryption key and stored in `subject_keys`: `biometric` (frames; a person's kept
//! training images), `device` (a session's device info, P2) and `identity` (a person's name, ID
//! number, phone — L3: identity data under a separate key domain, in separate tables).
//! Deleting one domain's key row shreds that domain's data and nothing else.
//!
//! Key rotation ([`rotate_kek`]) adds a fresh KEK and re-wraps every data key under it; no
//! blob or record is rewritten. The old KEK can then be retired: nothing needs it any more.
//! Running servers follow the key file ([`KekRing`](super::KekRing)), so rotation needs no
//! downtime.

use std::path::Path;

use huoti_privacy::envelope::{self, SealedBlob};
use huoti_privacy::uses::Use;
use huoti_privacy::{BlobContext, DataKey, KeyProvider, LocalKeyFile, SubjectId, WrappedKey};
use rand_core::OsRng;
use serde::Serialize;

use super::kek::env_key_set;
use super::{Domain, FrameVault, KekSource, VaultError};
use crate::error::ServerError;
use crate::store::Db;

impl FrameVault {
    /// The owner's data key of `domain`, made (and stored wrapped) when missing — a biometric
    /// key is refused while an earlier erasure of the owner's blobs is pending and still fails.
    pub async fn key_or_create(&self, db: &Db, owner: &str, domain: Domain, now_ms: u64) -> Result<DataKey, VaultError> {
        if let Ok(k) = self.domain_key(db, owner, domain).await {
            return Ok(k);
        }
        if domain == Domain::Biometric {
            // A new face key must not meet blobs of the last one that an erasure left behind.
            self.finish_pending_deletion(db, owner, now_ms).await?;
        }
        let key = DataKey::generate(domain.key_domain(), &mut OsRng);
        let wrapped = self.kek.with(|kek| envelope::wrap(kek, &key, &domain.wrap_owner(owner), &mut OsRng)).map_err(|_| VaultError::Crypto)?;
        let r = db.put_wrapped_key(owner, domain.name(), &wrapped.kek_id, &hex::encode(&wrapped.bytes), now_ms).await;
        match r {
            Ok(()) => Ok(key),
            // Another request made it first: use theirs.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => self.domain_key(db, owner, domain).await,
            Err(e) => Err(e.into()),
        }
    }

    /// The owner's data key of `domain`, unwrapped.
    pub async fn domain_key(&self, db: &Db, owner: &str, domain: Domain) -> Result<DataKey, VaultError> {
        let (kek_id, wrapped_hex) = db.wrapped_key(owner, domain.name()).await?.ok_or(VaultError::NoKey)?;
        let bytes = hex::decode(wrapped_hex).map_err(|_| VaultError::Crypto)?;
        self.kek
            .with(|kek| envelope::unwrap(kek, &WrappedKey { kek_id, bytes }, domain.key_domain(), &domain.wrap_owner(owner)))
            .map_err(|_| VaultError::Crypto)
    }

    /// Deletes the owner's data key of `domain`: crypto-shreds what was sealed under it.
    pub async fn shred(&self, db: &Db, owner: &str, domain: Domain) -> Result<(), sqlx::Error> {
        db.delete_wrapped_key(owner, domain.name()).await
    }

    /// Seals a small record (JSON) for storage in a database column (hex), for one listed use
    /// (U1): the use is bound into the associated data, so the record opens for no other.
    pub fn seal_record(key: &DataKey, owner: &str, purpose: Use, plain: &[u8]) -> Result<String, VaultError> {
        let ctx = BlobContext::new(format!("{purpose}/{owner}"), SubjectId::new(owner), purpose.label());
        let sealed = envelope::seal(key, plain, &ctx, &mut OsRng).map_err(|_| VaultError::Crypto)?;
        Ok(hex::encode(sealed.to_bytes()))
    }

    /// Opens a record sealed by [`seal_record`](Self::seal_record).
    pub fn open_record(key: &DataKey, owner: &str, purpose: Use, sealed_hex: &str) -> Result<Vec<u8>, VaultError> {
        let ctx = BlobContext::new(format!("{purpose}/{owner}"), SubjectId::new(owner), purpose.label());
        let bytes = hex::decode(sealed_hex).map_err(|_| VaultError::Crypto)?;
        let sealed = SealedBlob::from_bytes(&bytes).map_err(|_| VaultError::Crypto)?;
        envelope::open(key, &sealed, &ctx).map_err(|_| VaultError::Crypto)
    }
}

/// What a key rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// The new current KEK.
    pub new_kek: String,
    /// Data keys re-wrapped under it.
    pub rewrapped: u64,
    /// KEKs removed from the key file (with `retire_old`).
    pub retired: Vec<String>,
}

/// How long a retirement waits for running servers to reload the key file (they check it
/// before every use of a key) before it sweeps once more for stragglers.
const RELOAD_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Re-wraps every data key not under `current` with `keys` (which must hold the KEK each was
/// wrapped with); returns how many.
async fn rewrap_all(keys: &dyn KeyProvider, db: &Db, current: &str) -> Result<u64, ServerError> {
    let err = |e: huoti_privacy::KeyError| ServerError::Keys(e.into());
    let mut rewrapped = 0;
    for row in db.keys_not_under(current).await? {
        let domain = Domain::from_name(&row.domain).ok_or_else(|| ServerError::Keys(format!("unknown key domain {:?}", row.domain).into()))?;
        let bytes = hex::decode(&row.wrapped_hex).map_err(|_| ServerError::Keys("a wrapped key is not hex".into()))?;
        let wrapped = WrappedKey { kek_id: row.kek_id.clone(), bytes };
        let new = envelope::rewrap(keys, &wrapped, domain.key_domain(), &domain.wrap_owner(&row.owner), &mut OsRng).map_err(err)?;
        db.rewrap_key(&row, &new.kek_id, &hex::encode(&new.bytes)).await?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}

/// Rotates the key-encryption key in `kek_file`: a new KEK becomes current, every wrapped
/// data key in the database is re-wrapped under it (blobs and records are not touched), and
/// with `retire_old` the previous KEKs are removed from the file.
///
/// Servers may keep running: each checks the key file before using a key and reloads it when
/// it changed ([`KekRing`](super::KekRing)), so new data keys are wrapped under the new KEK from
/// their next request. A server that read the file a moment before it changed may still wrap
/// one key under the old KEK; a retirement therefore waits a moment after removing the old
/// KEKs from the file and re-wraps any such straggler with the keys it read before.
pub async fn rotate_kek(kek_file: &Path, db: &Db, retire_old: bool) -> Result<RotationReport, ServerError> {
    let keys = |e: huoti_privacy::KeyError| ServerError::Keys(e.into());
    let mut kek = LocalKeyFile::open(kek_file).map_err(keys)?;
    let old: Vec<String> = huoti_privacy::KeyProvider::kek_ids(&kek);
    let new_kek = kek.rotate(&mut OsRng).map_err(keys)?;
    let mut rewrapped = rewrap_all(&kek, db, &new_kek).await?;
    let mut retired = Vec::new();
    if retire_old {
        // Every KEK, old and new, for the straggler sweep after the old ones leave the file.
        let all = LocalKeyFile::open(kek_file).map_err(keys)?;
        for id in old {
            kek.retire(&id).map_err(keys)?;
            retired.push(id);
        }
        tokio::time::sleep(RELOAD_GRACE).await;
        rewrapped += rewrap_all(&all, db, &new_kek).await?;
    }
    Ok(RotationReport { new_kek, rewrapped, retired })
}

/// `huoti admin kek rotate` for any source: a key file is rotated ([`rotate_kek`]); a key set
/// from outside ([`KekSource::Env`]) is read-only here — its KEKs change at their source (a
/// new current KEK added to `HUOTI_KEK`) — so every data key not yet under its current KEK is
/// re-wrapped under it, and old KEKs are dropped from the source afterwards (`retire_old` is
/// refused: nothing here can edit it).
pub async fn rotate_source(source: &KekSource, db: &Db, retire_old: bool) -> Result<RotationReport, ServerError> {
    match source {
        KekSource::File(path) => rotate_kek(path, db, retire_old).await,
        KekSource::Env => {
            if retire_old {
                return Err(ServerError::Keys(
                    "the KEKs come from $HUOTI_KEK: remove the old ones there once this run has re-wrapped every data key".into(),
                ));
            }
            let keys = env_key_set().map_err(|e| ServerError::Keys(e.into()))?;
            let current = keys.current_kek_id();
            let rewrapped = rewrap_all(&keys, db, &current).await?;
            Ok(RotationReport { new_kek: current, rewrapped, retired: Vec::new() })
        }
    }
}
