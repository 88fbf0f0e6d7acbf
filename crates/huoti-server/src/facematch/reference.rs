//! A person's face reference: consent, the model, reading and embedding an image (the image
//! goes as soon as its template exists), sealing and opening the template, what the person
//! sees of it, and its retention.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_privacy::SubjectId;
use huoti_vision::{FaceMatcher, ImageEmbedding, MatchQuality, QualityLimits, TEMPLATE_MODEL, Template, VisionError};

use crate::error::AppError;
use crate::http::read_limited;
use crate::privacy::consent;
use crate::state::AppState;
use crate::store::face_references::FaceReferenceRow;
use crate::util::{instant, rfc3339};

/// The largest reference image accepted, bytes (a phone photo; ID-card scans are smaller).
pub const MAX_IMAGE_BYTES: usize = 8 << 20;

/// Pixels a decoded reference may hold in memory (the decoder's own limit, RGB).
const DECODED_BYTES: u64 = 4_194_304 * 3;

/// `face_comparison_not_consented` unless the person's consent to `face_comparison` is in
/// force now.
pub async fn require_consent(st: &AppState, subject_id: &str, now_ms: u64) -> Result<(), AppError> {
    if consented(st, subject_id, now_ms).await? {
        return Ok(());
    }
    Err(AppError::new(
        ErrorCode::FaceComparisonNotConsented,
        "the person has not consented to face_comparison (asked separately: POST /v1/sessions/{id}/consent); liveness works without it",
    ))
}

/// Whether the person's `face_comparison` consent is in force.
pub async fn consented(st: &AppState, subject_id: &str, now_ms: u64) -> Result<bool, AppError> {
    let ledger = consent::ledger(st, subject_id).await?;
    Ok(ledger.may_compare_faces(&SubjectId::new(subject_id), instant(now_ms)).is_ok())
}

/// This node's face matcher, or `face_match_unavailable`.
pub fn matcher(st: &AppState) -> Result<Arc<FaceMatcher>, AppError> {
    st.models.as_ref().and_then(|m| m.face_matcher()).ok_or_else(|| {
        AppError::new(ErrorCode::FaceMatchUnavailable, "this server has no face-match model (SFace is optional: `huoti models fetch` brings it); liveness works without it")
    })
}

/// Reads a reference image body, held against the node's memory budget like a frame.
pub async fn read_image(st: &AppState, body: Body) -> Result<(Bytes, crate::http::budget::Reservation), AppError> {
    let busy = || AppError::new(ErrorCode::ServerBusy, "this server holds as much image data as its memory budget allows; retry shortly").retry_after(1);
    let held = st.budget.try_reserve(MAX_IMAGE_BYTES as u64 + DECODED_BYTES).ok_or_else(busy)?;
    let limit = std::time::Duration::from_secs(st.config.limits.body_timeout_s);
    let bytes = tokio::time::timeout(limit, read_limited(body, MAX_IMAGE_BYTES))
        .await
        .map_err(|_| AppError::new(ErrorCode::RequestTimeout, format!("the image must arrive within {} s", limit.as_secs())))?
        .map_err(|over| {
            if over {
                AppError::new(ErrorCode::RequestTooLarge, format!("a reference image is at most {MAX_IMAGE_BYTES} bytes"))
            } else {
                AppError::new(ErrorCode::InvalidRequest, "the image body could not be read")
            }
        })?;
    Ok((bytes, held))
}

/// The wire form of a face's quality, with its problems against the default limits.
pub fn quality(q: &MatchQuality, faces: u32) -> wire::ReferenceQuality {
    let problems = q.problems(&QualityLimits::default());
    wire::ReferenceQuality {
        faces,
        eye_distance_px: q.eye_distance_px,
        roll_deg: q.roll_deg,
        nose_offset: q.nose_offset,
        sharpness: q.sharpness,
        outside_fraction: q.outside_fraction,
        problems: problems.iter().map(|p| serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()).collect(),
    }
}

