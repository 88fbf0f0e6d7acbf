//! `training_images` (face images kept for model training with the person's consent, sealed in
//! the blob store) and `training_samples` (an ML engineer's request for a random sample of
//! them, its approval by another person, and what was picked).

use sqlx::Row;

use super::Db;

/// A training sample as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRow {
    /// The key id of the ML engineer who asked.
    pub requester: String,
    /// How many images were asked for.
    pub size: i64,
    /// Why, as stated when asking.
    pub purpose: String,
    /// When it was asked for, Unix ms.
    pub requested_at_ms: i64,
    /// The key id of the privacy officer who approved it, once approved.
    pub approver: Option<String>,
    /// Until when the export is open, Unix ms, once approved.
    pub expires_at_ms: Option<i64>,
    /// The ids of the images picked at approval, comma-separated.
    pub picked: Option<String>,
}

/// A kept training image, for the retention job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingImageRow {
    /// `ti_…`.
    pub id: String,
    /// The person whose face it shows (its data key is theirs).
    pub subject_id: String,
    /// Where its sealed bytes are in the blob store.
    pub blob_key: String,
    /// When it was kept, Unix ms.
    pub kept_at_ms: i64,
}

impl Db {
    /// Records a kept training image.
    pub async fn insert_training_image(&self, id: &str, subject_id: &str, session_id: &str, blob_key: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO training_images (id, subject_id, session_id, blob_key, kept_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(subject_id)
            .bind(session_id)
            .bind(blob_key)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A subject's training images: (id, blob key).
    pub async fn training_images(&self, subject_id: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, blob_key FROM training_images WHERE subject_id = $1 ORDER BY id")
            .bind(subject_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("blob_key")?))).collect()
    }

    /// Every training image: (id, subject id, blob key), by id.
    pub async fn all_training_images(&self) -> Result<Vec<(String, String, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, subject_id, blob_key FROM training_images ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("subject_id")?, r.try_get("blob_key")?))).collect()
    }

    /// Forgets a subject's training images (their blobs and key are shredded by the vault).
    pub async fn delete_training_images(&self, subject_id: &str) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("DELETE FROM training_images WHERE subject_id = $1").bind(subject_id).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }

    /// Every kept training image, oldest first.
    pub async fn training_images_by_age(&self) -> Result<Vec<TrainingImageRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, subject_id, blob_key, kept_at_ms FROM training_images ORDER BY kept_at_ms").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok(TrainingImageRow { id: r.try_get("id")?, subject_id: r.try_get("subject_id")?, blob_key: r.try_get("blob_key")?, kept_at_ms: r.try_get("kept_at_ms")? }))
            .collect()
    }

    /// Forgets one training image (its blob is deleted by the caller).
    pub async fn delete_training_image(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM training_images WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Records a request for a sample.
    pub async fn insert_sample(&self, id: &str, requester: &str, size: u64, purpose: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO training_samples (id, requester, size, purpose, requested_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(requester)
            .bind(size as i64)
            .bind(purpose)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A sample by id.
    pub async fn sample(&self, id: &str) -> Result<Option<SampleRow>, sqlx::Error> {
        let Some(r) = sqlx::query("SELECT * FROM training_samples WHERE id = $1").bind(id).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        Ok(Some(SampleRow {
            requester: r.try_get("requester")?,
            size: r.try_get("size")?,
            purpose: r.try_get("purpose")?,
            requested_at_ms: r.try_get("requested_at_ms")?,
            approver: r.try_get("approver")?,
            expires_at_ms: r.try_get("expires_at_ms")?,
            picked: r.try_get("picked")?,
        }))
    }

    /// Records an approval and what it picked, unless the sample was approved already.
    pub async fn approve_sample(&self, id: &str, approver: &str, now_ms: u64, expires_ms: i64, picked: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE training_samples SET approver = $2, approved_at_ms = $3, expires_at_ms = $4, picked = $5 WHERE id = $1 AND approver IS NULL")
            .bind(id)
            .bind(approver)
            .bind(now_ms as i64)
            .bind(expires_ms)
            .bind(picked)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
