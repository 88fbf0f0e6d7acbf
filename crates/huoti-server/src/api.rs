//! HTTP handlers (thin: parse, authorise, call the store/vault/engine, answer) and the
//! OpenAPI document generated from them.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http_body_util::BodyExt;
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_liveness::{AnalysisContext, ChallengePlan, SeenFrames, analyse};
use huoti_vision::{DecodeLimits, decode_image};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use utoipa::OpenApi;

use crate::analysis::{Engine, FrameInput, LiveRun, LiveRuns};
use crate::blobs::FrameVault;
use crate::clock::{Clock, RateLimiter, lock_remaining_s};
use crate::config::ServerConfig;
use crate::error::AppError;
use crate::metrics;
use crate::privacy;
use crate::signing::Signer;
use crate::store::{Db, SessionRow, state};

/// Largest JSON request body.
const MAX_JSON_BYTES: usize = 64 * 1024;
/// Decoding limits for uploaded frames (a camera frame never needs more).
const FRAME_DECODE: DecodeLimits = DecodeLimits { max_pixels: 4_194_304, min_side: 64 };

/// Everything a handler may use.
pub struct AppState {
    /// Configuration.
    pub config: Arc<ServerConfig>,
    /// Database.
    pub db: Db,
    /// Sealed frame storage.
    pub vault: Arc<FrameVault>,
    /// Vision models (absent: `complete` answers `analysis_unavailable`).
    pub engine: Option<Arc<Engine>>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Verdict signing key.
    pub signer: Arc<Signer>,
    /// Per-session frame rate.
    pub rate: RateLimiter,
    /// Frame hashes of recent sessions (replay check), in memory, expired after
    /// `analysis.seen_ttl_s`.
    pub seen: Mutex<SeenFrames>,
    /// Bounds concurrent analyses to the number of cores.
    pub analysis_slots: Semaphore,
    /// Per open session, the frames measured so far (on arrival; see [`crate::analysis`]).
    pub live: LiveRuns,
}

type St = State<Arc<AppState>>;

/// The router: every route of the API.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/sessions", post(create_session))
        .route("/v1/sessions/{id}/frames", post(upload_frame))
        .route("/v1/sessions/{id}/complete", post(complete))
        .route("/v1/sessions/{id}/result", get(result))
        .route("/v1/sessions/{id}/consent", post(privacy::consent::record_consent))
        .route("/v1/policy", get(privacy::policy::get_policy))
        .route("/v1/policy/text", get(privacy::policy::get_policy_text))
        .route("/v1/subjects/{subject_ref}/consents/{scope}", delete(privacy::consent::withdraw_by_ref))
        .route("/v1/admin/policy-versions", post(privacy::policy::publish))
        .route("/v1/admin/audit", get(privacy::audit::list_endpoint))
        .route("/v1/admin/audit/verify", get(privacy::audit::verify_endpoint))
        .route("/v1/subjects/{subject_ref}/privacy-link", post(privacy::rights::privacy_link))
        .route("/v1/me", get(privacy::rights::me))
        .route("/v1/me/export", get(privacy::rights::me_export))
        .route("/v1/me/consents/{scope}", delete(privacy::rights::me_withdraw))
        .route("/v1/me/requests", post(privacy::rights::me_request))
        .route("/v1/admin/requests", get(privacy::rights::admin_list))
        .route("/v1/admin/requests/overdue", get(privacy::rights::admin_overdue))
        .route("/v1/admin/requests/{request_id}/verify-identity", post(privacy::rights::admin_verify_identity))
        .route("/v1/admin/requests/{request_id}/complete", post(privacy::rights::admin_complete))
        .route("/v1/admin/requests/{request_id}/refuse", post(privacy::rights::admin_refuse))
        .route("/v1/admin/samples", post(privacy::sampling::ask))
        .route("/v1/admin/samples/{sample_id}/approve", post(privacy::sampling::approve))
        .route("/v1/admin/samples/{sample_id}/export", get(privacy::sampling::export))
        .route("/v1/sessions/{id}/identity", axum::routing::put(crate::identity::put_identity))
        .route("/v1/disclosures", post(crate::disclosure::create).get(crate::disclosure::list))
        .route("/v1/admin/incidents", post(crate::incidents::create).get(crate::incidents::list))
        .route("/v1/admin/incidents/{id}", get(crate::incidents::show))
        .route("/v1/admin/incidents/{id}/dispatch", post(crate::incidents::dispatch))
        .route("/v1/keys", get(keys))
        .route("/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { AppError::new(ErrorCode::NotFound, "no such route") })
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Helpers

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub(crate) fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    B64.encode(b)
}

