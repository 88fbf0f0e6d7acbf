//! `POST /v1/sessions/{id}/complete`: the analysis (what was not measured on arrival), the
//! verdict, its storage, and the erasure of the frames and their key (L2).

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use huoti_api as wire;
use huoti_api::ErrorCode;
use futures_util::{StreamExt, TryStreamExt};
use huoti_liveness::{AnalysisContext, ChallengePlan, ReasonCode, SeenFrames, Thresholds, analyse};
use huoti_vision::decode_image;

use super::create::{convert, refuse_if_locked};
use super::lifecycle::{erase, expired};
use crate::devices;
use crate::error::AppError;
use crate::http::auth::{ClientSession, known_session};
use crate::metrics;
use crate::models::{FrameInput, LiveRun, Models};
use crate::retention;
use crate::state::AppState;
use crate::store::{FrameRow, SessionRow, SessionState};
use crate::util::rfc3339;

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
        (status = 429, description = "too_many_failures", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "analysis_unavailable", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn complete(State(st): State<Arc<AppState>>, ClientSession(session): ClientSession) -> Result<Json<wire::CompleteResponse>, AppError> {
    let id = session.id.clone();
    let now = st.clock.now_ms();
    let reused = || AppError::new(ErrorCode::SessionReused, "sessions are single use; this one was already completed");
    if !matches!(session.state, SessionState::Open | SessionState::Expired) {
        return Err(reused());
    }
    if session.state == SessionState::Expired || now >= session.expires_at_ms as u64 {
        return Err(expired(&session));
    }
    // The lock first: it is about the correlation id, whatever this node can analyse.
    refuse_if_locked(&st, session.correlation_id.as_deref(), now).await?;
    let Some(models) = st.models.clone() else {
        return Err(AppError::new(ErrorCode::AnalysisUnavailable, "the server has no analysis engine loaded"));
    };
    if !st.db.claim_complete(&id, now).await? {
        let s = known_session(&st, &id).await?;
        return Err(if s.state == SessionState::Open { expired(&s) } else { reused() });
    }
    let frames = st.db.frames(&id).await?;
    if frames.is_empty() {
        st.db.set_state(&id, SessionState::Open).await?;
        return Err(AppError::new(ErrorCode::NoFrames, "send frames before completing the session"));
    }
    let started = Instant::now();
    match decide(&st, &session, models, frames, now).await {
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
            let _ = st.db.set_state(&id, SessionState::Failed).await;
            erase(&st, &id).await;
            Err(e)
        }
    }
}

/// Frames read from the blob store at once by the fallback analysis.
const FETCH_AT_ONCE: usize = 8;

/// The cross-session replay check's memory, shared by every node (the database): this
/// session's frame hashes are recorded first, then the hashes of *other* sessions recorded in
/// the last `analysis.seen_ttl_s` that could match one of them are loaded. Recording first
/// means two sessions sharing frames that complete at the same moment on two nodes still see
/// each other.
async fn seen_elsewhere(st: &AppState, id: &str, observations: &[huoti_liveness::FrameObservation], now: u64) -> Result<SeenFrames, AppError> {
    let hashes: Vec<u64> = observations.iter().map(|o| o.frame_hash).collect();
    st.db.record_seen_frames(id, &hashes, now).await?;
    // Within 3 bits the chunk index finds every match; a wider search needs every hash.
    let all = Thresholds::default().replay_hash_distance >= 4;
    let since = now.saturating_sub(st.config.analysis.seen_ttl_s.saturating_mul(1000));
    let mut seen = SeenFrames::new();
    for c in st.db.seen_candidates(id, &hashes, since, all).await? {
        seen.insert(&c.session_id, c.hash, c.at_ms);
    }
    Ok(seen)
}

/// Analysis, verdict, signature, storage; then the frames and their key are erased (L2).
async fn decide(st: &AppState, session: &SessionRow, models: Arc<Models>, frames: Vec<FrameRow>, now: u64) -> Result<wire::SessionVerdict, AppError> {
    let id = session.id.clone();
    let key = st.vault.biometric_key(&st.db, &id).await.map_err(AppError::internal)?;
    let plan: ChallengePlan = serde_json::from_str(&session.plan_json).map_err(AppError::internal)?;
    let passive_frames = st.config.analysis.passive_frames;
    let vault = st.vault.clone();
    let seqs: Vec<u32> = frames.iter().map(|f| f.seq.clamp(0, i64::from(u32::MAX)) as u32).collect();
    let live: Option<LiveRun> =
        st.live.take(&id).and_then(|run| Some(std::sync::Arc::into_inner(run)?.into_inner().unwrap_or_else(|e| e.into_inner())));
    // Blobs are read on the async runtime (the store may be a bucket across the network) from
    // inside the blocking analysis, which is not a runtime thread.
    let runtime = tokio::runtime::Handle::current();
    let _slot = st.analysis_slots.acquire().await.map_err(AppError::internal)?;
    let observations = tokio::task::spawn_blocking(move || {
        // Frames still waiting for a predecessor are measured now; then the run must have
        // seen exactly the stored frames, or everything is measured again.
        let live = live.and_then(|mut run| {
            let flushed = models.flush(&mut run).is_ok();
            (flushed && run.matches(&seqs)).then_some(run)
        });
        metrics::global().analysis_path(live.is_some());
        if let Some(run) = live {
            // Measured on arrival: only the passive models remain, on the chosen frames.
            let limits = models.decode_limits();
            let (mut observations, boxes) = run.into_parts();
            models.score_passive(&mut observations, &boxes, passive_frames, |i| -> Result<_, AppError> {
                let jpeg = runtime.block_on(vault.get_frame(&key, &id, &frames[i].blob_key)).map_err(AppError::internal)?;
                Ok(decode_image(&jpeg, &limits)?)
            })?;
            return Ok((observations, models));
        }
        // Another node measured some frames, or none was measured here: every frame again,
        // read a few at a time.
        let jpegs: Vec<Vec<u8>> = runtime.block_on(
            futures_util::stream::iter(frames.iter().map(|f| vault.get_frame(&key, &id, &f.blob_key)))
                .buffered(FETCH_AT_ONCE)
                .try_collect(),
        )
        .map_err(AppError::internal)?;
        let inputs: Vec<FrameInput> = frames
            .iter()
            .zip(jpegs)
            .map(|(f, jpeg)| FrameInput { seq: f.seq.clamp(0, i64::from(u32::MAX)) as u32, t_ms: f.t_ms.max(0) as u64, nonce: f.nonce.clone(), jpeg })
            .collect();
        models.observe(&inputs, passive_frames).map_err(AppError::internal).map(|o| (o, models))
    })
    .await
    .map_err(AppError::internal)??;
    let (observations, models) = observations;
    drop(_slot);
    let id = session.id.clone();

    let seen = seen_elsewhere(st, &id, &observations, now).await?;
    let mut ctx = AnalysisContext::new(&seen);
    ctx.model_versions = models.model_versions().to_vec();
    let verdict = analyse(&plan, &observations, &ctx);
    if verdict.has(ReasonCode::ReplayedFrames) {
        metrics::global().replay_caught();
    }
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
    if !retention::keeps_frames_for_training(st, &id, completed).await? {
        erase(st, &id).await;
    }
    let payload = wire::SessionVerdict { device: devices::load(st, &id).await?, ..payload };
    if payload.decision != wire::Decision::Live {
        if let Some(c) = &session.correlation_id {
            st.db.insert_failure(c, completed).await?;
        }
    }
    tracing::info!(session = %id, decision = verdict.decision.as_str(), score = verdict.score, "verdict");
    Ok(payload)
}
