//! `sessions` (a liveness session's life cycle and its link to a person), `frames` (metadata of
//! the sealed frames in the blob store) and `failures` (the abuse lock's memory).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, inserted};

/// Where a session is in its life, as stored in `sessions.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Accepting frames.
    Open,
    /// `complete` was called; analysis running.
    Analysing,
    /// Verdict stored.
    Completed,
    /// Expired before completion; its frames were deleted.
    Expired,
    /// Analysis failed; its frames were deleted.
    Failed,
}

impl SessionState {
    /// Every state.
    pub const ALL: [SessionState; 5] =
        [SessionState::Open, SessionState::Analysing, SessionState::Completed, SessionState::Expired, SessionState::Failed];

    /// The stored (and `/v1/me`) name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Open => "open",
            SessionState::Analysing => "analysing",
            SessionState::Completed => "completed",
            SessionState::Expired => "expired",
            SessionState::Failed => "failed",
        }
    }

    /// The state of a stored name.
    pub fn parse(name: &str) -> Option<SessionState> {
        SessionState::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// `s_<32 hex>`, handed to the integrator and the capture client.
    pub id: String,
    /// The key id of the integrator that created it; only that key reads its result.
    pub integrator_id: String,
    /// SHA-256 (hex) of the client token `ct_…`: the token itself is never stored.
    pub token_hash: String,
    /// The challenge plan, JSON (huoti-liveness form).
    pub plan_json: String,
    /// Created with an explicit challenge (test mode); the signed verdict says so.
    pub fixed_challenge: bool,
    /// Where the session is in its life.
    pub state: SessionState,
    /// The integrator's correlation id, the key of the abuse lock.
    pub correlation_id: Option<String>,
    /// Creation time, Unix ms.
    pub created_at_ms: i64,
    /// After this (Unix ms) no frame or `complete` is accepted.
    pub expires_at_ms: i64,
    /// Frames reserved or stored (bounded by `session.max_frames`).
    pub frame_count: i64,
    /// Phone model from schema v1; always empty since device info is sealed apart (see
    /// `session_devices`).
    pub device_model: Option<String>,
    /// OS type from schema v1; always empty (see `device_model`).
    pub device_os_type: Option<String>,
    /// OS version from schema v1; always empty (see `device_model`).
    pub device_os_version: Option<String>,
    /// When the verdict was stored, Unix ms.
    pub completed_at_ms: Option<i64>,
    /// The verdict's decision (`live`, `spoof`, `uncertain`).
    pub decision: Option<String>,
    /// The verdict payload (huoti-api `SessionVerdict`) without device info, JSON.
    pub verdict_json: Option<String>,
    /// Unused since verdicts are signed when fetched (with the device info still kept): empty.
    pub result_jws: Option<String>,
}

/// A stored frame: where its sealed bytes are and what the client said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRow {
    /// The client's sequence number (0, 1, 2, … in capture order).
    pub seq: i64,
    /// Capture time, ms since the plan started.
    pub t_ms: i64,
    /// Nonce sent with the frame.
    pub nonce: String,
    /// Key of the sealed frame in the blob store.
    pub blob_key: String,
    /// When the server received it, Unix ms (judged against `t_ms`: frames of a live capture
    /// arrive while it happens).
    pub received_at_ms: i64,
}

/// What [`Db::record_frame`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameRecord {
    /// The frame's row is stored and counted.
    Recorded,
    /// The session is not open, has expired or holds `max_frames` already: nothing written.
    NoRoom,
    /// A frame with this sequence number is stored already: nothing written.
    SeqTaken,
}

fn session_from(row: &AnyRow) -> Result<SessionRow, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(SessionRow {
        id: row.try_get("id")?,
        integrator_id: row.try_get("integrator_id")?,
        token_hash: row.try_get("token_hash")?,
        plan_json: row.try_get("plan_json")?,
        fixed_challenge: row.try_get::<i64, _>("fixed_challenge")? != 0,
        state: SessionState::parse(&state).ok_or_else(|| sqlx::Error::Decode(format!("unknown session state {state:?}").into()))?,
        correlation_id: row.try_get("correlation_id")?,
        created_at_ms: row.try_get("created_at_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        frame_count: row.try_get("frame_count")?,
        device_model: row.try_get("device_model")?,
        device_os_type: row.try_get("device_os_type")?,
        device_os_version: row.try_get("device_os_version")?,
        completed_at_ms: row.try_get("completed_at_ms")?,
        decision: row.try_get("decision")?,
        verdict_json: row.try_get("verdict_json")?,
        result_jws: row.try_get("result_jws")?,
    })
}

