//! Prometheus text exposition, hand-written: a few counters and one histogram.
//!
//! Labels are closed sets chosen by the server (error codes, decisions): never a session id,
//! a token, a correlation id or anything about a person.

use std::fmt::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use huoti_api::{Decision, ErrorCode};

/// Upper bounds (seconds) of the analysis-duration histogram.
const BUCKETS: [f64; 8] = [0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0];

/// The server's counters.
#[derive(Debug)]
pub struct Metrics {
    sessions_created: AtomicU64,
    frames_received: AtomicU64,
    frame_bytes: AtomicU64,
    verdicts: [AtomicU64; 3],
    errors: Vec<AtomicU64>,
    analysis_buckets: [AtomicU64; BUCKETS.len()],
    analysis_count: AtomicU64,
    analysis_micros: AtomicU64,
    /// Analyses by path: 0 measured on arrival, 1 re-analysed at complete (fallback).
    analysis_paths: [AtomicU64; 2],
    /// Blob-store requests by operation ([`BLOB_OPS`]) and outcome (ok, error).
    blob_requests: [[AtomicU64; 2]; BLOB_OPS.len()],
    /// Microseconds spent in blob-store requests, by operation.
    blob_micros: [AtomicU64; BLOB_OPS.len()],
    /// Blob deletions that failed (each is retried by the job).
    blob_deletions_failed: AtomicU64,
    /// Blob deletions still to do, as the last janitor pass counted them.
    blob_deletions_pending: AtomicU64,
    /// Replayed sessions caught by the cross-session check (frames seen in another session).
    replays_caught: AtomicU64,
    /// Rights requests accepted with a provisional due date (R5, R9; issue 18).
    provisional_due_dates: AtomicU64,
    /// Provisional due dates made official by a newly installed calendar.
    due_dates_made_official: AtomicU64,
    /// Calendar files refused (unreadable or malformed; the calendar in use stayed).
    calendar_files_refused: AtomicU64,
}

/// Blob-store operations, as labelled in `/metrics`.
const BLOB_OPS: [&str; 3] = ["put", "get", "delete"];

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| Metrics {
        sessions_created: AtomicU64::new(0),
        frames_received: AtomicU64::new(0),
        frame_bytes: AtomicU64::new(0),
        verdicts: Default::default(),
        errors: ErrorCode::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
        analysis_buckets: Default::default(),
        analysis_count: AtomicU64::new(0),
        analysis_micros: AtomicU64::new(0),
        analysis_paths: Default::default(),
        blob_requests: Default::default(),
        blob_micros: Default::default(),
        blob_deletions_failed: AtomicU64::new(0),
        blob_deletions_pending: AtomicU64::new(0),
        replays_caught: AtomicU64::new(0),
        provisional_due_dates: AtomicU64::new(0),
        due_dates_made_official: AtomicU64::new(0),
        calendar_files_refused: AtomicU64::new(0),
    })
}

fn decision_index(d: Decision) -> usize {
    match d {
        Decision::Live => 0,
        Decision::Spoof => 1,
        Decision::Uncertain => 2,
    }
}

impl Metrics {
    pub(crate) fn session_created(&self) {
        self.sessions_created.fetch_add(1, Relaxed);
    }
    pub(crate) fn frame(&self, bytes: u64) {
        self.frames_received.fetch_add(1, Relaxed);
        self.frame_bytes.fetch_add(bytes, Relaxed);
    }
    pub(crate) fn verdict(&self, d: Decision, seconds: f64) {
        self.verdicts[decision_index(d)].fetch_add(1, Relaxed);
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.analysis_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.analysis_count.fetch_add(1, Relaxed);
        self.analysis_micros.fetch_add((seconds * 1e6) as u64, Relaxed);
    }
    pub(crate) fn analysis_path(&self, on_arrival: bool) {
        self.analysis_paths[usize::from(!on_arrival)].fetch_add(1, Relaxed);
    }
    pub(crate) fn blob_request(&self, op: &str, ok: bool, seconds: f64) {
        if let Some(i) = BLOB_OPS.iter().position(|o| *o == op) {
            self.blob_requests[i][usize::from(!ok)].fetch_add(1, Relaxed);
            self.blob_micros[i].fetch_add((seconds * 1e6) as u64, Relaxed);
        }
    }
    pub(crate) fn blob_deletion_failed(&self) {
        self.blob_deletions_failed.fetch_add(1, Relaxed);
    }
    pub(crate) fn blob_deletions_pending(&self, n: u64) {
        self.blob_deletions_pending.store(n, Relaxed);
    }
    pub(crate) fn replay_caught(&self) {
        self.replays_caught.fetch_add(1, Relaxed);
    }
    pub(crate) fn provisional_due_date(&self) {
        self.provisional_due_dates.fetch_add(1, Relaxed);
    }
    pub(crate) fn due_date_made_official(&self) {
        self.due_dates_made_official.fetch_add(1, Relaxed);
    }
    pub(crate) fn calendar_file_refused(&self) {
        self.calendar_files_refused.fetch_add(1, Relaxed);
    }
    pub(crate) fn error(&self, code: ErrorCode) {
        if let Some(i) = ErrorCode::ALL.iter().position(|c| *c == code) {
            self.errors[i].fetch_add(1, Relaxed);
        }
    }

