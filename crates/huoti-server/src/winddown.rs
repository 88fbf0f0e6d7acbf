//! Wind-down (S6): when the service shuts down, collection stops (new sessions are refused
//! with `service_wound_down`), every person with data still held is told, frames kept for
//! training are deleted at the next retention run, and the remaining verdicts are anonymised
//! when their legal minimum ends (the retention job does it; the report gives the date by
//! which the last one will be).

use huoti_api::ErrorCode;
use serde::Serialize;

use crate::api::{AppState, rfc3339};
use crate::error::AppError;
use crate::store::Db;

const KEY: &str = "wind_down";

/// Whether the service is winding down.
pub async fn is_wound_down(db: &Db) -> Result<bool, sqlx::Error> {
    let v: Option<String> = sqlx::query_scalar("SELECT value FROM service_state WHERE name = $1").bind(KEY).fetch_optional(&db.pool).await?;
    Ok(v.is_some())
}

/// Refuses new collection once the service winds down.
pub async fn refuse_if_wound_down(db: &Db) -> Result<(), AppError> {
    if is_wound_down(db).await? {
        return Err(AppError::new(ErrorCode::ServiceWoundDown, "the service is shutting down and collects no more data (S6)"));
    }
    Ok(())
}

/// What the wind-down did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindDownReport {
    /// When collection stopped, RFC 3339.
    pub stopped_at: String,
    /// Whether this call stopped it (false: it was already stopped).
    pub newly_stopped: bool,
    /// Notices queued: one per subject with data still held, and a public notice.
    pub notices_queued: u64,
    /// Sessions whose kept frames the next retention run deletes (nothing is kept for
    /// training once collection stops).
    pub training_frames_released: u64,
    /// The last verdict still held is anonymised by then (end of its legal minimum).
    pub anonymised_by: Option<String>,
}

/// Stops collection, queues the notices, and schedules the deletion and anonymisation.
pub async fn wind_down(st: &AppState, message: &str) -> Result<WindDownReport, AppError> {
    let now = st.clock.now_ms();
    let inserted = sqlx::query("INSERT INTO service_state (name, value, at_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(KEY)
        .bind(message)
        .bind(now as i64)
        .execute(&st.db.pool)
        .await?
        .rows_affected()
        == 1;
    let stopped_at: i64 = sqlx::query_scalar("SELECT at_ms FROM service_state WHERE name = $1").bind(KEY).fetch_one(&st.db.pool).await?;
    let mut report = WindDownReport {
        stopped_at: rfc3339(stopped_at.max(0) as u64),
        newly_stopped: inserted,
        notices_queued: 0,
        training_frames_released: 0,
        anonymised_by: None,
    };
    if !inserted {
        return Ok(report);
    }
    let body = serde_json::json!({
        "what_happened": message,
        "what_we_did": "Collection stopped; no new liveness session starts.",
        "your_data": "Face images are deleted; verdict records are kept only for the legal minimum, without commercial use, then anonymised.",
        "channels": ["push", "email", "sms"],
    });
    let subjects: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions ORDER BY id").fetch_all(&st.db.pool).await?;
    for s in &subjects {
        crate::incidents::queue(st, None, "wind_down", s, &body, now).await?;
    }
    crate::incidents::queue(st, None, "wind_down", "public", &body, now).await?;
    report.notices_queued = subjects.len() as u64 + 1;
    report.training_frames_released = sqlx::query("UPDATE sessions SET retention_next_ms = $1 WHERE id IN (SELECT DISTINCT session_id FROM frames)")
        .bind(now as i64)
        .execute(&st.db.pool)
        .await?
        .rows_affected();
    let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(COALESCE(completed_at_ms, created_at_ms)) FROM sessions").fetch_one(&st.db.pool).await?;
    let minimum_ms = st.config.retention.verdict_minimum_days * 86_400_000;
    report.anonymised_by = latest.map(|l| rfc3339(l.max(0) as u64 + minimum_ms));
    tracing::info!(notices = report.notices_queued, "wind-down: collection stopped");
    Ok(report)
}