pub(crate) fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// RFC 3339 UTC for a Unix-ms time.
pub(crate) fn rfc3339(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Converts between huoti-liveness and huoti-api types, which share their JSON form.
fn convert<A: Serialize, B: DeserializeOwned>(a: &A) -> Result<B, AppError> {
    serde_json::to_value(a).and_then(serde_json::from_value).map_err(|e| AppError::internal(format_args!("wire conversion: {e}")))
}

pub(crate) async fn json_body<T: DeserializeOwned + Default>(body: Body) -> Result<T, AppError> {
    let bytes = read_limited(body, MAX_JSON_BYTES)
        .await
        .map_err(|too_large| if too_large { AppError::new(ErrorCode::RequestTooLarge, format!("JSON bodies are limited to {MAX_JSON_BYTES} bytes")) } else { AppError::new(ErrorCode::InvalidRequest, "the request body could not be read") })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| AppError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {e}")))
}

/// Reads a body, stopping as soon as it exceeds `limit` (`Err(true)`); `Err(false)` when the
/// client broke off.
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, bool> {
    let mut out: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(false) };
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > limit {
                // Read and discard a bounded remainder, so that a client that does not wait
                // for `100 Continue` still reads the 413 instead of a reset connection.
                drain(body, (limit as u64).saturating_mul(4)).await;
                return Err(true);
            }
            out.extend_from_slice(data);
        }
    }
    Ok(Bytes::from(out))
}

/// Reads and discards up to `cap` bytes of a body (never stores them), for at most 5 s.
async fn drain(mut body: Body, cap: u64) {
    let mut seen = 0u64;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen += data.len() as u64;
                if seen > cap {
                    break;
                }
            }
        }
    })
    .await;
}

/// Makes an integrator and returns its API key (`hk_<id>.<secret>`); only a hash is stored,
/// so the key can be shown once.
pub async fn create_integrator(db: &Db, name: &str, now_ms: u64) -> Result<String, sqlx::Error> {
    privacy::auth::create_key(db, name, huoti_privacy::Role::Integrator, now_ms).await
}

impl AppState {
    /// The integrator (key id) named by the `Authorization: Bearer hk_…` header, if its role
    /// has `needed` (401 `unauthorized`, 403 `forbidden`; see [`privacy::auth`]).
    pub(crate) async fn integrator(&self, headers: &HeaderMap, needed: huoti_privacy::Permission) -> Result<String, AppError> {
        Ok(self.authorize(headers, &[needed]).await?.key_id)
    }

    /// The session, if the `Authorization: Bearer <client token>` header is its token.
    pub(crate) async fn client_session(&self, id: &str, headers: &HeaderMap) -> Result<SessionRow, AppError> {
        let session = self.session(id).await?;
        let token = bearer(headers).unwrap_or("");
        if token.is_empty() || !ct_eq(&sha256_hex(token), &session.token_hash) {
            return Err(AppError::new(ErrorCode::InvalidClientToken, "this endpoint needs the session's client token"));
        }
        Ok(session)
    }

    pub(crate) async fn session(&self, id: &str) -> Result<SessionRow, AppError> {
        let not_found = || AppError::new(ErrorCode::SessionNotFound, "no such session");
        if id.len() > 64 {
            return Err(not_found());
        }
        self.db.session(id).await?.ok_or_else(not_found)
    }

    fn expired(&self, s: &SessionRow) -> AppError {
        AppError::new(ErrorCode::SessionExpired, format!("the session expired at {}", rfc3339(s.expires_at_ms.max(0) as u64)))
    }

    /// Deletes a session's frames and data key; failures are logged (the janitor retries).
    async fn erase(&self, id: &str) {
        if let Err(e) = self.vault.erase_subject(&self.db, id).await {
            tracing::error!(session = id, error = %e, "erasing frames failed");
        }
        self.rate.forget(id);
        self.live.take(id);
    }

