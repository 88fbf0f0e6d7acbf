//! The server's background loops: housekeeping (the janitor — expired sessions, sessions whose
//! analysis lease ran out, old failures, link tokens and frame hashes — and the gauges of
//! `/metrics`, every 15 s or every analysis lease, whichever is shorter), the retention job
//! (S1, S5, L2; every `retention.interval_s`, safe on several nodes because rows are claimed)
//! and the working-day calendar check (R5, R9).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::privacy::rights;
use crate::privacy::rights::calendar::CalendarJob;
use crate::retention;
use crate::sessions::lifecycle::janitor_pass;
use crate::state::AppState;

/// How often housekeeping runs at most.
const JANITOR_EVERY: Duration = Duration::from_secs(15);

/// One round of housekeeping: the janitor, then the gauges.
pub async fn housekeeping(st: &AppState) {
    janitor_pass(st).await;
    // R5, R6, R9: requests past their due date, counted here rather than on every scrape.
    match rights::overdue_count(&st.db, st.clock.now_ms()).await {
        Ok(n) => st.gauges.overdue_requests.store(n, Relaxed),
        Err(e) => tracing::warn!(error = %e, "counting overdue requests failed"),
    }
}

/// Starts housekeeping and, unless `retention.interval_s` is 0, the retention job.
/// Housekeeping runs at least once per analysis lease, so a session whose node died is
/// finished within about two leases.
pub fn spawn(state: &Arc<AppState>) {
    let janitor = state.clone();
    let every = JANITOR_EVERY.min(Duration::from_secs(state.config.analysis.lease_s.max(1)));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            housekeeping(&janitor).await;
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
