//! Errors, one enum per audience. (Leaf module: it names no feature.)
//!
//! * [`AppError`]: what a handler answers — an RFC 9457 problem with a stable code. Turning it
//!   into a response neither logs nor reveals anything: an internal cause rides along in the
//!   response's extensions ([`InternalCause`]) and the application logs it in one place
//!   (`app.rs`), so a cause is logged once, without personal data, and never sent.
//! * [`ServerError`]: start-up (configuration, models, keys, TLS, database, files).
//! * [`JobError`]: a background or admin job (the retention run, a wind-down).
//!
//! `ServerError` and `JobError` keep the error that caused them as their `source()`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use huoti_api::{ErrorCode, PROBLEM_CONTENT_TYPE, Problem};

use crate::metrics;

/// Any error kept as the cause of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Start-up failures (not HTTP answers).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad configuration: the message names the key and what is wrong with it.
    #[error("configuration: {0}")]
    Config(String),
    /// The pinned models are missing or do not load.
    #[error("models: {0}")]
    Models(#[source] BoxError),
    /// The database cannot be reached or migrated.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The TLS certificate or key cannot be made or read.
    #[error("tls: {0}")]
    Tls(#[source] BoxError),
    /// The signing key or the key-encryption keys cannot be made or read.
    #[error("keys: {0}")]
    Keys(#[source] BoxError),
    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `creating /var/lib/huoti/blobs`.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl ServerError {
    /// A mapper for `map_err` that records what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
        let context = context.into();
        move |source| ServerError::Io { context, source }
    }
}

/// A background or admin job failed: the retention run (`huoti admin retention run`, or the
/// server's ticker) or a wind-down.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A step shared with the HTTP handlers failed (its internal cause, if any, is kept).
    #[error("{0}")]
    Step(#[from] AppError),
}

/// An API error: a stable code, a detail sentence for developers, and for rate limits the
/// seconds to wait. Renders as `application/problem+json`.
///
/// The detail never carries tokens, keys or personal data. An internal fault keeps its cause
/// (which must not contain personal data either) for the log, and answers a bare `internal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// The stable code.
    pub code: ErrorCode,
    /// A sentence for the developer.
    pub detail: String,
    /// `Retry-After`, seconds.
    pub retry_after_s: Option<u64>,
    /// What went wrong inside, for the log only (internal faults).
    cause: Option<String>,
}

/// The cause of an `internal` answer, attached to the response for the application's logging
/// layer (extensions are never sent).
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

impl AppError {
    /// An error with a detail sentence.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> AppError {
        AppError { code, detail: detail.into(), retry_after_s: None, cause: None }
    }

    /// Adds `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> AppError {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    /// An internal fault: answered as `internal` without its `cause` (which must not contain
    /// personal data), which is kept for the log.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        AppError { cause: Some(cause.to_string()), ..AppError::new(ErrorCode::Internal, "internal error; see the server log") }
    }

    /// The internal cause, if this is an internal fault.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)?;
        match &self.cause {
            Some(c) => write!(f, " ({c})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for AppError {}

impl From<huoti_vision::VisionError> for AppError {
    fn from(e: huoti_vision::VisionError) -> AppError {
        AppError::internal(format_args!("vision: {e}"))
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> AppError {
        if database_overloaded(&e) {
            // A flood, not a bug: the client may retry (503 with Retry-After, never a 500).
            return AppError::new(ErrorCode::ServerBusy, "the database is busy; retry shortly").retry_after(1);
        }
        AppError::internal(format_args!("database: {e}"))
    }
}

/// Whether `e` says the database is momentarily overloaded: no pooled connection came free in
/// time, or SQLite stayed locked past its busy timeout (issue 19: seen under 10 000 creates).
fn database_overloaded(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(d) => {
            let m = d.message();
            m.contains("database is locked") || m.contains("database table is locked") || m.contains("SQLITE_BUSY")
        }
        _ => false,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        metrics::global().error(self.code);
        let mut problem = Problem::new(self.code, self.detail);
        problem.retry_after_s = self.retry_after_s;
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if let Some(s) = self.retry_after_s {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(cause) = self.cause {
            res.extensions_mut().insert(InternalCause(cause));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s2_an_overloaded_database_is_503_server_busy_with_retry_after_not_500() {
        let res = AppError::from(sqlx::Error::PoolTimedOut).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
        let res = AppError::from(sqlx::Error::RowNotFound).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "other database errors stay internal");
    }
}
