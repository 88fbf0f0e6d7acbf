//! `huoti admin …`: privacy operations on a server's data directory and database (run where
//! the server runs, with the same configuration): retention, key rotation, incidents,
//! wind-down.

mod calendar;
mod incident;
mod kek;
mod retention;
mod winddown;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use huoti_server::{AppState, ServerConfig, ServerError, SystemClock};

use crate::exit::Exit;

/// Admin commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Retention (S1, S5, L2): delete or anonymise what is due.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// The key-encryption key (S2): rotate it, re-wrapping every data key.
    #[command(subcommand)]
    Kek(kek::KekCommand),
    /// Security incidents (S3): record, notify, report.
    #[command(subcommand)]
    Incident(incident::IncidentCommand),
    /// Stop collection for good (S6): refuse new sessions, queue the notices, schedule
    /// anonymisation.
    WindDown(winddown::WindDownArgs),
    /// The working-day calendar for R5/R9 deadlines: check a holiday file before installing it.
    #[command(subcommand)]
    Calendar(calendar::CalendarCommand),
}

/// Where the server's data is.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The server's TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The server's data directory [default: the configuration's, else
    /// ~/.local/share/huoti/server (or $XDG_DATA_HOME/huoti/server), as for `huoti serve`].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

impl StoreArgs {
    pub fn config(&self) -> Result<ServerConfig, ServerError> {
        let mut c = crate::places::server_config(self.config.as_deref())?;
        if let Some(d) = &self.data_dir {
            c.data_dir = d.clone();
        }
        c.validate()?;
        Ok(c)
    }

    /// Opens the server's state (no models) and runs `f` on it.
    pub fn with_state<T>(&self, f: impl AsyncFnOnce(Arc<AppState>) -> Result<T, String>) -> Result<T, String> {
        let config = self.config().map_err(|e| e.to_string())?;
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let state = huoti_server::build_state(config, Arc::new(SystemClock), None).await.map_err(|e| e.to_string())?;
            f(state).await
        })
    }
}

/// Prints `value` as JSON or with `human`.
pub fn print<T: serde::Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        println!("{}", human(value));
    }
}

pub fn run(cmd: AdminCommand) -> Exit {
    let r = match cmd {
        AdminCommand::Calendar(c) => {
            return match calendar::run(c) {
                Ok(()) => Exit::Ok,
                Err(calendar::CalendarFailure::Malformed(e)) => {
                    eprintln!("error: {e}");
                    Exit::BadInput
                }
                Err(calendar::CalendarFailure::Unreadable(e)) => {
                    eprintln!("error: {e}");
                    Exit::Setup
                }
            };
        }
        AdminCommand::Retention(c) => retention::run(c),
        AdminCommand::Kek(c) => kek::run(c),
        AdminCommand::Incident(c) => incident::run(c),
        AdminCommand::WindDown(a) => winddown::run(a),
    };
    match r {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Setup
        }
    }
}
