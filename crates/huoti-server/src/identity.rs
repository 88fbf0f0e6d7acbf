//! Identity data (name, ID number, phone) an integrator sends for a person: validated, sealed
//! under the person's `identity` key — a key domain of its own — for identity verification
//! only (U1: the use is sealed in), and kept in the `identities` table, apart from face data
//! and its keys (L3, S2). Values never reach a log, a metric or an error body; the wire answer
//! is `204 No Content`.
//!
//! It belongs to the *person* (the session's subject: the integrator's `subject_ref`, or the
//! session itself when there is none), not to one verification: the person sees it masked in
//! `/v1/me` (R1), and it is deleted when the person asks (R3, R5: after the legal minimum;
//! R7: at once), not when one verdict record is anonymised. Data that came through a
//! third-party login is limited to the fields agreed with that party (D2).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use huoti_api::{ErrorCode, MyIdentity, ops::IdentityData};
use huoti_privacy::mask;
use huoti_privacy::third_party::{IdentityField, ThirdPartyGrant};
use huoti_privacy::uses::Use;
use utoipa::OpenApi;

use crate::error::AppError;
use crate::http::auth::{Access, Key, Permits, Route, known_session, permits};
use crate::http::json_body;
use crate::state::AppState;
use crate::store::Db;
use crate::vault::{Domain, FrameVault};

permits!(
    /// Who sends identity data: integrators (for the sessions they created).
    pub SendIdentity = [CreateSession]
);

/// The route of identity data.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/sessions/{id}/identity", put(put_identity))
}

/// Its OpenAPI path.
#[derive(OpenApi)]
#[openapi(paths(put_identity))]
pub struct Doc;

/// Its access rule.
pub const ACCESS: &[Route] = &[("put", "/v1/sessions/{id}/identity", Access::Key(SendIdentity::ANY_OF))];

/// Identity data is sealed for identity verification only (U1).
const PURPOSE: Use = Use::IdentityVerification;

/// The fields present.
fn fields(d: &IdentityData) -> Vec<IdentityField> {
    [(d.name.is_some(), IdentityField::Name), (d.id_number.is_some(), IdentityField::IdNumber), (d.phone.is_some(), IdentityField::Phone)]
        .into_iter()
        .filter_map(|(present, f)| present.then_some(f))
        .collect()
}

/// D2: with a third-party login, only the fields the person agreed to share with that party.
fn check_third_party(d: &IdentityData) -> Result<(), AppError> {
    let Some(login) = &d.third_party_login else { return Ok(()) };
    let invalid = |e: huoti_privacy::third_party::GrantError| AppError::new(ErrorCode::InvalidRequest, e.to_string());
    let agreed = login.agreed_fields.iter().map(|f| f.parse::<IdentityField>()).collect::<Result<Vec<_>, _>>().map_err(invalid)?;
    let grant = ThirdPartyGrant::new(&login.provider, agreed).map_err(invalid)?;
    grant.check(fields(d)).map_err(|e| AppError::new(ErrorCode::ThirdPartyScopeExceeded, e.to_string()))
}

/// Validates identity data (each field's form, at least one field, D2). Pure: the fuzzer
/// drives it with any body a client can send.
pub fn validate(d: &IdentityData) -> Result<(), AppError> {
    // Error details name the field, never the value.
    let bad = |f: &str, rule: &str| Err(AppError::new(ErrorCode::InvalidRequest, format!("identity.{f}: {rule}")));
    if let Some(n) = &d.name {
        if n.trim().is_empty() || n.chars().count() > 128 || n.chars().any(char::is_control) {
            return bad("name", "1–128 printable characters");
        }
    }
    if let Some(id) = &d.id_number {
        // Judged on bytes, never split on a byte offset: an ID number is ASCII, and a
        // multi-byte character anywhere in it makes it invalid (not a panic).
        let bytes = id.as_bytes();
        let ok = matches!(bytes.len(), 15 | 18)
            && bytes.split_last().is_some_and(|(&last, body)| {
                body.iter().all(u8::is_ascii_digit) && (last.is_ascii_digit() || last == b'X' || last == b'x')
            });
        if !ok {
            return bad("id_number", "15 or 18 characters: digits, the last may be X");
        }
    }
    if let Some(p) = &d.phone {
        let digits = p.strip_prefix('+').unwrap_or(p);
        if !(5..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return bad("phone", "5–20 digits, optionally after a +");
        }
    }
    if d.name.is_none() && d.id_number.is_none() && d.phone.is_none() {
        return bad("*", "send at least one of name, id_number, phone");
    }
    check_third_party(d)
}

