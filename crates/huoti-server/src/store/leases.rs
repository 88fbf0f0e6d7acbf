//! The analysis-lease column of `sessions` (migration 0009): a node analysing a session — or
//! erasing its frames after the verdict — holds a lease it renews while it works; when the
//! lease runs out (the node died, the request was dropped, the erasure failed), the janitor of
//! any node takes the session over. Claiming (`claim_complete`) and the state changes live in
//! [`sessions`](super::sessions).

use sqlx::Row;

use super::Db;
use super::sessions::SessionState;

impl Db {
    /// Extends the lease of a session still being worked on (`analysing`, or `completed` with
    /// its erasure pending); false when the lease was lost (the janitor took the session over).
    pub async fn renew_analysis_lease(&self, id: &str, lease_until_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query(
            "UPDATE sessions SET analysis_lease_until_ms = $2 WHERE id = $1 AND analysis_lease_until_ms IS NOT NULL AND state IN ($3, $4)",
        )
        .bind(id)
        .bind(lease_until_ms as i64)
        .bind(SessionState::Analysing.as_str())
        .bind(SessionState::Completed.as_str())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Ends the lease of a session whose work is done (the frames of a completed session are
    /// erased).
    pub async fn release_analysis_lease(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET analysis_lease_until_ms = NULL WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Sessions whose worker is gone at `now_ms`: a lease that expired on an `analysing`
    /// session, or on a `completed` or `failed` one whose frames are still to be erased; and
    /// `analysing` without any lease (stranded before leases existed). With their state.
    pub async fn stale_leases(&self, now_ms: u64) -> Result<Vec<(String, SessionState)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, state FROM sessions WHERE (state IN ($1, $2, $3) AND analysis_lease_until_ms < $4) \
             OR (state = $1 AND analysis_lease_until_ms IS NULL) ORDER BY id",
        )
        .bind(SessionState::Analysing.as_str())
        .bind(SessionState::Completed.as_str())
        .bind(SessionState::Failed.as_str())
        .bind(now_ms as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                Ok((r.try_get("id")?, SessionState::parse(&state).ok_or_else(|| sqlx::Error::Decode(format!("unknown session state {state:?}").into()))?))
            })
            .collect()
    }

    /// Fails an `analysing` session whose lease expired at `now_ms` (compare-and-set: a
    /// worker that renewed it meanwhile keeps it). True when this call failed it. The (expired)
    /// lease stays until the frames are erased, so that a failed erasure is tried again.
    pub async fn fail_stale_analysis(&self, id: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query(
            "UPDATE sessions SET state = $3, analysis_lease_until_ms = COALESCE(analysis_lease_until_ms, $4) WHERE id = $1 \
             AND state = $2 AND (analysis_lease_until_ms IS NULL OR analysis_lease_until_ms < $4)",
        )
        .bind(id)
        .bind(SessionState::Analysing.as_str())
        .bind(SessionState::Failed.as_str())
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
