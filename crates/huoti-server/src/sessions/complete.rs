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
use crate::facematch;
use crate::http::auth::{ClientSession, known_session};
use crate::metrics;
use crate::models::{FrameInput, LiveRun, Models};
use crate::privacy::training;
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
    // The session is ours while the lease holds (renewed as we work): if this node dies, the
    // janitor of any node fails it and erases its frames once the lease runs out (L2).
    let lease_until = now + st.config.analysis.lease_s * 1000;
    if !st.db.claim_complete(&id, now, lease_until).await? {
        let s = known_session(&st, &id).await?;
        return Err(if s.state == SessionState::Open { expired(&s) } else { reused() });
    }
    let frames = st.db.frames(&id).await?;
    if frames.is_empty() {
        st.db.transition(&id, SessionState::Analysing, SessionState::Open).await?;
        return Err(AppError::new(ErrorCode::NoFrames, "send frames before completing the session"));
    }
    // In a task of its own: a client that drops the request does not cancel the analysis half
    // way and strand the frames; it runs to its end (verdict stored, frames erased).
    let verdict = tokio::spawn(analyse_and_erase(st.clone(), session, models, frames, now)).await.map_err(AppError::internal)??;
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

/// [`decide`], holding the session's lease; then, whatever the outcome, the frames and their
/// key are erased (L2) and the lease released. A failure moves the session from `analysing`
/// to `failed` — never a session that was completed meanwhile (compare-and-set). If erasing
/// fails, the lease is kept and runs out, and the janitor tries again.
async fn analyse_and_erase(st: Arc<AppState>, session: SessionRow, models: Arc<Models>, frames: Vec<FrameRow>, now: u64) -> Result<wire::SessionVerdict, AppError> {
    let id = session.id.clone();
    // Renewing stops when this function ends — returning or unwinding from a panic — so a
    // broken analysis never holds its session forever: the lease runs out, the janitor ends it.
    let renewer = StopOnDrop(tokio::spawn(renew_lease(st.clone(), id.clone())));
    let started = Instant::now();
    let outcome = decide(&st, &session, models, frames, now).await;
    match &outcome {
        Ok(verdict) => metrics::global().verdict(verdict.decision, started.elapsed().as_secs_f64()),
        Err(_) => {
            if let Err(e) = st.db.transition(&id, SessionState::Analysing, SessionState::Failed).await {
                tracing::warn!(session = %id, error = %e, "marking a failed analysis failed");
            }
        }
    }
    let erased = erase(&st, &id).await;
    drop(renewer);
    if erased {
        st.db.release_analysis_lease(&id).await?;
    }
    outcome
}