    /// Background cleanup: expired sessions lose their frames, old failures and hashes go.
    pub async fn janitor_pass(&self) {
        let now = self.clock.now_ms();
        match self.db.expired_open_sessions(now).await {
            Ok(ids) => {
                for id in ids {
                    if self.db.set_state(&id, state::EXPIRED).await.is_ok() {
                        self.erase(&id).await;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "janitor: listing expired sessions failed"),
        }
        let window_ms = self.config.abuse.window_s * 1000;
        if let Err(e) = self.db.prune_failures(now.saturating_sub(window_ms)).await {
            tracing::warn!(error = %e, "janitor: pruning failures failed");
        }
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).expire(now, self.config.analysis.seen_ttl_s * 1000);
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// Create a liveness session.
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions",
    request_body(content = wire::CreateSessionRequest, description = "Optional; `{}` is valid"),
    security(("integrator_key" = [])),
    responses(
        (status = 201, description = "Session created", body = wire::CreateSessionResponse),
        (status = 400, description = "invalid_request", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "test_mode_disabled, forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_challenge", body = wire::Problem, content_type = "application/problem+json"),
        (status = 429, description = "too_many_failures", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_session(State(st): St, headers: HeaderMap, body: Body) -> Result<Response, AppError> {
    let integrator_id = st.integrator(&headers, huoti_privacy::Permission::CreateSession).await?;
    crate::winddown::refuse_if_wound_down(&st.db).await?;
    let req: wire::CreateSessionRequest = json_body(body).await?;
    let now = st.clock.now_ms();
    if req.subject_ref.as_deref().is_some_and(|r| !privacy::consent::valid_subject_ref(r)) {
        return Err(AppError::new(ErrorCode::InvalidRequest, "subject_ref: 1–128 characters of [A-Za-z0-9._:-]"));
    }
    if let Some(c) = &req.correlation_id {
        if c.is_empty() || c.len() > 128 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)) {
            return Err(AppError::new(ErrorCode::InvalidRequest, "correlation_id: 1–128 characters of [A-Za-z0-9._:-]"));
        }
        let window_s = st.config.abuse.window_s;
        let fails = st.db.failures_since(c, now.saturating_sub(window_s * 1000)).await?;
        if let Some(wait) = lock_remaining_s(&fails, now, st.config.abuse.max_failures, window_s) {
            return Err(AppError::new(ErrorCode::TooManyFailures, "too many failed sessions for this correlation id; try again later")
                .retry_after(wait));
        }
    }
    let nonce = random_hex(16);
    let plan = match &req.fixed_challenge {
        Some(fixed) => {
            if !st.config.test_mode {
                return Err(AppError::new(ErrorCode::TestModeDisabled, "explicit challenges are accepted only by a server started in test mode"));
            }
            ChallengePlan::fixed(nonce, convert(&fixed.actions)?, convert(&fixed.flashes)?)
                .map_err(|e| AppError::new(ErrorCode::InvalidChallenge, e.to_string()))?
        }
        None => {
            let mut cfg = st.config.challenge.clone();
            cfg.reduced_flash |= req.reduced_flash;
            ChallengePlan::random(&cfg, nonce, &mut OsRng).map_err(AppError::internal)?
        }
    };
    let id = format!("s_{}", random_hex(16));
    let token = format!("ct_{}", random_b64(32));
    let ttl_ms = st.config.session.ttl_s * 1000;
    let row = SessionRow {
        id: id.clone(),
        integrator_id,
        token_hash: sha256_hex(&token),
        plan_json: serde_json::to_string(&plan).map_err(AppError::internal)?,
        fixed_challenge: req.fixed_challenge.is_some(),
        state: state::OPEN.into(),
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
    privacy::consent::attach_subject(&st, &row.integrator_id, req.subject_ref.as_deref(), &id, now).await?;
    st.vault.create_subject_key(&st.db, &id, now).await.map_err(AppError::internal)?;
    metrics::global().session_created();
    let resp = wire::CreateSessionResponse {
        session_id: id,
        client_token: token,
        challenge: convert(&plan)?,
        expires_at: rfc3339(now + ttl_ms),
        ttl_s: st.config.session.ttl_s,
        max_frames: st.config.session.max_frames,
        max_frame_bytes: st.config.session.max_frame_bytes,
    };
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

fn device_header(headers: &HeaderMap, name: &str) -> Result<Option<String>, AppError> {
    let Some(v) = headers.get(name) else { return Ok(None) };
    let v = v.to_str().ok().filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| (0x20..0x7f).contains(&b)));
    match v {
        Some(v) => Ok(Some(v.to_owned())),
        None => Err(AppError::new(ErrorCode::InvalidRequest, format!("{name}: 1–64 printable ASCII characters"))),
    }
}

/// Upload one frame (JPEG body).
#[utoipa::path(post, path = "/v1/sessions/{id}/frames", tag = "sessions",
    params(
        ("id" = String, Path, description = "Session id"),
        wire::FrameParams,
        ("huoti-device-model" = Option<String>, Header, description = "Phone model, only if the person allowed device info (P2)"),
        ("huoti-os-type" = Option<String>, Header, description = "OS type (P2)"),
        ("huoti-os-version" = Option<String>, Header, description = "OS version (P2)"),
    ),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "One JPEG frame"),
    security(("client_token" = [])),
    responses(
        (status = 200, description = "Frame stored", body = wire::FrameAccepted),
        (status = 401, description = "invalid_client_token", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "session_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "frames_after_complete, duplicate_frame", body = wire::Problem, content_type = "application/problem+json"),
        (status = 410, description = "session_expired", body = wire::Problem, content_type = "application/problem+json"),
        (status = 413, description = "frame_too_large", body = wire::Problem, content_type = "application/problem+json"),
        (status = 415, description = "not_jpeg", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "consent_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_frame, too_many_frames, device_info_not_consented", body = wire::Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate_limited", body = wire::Problem, content_type = "application/problem+json"),
    ))]
async fn upload_frame(
    State(st): St,
    Path(id): Path<String>,
    query: Result<Query<wire::FrameParams>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::FrameAccepted>, AppError> {
    // A request refused before its body is read still has its body drained (bounded): closing
    // the connection under a client that is still sending turns a clear 401/409/415 into a
    // "broken pipe" on the client's side.
    let max = st.config.session.max_frame_bytes;
    let (now, params, device) = match frame_preflight(&st, &id, query, &headers).await {
        Ok(ok) => ok,
        Err(e) => {
            drain(body, max.saturating_mul(4)).await;
            return Err(e);
        }
    };
    let too_large = || AppError::new(ErrorCode::FrameTooLarge, format!("frames are limited to {max} bytes"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        drain(body, max.saturating_mul(4)).await;
        return Err(too_large());
    }
    let cfg = &st.config.session;
    if let Err(wait) = st.rate.take(&id, now, cfg.frame_rate_per_s, cfg.frame_burst) {
        drain(body, max.saturating_mul(4)).await;
        return Err(AppError::new(ErrorCode::RateLimited, format!("at most {} frames per second", cfg.frame_rate_per_s))
            .retry_after(wait));
    }
    let bytes = read_limited(body, max as usize).await.map_err(|over| {
        if over { too_large() } else { AppError::new(ErrorCode::InvalidRequest, "the frame body could not be read") }
    })?;
    upload_checked(&st, &id, now, params, device, cfg, bytes).await
}

type DeviceHeaders = (Option<String>, Option<String>, Option<String>);

/// Everything about a frame upload that can be judged before its body is read.
async fn frame_preflight(
    st: &AppState,
    id: &str,
    query: Result<Query<wire::FrameParams>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<(u64, wire::FrameParams, DeviceHeaders), AppError> {
    let session = st.client_session(id, headers).await?;
    let now = st.clock.now_ms();
    if session.state != state::OPEN && session.state != state::EXPIRED {
        return Err(AppError::new(ErrorCode::FramesAfterComplete, "the session was completed; it accepts no more frames"));
    }
    if session.state == state::EXPIRED || now >= session.expires_at_ms as u64 {
        return Err(st.expired(&session));
    }
    let Query(params) = query.map_err(|e| AppError::new(ErrorCode::InvalidRequest, format!("query: {}", e.body_text())))?;
    if params.nonce.is_empty() || params.nonce.len() > 64 {
        return Err(AppError::new(ErrorCode::InvalidRequest, "nonce: 1–64 characters"));
    }
    let device = (
        device_header(headers, wire::HEADER_DEVICE_MODEL)?,
        device_header(headers, wire::HEADER_OS_TYPE)?,
        device_header(headers, wire::HEADER_OS_VERSION)?,
    );
    let device_sent = device.0.is_some() || device.1.is_some() || device.2.is_some();
    privacy::consent::gate_frame(st, id, device_sent, now).await?;
    let jpeg_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(wire::FRAME_CONTENT_TYPE)));
    if !jpeg_type {
        return Err(AppError::new(ErrorCode::NotJpeg, "frames are sent as `Content-Type: image/jpeg`"));
    }
    Ok((now, params, device))
}

/// The rest of a frame upload, once its body is in hand.
async fn upload_checked(
    st: &AppState,
    id: &str,
    now: u64,
    params: wire::FrameParams,
    device: DeviceHeaders,
    cfg: &crate::config::SessionConfig,
    bytes: Bytes,
) -> Result<Json<wire::FrameAccepted>, AppError> {
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(AppError::new(ErrorCode::NotJpeg, "the body is not a JPEG"));
    }
    let check = bytes.clone();
    let image = tokio::task::spawn_blocking(move || decode_image(&check, &FRAME_DECODE))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::new(ErrorCode::InvalidFrame, format!("the JPEG cannot be used: {e}")))?;

    if let Some(answer) = repeated_upload(st, id, &params, bytes.len()).await? {
        return answer;
    }
    if !st.db.reserve_frame(&id, cfg.max_frames, now).await? {
        let s = st.session(&id).await?;
        return Err(if s.state != state::OPEN {
            AppError::new(ErrorCode::FramesAfterComplete, "the session was completed; it accepts no more frames")
        } else if now >= s.expires_at_ms as u64 {
            st.expired(&s)
        } else {
            AppError::new(ErrorCode::TooManyFrames, format!("a session holds at most {} frames", cfg.max_frames))
        });
    }
    let stored = store_frame(&st, &id, &params, bytes.clone(), now).await;
    match stored {
        Ok(true) => measure_on_arrival(st, id, &params, bytes, image).await,
        Ok(false) => {
            st.db.release_frame(&id).await?;
            // A retry that raced its own first attempt.
            return repeated_upload(st, id, &params, bytes.len()).await?.unwrap_or_else(|| Err(duplicate(params.seq)));
        }
        Err(e) => {
            st.db.release_frame(&id).await?;
            return Err(e);
        }
    }
    if device.0.is_some() || device.1.is_some() || device.2.is_some() {
        let info = wire::DeviceInfo { model: device.0, os_type: device.1, os_version: device.2 };
        crate::devices::record(st, id, &info, now).await?;
    }
    let frames_received = st.db.session(&id).await?.map_or(0, |s| s.frame_count.max(0) as u32);
    Ok(Json(wire::FrameAccepted { seq: params.seq, frames_received }))
}

fn duplicate(seq: u32) -> AppError {
    AppError::new(ErrorCode::DuplicateFrame, format!("a different frame {seq} was already received"))
}

/// A frame whose sequence number is taken: the same upload again (same time, nonce and
/// size — a client retrying after a lost answer) is answered as the first was, and stores
/// nothing; anything else is `duplicate_frame`. `None`: the number is free.
async fn repeated_upload(st: &AppState, id: &str, params: &wire::FrameParams, size: usize) -> Result<Option<Result<Json<wire::FrameAccepted>, AppError>>, AppError> {
    let Some((t_ms, nonce, stored_size)) = st.db.stored_frame(id, params.seq).await? else { return Ok(None) };
    if t_ms != params.t_ms as i64 || nonce != params.nonce || stored_size != size as i64 {
        return Ok(Some(Err(duplicate(params.seq))));
    }
    let frames_received = st.db.session(id).await?.map_or(0, |s| s.frame_count.max(0) as u32);
    Ok(Some(Ok(Json(wire::FrameAccepted { seq: params.seq, frames_received }))))
}

/// Steps the session's live run on the frame just stored (see [`crate::analysis`]). Never
/// fails the upload: the frame is stored, and a run that could not use it is marked broken,
/// so `complete` re-analyses the stored frames.
async fn measure_on_arrival(st: &AppState, id: &str, params: &wire::FrameParams, jpeg: Bytes, image: image::RgbImage) {
    let Some(engine) = st.engine.clone() else { return };
    let run = st.live.get_or_start(id, || engine.start());
    let Ok(_slot) = st.analysis_slots.acquire().await else { return };
    let (seq, t_ms, nonce) = (params.seq, params.t_ms, params.nonce.clone());
    let measured = tokio::task::spawn_blocking(move || {
        let mut run = run.lock().unwrap_or_else(|e| e.into_inner());
        engine.push(&mut run, seq, t_ms, &nonce, &jpeg, &image)
    })
    .await;
    match measured {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(session = id, error = %e, "measuring a frame on arrival failed; complete will re-analyse"),
        Err(e) => tracing::warn!(session = id, error = %e, "measuring a frame on arrival panicked; complete will re-analyse"),
    }
}

async fn store_frame(st: &AppState, id: &str, params: &wire::FrameParams, bytes: Bytes, now: u64) -> Result<bool, AppError> {
    let key = st.vault.subject_key(&st.db, id).await.map_err(AppError::internal)?;
    let (vault, subject, seq, len) = (st.vault.clone(), id.to_owned(), params.seq, bytes.len() as u64);
    let blob_key = tokio::task::spawn_blocking(move || vault.put_frame(&key, &subject, seq, &bytes))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let inserted = st.db.insert_frame(id, params.seq, params.t_ms, &params.nonce, &blob_key, len, now).await?;
    if inserted {
        metrics::global().frame(len);
    }
    Ok(inserted)
}

/// Finish capture: analyse and decide.
#[utoipa::path(post, path = "/v1/sessions/{id}/complete", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    request_body(content = wire::CompleteRequest, description = "Optional; empty or `{}`"),
    security(("client_token" = [])),
    responses(
        (status = 200, description = "Pass or fail (details only when configured)", body = wire::CompleteResponse),
        (status = 401, description = "invalid_client_token", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "session_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "session_reused", body = wire::Problem, content_type = "application/problem+json"),
        (status = 410, description = "session_expired", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "no_frames", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "analysis_unavailable", body = wire::Problem, content_type = "application/problem+json"),
    ))]
