//! The SDK's one error type.

use std::time::Duration;

use huoti_api::ErrorCode;

/// Everything a capture session can end with, other than a verdict.
///
/// Every variant leaves the device in the same state: the frame source (camera) is closed
/// (policy C2) and no further frame is read or sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The person (or the host app on their behalf) refused the camera (policy P1).
    /// Returned before anything else happens: no source is opened, no network call is made,
    /// nothing is uploaded.
    #[error("camera permission refused: liveness detection cannot run (policy P1)")]
    CameraDenied,

    /// The person did not agree to the privacy policy in force (A1, L1). Returned before the
    /// source is opened: nothing captured, nothing uploaded, no consent recorded.
    #[error("the privacy policy was not accepted: liveness detection cannot run (policy A1, L1)")]
    ConsentDenied,

    /// The host cancelled the session through its [`CancelToken`](crate::CancelToken).
    #[error("the session was cancelled")]
    Cancelled,

    /// The frame source could not be opened or read (camera busy or missing, unreadable
    /// file, ffmpeg missing, …).
    #[error("frame source: {0}")]
    Source(#[from] crate::SourceError),

    /// The source delivered no frame at all before the capture ended.
    #[error("the frame source delivered no frames")]
    NoFrames,

    /// A frame could not be encoded as JPEG.
    #[error("JPEG encoding failed: {0}")]
    Encode(String),

    /// The server could not be reached, or kept failing, for the whole retry budget.
    #[error("network: {what} failed after {attempts} attempt(s) in {after:?}: {reason}")]
    Network {
        /// Time spent on this request, first attempt to giving up.
        after: Duration,
        /// Attempts made.
        attempts: u32,
        /// Which request (`frame 12`, `complete`).
        what: String,
        /// The last failure (transport error or server status), without tokens.
        reason: String,
    },

    /// The server refused a request with a problem that retrying cannot fix (expired or
    /// unknown session, wrong token, frame refused, …).
    #[error("server refused {what}: {status} {code}: {detail}")]
    Server {
        /// Which request.
        what: String,
        /// HTTP status.
        status: u16,
        /// The stable problem code, as sent (see [`huoti_api::ErrorCode`]).
        code: String,
        /// The problem's detail sentence.
        detail: String,
    },

    /// `complete` was sent but its answer was lost, and the server now says the session was
    /// already completed: the verdict exists, but only the integrator's backend can read it
    /// (`GET /v1/sessions/{id}/result`).
    #[error("the session was completed but its answer was lost; the integrator's backend can read the result")]
    ResultUnknown,

    /// The server answered something that is not the documented API.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),

    /// The configuration is unusable: bad URL, plain `http://` to a remote host, unreadable
    /// or invalid pinned certificate.
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    /// The stable problem code when the server refused the request, if it is one the SDK
    /// knows.
    pub fn server_code(&self) -> Option<ErrorCode> {
        match self {
            Error::Server { code, .. } => ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code),
            _ => None,
        }
    }
}
