//! Training samples (C4): face images are seen by people only as a random sample that an ML
//! engineer asks for (size and purpose, never a person), that a *different* person with the
//! privacy-officer role approves, and that expires. `huoti-privacy`'s [`sampling`] decides
//! (two people, sizes, expiry) and picks uniformly at random (the server passes `OsRng`);
//! only subjects whose `retain_for_training` consent is current are eligible (L2). Every step
//! is audited.
//!
//! [`sampling`]: huoti_privacy::sampling

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_privacy::SubjectId;
use huoti_privacy::sampling::{SampleRequest, SamplingError, Staff as SamplingStaff};
use rand_core::OsRng;
use utoipa::OpenApi;

use super::{audit, consent, training};
use crate::error::AppError;
use crate::http::JsonBody;
use crate::http::auth::{self, Access, Caller, Key, Permits, Route, Staff, permits};
use crate::state::AppState;
use crate::store::training::SampleRow;
use crate::util::{ct_eq, instant, random_hex, rfc3339};

permits!(
    /// Who asks for samples: ML engineers.
    pub RequestSamples = [RequestTrainingSample]
);
permits!(
    /// Who approves samples: privacy officers.
    pub ApproveSamples = [ApproveTrainingSample]
);
permits!(
    /// Who sees an approved sample: ML engineers.
    pub ViewSamples = [ViewTrainingSample]
);

/// The routes of training samples.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/admin/samples", post(ask))
        .route("/v1/admin/samples/{sample_id}/approve", post(approve))
        .route("/v1/admin/samples/{sample_id}/export", get(export))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(ask, approve, export))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("post", "/v1/admin/samples", Access::Key(RequestSamples::ANY_OF)),
    ("post", "/v1/admin/samples/{sample_id}/approve", Access::Key(ApproveSamples::ANY_OF)),
    ("get", "/v1/admin/samples/{sample_id}/export", Access::Key(ViewSamples::ANY_OF)),
];

/// The API error of a refusal by the sampling rules.
fn sampling_error(e: SamplingError) -> AppError {
    match e {
        SamplingError::SelfApproval => AppError::new(ErrorCode::SelfApproval, "the requester cannot approve their own sample (C4: two people)"),
        SamplingError::NotPermitted { .. } => AppError::new(ErrorCode::Forbidden, e.to_string()),
        SamplingError::MissingPurpose => AppError::new(ErrorCode::PurposeRequired, e.to_string()),
        SamplingError::Expired => AppError::new(ErrorCode::SampleExpired, e.to_string()),
        SamplingError::BadSize(_) | SamplingError::BadExpiry => AppError::new(ErrorCode::InvalidRequest, e.to_string()),
    }
}

/// The sampling rules' view of a caller.
fn staff(c: &Caller) -> SamplingStaff {
    SamplingStaff { id: c.key_id.clone(), role: c.role }
}

/// A sample by id (404 `sample_not_found`).
async fn load(st: &AppState, id: &str) -> Result<SampleRow, AppError> {
    st.db.sample(id).await?.ok_or_else(|| AppError::new(ErrorCode::SampleNotFound, "no such sample"))
}

