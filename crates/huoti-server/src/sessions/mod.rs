//! The liveness session flow (policy C3): the integrator's backend creates a session, the
//! capture client uploads frames and completes it, the backend fetches the signed verdict.
//!
//! * [`create`]: `POST /v1/sessions` — challenge, client token, subject, data key.
//! * [`frames`]: `POST /v1/sessions/{id}/frames` — limits, consent gate, sealing, and the
//!   measurement on arrival, and the prompt for the open action window (`hints`).
//! * [`complete`]: `POST /v1/sessions/{id}/complete` — what is left of the analysis, the
//!   verdict, the erasure of the frames (L2).
//! * [`lifecycle`]: `GET /v1/sessions/{id}/result`, expiry and the janitor.

pub mod complete;
pub mod create;
pub mod frames;
mod hints;
pub mod lifecycle;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

pub use create::CreateSessions;
pub use lifecycle::ReadOwnResults;

use crate::http::auth::{Access, Permits, Route};
use crate::state::AppState;

/// The routes of the session flow.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/sessions", post(create::create_session))
        .route("/v1/sessions/{id}/frames", post(frames::upload_frame))
        .route("/v1/sessions/{id}/complete", post(complete::complete))
        .route("/v1/sessions/{id}/result", get(lifecycle::result))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(create::create_session, frames::upload_frame, complete::complete, lifecycle::result))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("post", "/v1/sessions", Access::Key(CreateSessions::ANY_OF)),
    ("post", "/v1/sessions/{id}/frames", Access::ClientToken),
    ("post", "/v1/sessions/{id}/complete", Access::ClientToken),
    ("get", "/v1/sessions/{id}/result", Access::Key(ReadOwnResults::ANY_OF)),
];
