//! `subject_keys`: wrapped data keys, one per owner and key domain. An owner is a session (its
//! frames, its device info) or a person (identity data, kept training images); the table's
//! historic column name `subject_id` holds either. Deleting a row crypto-shreds what was
//! sealed under that key.

use sqlx::Row;

use super::Db;

/// A wrapped data key as stored, for key rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKeyRow {
    /// The session or person the key belongs to.
    pub owner: String,
    /// Its key domain (`biometric`, `device`, `identity`).
    pub domain: String,
    /// The key-encryption key it is wrapped under.
    pub kek_id: String,
    /// The wrapped key, hex.
    pub wrapped_hex: String,
}

impl Db {
    /// Stores an owner's wrapped data key of one domain (a unique violation when it exists).
    pub async fn put_wrapped_key(&self, owner: &str, domain: &str, kek_id: &str, wrapped_hex: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO subject_keys (subject_id, domain, kek_id, wrapped_hex, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(owner)
            .bind(domain)
            .bind(kek_id)
            .bind(wrapped_hex)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// An owner's wrapped data key of one domain: (KEK id, hex).
    pub async fn wrapped_key(&self, owner: &str, domain: &str) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT kek_id, wrapped_hex FROM subject_keys WHERE subject_id = $1 AND domain = $2")
            .bind(owner)
            .bind(domain)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("kek_id")?, r.try_get("wrapped_hex")?))).transpose()
    }

    /// Deletes an owner's data key of one domain: crypto-shredding of that domain's data.
    pub async fn delete_wrapped_key(&self, owner: &str, domain: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1 AND domain = $2").bind(owner).bind(domain).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes every data key of an owner: crypto-shredding.
    pub async fn delete_wrapped_keys(&self, owner: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1").bind(owner).execute(&self.pool).await?;
        Ok(())
    }

    /// Every wrapped key not under `kek_id`.
    pub async fn keys_not_under(&self, kek_id: &str) -> Result<Vec<WrappedKeyRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT subject_id, domain, kek_id, wrapped_hex FROM subject_keys WHERE kek_id <> $1").bind(kek_id).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok(WrappedKeyRow { owner: r.try_get("subject_id")?, domain: r.try_get("domain")?, kek_id: r.try_get("kek_id")?, wrapped_hex: r.try_get("wrapped_hex")? }))
            .collect()
    }

    /// Replaces a wrapped key by its re-wrap under `new_kek_id`, only if the row is still the
    /// one read (a shredded key stays shredded).
    pub async fn rewrap_key(&self, old: &WrappedKeyRow, new_kek_id: &str, new_hex: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE subject_keys SET kek_id = $4, wrapped_hex = $5 WHERE subject_id = $1 AND domain = $2 AND kek_id = $3")
            .bind(&old.owner)
            .bind(&old.domain)
            .bind(&old.kek_id)
            .bind(new_kek_id)
            .bind(new_hex)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
