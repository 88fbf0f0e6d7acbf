//! The disclosure ledger (D1–D6, C5): every export of personal data to a third party names
//! the person's consent (scope `share_with:<recipient>`, D1) or a legal ground with its reason
//! (C5, D6), is checked by `huoti_privacy::rights::check_disclosure`, and is recorded — who
//! received what, when, on which ground. Anything else is refused with
//! `disclosure_not_allowed` and nothing is recorded as sent.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use huoti_api::ErrorCode;
use huoti_api::ops::{DisclosureBasisWire, DisclosureKind, DisclosureRecordWire, DisclosureRequest};
use huoti_privacy::rights::{Disclosure, DisclosureBasis, check_disclosure};
use huoti_privacy::{ConsentLedger, LegalGround, Scope, SubjectId};
use serde::Deserialize;
use sqlx::Row;

use crate::api::{AppState, json_body, random_hex, rfc3339};
use crate::error::AppError;

/// Who may disclose and read the ledger: staff who handle data-subject matters.
pub const STAFF: &[huoti_privacy::Permission] = &[huoti_privacy::Permission::HandleSubjectRequests];

/// The recipient of a public disclosure (D5).
pub const PUBLIC: &str = "public";

fn basis(b: &DisclosureBasisWire) -> Result<DisclosureBasis, AppError> {
    match b {
        DisclosureBasisWire::Consent(scope) => scope
            .parse::<Scope>()
            .map(DisclosureBasis::Consent)
            .map_err(|_| AppError::new(ErrorCode::InvalidRequest, "basis.consent: not a consent scope")),
        DisclosureBasisWire::Law { ground, law, reason } => {
            let g = if ground == "other" {
                LegalGround::Other(law.clone().unwrap_or_default())
            } else {
                serde_json::from_value(serde_json::Value::String(ground.clone()))
                    .map_err(|_| AppError::new(ErrorCode::InvalidRequest, format!("basis.law.ground: unknown ground {ground:?}")))?
            };
            Ok(DisclosureBasis::Law(g, reason.clone()))
        }
    }
}

/// The subject a request names: a session (its subject) or a subject id.
async fn resolve_subject(st: &AppState, named: &str) -> Result<String, AppError> {
    Ok(st.db.session_subject(named).await?.unwrap_or_else(|| named.to_owned()))
}

/// The consent ledger of `subject` as the server holds it.
pub async fn ledger(st: &AppState, subject: &str) -> Result<ConsentLedger, AppError> {
    crate::privacy::consent::ledger(st, subject).await
}

fn kind_name(k: DisclosureKind) -> &'static str {
    match k {
        DisclosureKind::Share => "share",
        DisclosureKind::Transfer => "transfer",
        DisclosureKind::Public => "public",
    }
}

/// Checks and records one disclosure; `Err(disclosure_not_allowed)` when it has no basis.
pub async fn disclose(st: &AppState, req: &DisclosureRequest) -> Result<DisclosureRecordWire, AppError> {
    let refused = |why: String| AppError::new(ErrorCode::DisclosureNotAllowed, why);
    if req.subject.is_empty() || req.subject.len() > 128 || req.recipient.trim().is_empty() || req.recipient.len() > 128 {
        return Err(AppError::new(ErrorCode::InvalidRequest, "subject and recipient: 1–128 characters"));
    }
    // D5: a public disclosure is to everyone; its consent must say so.
    if (req.kind == DisclosureKind::Public) != (req.recipient == PUBLIC) {
        return Err(refused(format!("a public disclosure has recipient {PUBLIC:?}, and only a public disclosure has it (D5)")));
    }
    let now = st.clock.now_ms();
    let subject = resolve_subject(st, &req.subject).await?;
    let d = Disclosure {
        subject: SubjectId::new(subject.clone()),
        recipient: req.recipient.clone(),
        data: req.data.clone(),
        basis: basis(&req.basis)?,
        at: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now) * 1_000_000).map_err(AppError::internal)?,
    };
    let ledger = ledger(st, &subject).await?;
    check_disclosure(&d, &ledger).map_err(|e| refused(format!("{e} (D1–D6: consent share_with:<recipient> or a legal ground with a reason)")))?;
    let id = format!("dc_{}", random_hex(12));
    sqlx::query(
        "INSERT INTO disclosures (id, subject_id, recipient, kind, data_json, basis_json, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&req.subject)
    .bind(&req.recipient)
    .bind(kind_name(req.kind))
    .bind(serde_json::to_string(&req.data).map_err(AppError::internal)?)
    .bind(serde_json::to_string(&req.basis).map_err(AppError::internal)?)
    .bind(now as i64)
    .execute(&st.db.pool)
    .await?;
    Ok(DisclosureRecordWire {
        id,
        subject: req.subject.clone(),
        recipient: req.recipient.clone(),
        data: req.data.clone(),
        kind: req.kind,
        basis: req.basis.clone(),
        at: rfc3339(now),
    })
}

