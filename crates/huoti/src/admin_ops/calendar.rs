//! `huoti admin calendar check [FILE] [--json]`: which years a working-day calendar covers and
//! from which date R5/R9 deadlines become provisional (issue 18).

use std::path::PathBuf;

use clap::Subcommand;
use huoti_privacy::WorkCalendar;
use serde::Serialize;

use super::print;

/// R5: account closure within 15 working days; R9: complaints within 3.
const DEADLINES: [(&str, &str, u32); 2] = [("R5", "account closure", 15), ("R9", "complaint", 3)];

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Check a calendar file (TSV: `date<TAB>off|work<TAB>name`, see docs/API.md) before
    /// installing it as `[rights] calendar_file`, or the calendar built into this binary when
    /// no FILE is given. Prints the years covered and, per deadline, the first day on which a
    /// request gets a provisional due date (counted Monday–Friday) because its deadline falls
    /// in a year the file does not cover. A malformed file exits 1 naming the line.
    ///
    /// Without FILE: the server's `[rights] calendar_file` (from --config or
    /// HUOTI_RIGHTS_CALENDAR_FILE), else the built-in calendar.
    ///
    /// Example: huoti admin calendar check cn-holidays-2027.tsv
    Check {
        /// The calendar file [default: the configured one, else the built-in 2025–2026 calendar].
        file: Option<PathBuf>,
        /// The server's TOML configuration file, to check its `[rights] calendar_file`.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Serialize)]
struct Report {
    source: String,
    years: Vec<i32>,
    coverage_ends: Option<String>,
    provisional_from: Vec<ProvisionalFrom>,
}

#[derive(Debug, Serialize)]
struct ProvisionalFrom {
    clause: &'static str,
    request: &'static str,
    working_days: u32,
    received_from: Option<String>,
}

/// The `[rights] calendar_file` of the server's configuration (file, then environment).
fn configured_file(config: Option<&std::path::Path>) -> Result<Option<PathBuf>, String> {
    let mut c = match config {
        Some(p) => huoti_server::ServerConfig::from_file(p).map_err(|e| e.to_string())?,
        None => huoti_server::ServerConfig::default(),
    };
    c.apply_env(std::env::vars()).map_err(|e| e.to_string())?;
    Ok(c.rights.calendar_file)
}

/// Errors carry their own exit code: a bad file is bad input (1), an unreadable one setup (3).
pub enum CalendarFailure {
    Unreadable(String),
    Malformed(String),
}

pub fn run(cmd: CalendarCommand) -> Result<(), CalendarFailure> {
    let CalendarCommand::Check { file, config, json } = cmd;
    let file = match file {
        Some(f) => Some(f),
        None => configured_file(config.as_deref()).map_err(CalendarFailure::Unreadable)?,
    };
    let (source, calendar) = match &file {
        None => ("built-in".to_owned(), WorkCalendar::embedded_default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CalendarFailure::Unreadable(format!("reading {}: {e}", path.display())))?;
            let calendar = WorkCalendar::from_tsv(&text)
                .map_err(|e| CalendarFailure::Malformed(format!("{}: {e}", path.display())))?;
            (path.display().to_string(), calendar)
        }
    };
    let report = Report {
        source,
        years: calendar.years().collect(),
        coverage_ends: calendar.coverage_ends().map(|d| d.to_string()),
        provisional_from: DEADLINES
            .iter()
            .map(|&(clause, request, working_days)| ProvisionalFrom {
                clause,
                request,
                working_days,
                received_from: calendar.provisional_from(working_days).map(|d| d.to_string()),
            })
            .collect(),
    };
    print(json, &report, |r| {
        let years: Vec<String> = r.years.iter().map(i32::to_string).collect();
        let mut out = format!(
            "calendar {}: covers {} (through {})\n",
            r.source,
            years.join(", "),
            r.coverage_ends.as_deref().unwrap_or("-")
        );
        out.push_str("requests received from these dates get provisional due dates (Monday–Friday count):\n");
        for p in &r.provisional_from {
            out.push_str(&format!(
                "  {} {} ({} working days): {}\n",
                p.clause,
                p.request,
                p.working_days,
                p.received_from.as_deref().unwrap_or("-")
            ));
        }
        out.trim_end().to_owned()
    });
    Ok(())
}
