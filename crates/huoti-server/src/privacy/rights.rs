//! The person's rights (R1–R9): a link token for the /privacy page, the subject's own
//! endpoints under `/v1/me/…`, and the staff side under `/v1/admin/requests…` (due dates from
//! `huoti-privacy`'s rules and working-day calendar, refusals only on an R8 ground, every staff
//! access audited with its purpose).

use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_privacy::rights::{self as rules, RefusalGround, RequestKind};
use huoti_privacy::third_party::IdentityField;
use huoti_privacy::{Permission, WorkCalendar};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::Date;

use super::{audit, auth, consent, instant};
use crate::api::{AppState, bearer, json_body, random_b64, random_hex, rfc3339, sha256_hex};
use crate::error::AppError;
use crate::store::Db;

/// How long a privacy-page link lives.
pub const LINK_TTL_MS: u64 = 15 * 60 * 1000;

fn calendar() -> &'static WorkCalendar {
    static CAL: OnceLock<WorkCalendar> = OnceLock::new();
    CAL.get_or_init(WorkCalendar::embedded_default)
}

/// A stored request.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    subject_id: String,
    kind: String,
    field: Option<String>,
    verified_field: bool,
    unlawful: bool,
    status: String,
    received_at_ms: i64,
    identity_verified_at_ms: Option<i64>,
    due_date: Option<String>,
    refusal_ground: Option<String>,
}

fn stored_from(r: &AnyRow) -> Result<Stored, sqlx::Error> {
    Ok(Stored {
        id: r.try_get("id")?,
        subject_id: r.try_get("subject_id")?,
        kind: r.try_get("kind")?,
        field: r.try_get("field")?,
        verified_field: r.try_get::<i64, _>("verified_field")? != 0,
        unlawful: r.try_get::<i64, _>("unlawful")? != 0,
        status: r.try_get("status")?,
        received_at_ms: r.try_get("received_at_ms")?,
        identity_verified_at_ms: r.try_get("identity_verified_at_ms")?,
        due_date: r.try_get("due_date")?,
        refusal_ground: r.try_get("refusal_ground")?,
    })
}

/// The rule's kind of a wire kind.
fn rule_kind(kind: &str, field: Option<&str>, verified_field: bool) -> Option<RequestKind> {
    Some(match kind {
        "access" => RequestKind::Access,
        "export" => RequestKind::Export,
        "correction" => RequestKind::Correction { field: field.unwrap_or_default().to_owned(), verified_field },
        "deletion" => RequestKind::DeleteRecords,
        "closure" => RequestKind::CloseAccount,
        "complaint" => RequestKind::Complaint,
        "other" => RequestKind::Other,
        _ => return None,
    })
}

fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok()
}

fn open(status: &str) -> bool {
    status == "open" || status == "identity_verified"
}

fn info(r: &Stored, now_ms: u64) -> wire::RightsRequestInfo {
    let overdue = open(&r.status) && r.due_date.as_deref().and_then(parse_date).is_some_and(|d| rules::is_overdue(d, instant(now_ms)));
    wire::RightsRequestInfo {
        id: r.id.clone(),
        kind: r.kind.clone(),
        status: r.status.clone(),
        received_at: rfc3339(r.received_at_ms.max(0) as u64),
        identity_verified_at: r.identity_verified_at_ms.map(|t| rfc3339(t.max(0) as u64)),
        due_date: r.due_date.clone(),
        overdue,
        refusal_ground: r.refusal_ground.clone(),
        unlawful: r.unlawful,
    }
}

impl Db {
    async fn requests_where(&self, clause: &str, arg: &str) -> Result<Vec<Stored>, sqlx::Error> {
        let q = format!("SELECT * FROM rights_requests WHERE {clause} ORDER BY received_at_ms, id");
        let rows = sqlx::query(&q).bind(arg).fetch_all(self.pool()).await?;
        rows.iter().map(stored_from).collect()
    }

    /// Open requests whose due date has passed at `now_ms` (the overdue report and gauge).
    pub async fn overdue_requests(&self, now_ms: u64) -> Result<u64, sqlx::Error> {
        let open = self.requests_where("status <> $1 AND status <> 'refused'", "completed").await?;
        Ok(open.iter().filter(|r| info(r, now_ms).overdue).count() as u64)
    }
}