/// A problem+json answer for an image that makes no reference (nothing is stored).
fn refused(e: VisionError) -> AppError {
    match e {
        VisionError::NoFace => AppError::new(ErrorCode::ReferenceNoFace, "no face was found in the reference image"),
        VisionError::SeveralFaces { count } => {
            AppError::new(ErrorCode::ReferenceSeveralFaces, format!("{count} faces were found in the reference image; exactly one is needed"))
        }
        e if e.is_input_error() => AppError::new(ErrorCode::InvalidRequest, format!("the reference image cannot be used ({}): {e}", e.code())),
        e => AppError::internal(format_args!("face match: {e}")),
    }
}

/// Embeds the one face of an image (on a blocking thread) and checks it makes a good
/// reference. The image and its decoded pixels are dropped before this returns, whatever
/// the outcome: only the template leaves.
pub async fn embed_image(matcher: Arc<FaceMatcher>, image: (Bytes, crate::http::budget::Reservation)) -> Result<(Template, wire::ReferenceQuality), AppError> {
    let (bytes, held) = image;
    let embedded: Result<ImageEmbedding, VisionError> = tokio::task::spawn_blocking(move || matcher.embed_bytes(&bytes)).await.map_err(AppError::internal)?;
    drop(held);
    let e = embedded.map_err(refused)?;
    let q = quality(&e.embedding.quality, 1);
    if !q.problems.is_empty() {
        return Err(AppError::new(
            ErrorCode::ReferencePoorQuality,
            format!("the reference face is not good enough ({}); send a sharp, frontal, whole face", q.problems.join(", ")),
        ));
    }
    Ok((e.embedding.template.clone(), q))
}

/// Seals the template under the person's reference key and records it (replacing an older
/// one). The caller has checked consent.
pub async fn store(st: &AppState, subject_id: &str, template: &Template, source: &str, now_ms: u64) -> Result<wire::FaceReferenceInfo, AppError> {
    let blob_key = st.vault.put_face_reference(&st.db, subject_id, &template.to_bytes(), now_ms).await.map_err(AppError::internal)?;
    let row = FaceReferenceRow { subject_id: subject_id.to_owned(), blob_key, model: TEMPLATE_MODEL.to_owned(), source: source.to_owned(), created_at_ms: now_ms as i64 };
    st.db.put_face_reference(&row).await?;
    Ok(wire::FaceReferenceInfo { created_at: rfc3339(now_ms), source: row.source, model: row.model, quality: None })
}

/// The person's reference template, if they have one made by the model in use.
pub async fn load(st: &AppState, subject_id: &str) -> Result<Option<Template>, AppError> {
    let Some(row) = st.db.face_reference(subject_id).await? else { return Ok(None) };
    if row.model != TEMPLATE_MODEL {
        // Templates of another model are not comparable: as good as none.
        return Ok(None);
    }
    let bytes = zeroize::Zeroizing::new(st.vault.face_reference(&st.db, subject_id, &row.blob_key).await.map_err(AppError::internal)?);
    Ok(Some(Template::from_bytes(&bytes).map_err(AppError::internal)?))
}

/// What the person sees of their reference (`/v1/me`, the export): that it exists, when and
/// from what it was made — never the template.
pub async fn my_reference(st: &AppState, subject_id: &str) -> Result<Option<wire::MyFaceReference>, AppError> {
    Ok(st.db.face_reference(subject_id).await?.map(|r| wire::MyFaceReference { created_at: rfc3339(r.created_at_ms.max(0) as u64), source: r.source, model: r.model }))
}

/// Retention: shreds every reference made more than `face_match.reference_max_days` ago.
/// Returns how many.
pub async fn expire(st: &AppState, now_ms: u64) -> Result<u64, AppError> {
    let max_ms = st.config.face_match.reference_max_days.saturating_mul(86_400_000);
    let mut n = 0;
    loop {
        let due = st.db.face_references_made_before(now_ms.saturating_sub(max_ms), i64::from(st.config.retention.batch)).await?;
        if due.is_empty() {
            return Ok(n);
        }
        for subject in due {
            st.vault.erase_face_reference(&st.db, &subject, now_ms).await.map_err(AppError::internal)?;
            n += 1;
        }
    }
}
