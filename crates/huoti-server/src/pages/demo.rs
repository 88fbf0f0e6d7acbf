//! `POST /demo/session` (dev mode only): the demo page's stand-in for an integrator's backend.
//! It creates a session the way `POST /v1/sessions` does, as the demo integrator, whose key
//! stays on the server; the page only ever sees the session id, client token and challenge.
//! `GET /demo/sessions/{id}/result` shows what the integrator's backend would receive (the
//! signed verdict), for demo sessions only.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use huoti_api::ErrorCode;
use serde::{Deserialize, Serialize};

use super::PagesState;
use crate::error::AppError;
use crate::http::auth::{Caller, Permits, authorize_key};
use crate::sessions::{CreateSessions, ReadOwnResults, create, lifecycle};

/// What the demo page may ask for; anything else an integrator could send is not forwarded.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DemoSessionRequest {
    /// The person asked for reduced flashing.
    #[serde(default)]
    reduced_flash: bool,
    /// A fixed challenge for a recorded clip; the API refuses it unless the server runs in
    /// test mode (`test_mode_disabled`; `light_required` without light steps). With
    /// `reduced_flash`, the server redraws its light steps in the safe profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed_challenge: Option<serde_json::Value>,
    /// The demo's stand-in for an account: a reference the page keeps in the browser (face match
    /// needs a person to enrol and compare; the API checks its form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject_ref: Option<String>,
    /// Enrol the person's reference from this check's best frame, if it is live (first check).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    enrol_reference: bool,
    /// Compare this check's face with the person's reference (a later check).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    face_match: bool,
}

/// `not_found`: the demo is off unless the server runs in dev mode.
pub(super) fn not_dev() -> Response {
    AppError::new(ErrorCode::NotFound, "the demo exists only on a server started with `huoti serve --dev`").into_response()
}

/// The demo integrator, authorised like any key for `P`.
async fn demo_integrator<P: Permits>(st: &PagesState, key: &str) -> Result<Caller, AppError> {
    authorize_key(&st.app, Some(key), P::ANY_OF).await
}

/// The signed verdict of a demo session, as the API gives it (`session_not_found` for any
/// session of another integrator).
#[utoipa::path(get, path = "/demo/sessions/{id}/result", tag = "web",
    params(("id" = String, Path, description = "A demo session's id")),
    responses(
        (status = 200, description = "Signed verdict", body = huoti_api::ResultResponse),
        (status = 404, description = "not_found (not in dev mode), session_not_found", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "result_not_ready", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn result(State(st): State<PagesState>, Path(id): Path<String>) -> Response {
    let Some(key) = st.demo_key.clone() else { return not_dev() };
    let demo = match demo_integrator::<ReadOwnResults>(&st, &key).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    lifecycle::result_for(&st.app, &demo.key_id, &id).await.map(Json).into_response()
}

/// Create a demo session (dev mode only): the body may ask for reduced flashing, in test mode a
/// fixed challenge, and face match (enrol on a first check, compare on a later one) for the
/// page's demo person.
#[utoipa::path(post, path = "/demo/session", tag = "web",
    request_body(content = String, content_type = "application/json", description = "`{\"reduced_flash\"?: bool, \"fixed_challenge\"?: FixedChallenge, \"subject_ref\"?: string, \"enrol_reference\"?: bool, \"face_match\"?: bool}`"),
    responses(
        (status = 201, description = "Session created (as POST /v1/sessions)", body = huoti_api::CreateSessionResponse),
        (status = 400, description = "invalid_request (not JSON, unknown field, a malformed subject_ref)", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "test_mode_disabled", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "light_required and the other refusals of POST /v1/sessions", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 503, description = "face_match_unavailable: face match asked of a server without its model", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found: not in dev mode", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create(State(st): State<PagesState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Some(key) = st.demo_key.clone() else { return not_dev() };
    // A JSON content type forces a CORS preflight, which this route never answers: another
    // site cannot make a visitor's browser create demo sessions.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return AppError::new(ErrorCode::InvalidRequest, "send `Content-Type: application/json`").into_response();
    }
    let req: DemoSessionRequest = if body.iter().all(u8::is_ascii_whitespace) {
        DemoSessionRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return AppError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {e}")).into_response(),
        }
    };
    let Ok(forward) = serde_json::to_vec(&req) else { return AppError::internal("demo request").into_response() };
    let demo = match demo_integrator::<CreateSessions>(&st, &key).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    match create::create_for(&st.app, &demo.key_id, Body::from(forward)).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}