/// A background task stopped when this handle goes.
struct StopOnDrop(tokio::task::JoinHandle<()>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews the lease on session `id` every third of its length until stopped, or until it was
/// lost (the janitor took the session over).
async fn renew_lease(st: Arc<AppState>, id: String) {
    let lease_ms = st.config.analysis.lease_s * 1000;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis((lease_ms / 3).max(1)));
    tick.tick().await;
    loop {
        tick.tick().await;
        match st.db.renew_analysis_lease(&id, st.clock.now_ms() + lease_ms).await {
            Ok(true) => {}
            Ok(false) => return tracing::warn!(session = %id, "the analysis lease was lost"),
            Err(e) => tracing::warn!(session = %id, error = %e, "renewing the analysis lease failed"),
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

/// Analysis, verdict, signature, storage (the caller erases the frames).
async fn decide(st: &AppState, session: &SessionRow, models: Arc<Models>, frames: Vec<FrameRow>, now: u64) -> Result<wire::SessionVerdict, AppError> {
    let id = session.id.clone();
    let key = st.vault.biometric_key(&st.db, &id).await.map_err(AppError::internal)?;
    let plan: ChallengePlan = serde_json::from_str(&session.plan_json).map_err(AppError::internal)?;
    let passive_frames = st.config.analysis.passive_frames;
    let vault = st.vault.clone();
    let seqs: Vec<u32> = frames.iter().map(|f| f.seq.clamp(0, i64::from(u32::MAX)) as u32).collect();
    let blob_keys: Vec<String> = frames.iter().map(|f| f.blob_key.clone()).collect();
    // C3: judged against the capture times (frames of a live capture arrive while it happens).
    let arrivals: std::collections::BTreeMap<u32, u64> = frames.iter().map(|f| (f.seq.clamp(0, i64::from(u32::MAX)) as u32, f.received_at_ms.max(0) as u64)).collect();
    let live: Option<LiveRun> =
        st.live.take(&id).and_then(|run| Some(std::sync::Arc::into_inner(run)?.into_inner().unwrap_or_else(|e| e.into_inner())));
    // Blobs are read on the async runtime (the store may be a bucket across the network) from
    // inside the blocking analysis, which is not a runtime thread.
    let runtime = tokio::runtime::Handle::current();
    let plan_for_run = plan.clone();
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
            // Measured on arrival, the passive frames too; a chosen frame the run could not
            // score (none, normally) is read and scored now.
            let limits = models.decode_limits();
            let (mut observations, boxes) = run.into_parts();
            models.score_passive(&mut observations, &boxes, (passive_frames, &plan_for_run), |i| -> Result<_, AppError> {
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
        models.observe_for(&inputs, passive_frames, &plan_for_run).map_err(AppError::internal).map(|o| (o, models))
    })
    .await
    .map_err(AppError::internal)??;
    let (observations, models) = observations;
    drop(_slot);
    let id = session.id.clone();

    let seen = seen_elsewhere(st, &id, &observations, now).await?;
    let mut ctx = AnalysisContext::new(&seen);
    ctx.model_versions = models.model_versions().to_vec();
    ctx.arrivals = arrivals;
    let verdict = analyse(&plan, &observations, &ctx);
    if verdict.has(ReasonCode::ReplayedFrames) {
        metrics::global().replay_caught();
    }
    // Face match runs only on a live session, before its frames are erased (issue 14).
    let face = facematch::session::at_complete(st, session, verdict.decision == huoti_liveness::Decision::Live, &observations, now).await?;
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
        face_match: face.face_match,
        face_reference_enrolled: face.enrolled,
    };
    let json = serde_json::to_string(&payload).map_err(AppError::internal)?;
    if !st.db.finish(&id, verdict.decision.as_str(), &json, "", completed).await? {
        return Err(AppError::internal("the analysis outlived its lease; the session was failed"));
    }
    // L2: the frames are erased by the caller; with the person's own consent to keeping them
    // for training they are kept first as training images, under the person's key (C4).
    if retention::keeps_frames_for_training(st, &id, completed).await? {
        if let Err(e) = keep_for_training(st, &id, &blob_keys, completed).await {
            // The verdict stands; only the optional copy is missing.
            tracing::warn!(session = %id, error = %e, "keeping frames for training failed");
        }
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

/// Copies a session's frames into the person's training images (L2: only with their
/// `retain_for_training` consent, checked again by [`training::keep_all`]), sealed under the
/// person's own key for model training (C4), so that the session's frames and key can go.
async fn keep_for_training(st: &AppState, id: &str, blob_keys: &[String], now: u64) -> Result<(), AppError> {
    let subject = st.db.session_subject(id).await?.ok_or_else(|| AppError::internal("session without subject"))?;
    let key = st.vault.biometric_key(&st.db, id).await.map_err(AppError::internal)?;
    // Collected first: a stream over a borrowing closure is not `Send` enough for the task.
    let reads: Vec<_> = blob_keys.iter().map(|k| st.vault.get_frame(&key, id, k)).collect();
    let jpegs: Vec<Vec<u8>> = futures_util::stream::iter(reads)
        .buffered(FETCH_AT_ONCE)
        .try_collect()
        .await
        .map_err(AppError::internal)?;
    training::keep_all(st, &subject, id, jpegs, now).await?;
    Ok(())
}