async fn complete(State(st): St, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<wire::CompleteResponse>, AppError> {
    let session = st.client_session(&id, &headers).await?;
    let now = st.clock.now_ms();
    let reused = || AppError::new(ErrorCode::SessionReused, "sessions are single use; this one was already completed");
    if session.state != state::OPEN && session.state != state::EXPIRED {
        return Err(reused());
    }
    if session.state == state::EXPIRED || now >= session.expires_at_ms as u64 {
        return Err(st.expired(&session));
    }
    let Some(engine) = st.engine.clone() else {
        return Err(AppError::new(ErrorCode::AnalysisUnavailable, "the server has no analysis engine loaded"));
    };
    if !st.db.claim_complete(&id, now).await? {
        let s = st.session(&id).await?;
        return Err(if s.state == state::OPEN { st.expired(&s) } else { reused() });
    }
    let frames = st.db.frames(&id).await?;
    if frames.is_empty() {
        st.db.set_state(&id, state::OPEN).await?;
        return Err(AppError::new(ErrorCode::NoFrames, "send frames before completing the session"));
    }
    let started = Instant::now();
    match decide(&st, &session, engine, frames, now).await {
        Ok(verdict) => {
            metrics::global().verdict(verdict.decision, started.elapsed().as_secs_f64());
            let passed = verdict.decision == wire::Decision::Live;
            let expose = st.config.expose_verdict_to_client;
            Ok(Json(wire::CompleteResponse {
                session_id: id,
                passed,
                decision: expose.then_some(verdict.decision),
                score: expose.then_some(verdict.score),
                reasons: expose.then_some(verdict.reasons),
            }))
        }
        Err(e) => {
            let _ = st.db.set_state(&id, state::FAILED).await;
            st.erase(&id).await;
            Err(e)
        }
    }
}

/// Analysis, verdict, signature, storage; then the frames and their key are erased (L2).
async fn decide(
    st: &Arc<AppState>,
    session: &SessionRow,
    engine: Arc<Engine>,
    frames: Vec<crate::store::FrameRow>,
    now: u64,
) -> Result<wire::SessionVerdict, AppError> {
    let id = session.id.clone();
    let key = st.vault.subject_key(&st.db, &id).await.map_err(AppError::internal)?;
    let plan: ChallengePlan = serde_json::from_str(&session.plan_json).map_err(AppError::internal)?;
    let passive_frames = st.config.analysis.passive_frames;
    let vault = st.vault.clone();
    let subject = id.clone();
    let seqs: Vec<u32> = frames.iter().map(|f| f.seq.clamp(0, i64::from(u32::MAX)) as u32).collect();
    let live: Option<LiveRun> =
        st.live.take(&id).and_then(|run| Some(std::sync::Arc::into_inner(run)?.into_inner().unwrap_or_else(|e| e.into_inner())));
    let _slot = st.analysis_slots.acquire().await.map_err(AppError::internal)?;
    let observations = tokio::task::spawn_blocking(move || {
        // Frames still waiting for a predecessor are measured now; then the run must have
        // seen exactly the stored frames, or everything is measured again.
        let live = live.and_then(|mut run| {
            let flushed = engine.flush(&mut run).is_ok();
            (flushed && run.matches(&seqs)).then_some(run)
        });
        metrics::global().analysis_path(live.is_some());
        if let Some(run) = live {
            // Measured on arrival: only the passive models remain, on the chosen frames.
            let limits = engine.decode_limits();
            let (mut observations, boxes) = run.into_parts();
            engine.score_passive(&mut observations, &boxes, passive_frames, |i| -> Result<_, AppError> {
                let jpeg = vault.get_frame(&key, &subject, &frames[i].blob_key).map_err(AppError::internal)?;
                Ok(decode_image(&jpeg, &limits)?)
            })?;
            return Ok((observations, engine));
        }
        let inputs = frames
            .iter()
            .map(|f| {
                Ok(FrameInput {
                    seq: f.seq.clamp(0, i64::from(u32::MAX)) as u32,
                    t_ms: f.t_ms.max(0) as u64,
                    nonce: f.nonce.clone(),
                    jpeg: vault.get_frame(&key, &subject, &f.blob_key).map_err(AppError::internal)?,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        engine.observe(&inputs, passive_frames).map_err(AppError::internal).map(|o| (o, engine))
    })
    .await
    .map_err(AppError::internal)??;
    let (observations, engine) = observations;
    drop(_slot);

    let verdict = {
        let mut seen = st.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.expire(now, st.config.analysis.seen_ttl_s * 1000);
        let mut ctx = AnalysisContext::new(&seen);
        ctx.model_versions = engine.model_versions().to_vec();
        let v = analyse(&plan, &observations, &ctx);
        seen.insert_session(&id, observations.iter().map(|o| &o.frame_hash), now);
        v
    };
    let completed = st.clock.now_ms();
    let payload = wire::SessionVerdict {
        iss: st.config.issuer.clone(),
        iat: completed / 1000,
        session_id: id.clone(),
        correlation_id: session.correlation_id.clone(),
        decision: convert(&verdict.decision)?,
        score: verdict.score,
        reasons: verdict.reasons.iter().map(|r| wire::Reason { code: r.code.as_str().to_owned(), message: r.message.clone() }).collect(),
        checks: verdict
            .checks
            .iter()
            .map(|c| wire::CheckScore { check: c.check.as_str().to_owned(), score: c.score, passed: c.passed })
            .collect(),
        assurance: verdict.assurance.iter().map(|a| a.as_str().to_owned()).collect(),
        reference_frame: verdict.reference_frame,
        model_versions: verdict.model_versions.iter().map(|(n, v)| wire::ModelVersion { name: n.clone(), version: v.clone() }).collect(),
        frames: observations.len() as u32,
        // Device info stays sealed apart (S2); the signed verdict adds it when fetched.
        device: None,
        fixed_challenge: session.fixed_challenge,
        completed_at: rfc3339(completed),
    };
    let json = serde_json::to_string(&payload).map_err(AppError::internal)?;
    st.db.finish(&id, verdict.decision.as_str(), &json, "", completed).await?;
    // L2: frames go now, unless the person consented to keeping them for training (then the
    // retention job deletes them after `retention.training_max_days`).
    if !crate::retention::keeps_frames_for_training(st, &id, completed).await? {
        st.erase(&id).await;
    }
    let payload = wire::SessionVerdict { device: crate::devices::load(st, &id).await?, ..payload };
    if payload.decision != wire::Decision::Live {
        if let Some(c) = &session.correlation_id {
            st.db.insert_failure(c, completed).await?;
        }
    }
    tracing::info!(session = %id, decision = verdict.decision.as_str(), score = verdict.score, "verdict");
    Ok(payload)
}

/// The signed verdict.
#[utoipa::path(get, path = "/v1/sessions/{id}/result", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Signed verdict", body = wire::ResultResponse),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "session_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "result_not_ready", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn result(State(st): St, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<wire::ResultResponse>, AppError> {
    let integrator_id = st.integrator(&headers, huoti_privacy::Permission::ReadOwnSessionResults).await?;
    let s = st.session(&id).await?;
    if !ct_eq(&s.integrator_id, &integrator_id) {
        return Err(AppError::new(ErrorCode::SessionNotFound, "no such session"));
    }
    match (s.state.as_str(), s.verdict_json) {
        (state::COMPLETED, Some(json)) => {
            let (jws, verdict) = crate::devices::signed_verdict(&st, &id, &json).await?;
            Ok(Json(wire::ResultResponse { jws, verdict }))
        }
        (state::EXPIRED, ..) => Err(AppError::new(ErrorCode::SessionExpired, "the session expired without being completed")),
        (state::FAILED, ..) => Err(AppError::new(ErrorCode::AnalysisUnavailable, "the analysis of this session failed")),
        _ => Err(AppError::new(ErrorCode::ResultNotReady, "the session has not been completed yet")),
    }
}

/// Public keys that verify result signatures (JWKS).
#[utoipa::path(get, path = "/v1/keys", tag = "keys", responses((status = 200, description = "JSON Web Key Set", body = wire::Jwks)))]
async fn keys(State(st): St) -> Json<wire::Jwks> {
    Json(st.signer.jwks())
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1")))]
async fn openapi() -> Response {
    let mut res = ApiDoc::openapi().to_pretty_json().unwrap_or_default().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    res
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "Serving", body = wire::Health)))]
async fn healthz() -> Json<wire::Health> {
    Json(wire::Health { status: "ok".into() })
}

/// Readiness: database reachable and models loaded.
#[utoipa::path(get, path = "/readyz", tag = "meta", responses((status = 200, description = "Ready", body = wire::Health), (status = 503, description = "Not ready", body = wire::Health)))]
async fn readyz(State(st): St) -> (StatusCode, Json<wire::Health>) {
    let status = if !st.db.ping().await {
        "database unavailable"
    } else if st.engine.is_none() {
        "models not loaded"
    } else {
        "ok"
    };
    let code = if status == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(wire::Health { status: status.into() }))
}

/// Prometheus metrics (no personal data, no tokens).
#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics_text(State(st): St) -> Response {
    let mut text = metrics::global().render();
    // R5, R6, R9: requests past their due date (a count; no ids).
    if let Ok(n) = st.db.overdue_requests(st.clock.now_ms()).await {
        text.push_str(&format!("# HELP huoti_privacy_requests_overdue Rights requests and complaints past their due date.\n# TYPE huoti_privacy_requests_overdue gauge\nhuoti_privacy_requests_overdue {n}\n"));
    }
    let mut res = text.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; version=0.0.4"));
    res
}

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "integrator_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("Integrator API key `hk_…` (backend only)")).build()),
        );
        components.add_security_scheme(
            "link_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("A person's privacy-page link token `pl_…`")).build()),
        );
        components.add_security_scheme(
            "client_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("The session's client token `ct_…`")).build()),
        );
    }
}

