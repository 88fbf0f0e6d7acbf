//! `huoti admin incident record|show|dispatch` (S3).

use clap::Subcommand;
use huoti_api::ops::IncidentRequest;

use super::{StoreArgs, print};

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Record an incident and queue its notices (affected people, public notice when nobody
    /// can be reached individually, the regulator report).
    Record {
        /// What happened.
        #[arg(long)]
        summary: String,
        /// Its likely impact.
        #[arg(long)]
        impact: String,
        /// What was done.
        #[arg(long)]
        measures: String,
        /// What affected people can do.
        #[arg(long)]
        advice: String,
        /// The remedy.
        #[arg(long)]
        remedy: String,
        /// An affected subject (repeatable).
        #[arg(long = "subject", value_name = "ID")]
        subjects: Vec<String>,
        /// Sessions created from this time are affected (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// … until this time (RFC 3339, exclusive).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show an incident and its notice counts.
    Show {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Deliver every queued notice with the configured sender (file outbox or webhook).
    Dispatch {
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(cmd: IncidentCommand) -> Result<(), String> {
    match cmd {
        IncidentCommand::Record { summary, impact, measures, advice, remedy, subjects, from, to, store } => {
            let req = IncidentRequest { summary, impact, measures, advice, remedy, subjects, from, to };
            let inc = store.with_state(async |st| huoti_server::incidents::record(&st, &req).await.map_err(|e| e.to_string()))?;
            print(store.json, &inc, |i| format!("incident {}: {} affected, {} notices queued", i.id, i.affected_subjects, i.notices_queued));
        }
        IncidentCommand::Show { id, store } => {
            let inc = store.with_state(async |st| huoti_server::incidents::show_incident(&st, &id).await.map_err(|e| e.to_string()))?;
            print(store.json, &inc, |i| format!("incident {} ({}): {} affected, {}/{} notices sent", i.id, i.recorded_at, i.affected_subjects, i.notices_sent, i.notices_queued));
        }
        IncidentCommand::Dispatch { store } => {
            let r = store.with_state(async |st| huoti_server::incidents::dispatch_all(&st).await.map_err(|e| e.to_string()))?;
            print(store.json, &r, |r| format!("{} notices sent, {} failed (kept in the outbox)", r.sent, r.failed));
        }
    }
    Ok(())
}
