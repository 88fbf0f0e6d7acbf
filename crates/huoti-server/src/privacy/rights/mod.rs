//! The person's rights (R1–R9): a link token for the /privacy page, the subject's own
//! endpoints under `/v1/me/…`, and the staff side under `/v1/admin/requests…` (due dates from
//! `huoti-privacy`'s rules and working-day calendar, refusals only on an R8 ground, every staff
//! access audited with its purpose).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_privacy::rights as rules;
use huoti_privacy::third_party::IdentityField;
use utoipa::OpenApi;

use super::consent::{self, SubmitForPerson};
use crate::error::AppError;
use crate::http::JsonBody;
use crate::http::auth::{Access, Key, LinkSubject, Permits, Route};
use crate::{facematch, identity};
use crate::state::AppState;
use crate::store::Db;
use crate::store::rights::NewRightsRequest;
use crate::util::{format_day, instant, random_b64, random_hex, rfc3339, sha256_hex};

pub mod calendar;
pub mod requests;
pub mod staff;

use requests::{info, rule_kind};
use staff::{HandleRequests, SeeOverdue};

/// The routes of the person's rights.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/subjects/{subject_ref}/privacy-link", post(privacy_link))
        .route("/v1/me", get(me))
        .route("/v1/me/export", get(me_export))
        .route("/v1/me/consents/{scope}", delete(me_withdraw))
        .route("/v1/me/requests", post(me_request))
        .route("/v1/admin/requests", get(staff::admin_list))
        .route("/v1/admin/requests/overdue", get(staff::admin_overdue))
        .route("/v1/admin/requests/{request_id}/verify-identity", post(staff::admin_verify_identity))
        .route("/v1/admin/requests/{request_id}/complete", post(staff::admin_complete))
        .route("/v1/admin/requests/{request_id}/refuse", post(staff::admin_refuse))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(
    privacy_link, me, me_export, me_withdraw, me_request,
    staff::admin_list, staff::admin_overdue, staff::admin_verify_identity, staff::admin_complete, staff::admin_refuse,
))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("post", "/v1/subjects/{subject_ref}/privacy-link", Access::Key(SubmitForPerson::ANY_OF)),
    ("get", "/v1/me", Access::LinkToken),
    ("get", "/v1/me/export", Access::LinkToken),
    ("delete", "/v1/me/consents/{scope}", Access::LinkToken),
    ("post", "/v1/me/requests", Access::LinkToken),
    ("get", "/v1/admin/requests", Access::Key(HandleRequests::ANY_OF)),
    ("get", "/v1/admin/requests/overdue", Access::Key(SeeOverdue::ANY_OF)),
    ("post", "/v1/admin/requests/{request_id}/verify-identity", Access::Key(HandleRequests::ANY_OF)),
    ("post", "/v1/admin/requests/{request_id}/complete", Access::Key(HandleRequests::ANY_OF)),
    ("post", "/v1/admin/requests/{request_id}/refuse", Access::Key(HandleRequests::ANY_OF)),
];

/// How long a privacy-page link lives.
pub const LINK_TTL_MS: u64 = 15 * 60 * 1000;

/// Open requests whose due date has passed at `now_ms` (the `/metrics` gauge; a count, no ids).
pub async fn overdue_count(db: &Db, now_ms: u64) -> Result<u64, sqlx::Error> {
    let open = db.unfinished_rights_requests().await?;
    Ok(open.iter().filter(|r| info(r, now_ms).overdue).count() as u64)
}

