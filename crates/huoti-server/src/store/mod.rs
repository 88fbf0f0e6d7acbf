//! The relational store: SQLite by default, PostgreSQL for several nodes, one code path
//! through sqlx's `Any` driver. **All SQL of the server is here**, one file per table family;
//! features ask [`Db`] methods and never see a query. Queries use `$n` placeholders and
//! portable types (TEXT, BIGINT), so the same SQL runs on both. (Leaf module: it names no feature.)
//!
//! Migrations are embedded SQL files applied in order, each in a transaction, and recorded in
//! `huoti_migrations`.
//!
//! | file | tables |
//! |---|---|
//! | [`sessions`] | `sessions` (life cycle, subject link), `frames`, `failures` |
//! | [`api_keys`] | `api_keys` (role, expiry, revocation) |
//! | [`data_keys`] | `subject_keys` (wrapped data keys of sessions and people) |
//! | [`consents`] | `policy_versions`, `subjects`, `consents` |
//! | [`training`] | `training_images`, `training_samples` |
//! | [`audit`] | `audit_log`, `audit_anchor` |
//! | [`rights`] | `rights_requests`, `link_tokens` |
//! | [`personal`] | `identities`, `session_devices`, `disclosures` |
//! | [`incidents`] | `incidents`, `notices`, `service_state` (wind-down) |
//! | [`retention`] | the retention columns of `sessions`, `verdict_aggregates` |
//! | [`shared`] | `seen_frames`, `rate_buckets` (state every node shares; migration 13) |
//! | [`blob_deletions`] | `blob_deletions` (blobs still to delete after their key was shredded; migration 14) |
//! | [`leases`] | the analysis-lease column of `sessions` |
//! | [`face_references`] | `face_references`, `session_face_match` (face match; migration 15) |

pub mod api_keys;
pub mod audit;
pub mod blob_deletions;
pub mod consents;
pub mod data_keys;
pub mod face_references;
pub mod incidents;
pub mod leases;
pub mod personal;
pub mod retention;
pub mod rights;
pub mod sessions;
pub mod shared;
#[doc(hidden)]
pub mod testing;
pub mod training;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

pub use consents::{ConsentRow, PolicyRow};
pub use sessions::{FrameRecord, FrameRow, SessionRow, SessionState};

use crate::error::ServerError;

/// The embedded migrations: (version, name, SQL).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "sessions", include_str!("../../migrations/0001_sessions.sql")),
    (2, "privacy_access", include_str!("../../migrations/0002_privacy_access.sql")),
    (3, "privacy_ops", include_str!("../../migrations/0003_privacy_ops.sql")),
    (4, "audit_anchor", include_str!("../../migrations/0004_audit_anchor.sql")),
    (5, "identity_per_person", include_str!("../../migrations/0005_identity_per_person.sql")),
    (6, "impact_assessment", include_str!("../../migrations/0006_impact_assessment.sql")),
    (7, "api_keys", include_str!("../../migrations/0007_api_keys.sql")),
    (8, "provisional_due_dates", include_str!("../../migrations/0008_provisional_due_dates.sql")),
    (9, "analysis_lease", include_str!("../../migrations/0009_analysis_lease.sql")),
    (11, "api_key_lifecycle", include_str!("../../migrations/0011_api_key_lifecycle.sql")),
    (13, "shared_state", include_str!("../../migrations/0013_shared_state.sql")),
    (14, "blob_deletions", include_str!("../../migrations/0014_blob_deletions.sql")),
    (15, "face_references", include_str!("../../migrations/0015_face_references.sql")),
];