/// The subject behind `Authorization: Bearer pl_…` (401 `invalid_link_token` otherwise).
async fn link_subject(st: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
    let invalid = || AppError::new(ErrorCode::InvalidLinkToken, "open the privacy page through a fresh link from the service you use");
    let token = bearer(headers).filter(|t| t.starts_with("pl_")).ok_or_else(invalid)?;
    let row = sqlx::query("SELECT subject_id, expires_at_ms FROM link_tokens WHERE token_hash = $1")
        .bind(sha256_hex(token))
        .fetch_optional(st.db.pool())
        .await?
        .ok_or_else(invalid)?;
    let expires: i64 = row.try_get("expires_at_ms").map_err(AppError::from)?;
    if st.clock.now_ms() as i64 >= expires {
        return Err(invalid());
    }
    row.try_get("subject_id").map_err(AppError::from)
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
pub async fn privacy_link(State(st): State<Arc<AppState>>, Path(subject_ref): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    let integrator_id = st.integrator(&headers, Permission::SubmitSubjectRequest).await?;
    let not_found = || AppError::new(ErrorCode::SubjectNotFound, "no such subject");
    if !consent::valid_subject_ref(&subject_ref) {
        return Err(not_found());
    }
    let subject = st.db.subject_by_ref(&integrator_id, &subject_ref).await?.ok_or_else(not_found)?;
    let token = format!("pl_{}", random_b64(32));
    let expires = st.clock.now_ms() + LINK_TTL_MS;
    sqlx::query("INSERT INTO link_tokens (token_hash, subject_id, expires_at_ms) VALUES ($1, $2, $3)")
        .bind(sha256_hex(&token))
        .bind(&subject)
        .bind(expires as i64)
        .execute(st.db.pool())
        .await?;
    let url = format!("/privacy#token={token}");
    Ok((StatusCode::CREATED, Json(wire::PrivacyLink { token, expires_at: rfc3339(expires), url })).into_response())
}

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
            sessions.push(wire::MySession {
                session_id: s.id,
                created_at: rfc3339(s.created_at_ms.max(0) as u64),
                state: s.state,
                decision: s.decision,
                device_info_kept: s.device_model.is_some() || s.device_os_type.is_some() || s.device_os_version.is_some(),
            });
        }
    }
    let requests = st.db.requests_where("subject_id = $1", subject).await?.iter().map(|r| info(r, now)).collect();
    Ok(wire::MyData {
        // R1: identifiers are shown masked (the reference may be an account number).
        subject_ref: subject_ref.as_deref().map(huoti_privacy::mask::bank_card).unwrap_or_default(),
        consents,
        sessions,
        requests,
        training_images: st.db.training_images(subject).await?.len() as u64,
        // R1: identity data, masked — ID numbers never shown whole.
        identity: crate::identity::load(st, subject).await?.as_ref().map(crate::identity::masked),
    })
}

