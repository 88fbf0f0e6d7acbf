//! The server's background loops: the janitor (expired sessions, old failures and frame
//! hashes, every 15 s), the retention job (S1, S5, L2; every `retention.interval_s`, safe on
//! several nodes because rows are claimed) and the working-day calendar check (R5, R9).

use std::sync::Arc;
use std::time::Duration;

use crate::privacy::rights::calendar::CalendarJob;
use crate::retention;
use crate::sessions::lifecycle::janitor_pass;
use crate::state::AppState;

/// How often the janitor runs.
const JANITOR_EVERY: Duration = Duration::from_secs(15);

/// Starts the janitor and, unless `retention.interval_s` is 0, the retention job.
pub fn spawn(state: &Arc<AppState>) {
    let janitor = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(JANITOR_EVERY);
        loop {
            tick.tick().await;
            janitor_pass(&janitor).await;
        }
    });
    // Issue 18: the working-day calendar file (install, recount provisional due dates, warn
    // when it ends soon) — at start, then every `rights.calendar_check_s` (0: at start only).
    let calendar = state.clone();
    tokio::spawn(async move {
        let mut job = CalendarJob::default();
        let every = calendar.config.rights.calendar_check_s;
        loop {
            job.run(&calendar).await;
            if every == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    });
    let interval_s = state.config.retention.interval_s;
    if interval_s > 0 {
        let job = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(interval_s));
            loop {
                tick.tick().await;
                match retention::run(&job, false).await {
                    Ok(r) => tracing::info!(sessions = r.processed.len(), failed = r.failed, "retention run"),
                    Err(e) => tracing::warn!(error = %e, "retention run failed"),
                }
            }
        });
    }
}