/// Seals and stores (replacing) a person's identity data.
pub async fn store(st: &AppState, subject: &str, integrator_id: &str, data: &IdentityData, now_ms: u64) -> Result<(), AppError> {
    validate(data)?;
    let key = st.vault.key_or_create(&st.db, subject, Domain::Identity, now_ms).await.map_err(AppError::internal)?;
    let json = serde_json::to_vec(data).map_err(AppError::internal)?;
    let sealed = FrameVault::seal_record(&key, subject, PURPOSE, &json).map_err(AppError::internal)?;
    st.db.upsert_identity(subject, integrator_id, &sealed, now_ms).await?;
    Ok(())
}

/// A person's identity data, opened (for the person's own access requests and tests).
pub async fn load(st: &AppState, subject: &str) -> Result<Option<IdentityData>, AppError> {
    let Some(sealed) = st.db.identity_sealed(subject).await? else { return Ok(None) };
    let key = st.vault.domain_key(&st.db, subject, Domain::Identity).await.map_err(AppError::internal)?;
    let json = FrameVault::open_record(&key, subject, PURPOSE, &sealed).map_err(AppError::internal)?;
    serde_json::from_slice(&json).map(Some).map_err(AppError::internal)
}

/// The person's identity data as they see it: masked (R1).
pub fn masked(d: &IdentityData) -> MyIdentity {
    MyIdentity {
        name: d.name.as_deref().map(mask::name),
        id_number: d.id_number.as_deref().map(mask::id_number),
        phone: d.phone.as_deref().map(mask::phone),
        via_third_party: d.third_party_login.as_ref().map(|l| l.provider.clone()),
    }
}

/// Deletes a person's identity data and shreds its key.
pub async fn erase(db: &Db, subject: &str) -> Result<(), sqlx::Error> {
    db.delete_identity(subject).await?;
    db.delete_wrapped_key(subject, Domain::Identity.name()).await
}

/// The person deleted their data or closed the account (R3, R5): identity data is kept only
/// for its legal minimum from now, with no commercial use, then deleted by the retention job.
pub async fn mark_deleted(db: &Db, subject: &str, now_ms: u64) -> Result<(), sqlx::Error> {
    db.mark_identity_deleted(subject, now_ms).await
}

/// Attach identity data to a session's person (replacing what was kept).
#[utoipa::path(put, path = "/v1/sessions/{id}/identity", tag = "privacy",
    params(("id" = String, Path, description = "Session id")),
    request_body(content = IdentityData, description = "Any of name, id_number, phone"),
    security(("integrator_key" = [])),
    responses(
        (status = 204, description = "Stored, sealed under the subject's identity key"),
        (status = 400, description = "invalid_request", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "session_not_found", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "third_party_scope_exceeded (D2)", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_identity(
    State(st): State<Arc<AppState>>,
    integrator: Key<SendIdentity>,
    Path(id): Path<String>,
    body: Body,
) -> Result<StatusCode, AppError> {
    let integrator_id = &integrator.key_id;
    // The session is checked before the body is read: another integrator's session is 404
    // whatever the body holds.
    let session = known_session(&st, &id).await?;
    if &session.integrator_id != integrator_id {
        return Err(AppError::new(ErrorCode::SessionNotFound, "no such session"));
    }
    let data: IdentityData = json_body(body).await?;
    let subject = st.db.session_subject(&id).await?.unwrap_or(id);
    store(&st, &subject, integrator_id, &data, st.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
