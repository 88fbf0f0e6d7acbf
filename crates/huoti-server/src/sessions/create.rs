//! `POST /v1/sessions`: a fresh session with a random challenge bound to a nonce, its client
//! token, its person (subject) and its biometric data key.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_liveness::{CaptureProfile, ChallengePlan, Thresholds};
use rand_core::OsRng;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::lock_remaining_s;
use crate::error::AppError;
use crate::facematch;
use crate::http::auth::{Key, permits};
use crate::http::json_body;
use crate::metrics;
use crate::privacy::consent;
use crate::state::AppState;
use crate::store::{SessionRow, SessionState};
use crate::util::{random_b64, random_hex, rfc3339, sha256_hex};
use crate::winddown;

permits!(
    /// Who may create sessions: integrators.
    pub CreateSessions = [CreateSession]
);

/// Converts between huoti-liveness and huoti-api types, which share their JSON form.
pub(super) fn convert<A: Serialize, B: DeserializeOwned>(a: &A) -> Result<B, AppError> {
    serde_json::to_value(a).and_then(serde_json::from_value).map_err(|e| AppError::internal(format_args!("wire conversion: {e}")))
}

/// The abuse lock (5 failures in 3 minutes by default, whichever node saw them: the failures
/// are rows in the database): `too_many_failures` with `Retry-After` while the correlation id
/// is locked. Checked when a session is created, at every frame upload and at `complete`, so
/// sessions opened in advance cannot outlast the lock (issue 19, defect 5).
pub(super) async fn refuse_if_locked(st: &AppState, correlation_id: Option<&str>, now: u64) -> Result<(), AppError> {
    let Some(c) = correlation_id else { return Ok(()) };
    let window_s = st.config.abuse.window_s;
    let fails = st.db.failures_since(c, now.saturating_sub(window_s * 1000)).await?;
    match lock_remaining_s(&fails, now, st.config.abuse.max_failures, window_s) {
        Some(wait) => Err(AppError::new(ErrorCode::TooManyFailures, "too many failed sessions for this correlation id; try again later").retry_after(wait)),
        None => Ok(()),
    }
}

/// Create a liveness session.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions",
    request_body(content = wire::CreateSessionRequest, description = "Optional; `{}` is valid"),
    security(("integrator_key" = [])),
    responses(
        (status = 201, description = "Session created", body = wire::CreateSessionResponse),
        (status = 400, description = "invalid_request", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "test_mode_disabled, forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_challenge, light_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_failures", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "face_match_unavailable (face_match or enrol_reference asked of a server without the face-match model)", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_session(State(st): State<Arc<AppState>>, key: Key<CreateSessions>, body: Body) -> Result<Response, AppError> {
    create_for(&st, &key.key_id, body).await
}

/// A session for the integrator `integrator_id` (already authorised), from a request body:
/// refused once the service winds down (S6), before the body is read.
pub async fn create_for(st: &AppState, integrator_id: &str, body: Body) -> Result<Response, AppError> {
    winddown::refuse_if_wound_down(&st.db).await?;
    let req: wire::CreateSessionRequest = json_body(body).await?;
    let now = st.clock.now_ms();
    if req.subject_ref.as_deref().is_some_and(|r| !consent::valid_subject_ref(r)) {
        return Err(AppError::new(ErrorCode::InvalidRequest, "subject_ref: 1–128 characters of [A-Za-z0-9._:-]"));
    }
    if let Some(c) = &req.correlation_id {
        if c.is_empty() || c.len() > 128 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)) {
            return Err(AppError::new(ErrorCode::InvalidRequest, "correlation_id: 1–128 characters of [A-Za-z0-9._:-]"));
        }
    }
    refuse_if_locked(st, req.correlation_id.as_deref(), now).await?;
    facematch::session::check(st, req.subject_ref.is_some(), req.face_match, req.enrol_reference)?;
    let nonce = random_hex(16);
    let plan = plan_for(st, &req, nonce)?;
    let id = format!("s_{}", random_hex(16));
    let token = format!("ct_{}", random_b64(32));
    let ttl_ms = st.config.session.ttl_s * 1000;
    let row = SessionRow {
        id: id.clone(),
        integrator_id: integrator_id.to_owned(),
        token_hash: sha256_hex(&token),
        plan_json: serde_json::to_string(&plan).map_err(AppError::internal)?,
        fixed_challenge: req.fixed_challenge.is_some(),
        state: SessionState::Open,
        correlation_id: req.correlation_id.clone(),
        created_at_ms: now as i64,
        expires_at_ms: (now + ttl_ms) as i64,
        frame_count: 0,
        device_model: None,
        device_os_type: None,
        device_os_version: None,
        completed_at_ms: None,
        decision: None,
        verdict_json: None,
        result_jws: None,
    };
    st.db.insert_session(&row).await?;
    consent::attach_subject(st, &row.integrator_id, req.subject_ref.as_deref(), &id, now).await?;
    facematch::session::record(st, &id, req.face_match, req.enrol_reference).await?;
    st.vault.create_biometric_key(&st.db, &id, now).await.map_err(AppError::internal)?;
    metrics::global().session_created();
    let resp = wire::CreateSessionResponse {
        session_id: id,
        client_token: token,
        challenge: wire::Challenge {
            capture: Some(convert(&CaptureProfile::for_plan(&plan, &st.config.capture, &Thresholds::default()))?),
            ..convert(&plan)?
        },
        expires_at: rfc3339(now + ttl_ms),
        ttl_s: st.config.session.ttl_s,
        max_frames: st.config.session.max_frames,
        max_frame_bytes: st.config.session.max_frame_bytes,
    };
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// The session's challenge. The server decides the light profile: the person's reduced-flash
/// choice (or the operator's) selects the photosensitivity-safe profile, for a random plan and
/// for a test-mode fixed one alike, and never removes the light step. A plan without a light
/// step is refused outside test mode (`light_required`), whatever asked for it.
fn plan_for(st: &AppState, req: &wire::CreateSessionRequest, nonce: String) -> Result<ChallengePlan, AppError> {
    let mut cfg = st.config.challenge.clone();
    cfg.reduced_flash |= req.reduced_flash;
    let plan = match &req.fixed_challenge {
        Some(fixed) => {
            if !st.config.test_mode {
                // The more specific refusal first: no server outside test mode runs a session
                // without the light check, fixed or not.
                if fixed.flashes.is_empty() {
                    return Err(light_required());
                }
                return Err(AppError::new(ErrorCode::TestModeDisabled, "explicit challenges are accepted only by a server started in test mode"));
            }
            let plan = ChallengePlan::fixed(nonce, convert(&fixed.actions)?, convert(&fixed.flashes)?)
                .map_err(|e| AppError::new(ErrorCode::InvalidChallenge, e.to_string()))?;
            if cfg.reduced_flash { plan.with_safe_light(&cfg.safe_flash, &mut OsRng).map_err(AppError::internal)? } else { plan }
        }
        None => ChallengePlan::random(&cfg, nonce, &mut OsRng).map_err(AppError::internal)?,
    };
    plan.check_for_session(st.config.test_mode).map_err(|e| match e {
        huoti_liveness::Error::NoLightStep => light_required(),
        e => AppError::internal(e),
    })?;
    Ok(plan)
}

fn light_required() -> AppError {
    AppError::new(ErrorCode::LightRequired, "outside test mode every challenge has a light step (colours on the screen); send flashes or leave out fixed_challenge")
}
