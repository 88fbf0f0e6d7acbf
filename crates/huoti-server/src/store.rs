//! The relational store: SQLite by default, PostgreSQL for several nodes, one code path
//! through sqlx's `Any` driver. Queries use `$n` placeholders and portable types (TEXT,
//! BIGINT), so the same SQL runs on both.
//!
//! Migrations are embedded SQL files applied in order, each in a transaction, and recorded in
//! `huoti_migrations`.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::ServerError;

/// The embedded migrations: (version, name, SQL).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "sessions", include_str!("../migrations/0001_sessions.sql")),
    (2, "privacy_access", include_str!("../migrations/0002_privacy_access.sql")),
    (3, "privacy_ops", include_str!("../migrations/0003_privacy_ops.sql")),
    (4, "audit_anchor", include_str!("../migrations/0004_audit_anchor.sql")),
    (5, "identity_per_person", include_str!("../migrations/0005_identity_per_person.sql")),
    (6, "impact_assessment", include_str!("../migrations/0006_impact_assessment.sql")),
];

/// An `INSERT`'s outcome: `Ok(false)` when a unique key was taken already (a duplicate, or
/// another writer first), so callers can tell a lost race from a failure.
pub(crate) fn inserted(r: Result<sqlx::any::AnyQueryResult, sqlx::Error>) -> Result<bool, sqlx::Error> {
    match r {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Session states.
pub mod state {
    /// Accepting frames.
    pub const OPEN: &str = "open";
    /// `complete` was called; analysis running.
    pub const ANALYSING: &str = "analysing";
    /// Verdict stored.
    pub const COMPLETED: &str = "completed";
    /// Expired before completion; its frames were deleted.
    pub const EXPIRED: &str = "expired";
    /// Analysis failed; its frames were deleted.
    pub const FAILED: &str = "failed";
}

/// The database.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pool: AnyPool,
    /// PostgreSQL (row locks with `SKIP LOCKED`) rather than SQLite (one writer at a time).
    pub(crate) postgres: bool,
}

/// A session row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Id.
    pub id: String,
    /// Owner.
    pub integrator_id: String,
    /// sha256 of the client token, hex.
    pub token_hash: String,
    /// The challenge plan, JSON (huoti-liveness form).
    pub plan_json: String,
    /// Created with an explicit challenge (test mode).
    pub fixed_challenge: bool,
    /// `state::*`.
    pub state: String,
    /// Integrator's correlation id.
    pub correlation_id: Option<String>,
    /// Creation time, ms.
    pub created_at_ms: i64,
    /// Expiry, ms.
    pub expires_at_ms: i64,
    /// Frames reserved or stored.
    pub frame_count: i64,
    /// Device info (P2: only when allowed).
    pub device_model: Option<String>,
    /// OS type.
    pub device_os_type: Option<String>,
    /// OS version.
    pub device_os_version: Option<String>,
    /// Completion time, ms.
    pub completed_at_ms: Option<i64>,
    /// Decision.
    pub decision: Option<String>,
    /// The verdict payload (huoti-api `SessionVerdict`), JSON.
    pub verdict_json: Option<String>,
    /// The signed verdict.
    pub result_jws: Option<String>,
}

/// A frame row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRow {
    /// Sequence number.
    pub seq: i64,
    /// Capture time, ms since the plan started.
    pub t_ms: i64,
    /// Nonce sent with the frame.
    pub nonce: String,
    /// Key in the blob store.
    pub blob_key: String,
}

