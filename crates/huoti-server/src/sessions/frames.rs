//! `POST /v1/sessions/{id}/frames`: one JPEG frame, checked before its body is read (token,
//! state, consent, device-info consent, type), read with a hard limit, decoded once to
//! validate it, sealed and stored, then measured on arrival (see [`crate::models`]).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_liveness::ChallengePlan;
use huoti_privacy::uses::Use;
use huoti_vision::{DecodeLimits, decode_image};

use super::create::refuse_if_locked;
use super::hints;
use super::lifecycle::expired;
use crate::config::SessionConfig;
use crate::devices;
use crate::error::AppError;
use crate::http::auth::{client_session, known_session};
use crate::http::budget::Reservation;
use crate::http::{drain, read_limited};
use crate::metrics;
use crate::privacy::consent;
use crate::state::AppState;
use crate::store::{FrameRecord, SessionRow, SessionState};
use crate::util::random_hex;
use crate::vault::VaultError;

/// Largest capture time accepted, ms (2^53 − 1).
const MAX_T_MS: u64 = (1 << 53) - 1;

/// Decoding limits for uploaded frames (a camera frame never needs more).
const FRAME_DECODE: DecodeLimits = DecodeLimits { max_pixels: 4_194_304, min_side: 64 };

/// One device-info header: 1–64 printable ASCII characters, or absent.
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
        (status = 429, description = "rate_limited, too_many_failures", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "storage_unavailable (retry after `Retry-After`; nothing was stored)", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn upload_frame(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<wire::FrameParams>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::FrameAccepted>, AppError> {
    // A request refused before its body is read still has its body drained (bounded): closing
    // the connection under a client that is still sending turns a clear 401/409/415 into a
    // "broken pipe" on the client's side.
    let max = st.config.session.max_frame_bytes;
    let (now, params, device, session) = match frame_preflight(&st, &id, query, &headers).await {
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
    // The bucket is in the database: uploads through every node draw on it.
    let took = match st.db.take_rate_token(&id, now, cfg.frame_rate_per_s, cfg.frame_burst).await {
        Ok(took) => took,
        Err(e) => {
            drain(body, max.saturating_mul(4)).await;
            return Err(e.into());
        }
    };
    if let Err(wait) = took {
        drain(body, max.saturating_mul(4)).await;
        return Err(AppError::new(ErrorCode::RateLimited, format!("at most {} frames per second", cfg.frame_rate_per_s))
            .retry_after(wait));
    }
    // The body is held in memory: reserve it from the node's budget first (defect 10).
    let Some(mut held) = st.budget.try_reserve(declared.unwrap_or(max).min(max)) else {
        drain(body, max.saturating_mul(4)).await;
        return Err(busy());
    };
    let limit = std::time::Duration::from_secs(st.config.limits.body_timeout_s);
    let bytes = tokio::time::timeout(limit, read_limited(body, max as usize))
        .await
        .map_err(|_| AppError::new(ErrorCode::RequestTimeout, format!("the frame body must arrive within {} s", limit.as_secs())))?
        .map_err(|over| if over { too_large() } else { AppError::new(ErrorCode::InvalidRequest, "the frame body could not be read") })?;
    upload_checked(&st, &id, now, (params, &session), device, cfg, bytes, &mut held).await
}

/// `server_busy`: this node's memory budget for frames is spent; nothing was stored.
fn busy() -> AppError {
    AppError::new(ErrorCode::ServerBusy, "this server holds as many frames as its memory budget allows; retry shortly").retry_after(1)
}

/// Width × height from a JPEG's header, without decoding it (an unreadable header is
/// `invalid_frame`, as the decoder would say).
fn jpeg_pixels(bytes: &[u8]) -> Result<u64, AppError> {
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Jpeg);
    let (w, h) = reader.into_dimensions().map_err(|e| AppError::new(ErrorCode::InvalidFrame, format!("the JPEG cannot be used: {e}")))?;
    Ok(u64::from(w) * u64::from(h))
}

/// The device-info headers sent with a frame: model, OS type, OS version.
type DeviceHeaders = (Option<String>, Option<String>, Option<String>);

/// Everything about a frame upload that can be judged before its body is read; also the
/// session as it was read (its challenge plan, which the measuring on arrival follows).
async fn frame_preflight(
    st: &AppState,
    id: &str,
    query: Result<Query<wire::FrameParams>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<(u64, wire::FrameParams, DeviceHeaders, SessionRow), AppError> {
    let session = client_session(st, id, headers).await?;
    let now = st.clock.now_ms();
    if !matches!(session.state, SessionState::Open | SessionState::Expired) {
        return Err(AppError::new(ErrorCode::FramesAfterComplete, "the session was completed; it accepts no more frames"));
    }
    if session.state == SessionState::Expired || now >= session.expires_at_ms as u64 {
        return Err(expired(&session));
    }
    refuse_if_locked(st, session.correlation_id.as_deref(), now).await?;
    let Query(params) = query.map_err(|e| AppError::new(ErrorCode::InvalidRequest, format!("query: {}", e.body_text())))?;
    if params.nonce.is_empty() || params.nonce.len() > 64 {
        return Err(AppError::new(ErrorCode::InvalidRequest, "nonce: 1–64 characters"));
    }
    // Stored as a signed 64-bit number and summed in the analysis: a time past 2^53 ms
    // (285 000 years; also the largest integer a browser sends exactly) is not a capture time.
    if params.t_ms > MAX_T_MS {
        return Err(AppError::new(ErrorCode::InvalidRequest, format!("t_ms: at most {MAX_T_MS}")));
    }
    let device = (
        device_header(headers, wire::HEADER_DEVICE_MODEL)?,
        device_header(headers, wire::HEADER_OS_TYPE)?,
        device_header(headers, wire::HEADER_OS_VERSION)?,
    );
    let device_sent = device.0.is_some() || device.1.is_some() || device.2.is_some();
    consent::gate_frame(st, id, device_sent, now).await?;
    let jpeg_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(wire::FRAME_CONTENT_TYPE)));
    if !jpeg_type {
        return Err(AppError::new(ErrorCode::NotJpeg, "frames are sent as `Content-Type: image/jpeg`"));
    }
    Ok((now, params, device, session))
}

/// The rest of a frame upload, once its body is in hand.
#[allow(clippy::too_many_arguments)]
async fn upload_checked(
    st: &AppState,
    id: &str,
    now: u64,
    (params, session): (wire::FrameParams, &SessionRow),
    device: DeviceHeaders,
    cfg: &SessionConfig,
    bytes: Bytes,
    held: &mut Reservation,
) -> Result<Json<wire::FrameAccepted>, AppError> {
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(AppError::new(ErrorCode::NotJpeg, "the body is not a JPEG"));
    }
    // The decoded pixels are held until the frame is measured: reserve them before decoding
    // (RGB, 3 bytes a pixel; more pixels than the decode limit are refused by the decoder).
    let pixels = jpeg_pixels(&bytes)?.min(FRAME_DECODE.max_pixels);
    if !st.budget.try_grow(held, pixels * 3) {
        return Err(busy());
    }
    let check = bytes.clone();
    let image = tokio::task::spawn_blocking(move || decode_image(&check, &FRAME_DECODE))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::new(ErrorCode::InvalidFrame, format!("the JPEG cannot be used: {e}")))?;

    if let Some(answer) = repeated_upload(st, id, &params, bytes.len()).await? {
        return answer;
    }
    // Full when this request began (the count never goes down): refused before a blob is
    // sealed and written that `record_frame` would refuse anyway.
    if session.frame_count >= i64::from(cfg.max_frames) {
        return Err(too_many_frames(cfg));
    }
    match store_frame(st, id, &params, bytes.clone(), now, cfg.max_frames).await? {
        FrameRecord::Recorded => {}
        FrameRecord::NoRoom => {
            let s = known_session(st, id).await?;
            return Err(if s.state != SessionState::Open {
                AppError::new(ErrorCode::FramesAfterComplete, "the session was completed; it accepts no more frames")
            } else if now >= s.expires_at_ms as u64 {
                expired(&s)
            } else {
                too_many_frames(cfg)
            });
        }
        // A retry that raced its own first attempt.
        FrameRecord::SeqTaken => return repeated_upload(st, id, &params, bytes.len()).await?.unwrap_or_else(|| Err(duplicate(params.seq))),
    }
    let hint = measure_on_arrival(st, id, &session.plan_json, &params, bytes, image).await;
    if device.0.is_some() || device.1.is_some() || device.2.is_some() {
        let info = wire::DeviceInfo { model: device.0, os_type: device.1, os_version: device.2 };
        devices::record(st, id, &info, now).await?;
    }
    let frames_received = st.db.session(id).await?.map_or(0, |s| s.frame_count.max(0) as u32);
    Ok(Json(wire::FrameAccepted { seq: params.seq, frames_received, hint }))
}