/// The OpenAPI document (3.1), generated from the handlers and the huoti-api types.
#[derive(OpenApi)]
#[openapi(
    info(title = "huoti liveness API", description = "Face liveness sessions: challenge, frames, verdict. See docs/API.md."),
    paths(
        create_session, upload_frame, complete, result, keys, openapi, healthz, readyz, metrics_text,
        privacy::policy::get_policy, privacy::policy::get_policy_text, privacy::consent::record_consent, privacy::consent::withdraw_by_ref,
        privacy::policy::publish, privacy::audit::list_endpoint, privacy::audit::verify_endpoint,
        privacy::rights::privacy_link, privacy::rights::me, privacy::rights::me_export, privacy::rights::me_withdraw, privacy::rights::me_request,
        privacy::rights::admin_list, privacy::rights::admin_overdue, privacy::rights::admin_verify_identity, privacy::rights::admin_complete,
        privacy::rights::admin_refuse, privacy::sampling::ask, privacy::sampling::approve, privacy::sampling::export,
        crate::pages::sdk, crate::pages::demo_page, crate::pages::privacy_page, crate::pages::console_page, crate::pages::policy_page,
        crate::pages::demo::create, crate::pages::demo::result,
        crate::identity::put_identity, crate::disclosure::create, crate::disclosure::list,
        crate::incidents::create, crate::incidents::list, crate::incidents::show, crate::incidents::dispatch,
    ),
    components(schemas(wire::ErrorCode, wire::Problem, wire::Decision, wire::Reason, wire::CheckScore, wire::ModelVersion, wire::DeviceInfo, wire::PolicyScope)),
    modifiers(&SecuritySchemes),
    tags((name = "sessions", description = "The liveness session flow"), (name = "keys", description = "Signature keys"), (name = "meta", description = "Health, metrics, schema"), (name = "privacy", description = "Policy, consent, rights, identity data, disclosures (POLICY.md)"), (name = "admin", description = "Staff: roles, audit, incidents, requests, samples"), (name = "web", description = "The web SDK bundle and the pages (demo, privacy, console)"))
)]
pub struct ApiDoc;
