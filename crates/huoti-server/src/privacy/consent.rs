//! Consent, per the wire contract: subjects, `POST /v1/sessions/{id}/consent`, the gate every
//! frame upload passes (A1, A3, L1, P2), and withdrawal (R4, L2).
//!
//! The decisions are `huoti-privacy`'s [`ConsentLedger`]: this module loads a subject's
//! records into one, asks it, and stores what it says.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_privacy::consent::{ConsentRequired, Effect};
use huoti_privacy::{ConsentLedger, ConsentRecord, Scope, SubjectId};
use utoipa::OpenApi;

use super::policy;
use crate::error::AppError;
use crate::http::JsonBody;
use crate::http::auth::{Access, ClientSession, Key, Permits, Route, permits};
use crate::state::AppState;
use crate::store::{ConsentRow, PolicyRow, SessionState};
use crate::util::{instant, random_hex, rfc3339};

permits!(
    /// Who acts for a person on the integrator's side (withdrawal, privacy links): integrators.
    pub SubmitForPerson = [SubmitSubjectRequest]
);

/// The routes of consent.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/sessions/{id}/consent", post(record_consent))
        .route("/v1/subjects/{subject_ref}/consents/{scope}", delete(withdraw_by_ref))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(record_consent, withdraw_by_ref))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("post", "/v1/sessions/{id}/consent", Access::ClientToken),
    ("delete", "/v1/subjects/{subject_ref}/consents/{scope}", Access::Key(SubmitForPerson::ANY_OF)),
];

/// The channels a consent may come through.
pub const CHANNELS: &[&str] = &["web", "sdk", "cli"];

