//! `blob_deletions`: blobs still to delete after their key was shredded (issue 19, defect 6).
//!
//! [`Db::shred_biometric`] deletes an owner's frame rows and biometric key and records the
//! deletion of its blobs in one transaction: from the commit on, the blobs are unreadable
//! (crypto-shredding) and their deletion cannot be forgotten. The vault deletes them at once;
//! a deletion that fails is claimed again later by the job ([`Db::claim_blob_deletions`],
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, with a lease), on any node.

use sqlx::Row;

use super::Db;

/// A deletion still to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobDeletion {
    /// A blob key, or an owner whose every blob (`<owner>/…`) goes.
    pub target: String,
    /// `target` is an owner prefix rather than one blob.
    pub whole_prefix: bool,
    /// Failed attempts so far.
    pub attempts: i64,
}

impl Db {
    /// In one transaction: deletes the frame rows and the biometric data key of `owner`
    /// (crypto-shredding) and records that its blobs must go.
    pub async fn shred_biometric(&self, owner: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM frames WHERE session_id = $1").bind(owner).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1 AND domain = $2").bind(owner).bind("biometric").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO blob_deletions (target, whole_prefix, requested_at_ms, next_attempt_ms, attempts) VALUES ($1, 1, $2, $2, 0) \
             ON CONFLICT (target) DO NOTHING",
        )
        .bind(owner)
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Whether a deletion of `target` is still to do.
    pub async fn blob_deletion_pending(&self, target: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blob_deletions WHERE target = $1").bind(target).fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    /// Claims up to `batch` deletions due at `now_ms` for `claimer` until `lease_until_ms`;
    /// returns them.
    pub async fn claim_blob_deletions(&self, claimer: &str, now_ms: u64, lease_until_ms: u64, batch: u32) -> Result<Vec<BlobDeletion>, sqlx::Error> {
        let lock = if self.postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE blob_deletions SET claimed_by = $1, claim_until_ms = $2 WHERE target IN (\
             SELECT target FROM blob_deletions WHERE next_attempt_ms <= $3 \
             AND (claim_until_ms IS NULL OR claim_until_ms < $3) ORDER BY next_attempt_ms LIMIT $4{lock})"
        );
        sqlx::query(&sql).bind(claimer).bind(lease_until_ms as i64).bind(now_ms as i64).bind(i64::from(batch)).execute(&self.pool).await?;
        let rows = sqlx::query("SELECT target, whole_prefix, attempts FROM blob_deletions WHERE claimed_by = $1 ORDER BY target")
            .bind(claimer)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(BlobDeletion { target: r.try_get("target")?, whole_prefix: r.try_get::<i64, _>("whole_prefix")? != 0, attempts: r.try_get("attempts")? }))
            .collect()
    }

    /// The deletion of `target` is done.
    pub async fn blob_deletion_done(&self, target: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM blob_deletions WHERE target = $1").bind(target).execute(&self.pool).await?;
        Ok(())
    }

    /// The deletion of `target` failed: tried again at `next_attempt_ms` (the claim is
    /// released). `error` says why, without personal data.
    pub async fn blob_deletion_failed(&self, target: &str, next_attempt_ms: u64, error: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE blob_deletions SET attempts = attempts + 1, next_attempt_ms = $2, last_error = $3, claimed_by = NULL, \
             claim_until_ms = NULL WHERE target = $1",
        )
        .bind(target)
        .bind(next_attempt_ms as i64)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many deletions are still to do (for `/metrics` and the operator).
    pub async fn blob_deletions_pending(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM blob_deletions").fetch_one(&self.pool).await
    }
}
