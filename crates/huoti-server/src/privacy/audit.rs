//! The audit log (S2, C4): every staff read or write of personal data appends an entry — key
//! id, role, purpose, action, target (pseudonymous ids), time — to an append-only table,
//! hash-chained by `huoti-privacy`'s [`AuditChain`]; [`verify`] names the first tampered
//! entry (`huoti admin audit verify`, `GET /v1/admin/audit/verify`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use huoti_api as wire;
use huoti_privacy::audit::{self as chain, AuditChain, AuditEntry, ChainHead};
use huoti_privacy::Permission;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::auth::{Caller, parse_role};
use super::instant;
use crate::api::{AppState, rfc3339};
use crate::error::AppError;
use crate::store::{Db, inserted};

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
        let rows = sqlx::query("SELECT * FROM audit_log ORDER BY seq").fetch_all(self.pool()).await?;
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
        let row = sqlx::query("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetch_optional(self.pool()).await?;
        row.map(|r| Ok(ChainHead { seq: r.try_get::<i64, _>("seq")?.max(0) as u64, hash: r.try_get("hash")? })).transpose()
    }

    async fn last_audit_entry(&self) -> Result<Option<AuditEntry>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(self.pool()).await?;
        row.as_ref().map(entry_from).transpose()
    }

    /// Appends one entry; `Ok(false)` when another writer took its sequence number first.
    async fn insert_audit_entry(&self, e: &AuditEntry) -> Result<bool, sqlx::Error> {
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
        .execute(self.pool())
        .await;
        inserted(r)
    }
}

/// Appends an audit entry: `who` did `action` on `target` for `purpose`. Safe with several
/// writers (a lost race on the sequence number is retried on the new head).
pub async fn record(db: &Db, who: &Caller, purpose: &str, action: &str, target: &str, now_ms: u64) -> Result<AuditEntry, AppError> {
    for _ in 0..16 {
        let mut c = match (db.last_audit_entry().await?, db.audit_anchor().await?) {
            (Some(last), _) => AuditChain::resume(&last),
            // Retention keeps the newest entry, so this is belt and braces: never restart at 0.
            (None, Some(anchor)) => AuditChain::after(&anchor),
            (None, None) => AuditChain::new(),
        };
        let e = c.append(instant(now_ms), &who.key_id, who.role, purpose, action, target).map_err(AppError::internal)?;
        if db.insert_audit_entry(&e).await? {
            return Ok(e);
        }
    }
    Err(AppError::internal("audit log: too much contention"))
}

/// Verifies the whole chain: from entry 0, or — once old entries were deleted under
/// retention (L5) — from the anchor they left.
pub async fn verify(db: &Db) -> Result<wire::AuditVerifyResult, sqlx::Error> {
    let entries = db.audit_entries().await?;
    let anchor = db.audit_anchor().await?;
    let bad = match &anchor {
        Some(a) => chain::verify_from(a.seq + 1, &a.hash, &entries),
        None => chain::verify(&entries),
    }
    .err()
    .map(|t| t.first_bad_seq);
    Ok(wire::AuditVerifyResult {
        ok: bad.is_none(),
        entries: entries.len() as u64,
        first_bad_seq: bad,
        head_hash: entries.last().map(|e| e.hash.clone()),
        pruned_through: anchor.map(|a| a.seq),
    })
}

/// Deletes the audit entries past their retention (L5: kept at least 3 years), oldest first,
/// as one prefix of the chain, and moves the anchor to the last one deleted; returns how many
/// went (`dry_run`: would go). Safe when several nodes run it: the anchor only moves forward
/// and deleting an already deleted prefix deletes nothing.
pub async fn prune(db: &Db, policy: &huoti_privacy::RetentionPolicy, now_ms: u64, dry_run: bool) -> Result<(u64, u64), sqlx::Error> {
    // Entries looked at per step: the log can be long, and only its due front matters.
    prune_windowed(db, policy, now_ms, dry_run, 10_000).await
}

/// [`prune`], looking at `window` entries at a time (tests use small windows).
pub async fn prune_windowed(db: &Db, policy: &huoti_privacy::RetentionPolicy, now_ms: u64, dry_run: bool, window: i64) -> Result<(u64, u64), sqlx::Error> {
    let checked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(db.pool()).await?;
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(db.pool()).await?;
    let Some(newest) = newest else { return Ok((0, 0)) };
    let (mut due, mut deleted, mut after) = (0u64, 0u64, -1i64);
    loop {
        let rows = sqlx::query("SELECT seq, at_ms FROM audit_log WHERE seq > $1 AND seq < $2 ORDER BY seq LIMIT $3")
            .bind(after)
            .bind(newest)
            .bind(window)
            .fetch_all(db.pool())
            .await?;
        let mut log: Vec<(u64, time::OffsetDateTime)> = rows
            .iter()
            .map(|r| Ok((r.try_get::<i64, _>("seq")?.max(0) as u64, instant(r.try_get::<i64, _>("at_ms")?.max(0) as u64))))
            .collect::<Result<_, sqlx::Error>>()?;
        let window_full = log.len() as i64 == window;
        let window_end = log.last().map(|(seq, _)| *seq);
        // The newest entry closes every window: the rule never deletes it.
        log.push((newest.max(0) as u64, instant(now_ms)));
        let Some(through) = policy.audit_log_prune_through(&log, instant(now_ms)) else { break };
        due += log.iter().take_while(|(seq, _)| *seq <= through).count() as u64;
        if !dry_run {
            match delete_through(db, through, now_ms).await? {
                Some(n) => deleted += n,
                // Another node pruned past it a moment ago: nothing more for this one.
                None => break,
            }
        }
        if !window_full || window_end != Some(through) {
            break;
        }
        after = through as i64;
    }
    Ok((checked.max(0) as u64, if dry_run { due } else { deleted }))
}

/// Deletes the entries up to `through` and moves the anchor to it; `None` when the entry is
/// already gone.
async fn delete_through(db: &Db, through: u64, now_ms: u64) -> Result<Option<u64>, sqlx::Error> {
    let hash: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1").bind(through as i64).fetch_optional(db.pool()).await?;
    let Some(hash) = hash else { return Ok(None) };
    let mut tx = db.pool().begin().await?;
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

/// Whether the audit chain is intact, and if not its first tampered entry (auditor).
#[utoipa::path(get, path = "/v1/admin/audit/verify", tag = "admin",
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Verification result", body = wire::AuditVerifyResult),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_endpoint(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<wire::AuditVerifyResult>, AppError> {
    st.authorize(&headers, &[Permission::ReadAuditLog]).await?;
    Ok(Json(verify(&st.db).await?))
}

/// The audit log, oldest first (auditor).
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin",
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Entries", body = Vec<wire::AuditEntryInfo>),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_endpoint(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<Vec<wire::AuditEntryInfo>>, AppError> {
    st.authorize(&headers, &[Permission::ReadAuditLog]).await?;
    let entries = st.db.audit_entries().await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| wire::AuditEntryInfo {
                seq: e.seq,
                at: rfc3339((e.at.unix_timestamp_nanos() / 1_000_000).max(0) as u64),
                actor: e.actor,
                role: e.role.as_str().into(),
                purpose: e.purpose,
                action: e.action,
                target: e.target,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
    ))
}