    /// The text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP huoti_sessions_created_total Sessions created.");
        let _ = writeln!(s, "# TYPE huoti_sessions_created_total counter");
        let _ = writeln!(s, "huoti_sessions_created_total {}", self.sessions_created.load(Relaxed));
        let _ = writeln!(s, "# HELP huoti_frames_received_total Frames accepted.");
        let _ = writeln!(s, "# TYPE huoti_frames_received_total counter");
        let _ = writeln!(s, "huoti_frames_received_total {}", self.frames_received.load(Relaxed));
        let _ = writeln!(s, "# HELP huoti_frame_bytes_total Bytes of accepted frames.");
        let _ = writeln!(s, "# TYPE huoti_frame_bytes_total counter");
        let _ = writeln!(s, "huoti_frame_bytes_total {}", self.frame_bytes.load(Relaxed));
        let _ = writeln!(s, "# HELP huoti_verdicts_total Verdicts by decision.");
        let _ = writeln!(s, "# TYPE huoti_verdicts_total counter");
        for (d, name) in [(Decision::Live, "live"), (Decision::Spoof, "spoof"), (Decision::Uncertain, "uncertain")] {
            let _ = writeln!(s, "huoti_verdicts_total{{decision=\"{name}\"}} {}", self.verdicts[decision_index(d)].load(Relaxed));
        }
        let _ = writeln!(s, "# HELP huoti_errors_total Error responses by stable code.");
        let _ = writeln!(s, "# TYPE huoti_errors_total counter");
        for (c, n) in ErrorCode::ALL.iter().zip(&self.errors) {
            let _ = writeln!(s, "huoti_errors_total{{code=\"{}\"}} {}", c.as_str(), n.load(Relaxed));
        }
        let _ = writeln!(s, "# HELP huoti_analysis_seconds Time from complete to verdict.");
        let _ = writeln!(s, "# TYPE huoti_analysis_seconds histogram");
        for (b, n) in BUCKETS.iter().zip(&self.analysis_buckets) {
            let _ = writeln!(s, "huoti_analysis_seconds_bucket{{le=\"{b}\"}} {}", n.load(Relaxed));
        }
        let count = self.analysis_count.load(Relaxed);
        let _ = writeln!(s, "huoti_analysis_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(s, "huoti_analysis_seconds_sum {}", self.analysis_micros.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(s, "huoti_analysis_seconds_count {count}");
        let _ = writeln!(s, "# HELP huoti_analyses_total Analyses by path: frames measured on arrival, or all re-measured at complete (out-of-order upload, restart, another node).");
        let _ = writeln!(s, "# TYPE huoti_analyses_total counter");
        for (i, path) in ["on_arrival", "at_complete"].iter().enumerate() {
            let _ = writeln!(s, "huoti_analyses_total{{path=\"{path}\"}} {}", self.analysis_paths[i].load(Relaxed));
        }
        let _ = writeln!(s, "# HELP huoti_blob_requests_total Blob-store requests by operation and outcome (the S3 bucket or the directory).");
        let _ = writeln!(s, "# TYPE huoti_blob_requests_total counter");
        for (op, n) in BLOB_OPS.iter().zip(&self.blob_requests) {
            for (outcome, m) in ["ok", "error"].iter().zip(n) {
                let _ = writeln!(s, "huoti_blob_requests_total{{op=\"{op}\",outcome=\"{outcome}\"}} {}", m.load(Relaxed));
            }
        }
        let _ = writeln!(s, "# HELP huoti_blob_request_seconds_total Time spent in blob-store requests, by operation.");
        let _ = writeln!(s, "# TYPE huoti_blob_request_seconds_total counter");
        for (op, m) in BLOB_OPS.iter().zip(&self.blob_micros) {
            let _ = writeln!(s, "huoti_blob_request_seconds_total{{op=\"{op}\"}} {}", m.load(Relaxed) as f64 / 1e6);
        }
        let _ = writeln!(s, "# HELP huoti_blob_deletions_failed_total Blob deletions that failed after their key was shredded (each is retried).");
        let _ = writeln!(s, "# TYPE huoti_blob_deletions_failed_total counter");
        let _ = writeln!(s, "huoti_blob_deletions_failed_total {}", self.blob_deletions_failed.load(Relaxed));
        let _ = writeln!(s, "# HELP huoti_blob_deletions_pending Blob deletions still to do, at the last janitor pass.");
        let _ = writeln!(s, "# TYPE huoti_blob_deletions_pending gauge");
        let _ = writeln!(s, "huoti_blob_deletions_pending {}", self.blob_deletions_pending.load(Relaxed));
        let _ = writeln!(s, "# HELP huoti_replays_caught_total Sessions whose frames were seen in another session (any node).");
        let _ = writeln!(s, "# TYPE huoti_replays_caught_total counter");
        let _ = writeln!(s, "huoti_replays_caught_total {}", self.replays_caught.load(Relaxed));
        for (name, help, n) in [
            ("huoti_rights_requests_provisional_total", "Rights requests accepted with a provisional due date (the calendar lacked the year; R5, R9).", &self.provisional_due_dates),
            ("huoti_rights_due_dates_made_official_total", "Provisional due dates counted again to the official date after a calendar was installed.", &self.due_dates_made_official),
            ("huoti_calendar_files_refused_total", "Calendar files refused (unreadable or malformed); the calendar in use stayed.", &self.calendar_files_refused),
        ] {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", n.load(Relaxed));
        }
        s
    }
}

/// Gauges of one server's own state, kept per [`AppState`](crate::state::AppState) (tests run
/// several in one process) and refreshed by the background jobs: a scrape reads numbers, it
/// never scans a table.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Rights requests and complaints past their due date (R5, R6, R9), as of the last
    /// janitor round.
    pub overdue_requests: AtomicU64,
}

impl Gauges {
    /// Their text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP huoti_privacy_requests_overdue Rights requests and complaints past their due date.");
        let _ = writeln!(s, "# TYPE huoti_privacy_requests_overdue gauge");
        let _ = writeln!(s, "huoti_privacy_requests_overdue {}", self.overdue_requests.load(Relaxed));
        s
    }
}
