//! `audit_log` (append-only, hash-chained entries of staff access to personal data) and
//! `audit_anchor` (the last entry deleted under retention, from which the rest verifies).

use huoti_privacy::audit::{AuditEntry, ChainHead};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::api_keys::parse_role;
use super::{Db, inserted};
use crate::util::instant;

fn entry_from(r: &AnyRow) -> Result<AuditEntry, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(AuditEntry {
        seq: r.try_get::<i64, _>("seq")?.max(0) as u64,
        at: instant(r.try_get::<i64, _>("at_ms")?.max(0) as u64),
        actor: r.try_get("actor")?,
        // An unknown role cannot be hashed as written: the verifier then flags the entry.
        role: parse_role(&role).unwrap_or(huoti_privacy::Role::Integrator),
        purpose: r.try_get("purpose")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

impl Db {
    /// Every audit entry, in order.
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let rows = sqlx::query("SELECT * FROM audit_log ORDER BY seq").fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let e = entry_from(r)?;
            // A stored role the matrix does not know is a tampered entry: keep it unhashable.
            let stored: String = r.try_get("role")?;
            out.push(if stored == e.role.as_str() { e } else { AuditEntry { hash: format!("bad-role:{}", e.hash), ..e } });
        }
        Ok(out)
    }

    /// The anchor of the entries deleted under retention (L5): the last deleted entry.
    pub async fn audit_anchor(&self) -> Result<Option<ChainHead>, sqlx::Error> {
        let row = sqlx::query("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetch_optional(&self.pool).await?;
        row.map(|r| Ok(ChainHead { seq: r.try_get::<i64, _>("seq")?.max(0) as u64, hash: r.try_get("hash")? })).transpose()
    }

    /// The newest entry.
    pub async fn last_audit_entry(&self) -> Result<Option<AuditEntry>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&self.pool).await?;
        row.as_ref().map(entry_from).transpose()
    }

    /// Appends one entry; `Ok(false)` when another writer took its sequence number first.
    pub async fn insert_audit_entry(&self, e: &AuditEntry) -> Result<bool, sqlx::Error> {
        let at_ms = (e.at.unix_timestamp_nanos() / 1_000_000) as i64;
        let r = sqlx::query(
            "INSERT INTO audit_log (seq, at_ms, actor, role, purpose, action, target, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.seq as i64)
        .bind(at_ms)
        .bind(&e.actor)
        .bind(e.role.as_str())
        .bind(&e.purpose)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&self.pool)
        .await;
        inserted(r)
    }

    /// How many entries there are, and the newest one's sequence number.
    pub async fn audit_extent(&self) -> Result<(i64, Option<i64>), sqlx::Error> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&self.pool).await?;
        let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(&self.pool).await?;
        Ok((count, newest))
    }

    /// Up to `limit` entries after `after` and before `before`, in order: (seq, time in ms).
    pub async fn audit_times(&self, after: i64, before: i64, limit: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        let rows = sqlx::query("SELECT seq, at_ms FROM audit_log WHERE seq > $1 AND seq < $2 ORDER BY seq LIMIT $3")
            .bind(after)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, r.try_get("at_ms")?))).collect()
    }

    /// Deletes the entries up to `through` and moves the anchor to it (forward only), in one
    /// transaction; `None` when that entry is already gone.
    pub async fn prune_audit_through(&self, through: u64, now_ms: u64) -> Result<Option<u64>, sqlx::Error> {
        let hash: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1").bind(through as i64).fetch_optional(&self.pool).await?;
        let Some(hash) = hash else { return Ok(None) };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO audit_anchor (id, seq, hash, pruned_at_ms) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at_ms = excluded.pruned_at_ms \
             WHERE excluded.seq > audit_anchor.seq",
        )
        .bind(through as i64)
        .bind(&hash)
        .bind(now_ms as i64)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM audit_log WHERE seq <= $1").bind(through as i64).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(Some(deleted))
    }
}