/// The person's own data, masked (link token).
#[utoipa::path(get, path = "/v1/me", tag = "privacy", security(("link_token" = [])),
    responses(
        (status = 200, description = "Own data", body = wire::MyData),
        (status = 401, description = "invalid_link_token", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<wire::MyData>, AppError> {
    let subject = link_subject(&st, &headers).await?;
    Ok(Json(my_data(&st, &subject).await?))
}

/// The person's own data as a JSON download (link token).
#[utoipa::path(get, path = "/v1/me/export", tag = "privacy", security(("link_token" = [])),
    responses(
        (status = 200, description = "Own data, as an attachment", body = wire::MyData),
        (status = 401, description = "invalid_link_token", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn me_export(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, AppError> {
    let subject = link_subject(&st, &headers).await?;
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
pub async fn me_withdraw(State(st): State<Arc<AppState>>, Path(scope): Path<String>, headers: HeaderMap) -> Result<Json<wire::ConsentWithdrawn>, AppError> {
    let subject = link_subject(&st, &headers).await?;
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
pub async fn me_request(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Result<Response, AppError> {
    let subject = link_subject(&st, &headers).await?;
    let mut req: wire::NewRightsRequest = json_body(body).await?;
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
    // Closure and complaints run from receipt (R5, R9); the others from identity verification (R6).
    let due = match rules::due_date(&kind, instant(now), None, calendar()) {
        Ok(d) => Some(date_text(d)),
        Err(rules::RightsError::IdentityNotVerified) => None,
        Err(e) => return Err(AppError::internal(e)),
    };
    let id = format!("rq_{}", random_hex(12));
    sqlx::query(
        "INSERT INTO rights_requests (id, subject_id, kind, field, verified_field, unlawful, details, status, received_at_ms, due_date) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)",
    )
    .bind(&id)
    .bind(&subject)
    .bind(&req.kind)
    .bind(&req.field)
    .bind(i64::from(req.verified_field))
    .bind(i64::from(req.unlawful && req.kind == "deletion"))
    .bind(&req.details)
    .bind(now as i64)
    .bind(&due)
    .execute(st.db.pool())
    .await?;
    let stored = st.db.requests_where("id = $1", &id).await?.pop().ok_or_else(|| AppError::internal("request vanished"))?;
    Ok((StatusCode::CREATED, Json(info(&stored, now))).into_response())
}

const STAFF: &[Permission] = &[Permission::HandleSubjectRequests, Permission::HandleComplaints];

/// Every request and complaint with its due date (privacy officer; audited).
#[utoipa::path(get, path = "/v1/admin/requests", tag = "admin", security(("integrator_key" = [])),
    params(("huoti-purpose" = String, Header, description = "Why (audited)")),
    responses(
        (status = 200, description = "Requests", body = Vec<wire::RightsRequestInfo>),
        (status = 400, description = "purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_list(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<Vec<wire::RightsRequestInfo>>, AppError> {
    let caller = st.authorize(&headers, STAFF).await?;
    let purpose = auth::purpose(&headers, None)?;
    let now = st.clock.now_ms();
    let all = st.db.requests_where("id <> $1", "").await?;
    audit::record(&st.db, &caller, &purpose, "list_requests", "rights_requests", now).await?;
    Ok(Json(all.iter().map(|r| info(r, now)).collect()))
}

/// How many requests are overdue (operator, privacy officer): the count only, no personal data.
#[utoipa::path(get, path = "/v1/admin/requests/overdue", tag = "admin", security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Overdue requests", body = Vec<wire::RightsRequestInfo>),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn admin_overdue(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<Vec<wire::RightsRequestInfo>>, AppError> {
    st.authorize(&headers, &[Permission::ReadHealth, Permission::HandleSubjectRequests]).await?;
    let now = st.clock.now_ms();
    let open = st.db.requests_where("status <> $1 AND status <> 'refused'", "completed").await?;
    Ok(Json(open.iter().map(|r| info(r, now)).filter(|r| r.overdue).collect()))
}

async fn staff_request(st: &AppState, headers: &HeaderMap, id: &str, body_purpose: Option<&str>) -> Result<(auth::Caller, String, Stored), AppError> {
    let caller = st.authorize(headers, STAFF).await?;
    let purpose = auth::purpose(headers, body_purpose)?;
    let r = st.db.requests_where("id = $1", id).await?.pop().ok_or_else(|| AppError::new(ErrorCode::RequestNotFound, "no such request"))?;
    if !open(&r.status) {
        return Err(AppError::new(ErrorCode::InvalidRequestState, format!("the request is {}", r.status)));
    }
    Ok((caller, purpose, r))
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
pub async fn admin_verify_identity(State(st): State<Arc<AppState>>, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<wire::RightsRequestInfo>, AppError> {
    let (caller, purpose, r) = staff_request(&st, &headers, &id, None).await?;
    let now = st.clock.now_ms();
    let kind = rule_kind(&r.kind, r.field.as_deref(), r.verified_field).ok_or_else(|| AppError::internal("stored request kind"))?;
    let due = match &r.due_date {
        Some(d) => d.clone(),
        None => date_text(rules::due_date(&kind, instant(r.received_at_ms.max(0) as u64), Some(instant(now)), calendar()).map_err(AppError::internal)?),
    };
    sqlx::query("UPDATE rights_requests SET status = 'identity_verified', identity_verified_at_ms = $2, due_date = $3 WHERE id = $1")
        .bind(&id)
        .bind(now as i64)
        .bind(&due)
        .execute(st.db.pool())
        .await?;
    audit::record(&st.db, &caller, &purpose, "verify_identity", &format!("{id} {}", r.subject_id), now).await?;
    let r = st.db.requests_where("id = $1", &id).await?.pop().ok_or_else(|| AppError::internal("request vanished"))?;
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
pub async fn admin_complete(State(st): State<Arc<AppState>>, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Json<wire::RightsRequestInfo>, AppError> {
    let (caller, purpose, r) = staff_request(&st, &headers, &id, None).await?;
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
        crate::retention::delete_person(&st, &r.subject_id, r.unlawful).await?;
    }
    if matches!(kind, RequestKind::CloseAccount) {
        // R5, S5: service stops at once — no further capture for this person.
        st.db.withdraw_consent(&r.subject_id, "face_capture_and_upload", now).await?;
    }
    sqlx::query("UPDATE rights_requests SET status = 'completed', closed_at_ms = $2 WHERE id = $1").bind(&id).bind(now as i64).execute(st.db.pool()).await?;
    audit::record(&st.db, &caller, &purpose, &format!("complete_{}", r.kind), &format!("{id} {}", r.subject_id), now).await?;
    let r = st.db.requests_where("id = $1", &id).await?.pop().ok_or_else(|| AppError::internal("request vanished"))?;
    Ok(Json(info(&r, now)))
}

/// R2: applies a correction of identity data, validated like any identity data; the value
/// never reaches a log, an error or the audit entry (which names the field only).
async fn correct_identity(st: &AppState, subject: &str, field: IdentityField, value: Option<&str>) -> Result<(), AppError> {
    let value = value.ok_or_else(|| AppError::new(ErrorCode::InvalidRequest, format!("corrected_value: the new {field}")))?;
    let mut data = crate::identity::load(st, subject)
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::InvalidRequestState, "no identity data is kept for this person"))?;
    let slot = match field {
        IdentityField::Name => &mut data.name,
        IdentityField::IdNumber => &mut data.id_number,
        IdentityField::Phone => &mut data.phone,
    };
    *slot = Some(value.to_owned());
    let integrator: String =
        sqlx::query_scalar("SELECT integrator_id FROM identities WHERE subject_id = $1").bind(subject).fetch_one(st.db.pool()).await?;
    crate::identity::store(st, subject, &integrator, &data, st.clock.now_ms()).await
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
pub async fn admin_refuse(State(st): State<Arc<AppState>>, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Json<wire::RightsRequestInfo>, AppError> {
    // Authorise before reading the body: a refusal is 401/403 whatever it carries.
    st.authorize(&headers, STAFF).await?;
    let req: wire::RefuseRequest = json_body(body).await?;
    let (caller, purpose, r) = staff_request(&st, &headers, &id, Some(&req.purpose)).await?;
    let ground: RefusalGround = serde_json::from_value(serde_json::Value::String(req.ground.clone())).map_err(|_| {
        AppError::new(ErrorCode::RefusalGroundRequired, "ground: national_security, public_safety, criminal_proceedings, malicious_abuse, serious_harm_to_others or trade_secrets (R8)")
    })?;
    let now = st.clock.now_ms();
    sqlx::query("UPDATE rights_requests SET status = 'refused', refusal_ground = $2, refusal_explanation = $3, closed_at_ms = $4 WHERE id = $1")
        .bind(&id)
        .bind(&req.ground)
        .bind(&req.explanation)
        .bind(now as i64)
        .execute(st.db.pool())
        .await?;
    audit::record(&st.db, &caller, &purpose, &format!("refuse_{}:{ground:?}", r.kind), &format!("{id} {}", r.subject_id), now).await?;
    let r = st.db.requests_where("id = $1", &id).await?.pop().ok_or_else(|| AppError::internal("request vanished"))?;
    Ok(Json(info(&r, now)))
}
