//! Keeping R5/R9 deadlines true to the installed working-day calendar (issue 18).
//!
//! A request whose deadline reaches a year the calendar does not cover is accepted with a
//! provisional due date (see [`huoti_privacy::rights::deadline`]). This job, run at start and
//! every `rights.calendar_check_s`:
//! 1. checks `rights.calendar_file` and installs it when it changed and parses (a bad file is
//!    refused, logged once, counted in `/metrics`; the calendar in use stays);
//! 2. at start and after each install, counts every open provisional request again: with the
//!    next year's notice installed its date becomes official;
//! 3. from 1 November of the last covered year, logs a warning once a day (and `/readyz` and
//!    `/metrics` say so) that the calendar ends soon.

use time::Date;

use huoti_privacy::calendar::local_date;
use huoti_privacy::rights as rules;

use super::requests::rule_kind;
use crate::calendar::Reload;
use crate::metrics;
use crate::state::AppState;
use crate::util::{format_day, instant};

/// What the job remembers between runs.
#[derive(Debug)]
pub struct CalendarJob {
    recount_pending: bool,
    warned_on: Option<Date>,
}

impl Default for CalendarJob {
    /// A new job counts provisional requests again on its first run (the file may have been
    /// installed while the server was stopped).
    fn default() -> Self {
        CalendarJob { recount_pending: true, warned_on: None }
    }
}

impl CalendarJob {
    /// One run; returns what the file check found.
    pub async fn run(&mut self, st: &AppState) -> Reload {
        let reload = st.calendar.reload_if_changed();
        match &reload {
            Reload::Unchanged => {}
            Reload::Installed(years) => {
                tracing::info!(?years, "working-day calendar installed");
                self.recount_pending = true;
            }
            Reload::Refused(reason) => {
                tracing::warn!(%reason, "calendar file refused; the calendar in use stays");
                metrics::global().calendar_file_refused();
            }
        }
        if self.recount_pending {
            match recount_provisional(st).await {
                Ok(official) => {
                    self.recount_pending = false;
                    if official > 0 {
                        tracing::info!(official, "provisional due dates are official now");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "counting provisional due dates again failed; retried at the next check"),
            }
        }
        let today = local_date(instant(st.clock.now_ms()));
        let calendar = st.calendar.current();
        if calendar.ends_soon(today) && self.warned_on != Some(today) {
            self.warned_on = Some(today);
            tracing::warn!(
                covered_through = ?calendar.coverage_ends(),
                r5_provisional_from = ?calendar.provisional_from(15),
                "the working-day calendar ends soon: install the State Council's holiday notice for the next year \
                 as [rights] calendar_file (check it first: huoti admin calendar check FILE); until then R5/R9 \
                 deadlines past the last covered year are provisional"
            );
        }
        reload
    }
}

/// Counts every open request with a provisional due date again under the calendar in use;
/// returns how many became official.
pub async fn recount_provisional(st: &AppState) -> Result<usize, sqlx::Error> {
    let calendar = st.calendar.current();
    let mut official = 0;
    for r in st.db.provisional_rights_requests().await? {
        let Some(kind) = rule_kind(&r.kind, r.field.as_deref(), r.verified_field) else { continue };
        let verified = r.identity_verified_at_ms.map(|t| instant(t.max(0) as u64));
        let Some(deadline) = rules::deadline(&kind, instant(r.received_at_ms.max(0) as u64), verified, &calendar) else { continue };
        let changed = st.db.recount_request_due(&r.id, &format_day(deadline.date()), deadline.is_provisional()).await?;
        if changed && !deadline.is_provisional() {
            official += 1;
            metrics::global().due_date_made_official();
        }
    }
    Ok(official)
}
