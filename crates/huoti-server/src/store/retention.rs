//! The retention columns of `sessions` (when to look at a session again, and a claim so that
//! several nodes never process the same row), and `verdict_aggregates` (what remains of a
//! verdict after its legal minimum: no subject link, no device info).

use sqlx::Row;

use super::Db;

/// Sessions done with (no frame or `complete` will come), as the retention job claims them.
const DONE_STATES: &str = "('completed', 'expired', 'failed')";

/// A session as the retention job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionCandidate {
    /// The session.
    pub id: String,
    /// The integrator's key id (kept in the aggregate).
    pub integrator_id: String,
    /// The session's stored state name.
    pub state: String,
    /// Creation time, Unix ms.
    pub created_at_ms: i64,
    /// When the verdict was stored, Unix ms.
    pub completed_at_ms: Option<i64>,
    /// When the person deleted their data or closed the account, Unix ms.
    pub deleted_at_ms: Option<i64>,
    /// The verdict payload, JSON.
    pub verdict_json: Option<String>,
    /// Created with an explicit challenge (0/1).
    pub fixed_challenge: i64,
    /// Frames reserved or stored.
    pub frame_count: i64,
}

/// What remains of a verdict after its legal minimum.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictAggregate {
    /// `YYYY-MM-DD` of the verdict (or of the session, without one).
    pub day: String,
    /// The integrator's key id.
    pub integrator_id: String,
    /// The decision, or the session's state when there was none.
    pub outcome: String,
    /// Created with an explicit challenge (0/1).
    pub fixed_challenge: i64,
    /// Frames analysed.
    pub frames: i64,
    /// The score × 1000.
    pub score_milli: Option<i64>,
    /// The model versions, JSON.
    pub model_versions: String,
}

impl Db {
    /// The sessions claimed by `claimer`, or (`None`: a dry run) every due session at `now_ms`.
    pub async fn retention_candidates(&self, claimer: Option<&str>, now_ms: u64) -> Result<Vec<RetentionCandidate>, sqlx::Error> {
        let filter = match claimer {
            Some(_) => "retention_claim = $1".to_owned(),
            None => format!("retention_next_ms <= $1 AND state IN {DONE_STATES}"),
        };
        let sql = format!(
            "SELECT id, integrator_id, state, created_at_ms, completed_at_ms, subject_deleted_at_ms, \
             verdict_json, fixed_challenge, frame_count FROM sessions WHERE {filter} ORDER BY retention_next_ms"
        );
        let q = sqlx::query(&sql);
        let q = match claimer {
            Some(c) => q.bind(c.to_owned()),
            None => q.bind(now_ms as i64),
        };
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(RetentionCandidate {
                    id: r.try_get("id")?,
                    integrator_id: r.try_get("integrator_id")?,
                    state: r.try_get("state")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                    completed_at_ms: r.try_get("completed_at_ms")?,
                    deleted_at_ms: r.try_get("subject_deleted_at_ms")?,
                    verdict_json: r.try_get("verdict_json")?,
                    fixed_challenge: r.try_get("fixed_challenge")?,
                    frame_count: r.try_get("frame_count")?,
                })
            })
            .collect()
    }

    /// Claims up to `batch` due sessions for `claimer` until `lease_until_ms` (`FOR UPDATE SKIP
    /// LOCKED` on PostgreSQL; SQLite has one writer); returns the sessions it holds.
    pub async fn claim_retention(&self, claimer: &str, now_ms: u64, lease_until_ms: u64, batch: u32) -> Result<Vec<String>, sqlx::Error> {
        let lock = if self.postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE sessions SET retention_claim = $1, retention_claim_until_ms = $2 WHERE id IN (\
             SELECT id FROM sessions WHERE retention_next_ms <= $3 AND state IN {DONE_STATES} \
             AND (retention_claim_until_ms IS NULL OR retention_claim_until_ms < $3) \
             ORDER BY retention_next_ms LIMIT $4{lock})"
        );
        sqlx::query(&sql).bind(claimer).bind(lease_until_ms as i64).bind(now_ms as i64).bind(i64::from(batch)).execute(&self.pool).await?;
        sqlx::query_scalar("SELECT id FROM sessions WHERE retention_claim = $1").bind(claimer).fetch_all(&self.pool).await
    }

    /// Releases a session's claim and sets when to look at it again.
    pub async fn reschedule_retention(&self, id: &str, next_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET retention_next_ms = $2, retention_claim = NULL, retention_claim_until_ms = NULL WHERE id = $1")
            .bind(id)
            .bind(next_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// When the person behind a session deleted their data, Unix ms.
    pub async fn subject_deleted_at(&self, session: &str) -> Result<Option<i64>, sqlx::Error> {
        let v: Option<Option<i64>> =
            sqlx::query_scalar("SELECT subject_deleted_at_ms FROM sessions WHERE id = $1").bind(session).fetch_optional(&self.pool).await?;
        Ok(v.flatten())
    }

    /// The person deleted their data (R3) or closed the account (R5): recorded on the session,
    /// which the retention job looks at now.
    pub async fn mark_subject_deleted(&self, session: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET subject_deleted_at_ms = $2, retention_next_ms = $2 WHERE id = $1")
            .bind(session)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes every session of a person due for retention at `now_ms` (a withdrawn
    /// `retain_for_training` consent: what was kept for it must not wait for the next date).
    pub async fn retention_due_now(&self, subject_id: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET retention_next_ms = $2 WHERE subject_id = $1 AND retention_next_ms > $2")
            .bind(subject_id)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes a session row (R7: unlawfully collected, no legal minimum).
    pub async fn delete_session(&self, session: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE id = $1").bind(session).execute(&self.pool).await?;
        Ok(())
    }

    /// In one transaction: stores the aggregate and deletes the session's remaining keys and
    /// its row (S1, S5).
    pub async fn anonymise_session(&self, session: &str, a: &VerdictAggregate, now_ms: u64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO verdict_aggregates (day, integrator_id, outcome, fixed_challenge, frames, score_milli, model_versions, anonymised_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&a.day)
        .bind(&a.integrator_id)
        .bind(&a.outcome)
        .bind(a.fixed_challenge)
        .bind(a.frames)
        .bind(a.score_milli)
        .bind(&a.model_versions)
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1").bind(session).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE id = $1").bind(session).execute(&mut *tx).await?;
        tx.commit().await
    }

    /// Every session id, in order (the wind-down tells each person).
    pub async fn all_session_ids(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM sessions ORDER BY id").fetch_all(&self.pool).await
    }

    /// Makes every session that still has frames due for retention at `now_ms`; returns how
    /// many (the wind-down: nothing is kept for training once collection stops).
    pub async fn release_kept_frames(&self, now_ms: u64) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("UPDATE sessions SET retention_next_ms = $1 WHERE id IN (SELECT DISTINCT session_id FROM frames)")
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// The latest verdict (or, without one, creation) time of any session, Unix ms.
    pub async fn latest_session_activity(&self) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT MAX(COALESCE(completed_at_ms, created_at_ms)) FROM sessions").fetch_one(&self.pool).await
    }
}