/// Issue a short-lived privacy-page link for a person (integrator key).
#[utoipa::path(post, path = "/v1/subjects/{subject_ref}/privacy-link", tag = "privacy",
    params(("subject_ref" = String, Path, description = "The integrator's subject reference")),
    security(("integrator_key" = [])),
    responses(
        (status = 201, description = "Link issued", body = wire::PrivacyLink),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "subject_not_found", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn privacy_link(State(st): State<Arc<AppState>>, integrator: Key<SubmitForPerson>, Path(subject_ref): Path<String>) -> Result<Response, AppError> {
    let integrator_id = &integrator.key_id;
    let not_found = || AppError::new(ErrorCode::SubjectNotFound, "no such subject");
    if !consent::valid_subject_ref(&subject_ref) {
        return Err(not_found());
    }
    let subject = st.db.subject_by_ref(integrator_id, &subject_ref).await?.ok_or_else(not_found)?;
    let token = format!("pl_{}", random_b64(32));
    let expires = st.clock.now_ms() + LINK_TTL_MS;
    st.db.insert_link_token(&sha256_hex(&token), &subject, expires).await?;
    let url = format!("/privacy#token={token}");
    Ok((StatusCode::CREATED, Json(wire::PrivacyLink { token, expires_at: rfc3339(expires), url })).into_response())
}

/// Everything kept about a person, as they may see it (R1: masked).
async fn my_data(st: &AppState, subject: &str) -> Result<wire::MyData, AppError> {
    let now = st.clock.now_ms();
    let (_, subject_ref) = st.db.subject(subject).await?.ok_or_else(|| AppError::internal("link to a missing subject"))?;
    let consents = st
        .db
        .consents(subject)
        .await?
        .into_iter()
        .map(|c| wire::MyConsent {
            scope: c.scope,
            policy_version: c.policy_version,
            channel: c.channel,
            granted_at: rfc3339(c.granted_at_ms.max(0) as u64),
            withdrawn_at: c.withdrawn_at_ms.map(|w| rfc3339(w.max(0) as u64)),
        })
        .collect();
    let mut sessions = Vec::new();
    for id in st.db.subject_sessions(subject).await? {
        if let Some(s) = st.db.session(&id).await? {
            // Device info lives sealed in its own table (P2, S2); the v1 columns stay empty.
            let device_info_kept = st.db.has_session_device(&id).await?;
            sessions.push(wire::MySession {
                session_id: s.id,
                created_at: rfc3339(s.created_at_ms.max(0) as u64),
                state: s.state.as_str().to_owned(),
                decision: s.decision,
                device_info_kept,
            });
        }
    }
    let requests = st.db.subject_rights_requests(subject).await?.iter().map(|r| info(r, now)).collect();
    Ok(wire::MyData {
        // R1: identifiers are shown masked (the reference may be an account number).
        subject_ref: subject_ref.as_deref().map(huoti_privacy::mask::bank_card).unwrap_or_default(),
        consents,
        sessions,
        requests,
        training_images: st.db.training_images(subject).await?.len() as u64,
        // R1: identity data, masked — ID numbers never shown whole.
        identity: identity::load(st, subject).await?.as_ref().map(identity::masked),
        // That a face reference exists and when it was made; never the template.
        face_reference: facematch::my_reference(st, subject).await?,
    })
}

/// The person's own data, masked (link token).
#[utoipa::path(get, path = "/v1/me", tag = "privacy", security(("link_token" = [])),
    responses(
        (status = 200, description = "Own data", body = wire::MyData),
        (status = 401, description = "invalid_link_token", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(State(st): State<Arc<AppState>>, LinkSubject(subject): LinkSubject) -> Result<Json<wire::MyData>, AppError> {
    Ok(Json(my_data(&st, &subject).await?))
}

/// The person's own data as a JSON download (link token).
#[utoipa::path(get, path = "/v1/me/export", tag = "privacy", security(("link_token" = [])),
    responses(
        (status = 200, description = "Own data, as an attachment", body = wire::MyData),
        (status = 401, description = "invalid_link_token", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn me_export(State(st): State<Arc<AppState>>, LinkSubject(subject): LinkSubject) -> Result<Response, AppError> {
    let mut res = Json(my_data(&st, &subject).await?).into_response();
    res.headers_mut().insert(header::CONTENT_DISPOSITION, header::HeaderValue::from_static("attachment; filename=\"huoti-my-data.json\""));
    Ok(res)
}

/// Withdraw one of the person's own consents (link token; R4).
#[utoipa::path(delete, path = "/v1/me/consents/{scope}", tag = "privacy", security(("link_token" = [])),
    params(("scope" = String, Path, description = "Consent scope")),
    responses(
        (status = 200, description = "Withdrawn; what followed", body = wire::ConsentWithdrawn),
        (status = 400, description = "invalid_request", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_link_token", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn me_withdraw(State(st): State<Arc<AppState>>, LinkSubject(subject): LinkSubject, Path(scope): Path<String>) -> Result<Json<wire::ConsentWithdrawn>, AppError> {
    Ok(Json(consent::withdraw(&st, &subject, &scope, st.clock.now_ms()).await?))
}

/// Submit a request or complaint (link token): due dates per R5, R6, R9.
#[utoipa::path(post, path = "/v1/me/requests", tag = "privacy", security(("link_token" = [])),
    request_body(content = wire::NewRightsRequest),
    responses(
        (status = 201, description = "Received", body = wire::RightsRequestInfo),
        (status = 400, description = "invalid_request", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "invalid_link_token", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn me_request(
    State(st): State<Arc<AppState>>,
    LinkSubject(subject): LinkSubject,
    JsonBody(mut req): JsonBody<wire::NewRightsRequest>,
) -> Result<Response, AppError> {
    // R2: whether a field is a verified one is the server's call, not the asker's: identity
    // data (a verified name, a bound phone, the ID number) always needs identity verification.
    if req.kind == "correction" && req.field.as_deref().is_some_and(|f| f.parse::<IdentityField>().is_ok()) {
        req.verified_field = true;
    }
    let kind = rule_kind(&req.kind, req.field.as_deref(), req.verified_field)
        .ok_or_else(|| AppError::new(ErrorCode::InvalidRequest, "kind: access, export, correction, deletion, closure, complaint or other"))?;
    if req.details.len() > 4000 || req.field.as_deref().is_some_and(|f| f.len() > 64) {
        return Err(AppError::new(ErrorCode::InvalidRequest, "details: at most 4000 bytes; field: at most 64"));
    }
    let now = st.clock.now_ms();
    // Closure and complaints run from receipt (R5, R9); the others from identity verification
    // (R6: no deadline yet). A count past the calendar's last year is provisional, never a
    // refusal: the request is taken, and counted again once the next year's notice is installed.
    let deadline = rules::deadline(&kind, instant(now), None, &st.calendar.current());
    let due_provisional = deadline.is_some_and(|d| d.is_provisional());
    if due_provisional {
        crate::metrics::global().provisional_due_date();
    }
    let due = deadline.map(|d| format_day(d.date()));
    let id = format!("rq_{}", random_hex(12));
    st.db
        .insert_rights_request(&NewRightsRequest {
            id: &id,
            subject_id: &subject,
            kind: &req.kind,
            field: req.field.as_deref(),
            verified_field: req.verified_field,
            unlawful: req.unlawful && req.kind == "deletion",
            details: &req.details,
            received_at_ms: now,
            due_date: due.as_deref(),
            due_provisional,
        })
        .await?;
    let stored = st.db.rights_request(&id).await?.ok_or_else(|| AppError::internal("request vanished"))?;
    Ok((StatusCode::CREATED, Json(info(&stored, now))).into_response())
}
