//! `huoti admin wind-down --message TEXT` (S6).

use clap::Args;

use super::{StoreArgs, print};

#[derive(Debug, Args)]
pub struct WindDownArgs {
    /// What people are told (why the service stops, when).
    #[arg(long)]
    message: String,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(a: WindDownArgs) -> Result<(), String> {
    let WindDownArgs { message, store } = a;
    let r = store.with_state(async |st| huoti_server::winddown::wind_down(&st, &message).await.map_err(|e| e.to_string()))?;
    print(store.json, &r, |r| {
        format!(
            "collection stopped at {}{}; {} notices queued; {} sessions' training frames released; verdicts anonymised by {}",
            r.stopped_at,
            if r.newly_stopped { "" } else { " (already)" },
            r.notices_queued,
            r.training_frames_released,
            r.anonymised_by.as_deref().unwrap_or("-")
        )
    });
    Ok(())
}