/// `too_many_frames`: the session holds `max_frames` already.
fn too_many_frames(cfg: &SessionConfig) -> AppError {
    AppError::new(ErrorCode::TooManyFrames, format!("a session holds at most {} frames", cfg.max_frames))
}

/// `duplicate_frame`: frame `seq` was already received with other contents.
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
    Ok(Some(Ok(Json(wire::FrameAccepted { seq: params.seq, frames_received, hint: None }))))
}

/// Steps the session's live run on the frame just stored (see [`crate::models`]), following
/// the session's challenge plan (the Iris model in a blink window), and returns the prompt
/// for the window open at the frame's capture time ([`hints`]). Never fails the upload: the
/// frame is stored, and a run that could not use it is marked broken, so `complete`
/// re-analyses the stored frames.
async fn measure_on_arrival(st: &AppState, id: &str, plan_json: &str, params: &wire::FrameParams, jpeg: Bytes, image: image::RgbImage) -> Option<wire::ActionHint> {
    let models = st.models.clone()?;
    // Written by `create`, read back as `complete` does; unreadable, complete fails the session.
    let Ok(plan) = serde_json::from_str::<ChallengePlan>(plan_json) else { return None };
    let passive_frames = st.config.analysis.passive_frames;
    let run = st.live.get_or_start(id, st.clock.now_ms(), || models.start_for(&plan, passive_frames));
    let Ok(_slot) = st.analysis_slots.acquire().await else { return None };
    let (seq, t_ms, nonce) = (params.seq, params.t_ms, params.nonce.clone());
    let shared = run.clone();
    let measured = tokio::task::spawn_blocking(move || {
        let mut run = run.lock().unwrap_or_else(|e| e.into_inner());
        models.push(&mut run, seq, t_ms, &nonce, &jpeg, &image)?;
        Ok::<_, huoti_vision::VisionError>(hints::after_frame(&run, &plan, seq, t_ms))
    })
    .await;
    // Frames it now holds back for reordering are covered by the node's budget, or dropped.
    st.live.settle(id, &shared);
    match measured {
        Ok(Ok(hint)) => return hint,
        Ok(Err(e)) => tracing::warn!(session = id, error = %e, "measuring a frame on arrival failed; complete will re-analyse"),
        Err(e) => tracing::warn!(session = id, error = %e, "measuring a frame on arrival panicked; complete will re-analyse"),
    }
    None
}

