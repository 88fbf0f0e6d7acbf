//! Training samples (C4): face images are seen by people only as a random sample that an ML
//! engineer asks for (size and purpose, never a person), that a *different* person with the
//! privacy-officer role approves, and that expires. `huoti-privacy`'s [`sampling`] decides
//! (two people, sizes, expiry) and picks uniformly at random (the server passes `OsRng`);
//! only subjects whose `retain_for_training` consent is current are eligible (L2). Every step
//! is audited.
//!
//! [`sampling`]: huoti_privacy::sampling

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_privacy::sampling::{SampleRequest, SamplingError, Staff};
use huoti_privacy::{Permission, SubjectId};
use rand_core::OsRng;
use sqlx::Row;

use super::{audit, auth, consent, instant, training};
use crate::api::{AppState, json_body, random_hex, rfc3339};
use crate::error::AppError;

fn sampling_error(e: SamplingError) -> AppError {
    match e {
        SamplingError::SelfApproval => AppError::new(ErrorCode::SelfApproval, "the requester cannot approve their own sample (C4: two people)"),
        SamplingError::NotPermitted { .. } => AppError::new(ErrorCode::Forbidden, e.to_string()),
        SamplingError::MissingPurpose => AppError::new(ErrorCode::PurposeRequired, e.to_string()),
        SamplingError::Expired => AppError::new(ErrorCode::SampleExpired, e.to_string()),
        SamplingError::BadSize(_) | SamplingError::BadExpiry => AppError::new(ErrorCode::InvalidRequest, e.to_string()),
    }
}

fn staff(c: &auth::Caller) -> Staff {
    Staff { id: c.key_id.clone(), role: c.role }
}

struct Row_ {
    requester: String,
    size: i64,
    purpose: String,
    requested_at_ms: i64,
    approver: Option<String>,
    expires_at_ms: Option<i64>,
    picked: Option<String>,
}

async fn load(st: &AppState, id: &str) -> Result<Row_, AppError> {
    let r = sqlx::query("SELECT * FROM training_samples WHERE id = $1")
        .bind(id)
        .fetch_optional(st.db.pool())
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::SampleNotFound, "no such sample"))?;
    Ok(Row_ {
        requester: r.try_get("requester")?,
        size: r.try_get("size")?,
        purpose: r.try_get("purpose")?,
        requested_at_ms: r.try_get("requested_at_ms")?,
        approver: r.try_get("approver")?,
        expires_at_ms: r.try_get("expires_at_ms")?,
        picked: r.try_get("picked")?,
    })
}

fn info(id: &str, r: &Row_) -> wire::SampleInfo {
    wire::SampleInfo {
        id: id.to_owned(),
        size: r.size.max(0) as u64,
        status: if r.approver.is_some() { "approved" } else { "requested" }.into(),
        picked: r.picked.as_deref().map_or(0, |p| p.split(',').filter(|s| !s.is_empty()).count() as u64),
        expires_at: r.expires_at_ms.map(|t| rfc3339(t.max(0) as u64)),
    }
}

