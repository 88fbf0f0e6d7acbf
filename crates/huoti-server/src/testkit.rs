//! Test support (not part of the API): databases for the storage tests — a SQLite file, and,
//! when `HUOTI_TEST_POSTGRES_URL` is set, a fresh PostgreSQL schema per test so that tests
//! running at the same time never see each other's rows.

use crate::util::random_hex;

/// The database URLs a storage test runs on: SQLite in `dir`, plus a fresh PostgreSQL schema
/// when `HUOTI_TEST_POSTGRES_URL` is set (a note on stderr otherwise).
pub async fn database_urls(dir: &std::path::Path) -> Vec<String> {
    let mut urls = vec![format!("sqlite://{}?mode=rwc", dir.join("huoti.db").display())];
    match std::env::var("HUOTI_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => urls.push(fresh_postgres_schema(&base).await),
        _ => eprintln!("HUOTI_TEST_POSTGRES_URL not set: PostgreSQL run skipped"),
    }
    urls
}

/// Creates schema `t_<random>` and returns a URL whose connections use it.
pub async fn fresh_postgres_schema(base: &str) -> String {
    sqlx::any::install_default_drivers();
    let schema = format!("t_{}", random_hex(8));
    let pool = sqlx::AnyPool::connect(base).await.expect("PostgreSQL reachable");
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}")).execute(&pool).await.expect("create schema");
    pool.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// `SELECT COUNT(*) …`-style query answering one integer.
pub async fn scalar(db: &crate::store::Db, sql: &str) -> i64 {
    db.test_scalar(sql).await.expect("query")
}

/// A query answering one text column.
pub async fn strings(db: &crate::store::Db, sql: &str) -> Vec<String> {
    db.test_strings(sql).await.expect("query")
}

/// A Unix-ms time as the instant the rules of `huoti-privacy` take.
pub fn instant(ms: u64) -> time::OffsetDateTime {
    crate::util::instant(ms)
}