/// The wire form of a sample.
fn info(id: &str, r: &SampleRow) -> wire::SampleInfo {
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
pub async fn ask(
    State(st): State<Arc<AppState>>,
    engineer: Key<RequestSamples>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<wire::SampleAsk>,
) -> Result<Response, AppError> {
    let caller: &Caller = &engineer;
    let purpose = auth::purpose(&headers, Some(&req.purpose))?;
    let now = st.clock.now_ms();
    SampleRequest::new(&staff(caller), req.size, &purpose, instant(now)).map_err(sampling_error)?;
    let id = format!("sm_{}", random_hex(12));
    st.db.insert_sample(&id, &caller.key_id, req.size as u64, &purpose, now).await?;
    audit::record(&st.db, caller, &purpose, "request_training_sample", &id, now).await?;
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
pub async fn approve(
    State(st): State<Arc<AppState>>,
    officer: Key<ApproveSamples>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<wire::SampleApproval>,
) -> Result<Json<wire::SampleInfo>, AppError> {
    let caller: &Caller = &officer;
    let purpose = auth::purpose(&headers, Some(&req.purpose))?;
    let row = load(&st, &id).await?;
    if row.approver.is_some() {
        return Err(AppError::new(ErrorCode::InvalidRequestState, "the sample is approved already"));
    }
    let now = st.clock.now_ms();
    let requester = SamplingStaff { id: row.requester.clone(), role: huoti_privacy::Role::MlEngineer };
    let request = SampleRequest::new(&requester, row.size.max(0) as usize, &row.purpose, instant(row.requested_at_ms.max(0) as u64)).map_err(sampling_error)?;
    let ttl = time::Duration::seconds(req.ttl_s.min(i64::MAX as u64) as i64);
    let approved = request.approve(&staff(caller), instant(now), ttl).map_err(sampling_error)?;
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
    st.db.approve_sample(&id, &caller.key_id, now, expires, &picked.join(",")).await?;
    audit::record(&st.db, caller, &purpose, "approve_training_sample", &id, now).await?;
    Ok(Json(info(&id, &load(&st, &id).await?)))
}

/// The approved sample's images, decrypted, until it expires (the ML engineer who asked for
/// it; audited).
#[utoipa::path(get, path = "/v1/admin/samples/{sample_id}/export", tag = "admin", security(("integrator_key" = [])),
    params(("sample_id" = String, Path, description = "Sample id"), ("huoti-purpose" = String, Header, description = "Why (audited)")),
    responses(
        (status = 200, description = "Images", body = Vec<wire::SampleImage>),
        (status = 400, description = "purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden (also: not the requester of the sample)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "sample_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "sample_not_approved", body = wire::Problem, content_type = "application/problem+json"),
        (status = 410, description = "sample_expired", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(State(st): State<Arc<AppState>>, engineer: Staff<ViewSamples>, Path(id): Path<String>) -> Result<Json<Vec<wire::SampleImage>>, AppError> {
    let row = load(&st, &id).await?;
    // C4, two-person control: the sample was approved for the engineer who asked for it, with
    // their stated purpose; nobody else opens it.
    if !ct_eq(&row.requester, &engineer.caller.key_id) {
        return Err(AppError::new(ErrorCode::Forbidden, "only the ML engineer who asked for this sample may export it"));
    }
    let (Some(expires), Some(picked)) = (row.expires_at_ms, row.picked.as_deref()) else {
        return Err(AppError::new(ErrorCode::SampleNotApproved, "a privacy officer must approve the sample first"));
    };
    let now = st.clock.now_ms();
    if now as i64 >= expires {
        return Err(AppError::new(ErrorCode::SampleExpired, "the sample's export window has passed"));
    }
    audit::record(&st.db, &engineer.caller, &engineer.purpose, "export_training_sample", &id, now).await?;
    let all = st.db.all_training_images().await?;
    let mut out = Vec::new();
    for image_id in picked.split(',').filter(|s| !s.is_empty()) {
        // An image deleted since (consent withdrawn, R3) is simply absent.
        let Some((_, subject, blob_key)) = all.iter().find(|(i, _, _)| i == image_id) else { continue };
        let jpeg = match training::open(&st, subject, blob_key).await {
            Ok(jpeg) => jpeg,
            Err(e) => {
                // Its cause is logged here, as the answer leaves it out.
                if let Some(cause) = e.cause() {
                    tracing::error!(error = %cause, "internal error");
                }
                continue;
            }
        };
        out.push(wire::SampleImage { n: out.len() as u64, jpeg_base64: base64::engine::general_purpose::STANDARD.encode(jpeg) });
    }
    Ok(Json(out))
}