/// Ask for a random training sample (ML engineer; audited).
#[utoipa::path(post, path = "/v1/admin/samples", tag = "admin", security(("integrator_key" = [])),
    request_body(content = wire::SampleAsk),
    responses(
        (status = 201, description = "Requested", body = wire::SampleInfo),
        (status = 400, description = "invalid_request, purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn ask(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Result<Response, AppError> {
    let caller = st.authorize(&headers, &[Permission::RequestTrainingSample]).await?;
    let req: wire::SampleAsk = json_body(body).await?;
    let purpose = auth::purpose(&headers, Some(&req.purpose))?;
    let now = st.clock.now_ms();
    SampleRequest::new(&staff(&caller), req.size, &purpose, instant(now)).map_err(sampling_error)?;
    let id = format!("sm_{}", random_hex(12));
    sqlx::query("INSERT INTO training_samples (id, requester, size, purpose, requested_at_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(&caller.key_id)
        .bind(req.size as i64)
        .bind(&purpose)
        .bind(now as i64)
        .execute(st.db.pool())
        .await?;
    audit::record(&st.db, &caller, &purpose, "request_training_sample", &id, now).await?;
    Ok((StatusCode::CREATED, Json(info(&id, &load(&st, &id).await?))).into_response())
}

/// Approve someone else's sample; the images are picked at random now (privacy officer; audited).
#[utoipa::path(post, path = "/v1/admin/samples/{sample_id}/approve", tag = "admin", security(("integrator_key" = [])),
    params(("sample_id" = String, Path, description = "Sample id")),
    request_body(content = wire::SampleApproval),
    responses(
        (status = 200, description = "Approved", body = wire::SampleInfo),
        (status = 400, description = "invalid_request, purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden, self_approval", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "sample_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "invalid_request_state (already approved)", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn approve(State(st): State<Arc<AppState>>, Path(id): Path<String>, headers: HeaderMap, body: Body) -> Result<Json<wire::SampleInfo>, AppError> {
    let caller = st.authorize(&headers, &[Permission::ApproveTrainingSample]).await?;
    let req: wire::SampleApproval = json_body(body).await?;
    let purpose = auth::purpose(&headers, Some(&req.purpose))?;
    let row = load(&st, &id).await?;
    if row.approver.is_some() {
        return Err(AppError::new(ErrorCode::InvalidRequestState, "the sample is approved already"));
    }
    let now = st.clock.now_ms();
    let requester = Staff { id: row.requester.clone(), role: huoti_privacy::Role::MlEngineer };
    let request = SampleRequest::new(&requester, row.size.max(0) as usize, &row.purpose, instant(row.requested_at_ms.max(0) as u64)).map_err(sampling_error)?;
    let ttl = time::Duration::seconds(req.ttl_s.min(i64::MAX as u64) as i64);
    let approved = request.approve(&staff(&caller), instant(now), ttl).map_err(sampling_error)?;
    // Eligible: images of subjects whose retain_for_training consent is current now (L2).
    let mut eligible = Vec::new();
    for (image_id, subject, _) in st.db.all_training_images().await? {
        let ledger = consent::ledger(&st, &subject).await?;
        if ledger.may_retain_for_training(&SubjectId::new(&subject), instant(now)).is_ok() {
            eligible.push(image_id);
        }
    }
    let picked = approved.pick_random(&eligible, instant(now), &mut OsRng).map_err(sampling_error)?;
    let picked: Vec<&str> = picked.into_iter().map(String::as_str).collect();
    let expires = (approved.expires_at().unix_timestamp_nanos() / 1_000_000) as i64;
    sqlx::query("UPDATE training_samples SET approver = $2, approved_at_ms = $3, expires_at_ms = $4, picked = $5 WHERE id = $1 AND approver IS NULL")
        .bind(&id)
        .bind(&caller.key_id)
        .bind(now as i64)
        .bind(expires)
        .bind(picked.join(","))
        .execute(st.db.pool())
        .await?;
    audit::record(&st.db, &caller, &purpose, "approve_training_sample", &id, now).await?;
    Ok(Json(info(&id, &load(&st, &id).await?)))
}

/// The approved sample's images, decrypted, until it expires (ML engineer; audited).
#[utoipa::path(get, path = "/v1/admin/samples/{sample_id}/export", tag = "admin", security(("integrator_key" = [])),
    params(("sample_id" = String, Path, description = "Sample id"), ("huoti-purpose" = String, Header, description = "Why (audited)")),
    responses(
        (status = 200, description = "Images", body = Vec<wire::SampleImage>),
        (status = 400, description = "purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "sample_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "sample_not_approved", body = wire::Problem, content_type = "application/problem+json"),
        (status = 410, description = "sample_expired", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(State(st): State<Arc<AppState>>, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<Vec<wire::SampleImage>>, AppError> {
    let caller = st.authorize(&headers, &[Permission::ViewTrainingSample]).await?;
    let purpose = auth::purpose(&headers, None)?;
    let row = load(&st, &id).await?;
    let (Some(expires), Some(picked)) = (row.expires_at_ms, row.picked.as_deref()) else {
        return Err(AppError::new(ErrorCode::SampleNotApproved, "a privacy officer must approve the sample first"));
    };
    let now = st.clock.now_ms();
    if now as i64 >= expires {
        return Err(AppError::new(ErrorCode::SampleExpired, "the sample's export window has passed"));
    }
    audit::record(&st.db, &caller, &purpose, "export_training_sample", &id, now).await?;
    let all = st.db.all_training_images().await?;
    let mut out = Vec::new();
    for image_id in picked.split(',').filter(|s| !s.is_empty()) {
        // An image deleted since (consent withdrawn, R3) is simply absent.
        let Some((_, subject, blob_key)) = all.iter().find(|(i, _, _)| i == image_id) else { continue };
        let Ok(jpeg) = training::open(&st, subject, blob_key).await else { continue };
        out.push(wire::SampleImage { n: out.len() as u64, jpeg_base64: base64::engine::general_purpose::STANDARD.encode(jpeg) });
    }
    Ok(Json(out))
}
