//! Wind-down (S6): when the service shuts down, collection stops (new sessions are refused
//! with `service_wound_down`), every person with data still held is told, frames kept for
//! training are deleted at the next retention run, and the remaining verdicts are anonymised
//! when their legal minimum ends (the retention job does it; the report gives the date by
//! which the last one will be).

use huoti_api::ErrorCode;
use serde::Serialize;

use crate::error::{AppError, JobError};
use crate::incidents;
use crate::state::AppState;
use crate::store::Db;
use crate::util::rfc3339;

/// The `service_state` fact that records the wind-down (its value: the message people got).
const KEY: &str = "wind_down";

/// Whether the service is winding down.
pub async fn is_wound_down(db: &Db) -> Result<bool, sqlx::Error> {
    Ok(db.service_state(KEY).await?.is_some())
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
    /// Notices queued: one per session still held (each stands for its person), and a public
    /// notice.
    pub notices_queued: u64,
    /// Sessions whose kept frames the next retention run deletes (nothing is kept for
    /// training once collection stops).
    pub training_frames_released: u64,
    /// The last verdict still held is anonymised by then (end of its legal minimum).
    pub anonymised_by: Option<String>,
}

/// Stops collection, queues the notices, and schedules the deletion and anonymisation.
pub async fn wind_down(st: &AppState, message: &str) -> Result<WindDownReport, JobError> {
    let now = st.clock.now_ms();
    let inserted = st.db.set_service_state_once(KEY, message, now).await?;
    let stopped_at = st.db.service_state_since(KEY).await?;
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
    // Each session stands for its person here (the integrator maps it to its user).
    let sessions = st.db.all_session_ids().await?;
    for s in &sessions {
        incidents::queue(st, None, "wind_down", s, &body, now).await?;
    }
    incidents::queue(st, None, "wind_down", "public", &body, now).await?;
    report.notices_queued = sessions.len() as u64 + 1;
    report.training_frames_released = st.db.release_kept_frames(now).await?;
    let latest = st.db.latest_session_activity().await?;
    let minimum_ms = st.config.retention.verdict_minimum_days * 86_400_000;
    report.anonymised_by = latest.map(|l| rfc3339(l.max(0) as u64 + minimum_ms));
    tracing::info!(notices = report.notices_queued, "wind-down: collection stopped");
    Ok(report)
}
