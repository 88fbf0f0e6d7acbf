//! Face match (本人核验, issue 14): is the live person the account holder?
//!
//! A person's **reference** is one face template (SFace, 128 numbers), never an image: an
//! integrator enrols it from an image (`PUT /v1/subjects/{subject_ref}/reference`: an ID or
//! account photo) or asks a session to enrol it from its own best frame when — and only
//! when — that session is live (`enrol_reference` at creation). Either way the image is
//! dropped as soon as the template exists, and the template is sealed under a data key of its
//! own ([`FrameVault::put_face_reference`](crate::vault::FrameVault::put_face_reference)).
//! Both need the person's separate `face_comparison` consent; refusing it never blocks
//! liveness (C6).
//!
//! A session created with `face_match` compares its 2–3 best frames with the reference at
//! `complete`, **only when the liveness decision is live** ([`session::at_complete`]), and
//! the signed verdict gains `face_match {similarity, threshold, decision, model}`.
//!
//! Withdrawing `face_comparison`, deleting the person or closing the account shreds the
//! reference at once (the consent feature calls the vault directly, being earlier in the
//! feature order); retention shreds it `face_match.reference_max_days` after it was made
//! ([`expire`]). Every enrolment and comparison is in the audit log.

mod reference;
pub mod session;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use huoti_api as wire;
use huoti_api::ErrorCode;
use utoipa::OpenApi;

pub use reference::{expire, my_reference};

use crate::error::AppError;
use crate::http::auth::{Access, Key, Permits, Route, permits};
use crate::privacy::{audit, consent};
use crate::state::AppState;
use crate::util::rfc3339;

permits!(
    /// Who enrols, reads and deletes a person's face reference: integrators (those who create
    /// the person's sessions).
    pub ManageReferences = [CreateSession]
);

/// The routes of face match.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/subjects/{subject_ref}/reference", put(enrol_image).get(reference_info).delete(delete_reference))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(enrol_image, reference_info, delete_reference))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("put", "/v1/subjects/{subject_ref}/reference", Access::Key(ManageReferences::ANY_OF)),
    ("get", "/v1/subjects/{subject_ref}/reference", Access::Key(ManageReferences::ANY_OF)),
    ("delete", "/v1/subjects/{subject_ref}/reference", Access::Key(ManageReferences::ANY_OF)),
];

/// The audit purpose of every face-match entry.
const AUDIT_PURPOSE: &str = "face_match";

/// The person an integrator's `subject_ref` names (made by their first session).
async fn subject_of(st: &AppState, integrator_id: &str, subject_ref: &str) -> Result<String, AppError> {
    let not_found = || AppError::new(ErrorCode::SubjectNotFound, "no such subject (a person exists from their first session)");
    if !consent::valid_subject_ref(subject_ref) {
        return Err(not_found());
    }
    st.db.subject_by_ref(integrator_id, subject_ref).await?.ok_or_else(not_found)
}

/// Enrol a person's face reference from an image (integrator key). Only the template is kept.
#[utoipa::path(put, path = "/v1/subjects/{subject_ref}/reference", tag = "face match",
    params(("subject_ref" = String, Path, description = "The integrator's subject reference")),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "One JPEG or PNG image showing the person's face alone (an ID or account photo). It is dropped as soon as the template is made: only the sealed template is stored."),
    security(("integrator_key" = [])),
    responses(
        (status = 201, description = "Enrolled (replacing an older reference); its quality", body = wire::FaceReferenceInfo),
        (status = 400, description = "invalid_request (not an image)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden, face_comparison_not_consented", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "subject_not_found", body = wire::Problem, content_type = "application/problem+json"),
        (status = 413, description = "request_too_large", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "reference_no_face, reference_several_faces, reference_poor_quality (nothing stored)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 503, description = "face_match_unavailable (no face-match model on this server), server_busy", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn enrol_image(
    State(st): State<Arc<AppState>>,
    integrator: Key<ManageReferences>,
    Path(subject_ref): Path<String>,
    body: Body,
) -> Result<Response, AppError> {
    let subject = subject_of(&st, &integrator.key_id, &subject_ref).await?;
    let now = st.clock.now_ms();
    reference::require_consent(&st, &subject, now).await?;
    let matcher = reference::matcher(&st)?;
    let image = reference::read_image(&st, body).await?;
    let (template, quality) = reference::embed_image(matcher, image).await?;
    let info = reference::store(&st, &subject, &template, "image", now).await?;
    audit::record(&st.db, &integrator.caller, AUDIT_PURPOSE, "enrol_face_reference:image", &subject, now).await?;
    Ok((StatusCode::CREATED, Json(wire::FaceReferenceInfo { quality: Some(quality), ..info })).into_response())
}

/// Whether a person has a face reference, and when it was made (integrator key; never the
/// template).
#[utoipa::path(get, path = "/v1/subjects/{subject_ref}/reference", tag = "face match",
    params(("subject_ref" = String, Path, description = "The integrator's subject reference")),
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "The reference exists", body = wire::FaceReferenceInfo),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "subject_not_found, reference_not_found", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn reference_info(State(st): State<Arc<AppState>>, integrator: Key<ManageReferences>, Path(subject_ref): Path<String>) -> Result<Json<wire::FaceReferenceInfo>, AppError> {
    let subject = subject_of(&st, &integrator.key_id, &subject_ref).await?;
    let row = st.db.face_reference(&subject).await?.ok_or_else(|| AppError::new(ErrorCode::ReferenceNotFound, "the person has no face reference"))?;
    Ok(Json(wire::FaceReferenceInfo { created_at: rfc3339(row.created_at_ms.max(0) as u64), source: row.source, model: row.model, quality: None }))
}

/// Delete a person's face reference now (integrator key): its key is shredded first.
#[utoipa::path(delete, path = "/v1/subjects/{subject_ref}/reference", tag = "face match",
    params(("subject_ref" = String, Path, description = "The integrator's subject reference")),
    security(("integrator_key" = [])),
    responses(
        (status = 204, description = "Deleted (template shredded)"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 404, description = "subject_not_found, reference_not_found", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_reference(State(st): State<Arc<AppState>>, integrator: Key<ManageReferences>, Path(subject_ref): Path<String>) -> Result<StatusCode, AppError> {
    let subject = subject_of(&st, &integrator.key_id, &subject_ref).await?;
    let now = st.clock.now_ms();
    if !st.vault.erase_face_reference(&st.db, &subject, now).await.map_err(AppError::internal)? {
        return Err(AppError::new(ErrorCode::ReferenceNotFound, "the person has no face reference"));
    }
    audit::record(&st.db, &integrator.caller, AUDIT_PURPOSE, "delete_face_reference", &subject, now).await?;
    Ok(StatusCode::NO_CONTENT)
}
