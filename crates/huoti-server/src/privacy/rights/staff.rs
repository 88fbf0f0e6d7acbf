//! The staff side of the person's rights: every request with its due date, identity
//! verification (R6's clock starts), carrying a request out (R2, R3, R5, R7) or refusing it on
//! an R8 ground. Every call is audited with its purpose.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_privacy::rights::{self as rules, RefusalGround, RequestKind};
use huoti_privacy::third_party::IdentityField;

use super::requests::{info, open, rule_kind};
use crate::error::AppError;
use crate::http::auth::{self, Caller, Key, Staff, permits};
use crate::http::json_body;
use crate::identity;
use crate::privacy::{audit, consent};
use crate::retention;
use crate::state::AppState;
use crate::store::rights::RightsRequestRow;
use crate::util::{format_day, instant};

permits!(
    /// Who handles requests and complaints: privacy officers.
    pub HandleRequests = [HandleSubjectRequests, HandleComplaints]
);
permits!(
    /// Who may see how many requests are overdue: operators and privacy officers.
    pub SeeOverdue = [ReadHealth, HandleSubjectRequests]
);

/// Every request and complaint with its due date (privacy officer; audited).
#[utoipa::path(get, path = "/v1/admin/requests", tag = "admin", security(("integrator_key" = [])),
    params(("huoti-purpose" = String, Header, description = "Why (audited)")),
    responses(
        (status = 200, description = "Requests", body = Vec<wire::RightsRequestInfo>),
        (status = 400, description = "purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_list(State(st): State<Arc<AppState>>, staff: Staff<HandleRequests>) -> Result<Json<Vec<wire::RightsRequestInfo>>, AppError> {
    let now = st.clock.now_ms();
    let all = st.db.rights_requests().await?;
    audit::record(&st.db, &staff.caller, &staff.purpose, "list_requests", "rights_requests", now).await?;
    Ok(Json(all.iter().map(|r| info(r, now)).collect()))
}

/// How many requests are overdue (operator, privacy officer): the count only, no request and
/// no person, so nothing personal is read and nothing needs auditing.
#[utoipa::path(get, path = "/v1/admin/requests/overdue", tag = "admin", security(("integrator_key" = [])),
    responses(
        (status = 200, description = "How many open requests are past their due date", body = wire::OverdueCount),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_overdue(State(st): State<Arc<AppState>>, _staff: Key<SeeOverdue>) -> Result<Json<wire::OverdueCount>, AppError> {
    Ok(Json(wire::OverdueCount { overdue: super::overdue_count(&st.db, st.clock.now_ms()).await? }))
}

/// The request `id`, if staff may still act on it (404 `request_not_found`, 409
/// `invalid_request_state`).
async fn open_request(st: &AppState, id: &str) -> Result<RightsRequestRow, AppError> {
    let r = st.db.rights_request(id).await?.ok_or_else(|| AppError::new(ErrorCode::RequestNotFound, "no such request"))?;
    if !open(&r.status) {
        return Err(AppError::new(ErrorCode::InvalidRequestState, format!("the request is {}", r.status)));
    }
    Ok(r)
}

/// The request `id` re-read after a change.
async fn reread(st: &AppState, id: &str) -> Result<RightsRequestRow, AppError> {
    st.db.rights_request(id).await?.ok_or_else(|| AppError::internal("request vanished"))
}

/// Record that the person's identity was verified; the R6 clock starts (privacy officer).
#[utoipa::path(post, path = "/v1/admin/requests/{request_id}/verify-identity", tag = "admin", security(("integrator_key" = [])),
    params(("request_id" = String, Path, description = "Request id"), ("huoti-purpose" = String, Header, description = "Why (audited)")),
    responses(
        (status = 200, description = "Verified; due date set", body = wire::RightsRequestInfo),
        (status = 400, description = "purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "request_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_request_state", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_verify_identity(State(st): State<Arc<AppState>>, staff: Staff<HandleRequests>, Path(id): Path<String>) -> Result<Json<wire::RightsRequestInfo>, AppError> {
    let r = open_request(&st, &id).await?;
    let now = st.clock.now_ms();
    let kind = rule_kind(&r.kind, r.field.as_deref(), r.verified_field).ok_or_else(|| AppError::internal("stored request kind"))?;
    let due = match &r.due_date {
        Some(d) => d.clone(),
        // R6: the 15 calendar days start now; they need no holiday calendar.
        None => {
            let deadline = rules::deadline(&kind, instant(r.received_at_ms.max(0) as u64), Some(instant(now)), &st.calendar.current());
            format_day(deadline.ok_or_else(|| AppError::internal("no deadline after identity verification"))?.date())
        }
    };
    st.db.set_request_identity_verified(&id, now, &due).await?;
    audit::record(&st.db, &staff.caller, &staff.purpose, "verify_identity", &format!("{id} {}", r.subject_id), now).await?;
    let r = reread(&st, &id).await?;
    Ok(Json(info(&r, now)))
}

/// Carry out a request (privacy officer): a correction of identity data applies the corrected
/// value (R2, after identity verification); deletion and closure erase the person's kept images
/// and frames at once; R7 (unlawful collection) also deletes the verdict records, with no legal
/// minimum; otherwise those are anonymised after the minimum by the retention job.
#[utoipa::path(post, path = "/v1/admin/requests/{request_id}/complete", tag = "admin", security(("integrator_key" = [])),
    params(("request_id" = String, Path, description = "Request id"), ("huoti-purpose" = String, Header, description = "Why (audited)")),
    request_body(content = Option<wire::CompleteRightsRequest>, description = "Optional; a correction of identity data carries `corrected_value`"),
    responses(
        (status = 200, description = "Completed", body = wire::RightsRequestInfo),
        (status = 400, description = "purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "request_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_request_state (e.g. identity not verified)", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_complete(
    State(st): State<Arc<AppState>>,
    staff: Staff<HandleRequests>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<wire::RightsRequestInfo>, AppError> {
    // The request is looked up before the body is read: an unknown request is 404 whatever
    // the body holds.
    let r = open_request(&st, &id).await?;
    let body: wire::CompleteRightsRequest = json_body::<Option<wire::CompleteRightsRequest>>(body).await?.unwrap_or_default();
    let now = st.clock.now_ms();
    let kind = rule_kind(&r.kind, r.field.as_deref(), r.verified_field).ok_or_else(|| AppError::internal("stored request kind"))?;
    rules::may_execute(&kind, r.identity_verified_at_ms.map(|t| instant(t.max(0) as u64)))
        .map_err(|_| AppError::new(ErrorCode::InvalidRequestState, "verify the person's identity first (R2, R6)"))?;
    if let RequestKind::Correction { field, .. } = &kind {
        if let Ok(field) = field.parse::<IdentityField>() {
            correct_identity(&st, &r.subject_id, field, body.corrected_value.as_deref()).await?;
        }
    }
    if matches!(kind, RequestKind::DeleteRecords | RequestKind::CloseAccount) {
        // S5: face data and device info shredded now; verdicts and identity data kept only for
        // the legal minimum, never used commercially — or, R7, deleted now with no minimum.
        retention::delete_person(&st, &r.subject_id, r.unlawful).await?;
    }
    if matches!(kind, RequestKind::CloseAccount) {
        // R5, S5: service stops at once — every consent withdrawn (no capture, no sharing, no
        // training use), and no open session of the person's goes on.
        consent::close_account(&st, &r.subject_id, now).await?;
    }
    st.db.complete_rights_request(&id, now).await?;
    audit::record(&st.db, &staff.caller, &staff.purpose, &format!("complete_{}", r.kind), &format!("{id} {}", r.subject_id), now).await?;
    let r = reread(&st, &id).await?;
    Ok(Json(info(&r, now)))
}

/// R2: applies a correction of identity data, validated like any identity data; the value
/// never reaches a log, an error or the audit entry (which names the field only).
async fn correct_identity(st: &AppState, subject: &str, field: IdentityField, value: Option<&str>) -> Result<(), AppError> {
    let value = value.ok_or_else(|| AppError::new(ErrorCode::InvalidRequest, format!("corrected_value: the new {field}")))?;
    let mut data = identity::load(st, subject)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::InvalidRequestState, "no identity data is kept for this person"))?;
    let slot = match field {
        IdentityField::Name => &mut data.name,
        IdentityField::IdNumber => &mut data.id_number,
        IdentityField::Phone => &mut data.phone,
    };
    *slot = Some(value.to_owned());
    let integrator = st.db.identity_integrator(subject).await?;
    identity::store(st, subject, &integrator, &data, st.clock.now_ms()).await
}

/// Refuse a request on an R8 ground, recorded (privacy officer).
#[utoipa::path(post, path = "/v1/admin/requests/{request_id}/refuse", tag = "admin", security(("integrator_key" = [])),
    params(("request_id" = String, Path, description = "Request id")),
    request_body(content = wire::RefuseRequest),
    responses(
        (status = 200, description = "Refused", body = wire::RightsRequestInfo),
        (status = 400, description = "purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "request_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_request_state", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "refusal_ground_required", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_refuse(
    State(st): State<Arc<AppState>>,
    officer: Key<HandleRequests>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<wire::RightsRequestInfo>, AppError> {
    // Authorised before the body is read (a refusal is 401/403 whatever it carries); the
    // purpose may be in the body.
    let req: wire::RefuseRequest = json_body(body).await?;
    let caller: &Caller = &officer;
    let purpose = auth::purpose(&headers, Some(&req.purpose))?;
    let r = open_request(&st, &id).await?;
    let ground: RefusalGround = serde_json::from_value(serde_json::Value::String(req.ground.clone())).map_err(|_| {
        AppError::new(ErrorCode::RefusalGroundRequired, "ground: national_security, public_safety, criminal_proceedings, malicious_abuse, serious_harm_to_others or trade_secrets (R8)")
    })?;
    let now = st.clock.now_ms();
    st.db.refuse_rights_request(&id, &req.ground, &req.explanation, now).await?;
    audit::record(&st.db, caller, &purpose, &format!("refuse_{}:{ground:?}", r.kind), &format!("{id} {}", r.subject_id), now).await?;
    let r = reread(&st, &id).await?;
    Ok(Json(info(&r, now)))
}
