//! `api_keys`: every API key with its role (integrator, operator, privacy officer, ML
//! engineer, auditor). Only the SHA-256 of a key's secret is stored.

use huoti_privacy::Role;
use sqlx::Row;

use super::Db;

/// Every role, in the matrix's order.
pub const ROLES: [Role; 5] = [Role::Integrator, Role::Operator, Role::PrivacyOfficer, Role::MlEngineer, Role::Auditor];

/// Parses a stored or typed role name.
pub fn parse_role(s: &str) -> Option<Role> {
    ROLES.into_iter().find(|r| r.as_str() == s)
}

impl Db {
    /// Adds a key (role `integrator` until [`set_key_role`](Self::set_key_role)).
    pub async fn insert_api_key(&self, id: &str, name: &str, key_hash: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO api_keys (id, name, key_hash, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(name)
            .bind(key_hash)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The secret hash of a key.
    pub async fn api_key_hash(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT key_hash FROM api_keys WHERE id = $1").bind(id).fetch_optional(&self.pool).await
    }

    /// Whether a key with this name exists.
    pub async fn api_key_named(&self, name: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE name = $1").bind(name).fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    /// Sets a key's role.
    pub async fn set_key_role(&self, id: &str, role: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE api_keys SET role = $2 WHERE id = $1").bind(id).bind(role).execute(&self.pool).await?;
        Ok(())
    }

    /// A key's secret hash and role.
    pub async fn api_key(&self, id: &str) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT key_hash, role FROM api_keys WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((r.try_get("key_hash")?, r.try_get("role")?))).transpose()
    }
}