impl Db {
    /// Stores a new session.
    pub async fn insert_session(&self, s: &SessionRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sessions (id, integrator_id, token_hash, plan_json, fixed_challenge, state, correlation_id, \
             created_at_ms, expires_at_ms, frame_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)",
        )
        .bind(&s.id)
        .bind(&s.integrator_id)
        .bind(&s.token_hash)
        .bind(&s.plan_json)
        .bind(i64::from(s.fixed_challenge))
        .bind(s.state.as_str())
        .bind(&s.correlation_id)
        .bind(s.created_at_ms)
        .bind(s.expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A session by id.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(session_from).transpose()
    }

    /// What was stored as frame `seq`: `(t_ms, nonce, size_bytes)`.
    pub async fn stored_frame(&self, id: &str, seq: u32) -> Result<Option<(i64, String, i64)>, sqlx::Error> {
        let row = sqlx::query("SELECT t_ms, nonce, size_bytes FROM frames WHERE session_id = $1 AND seq = $2")
            .bind(id)
            .bind(i64::from(seq))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("t_ms")?, r.try_get("nonce")?, r.try_get("size_bytes")?))).transpose()
    }

    /// Records a stored frame and counts it against the session's frame budget, in one
    /// transaction: [`FrameRecord::NoRoom`] (nothing written) unless the session is open,
    /// unexpired at `now_ms` and below `max_frames`, which concurrent uploads cannot overshoot;
    /// [`FrameRecord::SeqTaken`] (nothing written) when the sequence number already exists.
    /// One commit per stored frame, not two (a reservation, then the row): on SQLite's
    /// rollback journal each commit costs about four syncs (issue 15).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_frame(&self, id: &str, max_frames: u32, now_ms: u64, seq: u32, t_ms: u64, nonce: &str, blob_key: &str, size: u64) -> Result<FrameRecord, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let reserved = sqlx::query(
            "UPDATE sessions SET frame_count = frame_count + 1 WHERE id = $1 AND state = $2 AND frame_count < $3 AND expires_at_ms > $4",
        )
        .bind(id)
        .bind(SessionState::Open.as_str())
        .bind(i64::from(max_frames))
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        if reserved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(FrameRecord::NoRoom);
        }
        let r = sqlx::query(
            "INSERT INTO frames (session_id, seq, t_ms, nonce, blob_key, size_bytes, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(i64::from(seq))
        .bind(t_ms as i64)
        .bind(nonce)
        .bind(blob_key)
        .bind(size as i64)
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await;
        if !inserted(r)? {
            tx.rollback().await?;
            return Ok(FrameRecord::SeqTaken);
        }
        tx.commit().await?;
        Ok(FrameRecord::Recorded)
    }

    /// Sets the session's device info columns of schema v1, once (kept for the storage suite;
    /// the server seals device info apart instead).
    pub async fn set_device(&self, id: &str, model: Option<&str>, os_type: Option<&str>, os_version: Option<&str>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE sessions SET device_model = $2, device_os_type = $3, device_os_version = $4 \
             WHERE id = $1 AND device_model IS NULL AND device_os_type IS NULL AND device_os_version IS NULL",
        )
        .bind(id)
        .bind(model)
        .bind(os_type)
        .bind(os_version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Moves an open, unexpired session to `analysing` with a lease until `lease_until_ms`:
    /// true for exactly one caller.
    pub async fn claim_complete(&self, id: &str, now_ms: u64, lease_until_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query(
            "UPDATE sessions SET state = $2, analysis_lease_until_ms = $5 WHERE id = $1 AND state = $3 AND expires_at_ms > $4",
        )
        .bind(id)
        .bind(SessionState::Analysing.as_str())
        .bind(SessionState::Open.as_str())
        .bind(now_ms as i64)
        .bind(lease_until_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Moves a session from `from` to `to`, and only from `from` (compare-and-set: a state
    /// another node or request moved on meanwhile is never overwritten). True when this call
    /// made the change. An analysis lease stays until its holder releases it.
    pub async fn transition(&self, id: &str, from: SessionState, to: SessionState) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("UPDATE sessions SET state = $3 WHERE id = $1 AND state = $2")
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Expires an open session whose time to live has passed at `now_ms` (compare-and-set).
    pub async fn expire_session(&self, id: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("UPDATE sessions SET state = $3 WHERE id = $1 AND state = $2 AND expires_at_ms <= $4")
            .bind(id)
            .bind(SessionState::Open.as_str())
            .bind(SessionState::Expired.as_str())
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The session's frames, by sequence number.
    pub async fn frames(&self, id: &str) -> Result<Vec<FrameRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT seq, t_ms, nonce, blob_key, received_at_ms FROM frames WHERE session_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FrameRow {
                    seq: r.try_get("seq")?,
                    t_ms: r.try_get("t_ms")?,
                    nonce: r.try_get("nonce")?,
                    blob_key: r.try_get("blob_key")?,
                    received_at_ms: r.try_get("received_at_ms")?,
                })
            })
            .collect()
    }

    /// How many frame rows the session has.
    pub async fn frame_count(&self, id: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM frames WHERE session_id = $1").bind(id).fetch_one(&self.pool).await
    }

    /// Deletes the session's frame rows.
    pub async fn delete_frames(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM frames WHERE session_id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Stores the verdict and moves the session from `analysing` to `completed` (compare-and-
    /// set; its lease is kept until its frames are erased). False when the session was no
    /// longer `analysing` (its lease expired and the janitor failed it): nothing is stored.
    pub async fn finish(&self, id: &str, decision: &str, verdict_json: &str, jws: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query(
            "UPDATE sessions SET state = $2, decision = $3, verdict_json = $4, result_jws = $5, completed_at_ms = $6 WHERE id = $1 AND state = $7",
        )
        .bind(id)
        .bind(SessionState::Completed.as_str())
        .bind(decision)
        .bind(verdict_json)
        .bind(jws)
        .bind(now_ms as i64)
        .bind(SessionState::Analysing.as_str())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Open sessions past their expiry.
    pub async fn expired_open_sessions(&self, now_ms: u64) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM sessions WHERE state = $1 AND expires_at_ms <= $2")
            .bind(SessionState::Open.as_str())
            .bind(now_ms as i64)
            .fetch_all(&self.pool)
            .await
    }

    /// Links a session to its subject (the person).
    pub async fn set_session_subject(&self, session_id: &str, subject_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET subject_id = $2 WHERE id = $1").bind(session_id).bind(subject_id).execute(&self.pool).await?;
        Ok(())
    }

    /// The subject (person) of a session.
    pub async fn session_subject(&self, session_id: &str) -> Result<Option<String>, sqlx::Error> {
        let v: Option<Option<String>> =
            sqlx::query_scalar("SELECT subject_id FROM sessions WHERE id = $1").bind(session_id).fetch_optional(&self.pool).await?;
        Ok(v.flatten())
    }

    /// The ids of a subject's sessions, newest first.
    pub async fn subject_sessions(&self, subject_id: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM sessions WHERE subject_id = $1 ORDER BY created_at_ms DESC, id")
            .bind(subject_id)
            .fetch_all(&self.pool)
            .await
    }

    /// The ids of sessions created in `[from_ms, to_ms)` (the people an incident affects).
    pub async fn sessions_created_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM sessions WHERE created_at_ms >= $1 AND created_at_ms < $2")
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&self.pool)
            .await
    }

    /// Records a failed session.
    pub async fn insert_failure(&self, correlation_id: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO failures (correlation_id, at_ms) VALUES ($1, $2)")
            .bind(correlation_id)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Failure times of a correlation id since `since_ms`.
    pub async fn failures_since(&self, correlation_id: &str, since_ms: u64) -> Result<Vec<u64>, sqlx::Error> {
        let v: Vec<i64> = sqlx::query_scalar("SELECT at_ms FROM failures WHERE correlation_id = $1 AND at_ms > $2")
            .bind(correlation_id)
            .bind(since_ms as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(v.into_iter().map(|t| t.max(0) as u64).collect())
    }

    /// Forgets failures older than `before_ms`.
    pub async fn prune_failures(&self, before_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM failures WHERE at_ms <= $1").bind(before_ms as i64).execute(&self.pool).await?;
        Ok(())
    }
}