fn session_from(row: &AnyRow) -> Result<SessionRow, sqlx::Error> {
    Ok(SessionRow {
        id: row.try_get("id")?,
        integrator_id: row.try_get("integrator_id")?,
        token_hash: row.try_get("token_hash")?,
        plan_json: row.try_get("plan_json")?,
        fixed_challenge: row.try_get::<i64, _>("fixed_challenge")? != 0,
        state: row.try_get("state")?,
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
    /// Connects (creating a SQLite file if needed) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Db, ServerError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        // sqlx's SQLite driver turns foreign keys on and waits 5 s on a busy database by default.
        let postgres = url.starts_with("postgres");
        // Migrate on a connection of its own, then open the pool: a SQLite connection opened
        // before an `ALTER TABLE` keeps the old schema for `SELECT *` (it prepares against its
        // cached schema; sqlx then keeps the old column list while rows carry the new one).
        let migrator = AnyPoolOptions::new().max_connections(1).connect(url).await?;
        Db { pool: migrator.clone(), postgres }.migrate().await?;
        migrator.close().await;
        let pool = AnyPoolOptions::new().max_connections(if sqlite { 4 } else { 16 }).connect(url).await?;
        Ok(Db { pool, postgres })
    }

    /// Applies the migrations not yet recorded.
    pub async fn migrate(&self) -> Result<(), ServerError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS huoti_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for &(version, name, sql) in MIGRATIONS {
            let done: Option<i64> = sqlx::query_scalar("SELECT version FROM huoti_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&self.pool)
                .await?;
            if done.is_some() {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO huoti_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)")
                .bind(version)
                .bind(name)
                .bind(crate::clock::Clock::now_ms(&crate::clock::SystemClock) as i64)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, name, "applied migration");
        }
        Ok(())
    }

    /// The pool, for the queries of other modules (`privacy`).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Answers `SELECT 1` (readiness).
    pub async fn ping(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }

    /// Adds an integrator.
    pub async fn insert_integrator(&self, id: &str, name: &str, key_hash: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO integrators (id, name, key_hash, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(name)
            .bind(key_hash)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The key hash of an integrator.
    pub async fn integrator_key_hash(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT key_hash FROM integrators WHERE id = $1").bind(id).fetch_optional(&self.pool).await
    }

    /// Whether an integrator with this name exists.
    pub async fn integrator_named(&self, name: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM integrators WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

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
        .bind(&s.state)
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

    /// Reserves room for one more frame: true when the session is open, unexpired at `now_ms`
    /// and below `max_frames` (atomic, so concurrent uploads cannot overshoot).
    pub async fn reserve_frame(&self, id: &str, max_frames: u32, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query(
            "UPDATE sessions SET frame_count = frame_count + 1 WHERE id = $1 AND state = $2 AND frame_count < $3 AND expires_at_ms > $4",
        )
        .bind(id)
        .bind(state::OPEN)
        .bind(i64::from(max_frames))
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Gives back a reservation that was not used.
    pub async fn release_frame(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET frame_count = frame_count - 1 WHERE id = $1 AND frame_count > 0")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
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

    /// Records a stored frame. `Ok(false)` when the sequence number already exists.
    pub async fn insert_frame(
        &self,
        id: &str,
        seq: u32,
        t_ms: u64,
        nonce: &str,
        blob_key: &str,
        size: u64,
        now_ms: u64,
    ) -> Result<bool, sqlx::Error> {
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
        .execute(&self.pool)
        .await;
        inserted(r)
    }

    /// Sets the session's device info, once (the first frame that carries it).
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

    /// Moves an open, unexpired session to `analysing`: true for exactly one caller.
    pub async fn claim_complete(&self, id: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("UPDATE sessions SET state = $2 WHERE id = $1 AND state = $3 AND expires_at_ms > $4")
            .bind(id)
            .bind(state::ANALYSING)
            .bind(state::OPEN)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Sets a session's state.
    pub async fn set_state(&self, id: &str, new_state: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET state = $2 WHERE id = $1").bind(id).bind(new_state).execute(&self.pool).await?;
        Ok(())
    }

    /// The session's frames, by sequence number.
    pub async fn frames(&self, id: &str) -> Result<Vec<FrameRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT seq, t_ms, nonce, blob_key FROM frames WHERE session_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FrameRow { seq: r.try_get("seq")?, t_ms: r.try_get("t_ms")?, nonce: r.try_get("nonce")?, blob_key: r.try_get("blob_key")? })
            })
            .collect()
    }

    /// Deletes the session's frame rows.
    pub async fn delete_frames(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM frames WHERE session_id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Stores the verdict and marks the session completed.
    pub async fn finish(&self, id: &str, decision: &str, verdict_json: &str, jws: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE sessions SET state = $2, decision = $3, verdict_json = $4, result_jws = $5, completed_at_ms = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(state::COMPLETED)
        .bind(decision)
        .bind(verdict_json)
        .bind(jws)
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Open sessions past their expiry.
    pub async fn expired_open_sessions(&self, now_ms: u64) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM sessions WHERE state = $1 AND expires_at_ms <= $2")
            .bind(state::OPEN)
            .bind(now_ms as i64)
            .fetch_all(&self.pool)
            .await
    }

    /// Stores a subject's wrapped data key.
    pub async fn put_subject_key(&self, subject: &str, domain: &str, kek_id: &str, wrapped_hex: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO subject_keys (subject_id, domain, kek_id, wrapped_hex, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(subject)
        .bind(domain)
        .bind(kek_id)
        .bind(wrapped_hex)
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A subject's wrapped data key: (kek id, hex).
    pub async fn subject_key(&self, subject: &str, domain: &str) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT kek_id, wrapped_hex FROM subject_keys WHERE subject_id = $1 AND domain = $2")
            .bind(subject)
            .bind(domain)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("kek_id")?, r.try_get("wrapped_hex")?))).transpose()
    }

    /// Deletes a subject's data key of one domain: crypto-shredding of that domain's data.
    pub async fn delete_subject_key(&self, subject: &str, domain: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1 AND domain = $2").bind(subject).bind(domain).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes a subject's data keys: crypto-shredding.
    pub async fn delete_subject_keys(&self, subject: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1").bind(subject).execute(&self.pool).await?;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> SessionRow {
        SessionRow {
            id: id.into(),
            integrator_id: "i1".into(),
            token_hash: "00".into(),
            plan_json: "{}".into(),
            fixed_challenge: false,
            state: state::OPEN.into(),
            correlation_id: Some("dev-1".into()),
            created_at_ms: 1_000,
            expires_at_ms: 181_000,
            frame_count: 0,
            device_model: None,
            device_os_type: None,
            device_os_version: None,
            completed_at_ms: None,
            decision: None,
            verdict_json: None,
            result_jws: None,
        }
    }

    /// The storage suite; runs on SQLite always, and on PostgreSQL when
    /// `HUOTI_TEST_POSTGRES_URL` is set.
    async fn suite(db: &Db) {
        db.migrate().await.unwrap(); // idempotent
        db.insert_integrator("i1", "demo", "ab", 1).await.unwrap();
        assert_eq!(db.integrator_key_hash("i1").await.unwrap().as_deref(), Some("ab"));
        assert!(db.integrator_named("demo").await.unwrap());
        db.insert_session(&session("s1")).await.unwrap();
        assert_eq!(db.session("s1").await.unwrap().unwrap(), session("s1"));
        assert!(db.reserve_frame("s1", 2, 2_000).await.unwrap());
        assert!(db.insert_frame("s1", 0, 0, "ab", "k0", 10, 2_000).await.unwrap());
        assert!(!db.insert_frame("s1", 0, 0, "ab", "k0", 10, 2_000).await.unwrap(), "duplicate seq");
        assert!(db.reserve_frame("s1", 2, 2_000).await.unwrap());
        assert!(!db.reserve_frame("s1", 2, 2_000).await.unwrap(), "max frames");
        assert!(!db.reserve_frame("s1", 3, 181_000).await.unwrap(), "expired");
        db.set_device("s1", Some("Pixel 8"), None, Some("15")).await.unwrap();
        db.set_device("s1", Some("other"), None, None).await.unwrap();
        assert_eq!(db.session("s1").await.unwrap().unwrap().device_model.as_deref(), Some("Pixel 8"));
        assert!(db.claim_complete("s1", 3_000).await.unwrap());
        assert!(!db.claim_complete("s1", 3_000).await.unwrap(), "single use");
        assert_eq!(db.frames("s1").await.unwrap().len(), 1);
        db.delete_frames("s1").await.unwrap();
        assert!(db.frames("s1").await.unwrap().is_empty());
        db.finish("s1", "live", "{}", "a.b.c", 4_000).await.unwrap();
        let s = db.session("s1").await.unwrap().unwrap();
        assert_eq!((s.state.as_str(), s.result_jws.as_deref()), (state::COMPLETED, Some("a.b.c")));
        db.put_subject_key("s1", "biometric", "kek-1", "00ff", 1).await.unwrap();
        assert_eq!(db.subject_key("s1", "biometric").await.unwrap(), Some(("kek-1".into(), "00ff".into())));
        db.delete_subject_keys("s1").await.unwrap();
        assert_eq!(db.subject_key("s1", "biometric").await.unwrap(), None);
        db.insert_failure("dev-1", 10).await.unwrap();
        db.insert_failure("dev-1", 20).await.unwrap();
        assert_eq!(db.failures_since("dev-1", 10).await.unwrap(), vec![20]);
        db.prune_failures(20).await.unwrap();
        assert!(db.failures_since("dev-1", 0).await.unwrap().is_empty());
        db.insert_session(&SessionRow { expires_at_ms: 5, ..session("s2") }).await.unwrap();
        assert_eq!(db.expired_open_sessions(10).await.unwrap(), vec!["s2".to_string()]);
        assert!(db.ping().await);
    }

    #[tokio::test]
    async fn storage_suite_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        suite(&Db::connect(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn storage_suite_postgres() {
        let Ok(url) = std::env::var("HUOTI_TEST_POSTGRES_URL") else {
            eprintln!("HUOTI_TEST_POSTGRES_URL not set: PostgreSQL suite skipped");
            return;
        };
        // A fresh schema per run: tests of several branches share one database.
        sqlx::any::install_default_drivers();
        let admin = AnyPool::connect(&url).await.unwrap();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let schema = format!("store_{}_{nanos:x}", std::process::id());
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let db = Db::connect(&format!("{url}{sep}options=-c%20search_path%3D{schema}")).await.unwrap();
        suite(&db).await;
    }
}