/// Seals and stores a frame, and records it against the session's frame budget
/// ([`Db::record_frame`](crate::store::Db::record_frame)): anything but `Recorded` stored
/// nothing.
///
/// The blob is written under a name of its own (`<session>/<seq>-<random>.sealed`) before its
/// row is inserted: two uploads of one `seq` at once never write the same blob, so the row that
/// wins the unique insert always names the bytes it describes; an upload whose row is not
/// recorded (no room left, its number taken, the database failing) deletes its own blob. A
/// crash between the two leaves a blob without a row under the session, erased with it.
async fn store_frame(st: &AppState, id: &str, params: &wire::FrameParams, bytes: Bytes, now: u64, max_frames: u32) -> Result<FrameRecord, AppError> {
    let key = st.vault.biometric_key(&st.db, id).await.map_err(AppError::internal)?;
    let blob_key = format!("{id}/{:06}-{}.sealed", params.seq, random_hex(8));
    let len = bytes.len() as u64;
    st.vault.put_at(&key, id, &blob_key, Use::LivenessCheck, &bytes).await.map_err(storage_error)?;
    let recorded = st.db.record_frame(id, max_frames, now, params.seq, params.t_ms, &params.nonce, &blob_key, len).await;
    if matches!(recorded, Ok(FrameRecord::Recorded)) {
        metrics::global().frame(len);
    } else if let Err(e) = st.vault.delete_blob(&blob_key).await {
        tracing::warn!(session = id, error = %e, "deleting the blob of an upload that got no row failed; erased with the session");
    }
    Ok(recorded?)
}

/// A blob store that cannot take the frame (read-only, full, unreachable): `storage_unavailable`
/// with `Retry-After`, so the client retries the upload; nothing was recorded.
fn storage_error(e: VaultError) -> AppError {
    match e {
        VaultError::Io(io) => {
            tracing::error!(error = %io, "the blob store refused a frame");
            AppError::new(ErrorCode::StorageUnavailable, "the frame could not be stored right now; nothing was kept, send it again").retry_after(5)
        }
        other => AppError::internal(other),
    }
}
