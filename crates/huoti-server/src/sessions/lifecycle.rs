//! A session's life after `complete` or expiry: what its result answers in each state, the
//! erasure of its frames and key, and the janitor that expires sessions nobody completed.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use huoti_api as wire;
use huoti_api::ErrorCode;

use crate::devices;
use crate::error::AppError;
use crate::http::auth::{Key, known_session, permits};
use crate::metrics;
use crate::state::AppState;
use crate::store::{SessionRow, SessionState};
use crate::util::{ct_eq, rfc3339};

permits!(
    /// Who may read a session's verdict: the integrator that created it.
    pub ReadOwnResults = [ReadOwnSessionResults]
);

/// `session_expired`, saying when.
pub(crate) fn expired(s: &SessionRow) -> AppError {
    AppError::new(ErrorCode::SessionExpired, format!("the session expired at {}", rfc3339(s.expires_at_ms.max(0) as u64)))
}

/// Erases a session's face data — its biometric key first (crypto-shredding), then its frames
/// (see `FrameVault::erase_biometric`: a blob deletion that fails is recorded and retried by
/// the job) — and forgets its rate bucket and this node's run; true once the key is shredded
/// (what is left of the blobs is then unreadable and the deletion job's). A failure is logged;
/// whoever holds the session's lease (or the janitor, once it expired) tries again, and the
/// retention job looks at every finished session.
pub(crate) async fn erase(st: &AppState, id: &str) -> bool {
    st.live.take(id);
    if let Err(e) = st.db.forget_rate_bucket(id).await {
        tracing::warn!(session = id, error = %e, "forgetting a rate bucket failed; the janitor prunes it");
    }
    match st.vault.erase_biometric(&st.db, id, st.clock.now_ms()).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(session = id, error = %e, "erasing frames failed");
            false
        }
    }
}

/// Background cleanup, on every node: expired sessions lose their frames; sessions whose
/// worker died are finished (see [`take_over_stale_leases`]); blob deletions that failed are
/// retried; old failures, privacy-page link tokens, frame hashes (S1) and rate buckets go; runs
/// this node kept for sessions another node finished are dropped.
pub async fn janitor_pass(st: &AppState) {
    let now = st.clock.now_ms();
    match st.db.expired_open_sessions(now).await {
        Ok(ids) => {
            for id in ids {
                // Compare-and-set: a session completed since it was listed keeps its state.
                match st.db.expire_session(&id, now).await {
                    Ok(true) => {
                        erase(st, &id).await;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "janitor: expiring a session failed"),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "janitor: listing expired sessions failed"),
    }
    take_over_stale_leases(st, now).await;
    match st.vault.retry_deletions(&st.db, now).await {
        Ok(r) if r.done + r.failed > 0 => tracing::info!(done = r.done, failed = r.failed, "janitor: blob deletions retried"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "janitor: retrying blob deletions failed"),
    }
    if let Ok(n) = st.db.blob_deletions_pending().await {
        metrics::global().blob_deletions_pending(n.max(0) as u64);
    }
    let window_ms = st.config.abuse.window_s * 1000;
    if let Err(e) = st.db.prune_failures(now.saturating_sub(window_ms)).await {
        tracing::warn!(error = %e, "janitor: pruning failures failed");
    }
    if let Err(e) = st.db.prune_link_tokens(now).await {
        tracing::warn!(error = %e, "janitor: pruning link tokens failed");
    }
    if let Err(e) = st.db.prune_seen_frames(now.saturating_sub(st.config.analysis.seen_ttl_s * 1000)).await {
        tracing::warn!(error = %e, "janitor: pruning frame hashes failed");
    }
    // A session lives at most its TTL: a bucket or a run older than that belongs to a session
    // that is over (completed on another node, or expired).
    let ttl_ms = st.config.session.ttl_s * 1000;
    if let Err(e) = st.db.prune_rate_buckets(now.saturating_sub(ttl_ms)).await {
        tracing::warn!(error = %e, "janitor: pruning rate buckets failed");
    }
    st.live.drop_started_before(now.saturating_sub(ttl_ms));
}

/// Sessions whose lease ran out — the node analysing them died (kill -9, power loss) or could
/// not erase their frames: an `analysing` session becomes `failed` (its capture is over, its
/// person gone; the integrator starts a new session), and the frames and key of every such
/// session are erased (L2, S1). The lease is released only once they are gone, so a failed
/// erasure is tried again on the next round.
pub async fn take_over_stale_leases(st: &AppState, now_ms: u64) {
    let stale = match st.db.stale_leases(now_ms).await {
        Ok(stale) => stale,
        Err(e) => return tracing::warn!(error = %e, "janitor: listing stale analyses failed"),
    };
    for (id, state) in stale {
        let ours = match state {
            SessionState::Analysing => st.db.fail_stale_analysis(&id, now_ms).await.unwrap_or(false),
            _ => true,
        };
        if ours && erase(st, &id).await {
            tracing::warn!(session = %id, from = state.as_str(), "janitor: a session's analysis lease expired; its frames and key were erased");
            if let Err(e) = st.db.release_analysis_lease(&id).await {
                tracing::warn!(error = %e, "janitor: releasing a lease failed");
            }
        }
    }
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
pub(crate) async fn result(State(st): State<Arc<AppState>>, key: Key<ReadOwnResults>, Path(id): Path<String>) -> Result<Json<wire::ResultResponse>, AppError> {
    result_for(&st, &key.key_id, &id).await.map(Json)
}

/// The signed verdict of session `id` for the integrator `integrator_id` (already
/// authorised): `session_not_found` for another integrator's session, and what each state
/// answers.
pub async fn result_for(st: &AppState, integrator_id: &str, id: &str) -> Result<wire::ResultResponse, AppError> {
    let s = known_session(st, id).await?;
    if !ct_eq(&s.integrator_id, integrator_id) {
        return Err(AppError::new(ErrorCode::SessionNotFound, "no such session"));
    }
    match (s.state, s.verdict_json) {
        (SessionState::Completed, Some(json)) => {
            let (jws, verdict) = devices::signed_verdict(st, id, &json).await?;
            Ok(wire::ResultResponse { jws, verdict })
        }
        (SessionState::Expired, ..) => Err(AppError::new(ErrorCode::SessionExpired, "the session expired without being completed")),
        (SessionState::Failed, ..) => Err(AppError::new(ErrorCode::AnalysisUnavailable, "the analysis of this session failed")),
        _ => Err(AppError::new(ErrorCode::ResultNotReady, "the session has not been completed yet")),
    }
}
