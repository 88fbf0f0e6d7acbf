//! `face_references` (a person's face reference for face match: where its sealed template is,
//! which model made it, from what and when — never the template itself) and
//! `session_face_match` (what a session asked of face match at its creation).

use sqlx::Row;

use super::Db;

/// A face reference as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceReferenceRow {
    /// The person.
    pub subject_id: String,
    /// Where the sealed template is in the blob store.
    pub blob_key: String,
    /// The model that made the template.
    pub model: String,
    /// `image` or `session`.
    pub source: String,
    /// When it was made, Unix ms.
    pub created_at_ms: i64,
}

impl Db {
    /// Records a person's reference, replacing an older one (whose template the caller has
    /// overwritten at the same blob key).
    pub async fn put_face_reference(&self, r: &FaceReferenceRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO face_references (subject_id, blob_key, model, source, created_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (subject_id) DO UPDATE SET blob_key = excluded.blob_key, model = excluded.model, source = excluded.source, created_at_ms = excluded.created_at_ms",
        )
        .bind(&r.subject_id)
        .bind(&r.blob_key)
        .bind(&r.model)
        .bind(&r.source)
        .bind(r.created_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A person's reference, if they have one.
    pub async fn face_reference(&self, subject_id: &str) -> Result<Option<FaceReferenceRow>, sqlx::Error> {
        let row = sqlx::query("SELECT subject_id, blob_key, model, source, created_at_ms FROM face_references WHERE subject_id = $1")
            .bind(subject_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(FaceReferenceRow {
                subject_id: r.try_get("subject_id")?,
                blob_key: r.try_get("blob_key")?,
                model: r.try_get("model")?,
                source: r.try_get("source")?,
                created_at_ms: r.try_get("created_at_ms")?,
            })
        })
        .transpose()
    }

    /// Forgets a person's reference (its template is shredded by the vault). Returns whether
    /// there was one.
    pub async fn delete_face_reference(&self, subject_id: &str) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("DELETE FROM face_references WHERE subject_id = $1").bind(subject_id).execute(&self.pool).await?;
        Ok(r.rows_affected() > 0)
    }

    /// The people whose reference was made before `before_ms` (retention), oldest first.
    pub async fn face_references_made_before(&self, before_ms: u64, limit: i64) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query("SELECT subject_id FROM face_references WHERE created_at_ms < $1 ORDER BY created_at_ms LIMIT $2")
            .bind(before_ms as i64)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get("subject_id")).collect()
    }

    /// Records what a new session asks of face match.
    pub async fn set_session_face_match(&self, session_id: &str, compare: bool, enrol: bool) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO session_face_match (session_id, compare_faces, enrol_reference) VALUES ($1, $2, $3)")
            .bind(session_id)
            .bind(i64::from(compare))
            .bind(i64::from(enrol))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What a session asked of face match: (compare, enrol); `None` when nothing.
    pub async fn session_face_match(&self, session_id: &str) -> Result<Option<(bool, bool)>, sqlx::Error> {
        let row = sqlx::query("SELECT compare_faces, enrol_reference FROM session_face_match WHERE session_id = $1")
            .bind(session_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get::<i64, _>("compare_faces")? != 0, r.try_get::<i64, _>("enrol_reference")? != 0))).transpose()
    }
}