/// Checks an integrator's `subject_ref`: 1–128 of `[A-Za-z0-9._:-]` (pseudonymous by design).
pub fn valid_subject_ref(r: &str) -> bool {
    !r.is_empty() && r.len() <= 128 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// The subject a new session belongs to: the integrator's `subject_ref` (made on first use),
/// or a subject of this session alone.
pub async fn attach_subject(st: &AppState, integrator_id: &str, subject_ref: Option<&str>, session_id: &str, now_ms: u64) -> Result<String, AppError> {
    let subject = match subject_ref {
        None => {
            let id = format!("sub_{}", random_hex(16));
            st.db.insert_subject(&id, integrator_id, None, now_ms).await?;
            id
        }
        Some(r) => match st.db.subject_by_ref(integrator_id, r).await? {
            Some(id) => id,
            None => {
                let id = format!("sub_{}", random_hex(16));
                // Two first sessions at once: the loser of the race reads the winner's row.
                if st.db.insert_subject(&id, integrator_id, Some(r), now_ms).await? {
                    id
                } else {
                    st.db.subject_by_ref(integrator_id, r).await?.ok_or_else(|| AppError::internal("subject vanished"))?
                }
            }
        },
    };
    st.db.set_session_subject(session_id, &subject).await?;
    Ok(subject)
}

/// A person's consent ledger (every policy version, every record).
pub async fn ledger(st: &AppState, subject_id: &str) -> Result<ConsentLedger, AppError> {
    let mut ledger = policy::ledger(&st.db).await?;
    for c in st.db.consents(subject_id).await? {
        let Ok(scope) = c.scope.parse::<Scope>() else { continue };
        ledger
            .record(ConsentRecord {
                subject: SubjectId::new(subject_id),
                policy_version: c.policy_version,
                scope,
                granted_at: instant(c.granted_at_ms.max(0) as u64),
                channel: c.channel,
                withdrawn_at: c.withdrawn_at_ms.map(|w| instant(w.max(0) as u64)),
            })
            .map_err(AppError::internal)?;
    }
    Ok(ledger)
}

/// The person a session belongs to (every session has one from its creation).
async fn session_subject(st: &AppState, session_id: &str) -> Result<String, AppError> {
    st.db.session_subject(session_id).await?.ok_or_else(|| AppError::internal("session without subject"))
}

/// The gate of a frame upload, before its body is read: a current consent to
/// `face_capture_and_upload` (L1; A1 after a material change), and `device_info` when device
/// headers are sent (P2).
pub async fn gate_frame(st: &AppState, session_id: &str, device_sent: bool, now_ms: u64) -> Result<(), AppError> {
    let subject_id = session_subject(st, session_id).await?;
    let ledger = ledger(st, &subject_id).await?;
    let subject = SubjectId::new(&subject_id);
    let now = instant(now_ms);
    if let Err(e) = ledger.may_capture(&subject, now) {
        let detail = match e {
            ConsentRequired::NeedsReconsent { current_version, .. } => format!(
                "the privacy policy changed materially: the person must consent to face_capture_and_upload under version {current_version} first (POST /v1/sessions/{{id}}/consent)"
            ),
            ConsentRequired::NeedsConsent { .. } => {
                "the person has not consented to face_capture_and_upload: record consent first (POST /v1/sessions/{id}/consent)".into()
            }
        };
        return Err(AppError::new(ErrorCode::ConsentRequired, detail));
    }
    if device_sent && ledger.may_collect_device_info(&subject, now).is_err() {
        return Err(AppError::new(
            ErrorCode::DeviceInfoNotConsented,
            "device-info headers were sent but the person did not consent to device_info; send frames without them",
        ));
    }
    Ok(())
}

/// Parses and checks the scopes of a consent against the current version.
fn scopes(req: &wire::ConsentRequest, current: &PolicyRow) -> Result<BTreeSet<Scope>, AppError> {
    let recipients = policy::recipients(current);
    let mut out = BTreeSet::new();
    for s in &req.scopes {
        let scope: Scope = s.parse().map_err(|_| AppError::new(ErrorCode::InvalidRequest, format!("unknown consent scope {s:?}")))?;
        if let Scope::ShareWith(r) = &scope {
            if !recipients.contains(r) {
                // U2: a recipient the policy does not name is a new use, not a scope to grant.
                return Err(AppError::new(ErrorCode::InvalidRequest, format!("the policy names no recipient {r:?}")));
            }
        }
        out.insert(scope);
    }
    Ok(out)
}

/// Record the person's consent for this session (client token).
#[utoipa::path(post, path = "/v1/sessions/{id}/consent", tag = "privacy",
    params(("id" = String, Path, description = "Session id")),
    request_body(content = wire::ConsentRequest),
    security(("client_token" = [])),
    responses(
        (status = 201, description = "Consent recorded", body = wire::ConsentRecorded),
        (status = 400, description = "invalid_request (unknown scope or channel)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_client_token", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "session_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "policy_outdated; session_reused (the session is over: its token records nothing)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 410, description = "session_expired", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "consent_scope_required", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_consent(
    State(st): State<Arc<AppState>>,
    ClientSession(session): ClientSession,
    JsonBody(req): JsonBody<Option<wire::ConsentRequest>>,
) -> Result<Response, AppError> {
    let now = st.clock.now_ms();
    // A client token acts only while its session is open (A1, D1, S5): after the verdict, or
    // once the session expired or the account was closed, an old token grants nothing.
    match session.state {
        SessionState::Open if (now as i64) < session.expires_at_ms => {}
        SessionState::Open | SessionState::Expired => {
            return Err(AppError::new(ErrorCode::SessionExpired, "the session expired; its client token records no consent"));
        }
        _ => return Err(AppError::new(ErrorCode::SessionReused, "the session is over; its client token records no consent")),
    }
    let req = req.ok_or_else(|| AppError::new(ErrorCode::InvalidRequest, "send {policy_version, scopes, channel}"))?;
    if !CHANNELS.contains(&req.channel.as_str()) {
        return Err(AppError::new(ErrorCode::InvalidRequest, format!("channel: one of {}", CHANNELS.join(", "))));
    }
    let current = policy::current(&st.db, now).await?;
    let scopes = scopes(&req, &current)?;
    if req.policy_version != current.version {
        return Err(AppError::new(ErrorCode::PolicyOutdated, format!("the current policy version is {}; show it and ask again", current.version)));
    }
    if !scopes.contains(&Scope::FaceCaptureAndUpload) {
        return Err(AppError::new(ErrorCode::ConsentScopeRequired, "face_capture_and_upload is required for liveness detection"));
    }
    let subject_id = session_subject(&st, &session.id).await?;
    let consent_id = format!("cn_{}", random_hex(16));
    let rows: Vec<ConsentRow> = scopes
        .iter()
        .map(|s| ConsentRow {
            consent_id: consent_id.clone(),
            scope: s.to_string(),
            subject_id: subject_id.clone(),
            session_id: Some(session.id.clone()),
            policy_version: current.version.clone(),
            channel: req.channel.clone(),
            granted_at_ms: now as i64,
            withdrawn_at_ms: None,
        })
        .collect();
    st.db.insert_consents(&rows).await?;
    let resp = wire::ConsentRecorded {
        consent_id,
        policy_version: current.version,
        scopes: scopes.iter().map(Scope::to_string).collect(),
        recorded_at: rfc3339(now),
    };
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// The wire name of what a withdrawal set off.
fn effect_name(e: &Effect) -> String {
    match e {
        Effect::StopCapture => "stop_capture".into(),
        Effect::StopDeviceInfoCollection => "stop_device_info_collection".into(),
        Effect::DeleteTrainingImages => "delete_training_images".into(),
        Effect::DeleteFaceReference => "delete_face_reference".into(),
        Effect::StopSharing(r) => format!("stop_sharing:{r}"),
    }
}

/// Withdraws a subject's consent to `scope` and carries out what the ledger says must follow
/// (R4): capture and device info stop through the gate; kept training images are deleted at
/// once and their key shredded, as are frames a finished session still keeps for training,
/// and the retention job looks at the person's sessions again now (L2); the face reference
/// is shredded at once when `face_comparison` is withdrawn.
pub async fn withdraw(st: &AppState, subject_id: &str, scope: &str, now_ms: u64) -> Result<wire::ConsentWithdrawn, AppError> {
    let parsed: Scope = scope.parse().map_err(|_| AppError::new(ErrorCode::InvalidRequest, format!("unknown consent scope {scope:?}")))?;
    let mut ledger = ledger(st, subject_id).await?;
    let effects = ledger.withdraw(&SubjectId::new(subject_id), &parsed, instant(now_ms));
    st.db.withdraw_consent(subject_id, &parsed.to_string(), now_ms).await?;
    let mut deleted = 0;
    for e in &effects {
        if *e == Effect::DeleteTrainingImages {
            deleted = delete_training_images(st, subject_id).await?;
            erase_frames_kept_for_training(st, subject_id).await?;
            st.db.retention_due_now(subject_id, now_ms).await?;
        }
        if *e == Effect::DeleteFaceReference {
            // Shredded at once: the key first, then the sealed template.
            st.vault.erase_face_reference(&st.db, subject_id, now_ms).await.map_err(AppError::internal)?;
        }
    }
    Ok(wire::ConsentWithdrawn {
        scope: parsed.to_string(),
        withdrawn_at: rfc3339(now_ms),
        effects: effects.iter().map(effect_name).collect(),
        training_images_deleted: deleted,
    })
}

/// Deletes a person's kept training images: rows, blobs and the person's biometric key.
pub async fn delete_training_images(st: &AppState, subject_id: &str) -> Result<u64, AppError> {
    let n = st.db.delete_training_images(subject_id).await?;
    st.vault.erase_biometric(&st.db, subject_id, st.clock.now_ms()).await.map_err(AppError::internal)?;
    Ok(n)
}

/// Frames that finished sessions of the person still hold (before issue 19, frames kept for
/// training stayed under their session): erased with their key (L2).
async fn erase_frames_kept_for_training(st: &AppState, subject_id: &str) -> Result<(), AppError> {
    for id in st.db.subject_sessions(subject_id).await? {
        let done = st.db.session(&id).await?.is_some_and(|s| matches!(s.state, SessionState::Completed | SessionState::Expired | SessionState::Failed));
        if done && st.db.frame_count(&id).await? > 0 {
            st.vault.erase_biometric(&st.db, &id, st.clock.now_ms()).await.map_err(AppError::internal)?;
        }
    }
    Ok(())
}

/// Account closure (R5, S5): every consent the person holds is withdrawn, with what each
/// withdrawal sets off (sharing stops, training images go), and the person's open sessions
/// end now, so that no client token of theirs acts again. Returns the scopes withdrawn.
pub async fn close_account(st: &AppState, subject_id: &str, now_ms: u64) -> Result<Vec<String>, AppError> {
    let mut scopes: Vec<String> = st.db.consents(subject_id).await?.into_iter().filter(|c| c.withdrawn_at_ms.is_none()).map(|c| c.scope).collect();
    scopes.sort();
    scopes.dedup();
    for scope in &scopes {
        if scope.parse::<Scope>().is_ok() {
            withdraw(st, subject_id, scope, now_ms).await?;
        } else {
            // A scope this version does not know: withdrawn all the same.
            st.db.withdraw_consent(subject_id, scope, now_ms).await?;
        }
    }
    for id in st.db.subject_sessions(subject_id).await? {
        // Compare-and-set: a session finishing right now keeps its own ending.
        if st.db.transition(&id, SessionState::Open, SessionState::Expired).await? {
            st.live.take(&id);
            st.db.forget_rate_bucket(&id).await?;
            st.vault.erase_biometric(&st.db, &id, now_ms).await.map_err(AppError::internal)?;
        }
    }
    Ok(scopes)
}

/// Withdraw a person's consent to one scope (integrator key).
#[utoipa::path(delete, path = "/v1/subjects/{subject_ref}/consents/{scope}", tag = "privacy",
    params(("subject_ref" = String, Path, description = "The integrator's subject reference"), ("scope" = String, Path, description = "Consent scope")),
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Withdrawn; what followed", body = wire::ConsentWithdrawn),
        (status = 400, description = "invalid_request (unknown scope)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "subject_not_found", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn withdraw_by_ref(
    State(st): State<Arc<AppState>>,
    integrator: Key<SubmitForPerson>,
    Path((subject_ref, scope)): Path<(String, String)>,
) -> Result<Json<wire::ConsentWithdrawn>, AppError> {
    let integrator_id = &integrator.key_id;
    let not_found = || AppError::new(ErrorCode::SubjectNotFound, "no such subject");
    if !valid_subject_ref(&subject_ref) {
        return Err(not_found());
    }
    let subject_id = st.db.subject_by_ref(integrator_id, &subject_ref).await?.ok_or_else(not_found)?;
    Ok(Json(withdraw(&st, &subject_id, &scope, st.clock.now_ms()).await?))
}
