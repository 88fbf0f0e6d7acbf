//! `api_keys`: every API key with its role (integrator, operator, privacy officer, ML
//! engineer, auditor), its expiry and its revocation. Only the SHA-256 of a key's secret is
//! stored.

use huoti_privacy::Role;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

/// Every role, in the matrix's order.
pub const ROLES: [Role; 5] = [Role::Integrator, Role::Operator, Role::PrivacyOfficer, Role::MlEngineer, Role::Auditor];

/// Parses a stored or typed role name.
pub fn parse_role(s: &str) -> Option<Role> {
    ROLES.into_iter().find(|r| r.as_str() == s)
}

/// What a request's key is checked against (read on every request: no node caches it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// SHA-256 (hex) of the secret.
    pub key_hash: String,
    /// The role's name.
    pub role: String,
    /// After this time the key is refused (`None`: it does not expire).
    pub expires_at_ms: Option<i64>,
    /// When the key was revoked (`None`: it was not).
    pub revoked_at_ms: Option<i64>,
}

/// A key as `huoti admin keys list` shows it: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyListing {
    /// The key id (`hk_<id>.…`).
    pub id: String,
    /// The holder's name.
    pub name: String,
    /// The role's name.
    pub role: String,
    /// When it was made.
    pub created_at_ms: i64,
    /// When it stops working, if ever.
    pub expires_at_ms: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

fn listing(r: &AnyRow) -> Result<KeyListing, sqlx::Error> {
    Ok(KeyListing {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        created_at_ms: r.try_get("created_at_ms")?,
        expires_at_ms: r.try_get("expires_at_ms")?,
        revoked_at_ms: r.try_get("revoked_at_ms")?,
    })
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

    /// A key's secret hash, role, expiry and revocation.
    pub async fn api_key_record(&self, id: &str) -> Result<Option<KeyRecord>, sqlx::Error> {
        let row = sqlx::query("SELECT key_hash, role, expires_at_ms, revoked_at_ms FROM api_keys WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| {
            Ok(KeyRecord {
                key_hash: r.try_get("key_hash")?,
                role: r.try_get("role")?,
                expires_at_ms: r.try_get("expires_at_ms")?,
                revoked_at_ms: r.try_get("revoked_at_ms")?,
            })
        })
        .transpose()
    }

    /// Sets (or with `None` clears) when a key stops working.
    pub async fn set_key_expiry(&self, id: &str, expires_at_ms: Option<i64>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE api_keys SET expires_at_ms = $2 WHERE id = $1").bind(id).bind(expires_at_ms).execute(&self.pool).await?;
        Ok(())
    }

    /// Revokes a key at `now_ms`: `false` when there is no such key or it was revoked already
    /// (the first revocation's time stays).
    pub async fn revoke_api_key(&self, id: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("UPDATE api_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL")
            .bind(id)
            .bind(i64::try_from(now_ms).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Every key, oldest first, without secrets.
    pub async fn list_api_keys(&self) -> Result<Vec<KeyListing>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, name, role, created_at_ms, expires_at_ms, revoked_at_ms FROM api_keys ORDER BY created_at_ms, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(listing).collect()
    }
}
