//! Errors: [`AppError`] is what handlers return (an RFC 9457 problem with a stable code);
//! [`ServerError`] is what start-up returns.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use huoti_api::{ErrorCode, PROBLEM_CONTENT_TYPE, Problem};

use crate::metrics;

/// Start-up and background failures (not HTTP answers).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// Models missing or unreadable.
    #[error("models: {0}")]
    Models(String),
    /// Database.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// TLS certificate or key.
    #[error("tls: {0}")]
    Tls(String),
    /// Keys (signing key, key-encryption key).
    #[error("keys: {0}")]
    Keys(String),
    /// File system.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

impl ServerError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
        let context = context.into();
        move |source| ServerError::Io { context, source }
    }
}

/// An API error: a stable code, a detail sentence for developers, and for rate limits the
/// seconds to wait. Renders as `application/problem+json`.
///
/// The detail never carries tokens, keys or personal data; internal causes are logged (without
/// personal data) and answered as a bare `internal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// The stable code.
    pub code: ErrorCode,
    /// A sentence for the developer.
    pub detail: String,
    /// `Retry-After`, seconds.
    pub retry_after_s: Option<u64>,
}

impl AppError {
    /// An error with a detail sentence.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> AppError {
        AppError { code, detail: detail.into(), retry_after_s: None }
    }

    /// Adds `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> AppError {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    /// An internal fault: logs `cause` (which must not contain personal data) and answers
    /// `internal` without it.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "internal error");
        AppError::new(ErrorCode::Internal, "internal error; see the server log")
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl From<huoti_vision::VisionError> for AppError {
    fn from(e: huoti_vision::VisionError) -> AppError {
        AppError::internal(format_args!("vision: {e}"))
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> AppError {
        AppError::internal(format_args!("database: {e}"))
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
        res
    }
}
