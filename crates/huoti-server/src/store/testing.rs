//! Raw queries for tests (not part of the API): what a test reads to prove that nothing was
//! left behind, in SQL it writes itself.

use super::Db;

impl Db {
    /// A query answering one integer (`SELECT COUNT(*) …`).
    #[doc(hidden)]
    pub async fn test_scalar(&self, sql: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await
    }

    /// A query answering one text column.
    #[doc(hidden)]
    pub async fn test_strings(&self, sql: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(sql).fetch_all(&self.pool).await
    }
}
