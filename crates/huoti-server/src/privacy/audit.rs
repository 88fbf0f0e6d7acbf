//! The audit log (S2, C4): every staff read or write of personal data appends an entry — key
//! id, role, purpose, action, target (pseudonymous ids), time — to an append-only table,
//! hash-chained by `huoti-privacy`'s [`AuditChain`]; [`verify`] names the first tampered
//! entry (`huoti admin audit verify`, `GET /v1/admin/audit/verify`).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use huoti_api as wire;
use huoti_privacy::audit::{self as chain, AuditChain, AuditEntry};
use utoipa::OpenApi;

use crate::error::AppError;
use crate::http::auth::{Access, Caller, Key, Permits, Route, Staff, permits};
use crate::state::AppState;
use crate::store::Db;
use crate::util::{instant, rfc3339};

permits!(
    /// Who reads the audit log: auditors.
    pub ReadAuditLog = [ReadAuditLog]
);

/// The routes of the audit log.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/admin/audit", get(list_endpoint)).route("/v1/admin/audit/verify", get(verify_endpoint))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(list_endpoint, verify_endpoint))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("get", "/v1/admin/audit/verify", Access::Key(ReadAuditLog::ANY_OF)),
    ("get", "/v1/admin/audit", Access::Key(ReadAuditLog::ANY_OF)),
];

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

/// Records what a member of staff did, with the purpose they stated (S2: every staff action on
/// personal data is logged).
pub async fn staff_action<P>(st: &AppState, staff: &Staff<P>, action: &str, target: &str) -> Result<(), AppError> {
    record(&st.db, &staff.caller, &staff.purpose, action, target, st.clock.now_ms()).await.map(drop)
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
    let (checked, newest) = db.audit_extent().await?;
    let Some(newest) = newest else { return Ok((0, 0)) };
    let (mut due, mut deleted, mut after) = (0u64, 0u64, -1i64);
    loop {
        let mut log: Vec<(u64, time::OffsetDateTime)> =
            db.audit_times(after, newest, window).await?.into_iter().map(|(seq, at)| (seq.max(0) as u64, instant(at.max(0) as u64))).collect();
        let window_full = log.len() as i64 == window;
        let window_end = log.last().map(|(seq, _)| *seq);
        // The newest entry closes every window: the rule never deletes it.
        log.push((newest.max(0) as u64, instant(now_ms)));
        let Some(through) = policy.audit_log_prune_through(&log, instant(now_ms)) else { break };
        due += log.iter().take_while(|(seq, _)| *seq <= through).count() as u64;
        if !dry_run {
            match db.prune_audit_through(through, now_ms).await? {
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

/// Whether the audit chain is intact, and if not its first tampered entry (auditor).
#[utoipa::path(get, path = "/v1/admin/audit/verify", tag = "admin",
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Verification result", body = wire::AuditVerifyResult),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_endpoint(State(st): State<Arc<AppState>>, _auditor: Key<ReadAuditLog>) -> Result<Json<wire::AuditVerifyResult>, AppError> {
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
pub async fn list_endpoint(State(st): State<Arc<AppState>>, _auditor: Key<ReadAuditLog>) -> Result<Json<Vec<wire::AuditEntryInfo>>, AppError> {
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
