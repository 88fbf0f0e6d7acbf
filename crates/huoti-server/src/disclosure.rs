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
use axum::routing::post;
use axum::{Json, Router};
use huoti_api::ErrorCode;
use huoti_api::ops::{DisclosureBasisWire, DisclosureKind, DisclosureRecordWire, DisclosureRequest};
use huoti_privacy::rights::{Disclosure, DisclosureBasis, check_disclosure};
use huoti_privacy::{ConsentLedger, LegalGround, Scope, SubjectId};
use serde::Deserialize;
use utoipa::OpenApi;

use crate::error::AppError;
use crate::http::auth::{self, Access, Caller, Key, Permits, Route, permits};
use crate::http::json_body_required;
use crate::privacy::{audit, consent};
use crate::state::AppState;
use crate::store::personal::DisclosureRow;
use crate::util::{random_hex, rfc3339};

permits!(
    /// Who may disclose and read the ledger: staff who handle data-subject matters.
    pub Disclose = [HandleSubjectRequests]
);

/// The routes of the disclosure ledger.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/disclosures", post(create).get(list))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(create, list))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[("post", "/v1/disclosures", Access::Key(Disclose::ANY_OF)), ("get", "/v1/disclosures", Access::Key(Disclose::ANY_OF))];

/// The recipient of a public disclosure (D5).
pub const PUBLIC: &str = "public";

/// The rules' form of a disclosure's basis.
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

/// The person a request names: a session's subject, or a subject id. Disclosures are filed
/// under the person, so that their list is whole whichever way a disclosure named them.
async fn resolve_subject(st: &AppState, named: &str) -> Result<String, AppError> {
    Ok(st.db.session_subject(named).await?.unwrap_or_else(|| named.to_owned()))
}

/// The consent ledger of `subject` as the server holds it.
pub async fn ledger(st: &AppState, subject: &str) -> Result<ConsentLedger, AppError> {
    consent::ledger(st, subject).await
}

/// The stored name of a disclosure kind.
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
    st.db
        .insert_disclosure(&DisclosureRow {
            id: id.clone(),
            subject_id: subject.clone(),
            recipient: req.recipient.clone(),
            kind: kind_name(req.kind).to_owned(),
            data_json: serde_json::to_string(&req.data).map_err(AppError::internal)?,
            basis_json: serde_json::to_string(&req.basis).map_err(AppError::internal)?,
            at_ms: now as i64,
        })
        .await?;
    Ok(DisclosureRecordWire {
        id,
        subject,
        recipient: req.recipient.clone(),
        data: req.data.clone(),
        kind: req.kind,
        basis: req.basis.clone(),
        at: rfc3339(now),
    })
}

/// The recorded disclosures of a person (named by their subject id or one of their sessions),
/// oldest first.
pub async fn records(st: &AppState, subject: &str) -> Result<Vec<DisclosureRecordWire>, AppError> {
    let subject = resolve_subject(st, subject).await?;
    st.db
        .disclosures(&subject)
        .await?
        .into_iter()
        .map(|r| {
            Ok(DisclosureRecordWire {
                id: r.id,
                subject: r.subject_id,
                recipient: r.recipient,
                data: serde_json::from_str(&r.data_json).map_err(AppError::internal)?,
                kind: serde_json::from_value(serde_json::Value::String(r.kind)).map_err(AppError::internal)?,
                basis: serde_json::from_str(&r.basis_json).map_err(AppError::internal)?,
                at: rfc3339(r.at_ms.max(0) as u64),
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
pub async fn create(State(st): State<Arc<AppState>>, staff: Key<Disclose>, headers: HeaderMap, body: Body) -> Result<Response, AppError> {
    // The body is read before the purpose: the audit entry names what is disclosed, to whom.
    let req: DisclosureRequest = json_body_required(body).await?;
    audited(&st, &staff, &headers, "disclose", &format!("{} -> {}", req.subject, req.recipient)).await?;
    let rec = disclose(&st, &req).await?;
    Ok((StatusCode::CREATED, Json(rec)).into_response())
}

/// The stated purpose of an authorised call, recorded with what it did (S2).
async fn audited(st: &AppState, caller: &Caller, headers: &HeaderMap, action: &str, target: &str) -> Result<(), AppError> {
    let purpose = auth::purpose(headers, None)?;
    audit::record(&st.db, caller, &purpose, action, target, st.clock.now_ms()).await.map(drop)
}

/// Query of the disclosure list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubjectQuery {
    /// The person (or session) whose disclosures to list.
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
    staff: Key<Disclose>,
    headers: HeaderMap,
    q: Result<Query<SubjectQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<DisclosureRecordWire>>, AppError> {
    let Ok(Query(q)) = q else { return Err(AppError::new(ErrorCode::InvalidRequest, "query: subject is required")) };
    audited(&st, &staff, &headers, "read_disclosures", &q.subject).await?;
    Ok(Json(records(&st, &q.subject).await?))
}