/// The recorded disclosures of a subject, oldest first.
pub async fn records(st: &AppState, subject: &str) -> Result<Vec<DisclosureRecordWire>, AppError> {
    let rows = sqlx::query("SELECT id, subject_id, recipient, kind, data_json, basis_json, at_ms FROM disclosures WHERE subject_id = $1 ORDER BY at_ms, id")
        .bind(subject)
        .fetch_all(&st.db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            let data: String = r.try_get("data_json")?;
            let basis: String = r.try_get("basis_json")?;
            let at: i64 = r.try_get("at_ms")?;
            Ok(DisclosureRecordWire {
                id: r.try_get("id")?,
                subject: r.try_get("subject_id")?,
                recipient: r.try_get("recipient")?,
                data: serde_json::from_str(&data).map_err(AppError::internal)?,
                kind: serde_json::from_value(serde_json::Value::String(kind)).map_err(AppError::internal)?,
                basis: serde_json::from_str(&basis).map_err(AppError::internal)?,
                at: rfc3339(at.max(0) as u64),
            })
        })
        .collect::<Result<_, AppError>>()
}

/// Disclose personal data to a third party (checked and recorded).
#[utoipa::path(post, path = "/v1/disclosures", tag = "privacy",
    request_body(content = DisclosureRequest),
    security(("integrator_key" = [])),
    params(("huoti-purpose" = String, Header, description = "Why (audited)")),
    responses(
        (status = 201, description = "Allowed and recorded", body = DisclosureRecordWire),
        (status = 400, description = "invalid_request", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden, disclosure_not_allowed", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Result<Response, AppError> {
    let caller = st.authorize(&headers, STAFF).await?;
    let req: DisclosureRequest = json_body_required(body).await?;
    crate::staff::audited(&st, &caller, &headers, "disclose", &format!("{} -> {}", req.subject, req.recipient)).await?;
    let rec = disclose(&st, &req).await?;
    Ok((StatusCode::CREATED, Json(rec)).into_response())
}

async fn json_body_required<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, AppError> {
    let v: serde_json::Value = json_body(body).await?;
    serde_json::from_value(v).map_err(|e| AppError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {e}")))
}

/// Query of the disclosure list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SubjectQuery {
    /// Whose disclosures.
    pub subject: String,
}

/// The disclosures of one subject: who received what, when, on which ground.
#[utoipa::path(get, path = "/v1/disclosures", tag = "privacy",
    params(SubjectQuery, ("huoti-purpose" = String, Header, description = "Why (audited)")),
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Recorded disclosures", body = Vec<DisclosureRecordWire>),
        (status = 401, description = "unauthorized", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<SubjectQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<DisclosureRecordWire>>, AppError> {
    let caller = st.authorize(&headers, STAFF).await?;
    let Ok(Query(q)) = q else { return Err(AppError::new(ErrorCode::InvalidRequest, "query: subject is required")) };
    crate::staff::audited(&st, &caller, &headers, "read_disclosures", &q.subject).await?;
    Ok(Json(records(&st, &q.subject).await?))
}