/// An `INSERT`'s outcome: `Ok(false)` when a unique key was taken already (a duplicate, or
/// another writer first), so callers can tell a lost race from a failure.
fn inserted(r: Result<sqlx::any::AnyQueryResult, sqlx::Error>) -> Result<bool, sqlx::Error> {
    match r {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The database: a connection pool, and which engine is behind it.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// PostgreSQL (row locks with `SKIP LOCKED`) rather than SQLite (one writer at a time).
    postgres: bool,
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
        // A SQLite connection is a file handle in this process: it cannot drop away as a
        // server's socket can, so it is not pinged before every use. sqlx's ping is a round
        // trip to the connection's worker thread — one per query, issue 15. PostgreSQL
        // connections keep the check.
        let pool = AnyPoolOptions::new().max_connections(if sqlite { 4 } else { 16 }).test_before_acquire(!sqlite).connect(url).await?;
        Ok(Db { pool, postgres })
    }

    /// Applies the migrations not yet recorded.
    pub async fn migrate(&self) -> Result<(), ServerError> {
        self.migrate_to(i64::MAX).await
    }

    /// Applies the migrations not yet recorded, up to `last` (tests of one migration).
    async fn migrate_to(&self, last: i64) -> Result<(), ServerError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS huoti_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for &(version, name, sql) in MIGRATIONS.iter().filter(|(v, ..)| *v <= last) {
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

    /// Answers `SELECT 1` (readiness).
    pub async fn ping(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool).await.is_ok()
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
            state: SessionState::Open,
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
        db.insert_api_key("i1", "demo", "ab", 1).await.unwrap();
        assert_eq!(db.api_key_hash("i1").await.unwrap().as_deref(), Some("ab"));
        assert!(db.api_key_named("demo").await.unwrap());
        db.insert_session(&session("s1")).await.unwrap();
        assert_eq!(db.session("s1").await.unwrap().unwrap(), session("s1"));
        let record = |seq: u32, max: u32, now: u64| db.record_frame("s1", max, now, seq, 0, "ab", "k", 10);
        assert_eq!(record(0, 2, 2_000).await.unwrap(), FrameRecord::Recorded);
        assert_eq!(record(0, 2, 2_000).await.unwrap(), FrameRecord::SeqTaken, "duplicate seq");
        assert_eq!(db.frame_count("s1").await.unwrap(), 1, "a taken seq is not counted");
        assert_eq!(record(1, 2, 2_000).await.unwrap(), FrameRecord::Recorded);
        assert_eq!(record(2, 2, 2_000).await.unwrap(), FrameRecord::NoRoom, "max frames");
        assert_eq!(record(2, 3, 181_000).await.unwrap(), FrameRecord::NoRoom, "expired");
        assert_eq!(db.frame_count("s1").await.unwrap(), 2, "no room writes nothing");
        assert_eq!(db.frames("s1").await.unwrap().len(), 2);
        db.set_device("s1", Some("Pixel 8"), None, Some("15")).await.unwrap();
        db.set_device("s1", Some("other"), None, None).await.unwrap();
        assert_eq!(db.session("s1").await.unwrap().unwrap().device_model.as_deref(), Some("Pixel 8"));
        assert!(db.claim_complete("s1", 3_000, 33_000).await.unwrap());
        assert!(!db.claim_complete("s1", 3_000, 33_000).await.unwrap(), "single use");
        assert_eq!(db.frames("s1").await.unwrap()[0].received_at_ms, 2_000);
        db.delete_frames("s1").await.unwrap();
        assert!(db.frames("s1").await.unwrap().is_empty());
        assert!(db.finish("s1", "live", "{}", "a.b.c", 4_000).await.unwrap());
        assert!(!db.finish("s1", "spoof", "{}", "", 4_001).await.unwrap(), "only from analysing");
        let s = db.session("s1").await.unwrap().unwrap();
        assert_eq!((s.state.as_str(), s.result_jws.as_deref()), (SessionState::Completed.as_str(), Some("a.b.c")));
        // Issue 19, defect 8: every state change names the state it expects.
        assert!(!db.transition("s1", SessionState::Analysing, SessionState::Failed).await.unwrap(), "a completed session is never failed");
        assert!(!db.expire_session("s1", 999_999).await.unwrap(), "nor expired");
        assert_eq!(db.session("s1").await.unwrap().unwrap().state, SessionState::Completed);
        db.put_wrapped_key("s1", "biometric", "kek-1", "00ff", 1).await.unwrap();
        assert_eq!(db.wrapped_key("s1", "biometric").await.unwrap(), Some(("kek-1".into(), "00ff".into())));
        db.delete_wrapped_keys("s1").await.unwrap();
        assert_eq!(db.wrapped_key("s1", "biometric").await.unwrap(), None);
        db.insert_failure("dev-1", 10).await.unwrap();
        db.insert_failure("dev-1", 20).await.unwrap();
        assert_eq!(db.failures_since("dev-1", 10).await.unwrap(), vec![20]);
        db.prune_failures(20).await.unwrap();
        assert!(db.failures_since("dev-1", 0).await.unwrap().is_empty());
        db.insert_session(&SessionRow { expires_at_ms: 5, ..session("s2") }).await.unwrap();
        assert_eq!(db.expired_open_sessions(10).await.unwrap(), vec!["s2".to_string()]);
        assert!(!db.expire_session("s2", 4).await.unwrap(), "not before its expiry");
        assert!(db.expire_session("s2", 10).await.unwrap());
        assert!(!db.expire_session("s2", 10).await.unwrap(), "once");
        assert!(db.ping().await);
        analysis_leases(db).await;
    }

    /// Issue 19, defect 1: a session being analysed — or completed with its frames still to
    /// erase — holds a lease; once it ends, the janitor may take the session over, and a worker
    /// that renewed it in time keeps it.
    async fn analysis_leases(db: &Db) {
        db.insert_session(&session("s3")).await.unwrap();
        assert!(db.claim_complete("s3", 2_000, 10_000).await.unwrap());
        assert!(db.stale_leases(10_000).await.unwrap().is_empty(), "the lease holds until it ends");
        assert!(!db.fail_stale_analysis("s3", 9_999).await.unwrap());
        assert!(db.renew_analysis_lease("s3", 20_000).await.unwrap());
        assert!(db.stale_leases(15_000).await.unwrap().is_empty(), "renewed");
        assert_eq!(db.stale_leases(20_001).await.unwrap(), vec![("s3".to_owned(), SessionState::Analysing)]);
        assert!(db.fail_stale_analysis("s3", 20_001).await.unwrap());
        assert!(!db.fail_stale_analysis("s3", 20_001).await.unwrap(), "once");
        assert!(!db.renew_analysis_lease("s3", 30_000).await.unwrap(), "a lost lease is not renewed");
        assert!(!db.finish("s3", "live", "{}", "", 20_002).await.unwrap(), "a failed session gets no verdict");
        assert_eq!(db.session("s3").await.unwrap().unwrap().state, SessionState::Failed);

        db.insert_session(&session("s4")).await.unwrap();
        assert!(db.claim_complete("s4", 2_000, 10_000).await.unwrap());
        assert!(db.finish("s4", "live", "{}", "", 3_000).await.unwrap());
        assert_eq!(db.stale_leases(10_001).await.unwrap(), vec![("s4".to_owned(), SessionState::Completed)], "erasure pending");
        assert!(!db.fail_stale_analysis("s4", 10_001).await.unwrap(), "a completed session is never failed");
        db.release_analysis_lease("s4").await.unwrap();
        assert!(db.stale_leases(10_001).await.unwrap().is_empty());

        // Stranded in `analysing` before leases existed: no lease, stale at once.
        db.insert_session(&session("s5")).await.unwrap();
        assert!(db.transition("s5", SessionState::Open, SessionState::Analysing).await.unwrap());
        assert_eq!(db.stale_leases(0).await.unwrap(), vec![("s5".to_owned(), SessionState::Analysing)]);
        assert!(db.fail_stale_analysis("s5", 0).await.unwrap());
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

    /// Schema v7 renames `integrators` to `api_keys`: keys made before it still authenticate,
    /// keep their role, and sessions still reference them.
    async fn api_keys_migration_keeps_existing_keys(url: &str) {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new().max_connections(1).connect(url).await.unwrap();
        let before = Db { pool: pool.clone(), postgres: url.starts_with("postgres") };
        before.migrate_to(6).await.unwrap();
        sqlx::query("INSERT INTO integrators (id, name, key_hash, created_at_ms, role) VALUES ('k1', 'old', 'h1', 1, 'auditor')").execute(&pool).await.unwrap();
        before.insert_session(&SessionRow { integrator_id: "k1".into(), ..session("s_old") }).await.unwrap();
        pool.close().await;
        let db = Db::connect(url).await.unwrap();
        assert_eq!(db.api_key("k1").await.unwrap(), Some(("h1".to_owned(), "auditor".to_owned())));
        assert!(db.api_key_named("old").await.unwrap());
        assert_eq!(db.session("s_old").await.unwrap().map(|s| s.integrator_id).as_deref(), Some("k1"));
    }

    #[tokio::test]
    async fn api_keys_migration_keeps_existing_keys_sqlite_and_postgres() {
        let dir = tempfile::tempdir().unwrap();
        for url in crate::testkit::database_urls(dir.path()).await {
            api_keys_migration_keeps_existing_keys(&url).await;
        }
    }
}
