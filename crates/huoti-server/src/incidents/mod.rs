//! Incidents (S3): record what happened and whom it affects, then tell them — what happened
//! and its likely impact, what was done, what they can do, the remedy — individually, or by a
//! public notice when no one can be reached individually, and report to the regulator.
//!
//! Notices go to an outbox table first (so none is lost when a sender is down), then a
//! [`NoticeSender`] delivers them: [`FileOutbox`] (default: one JSON file per notice, for an
//! operator's mail/SMS tooling to pick up), [`WebhookSender`] (a JSON POST to the
//! integrator's push/e-mail/SMS gateway, which knows how to reach its users) or
//! [`smtp::SmtpSender`] (e-mail through a relay, over TLS).

pub mod smtp;

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use huoti_api::ErrorCode;
use huoti_api::ops::{DispatchReport, IncidentRequest, IncidentWire};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::config::ServerConfig;
use crate::error::AppError;
use crate::http::auth::{Access, Permits, Route, Staff, permits};
use crate::http::json_body;
use crate::privacy::audit::staff_action;
use crate::state::AppState;
use crate::store::incidents::NoticeRow;
use crate::util::{random_hex, rfc3339};

permits!(
    /// Who manages incidents (S3): privacy officers.
    pub ManageIncidents = [ManageIncidents]
);

/// The routes of incidents.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/admin/incidents", post(create).get(list))
        .route("/v1/admin/incidents/{id}", get(show))
        .route("/v1/admin/incidents/{id}/dispatch", post(dispatch))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(create, list, show, dispatch))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("post", "/v1/admin/incidents", Access::Key(ManageIncidents::ANY_OF)),
    ("get", "/v1/admin/incidents", Access::Key(ManageIncidents::ANY_OF)),
    ("get", "/v1/admin/incidents/{id}", Access::Key(ManageIncidents::ANY_OF)),
    ("post", "/v1/admin/incidents/{id}/dispatch", Access::Key(ManageIncidents::ANY_OF)),
];

/// One notice, as delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// `nt_…`; the file outbox names the notice's file after it.
    pub id: String,
    /// The incident, if any (a wind-down notice has none).
    pub incident_id: Option<String>,
    /// `subject` (one affected person), `public` (a public notice), `regulator` (the report),
    /// `wind_down` (S6).
    pub kind: String,
    /// Whom it is for: the pseudonymous id of an affected person (a session or subject id,
    /// which the integrator maps to its user), `public`, or `regulator`.
    pub recipient: String,
    /// The text members (S3's four points, or the regulator report).
    pub body: serde_json::Value,
    /// When it was queued, RFC 3339.
    pub created_at: String,
}

/// Delivers notices. Implementations must not log the body.
pub trait NoticeSender: Send + Sync {
    /// Delivers one notice; `Err` leaves it in the outbox for the next dispatch.
    fn send(&self, notice: &Notice) -> Result<(), String>;
}

/// Writes each notice as `<dir>/<id>.json`.
#[derive(Debug, Clone)]
pub struct FileOutbox {
    /// Where the notice files are written (made when missing).
    pub dir: PathBuf,
}

impl NoticeSender for FileOutbox {
    fn send(&self, notice: &Notice) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("creating the outbox: {e}"))?;
        let json = serde_json::to_vec_pretty(notice).map_err(|e| e.to_string())?;
        let path = self.dir.join(format!("{}.json", notice.id));
        let tmp = self.dir.join(format!(".{}.tmp", notice.id));
        std::fs::write(&tmp, json).and_then(|()| std::fs::rename(&tmp, &path)).map_err(|e| format!("writing a notice: {e}"))
    }
}

/// POSTs each notice as JSON to a URL (2xx = delivered).
#[derive(Debug, Clone)]
pub struct WebhookSender {
    /// The gateway's URL, e.g. the integrator's push/SMS/e-mail service.
    pub url: String,
}

impl NoticeSender for WebhookSender {
    fn send(&self, notice: &Notice) -> Result<(), String> {
        let json = serde_json::to_string(notice).map_err(|e| e.to_string())?;
        let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(10))).build().into();
        agent
            .post(&self.url)
            .header("content-type", "application/json")
            .send(json.as_str())
            .map(|_| ())
            .map_err(|e| format!("webhook: {e}"))
    }
}

/// The sender the configuration names.
pub fn sender(config: &ServerConfig) -> Result<Box<dyn NoticeSender>, AppError> {
    match config.incidents.sender.as_str() {
        "webhook" => Ok(Box::new(WebhookSender { url: config.incidents.webhook_url.clone() })),
        "smtp" => Ok(Box::new(smtp::SmtpSender::new(&config.incidents.smtp).map_err(AppError::internal)?)),
        _ => {
            let dir = if config.incidents.outbox_dir.is_empty() { config.data_dir.join("outbox") } else { PathBuf::from(&config.incidents.outbox_dir) };
            Ok(Box::new(FileOutbox { dir }))
        }
    }
}

/// An optional RFC 3339 time of the request, as Unix ms (`invalid_request` naming `field`).
fn parse_time(field: &str, v: &Option<String>) -> Result<Option<i64>, AppError> {
    v.as_deref()
        .map(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
                .map_err(|_| AppError::new(ErrorCode::InvalidRequest, format!("{field}: an RFC 3339 time")))
        })
        .transpose()
}

/// Queues one notice.
pub async fn queue(st: &AppState, incident: Option<&str>, kind: &str, recipient: &str, body: &serde_json::Value, now: u64) -> Result<(), AppError> {
    st.db
        .insert_notice(&NoticeRow {
            id: format!("nt_{}", random_hex(12)),
            incident_id: incident.map(str::to_owned),
            kind: kind.to_owned(),
            recipient: recipient.to_owned(),
            body_json: body.to_string(),
            created_at_ms: now as i64,
        })
        .await?;
    Ok(())
}

/// The S3 notice to one affected person (or the public).
pub fn person_notice(r: &IncidentRequest) -> serde_json::Value {
    serde_json::json!({
        "what_happened": r.summary,
        "likely_impact": r.impact,
        "what_we_did": r.measures,
        "what_you_can_do": r.advice,
        "remedy": r.remedy,
        "channels": ["push", "email", "sms"],
    })
}

/// The report to the regulator (S3): the facts, the scale, the measures — no subject ids.
pub fn regulator_report(id: &str, recorded_at: &str, r: &IncidentRequest, affected: u64) -> serde_json::Value {
    serde_json::json!({
        "incident": id,
        "recorded_at": recorded_at,
        "what_happened": r.summary,
        "likely_impact": r.impact,
        "measures_taken": r.measures,
        "advice_to_people": r.advice,
        "remedy": r.remedy,
        "affected_people": affected,
        "time_range": {"from": r.from, "to": r.to},
        "individually_notified": affected > 0,
    })
}

/// Records an incident and queues its notices.
pub async fn record(st: &AppState, r: &IncidentRequest) -> Result<IncidentWire, AppError> {
    for (f, v) in [("summary", &r.summary), ("impact", &r.impact), ("measures", &r.measures), ("advice", &r.advice), ("remedy", &r.remedy)] {
        if v.trim().is_empty() {
            return Err(AppError::new(ErrorCode::InvalidRequest, format!("{f}: S3 notices say it; it cannot be empty")));
        }
    }
    let (from, to) = (parse_time("from", &r.from)?, parse_time("to", &r.to)?);
    if r.subjects.is_empty() && from.is_none() {
        return Err(AppError::new(ErrorCode::InvalidRequest, "name the affected subjects, a time range (from, to), or both"));
    }
    let mut affected: std::collections::BTreeSet<String> = r.subjects.iter().cloned().collect();
    if let Some(from) = from {
        affected.extend(st.db.sessions_created_between(from, to.unwrap_or(i64::MAX)).await?);
    }
    let now = st.clock.now_ms();
    let id = format!("inc_{}", random_hex(8));
    st.db.insert_incident(&id, now, &serde_json::to_string(r).map_err(AppError::internal)?, affected.len() as u64).await?;
    let body = person_notice(r);
    for s in &affected {
        queue(st, Some(&id), "subject", s, &body, now).await?;
    }
    // Nobody can be told individually (the range holds no stored subject any more): a public
    // notice instead (S3).
    if affected.is_empty() {
        queue(st, Some(&id), "public", "public", &body, now).await?;
    }
    queue(st, Some(&id), "regulator", "regulator", &regulator_report(&id, &rfc3339(now), r, affected.len() as u64), now).await?;
    show_incident(st, &id).await
}

/// An incident with its notice counts.
pub async fn show_incident(st: &AppState, id: &str) -> Result<IncidentWire, AppError> {
    let row = st.db.incident(id).await?.ok_or_else(|| AppError::new(ErrorCode::IncidentNotFound, "no such incident"))?;
    Ok(IncidentWire {
        id: id.to_owned(),
        recorded_at: rfc3339(row.recorded_at_ms.max(0) as u64),
        request: serde_json::from_str(&row.request_json).map_err(AppError::internal)?,
        affected_subjects: row.affected_subjects.max(0) as u64,
        notices_queued: row.notices_queued.max(0) as u64,
        notices_sent: row.notices_sent.max(0) as u64,
    })
}

/// Hands every unsent notice to `sender`; the ones it refuses stay queued.
pub async fn dispatch_with(st: &AppState, sender: Arc<dyn NoticeSender>) -> Result<DispatchReport, AppError> {
    let rows = st.db.unsent_notices().await?;
    let mut report = DispatchReport { sent: 0, failed: 0 };
    for r in rows {
        let notice = Notice {
            id: r.id,
            incident_id: r.incident_id,
            kind: r.kind,
            recipient: r.recipient,
            body: serde_json::from_str(&r.body_json).map_err(AppError::internal)?,
            created_at: rfc3339(r.created_at_ms.max(0) as u64),
        };
        let s = sender.clone();
        let n = notice.clone();
        let result = tokio::task::spawn_blocking(move || s.send(&n)).await.map_err(AppError::internal)?;
        match result {
            Ok(()) => {
                st.db.notice_attempted(&notice.id, Some(st.clock.now_ms())).await?;
                report.sent += 1;
            }
            Err(e) => {
                tracing::warn!(notice = %notice.id, error = %e, "notice not delivered; kept in the outbox");
                st.db.notice_attempted(&notice.id, None).await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// [`dispatch_with`] the configured sender.
pub async fn dispatch_all(st: &AppState) -> Result<DispatchReport, AppError> {
    dispatch_with(st, Arc::from(sender(&st.config)?)).await
}

/// Record a security incident and queue its notices (S3).
#[utoipa::path(post, path = "/v1/admin/incidents", tag = "admin",
    request_body(content = IncidentRequest),
    security(("integrator_key" = [])),
    params(("huoti-purpose" = String, Header, description = "Why (audited)")),
    responses(
        (status = 201, description = "Recorded; notices queued", body = IncidentWire),
        (status = 400, description = "invalid_request", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(State(st): State<Arc<AppState>>, staff: Staff<ManageIncidents>, body: Body) -> Result<Response, AppError> {
    // Audited before the body is read: the attempt is recorded even when the body is refused.
    staff_action(&st, &staff, "record_incident", "-").await?;
    let v: serde_json::Value = json_body(body).await?;
    let r: IncidentRequest = serde_json::from_value(v).map_err(|e| AppError::new(ErrorCode::InvalidRequest, format!("invalid JSON body: {e}")))?;
    Ok((StatusCode::CREATED, Json(record(&st, &r).await?)).into_response())
}

/// Every recorded incident, newest first, with its notice counts (the console's list).
#[utoipa::path(get, path = "/v1/admin/incidents", tag = "admin",
    params(("huoti-purpose" = String, Header, description = "Why (audited)")),
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "The incidents", body = Vec<IncidentWire>),
        (status = 401, description = "unauthorized", body = huoti_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(State(st): State<Arc<AppState>>, staff: Staff<ManageIncidents>) -> Result<Json<Vec<IncidentWire>>, AppError> {
    staff_action(&st, &staff, "list_incidents", "-").await?;
    let ids = st.db.recent_incidents(500).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(show_incident(&st, &id).await?);
    }
    Ok(Json(out))
}

/// An incident and how many of its notices were sent.
#[utoipa::path(get, path = "/v1/admin/incidents/{id}", tag = "admin",
    params(("id" = String, Path, description = "Incident id"), ("huoti-purpose" = String, Header, description = "Why (audited)")),
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "The incident", body = IncidentWire),
        (status = 404, description = "incident_not_found", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(State(st): State<Arc<AppState>>, staff: Staff<ManageIncidents>, Path(id): Path<String>) -> Result<Json<IncidentWire>, AppError> {
    staff_action(&st, &staff, "read_incident", &id).await?;
    Ok(Json(show_incident(&st, &id).await?))
}

/// Deliver the queued notices with the configured sender.
#[utoipa::path(post, path = "/v1/admin/incidents/{id}/dispatch", tag = "admin",
    params(("id" = String, Path, description = "Incident id (every queued notice is dispatched)"), ("huoti-purpose" = String, Header, description = "Why (audited)")),
    security(("integrator_key" = [])),
    responses(
        (status = 200, description = "Dispatched", body = DispatchReport),
        (status = 404, description = "incident_not_found", body = huoti_api::Problem, content_type = "application/problem+json"),
    ))]
pub async fn dispatch(State(st): State<Arc<AppState>>, staff: Staff<ManageIncidents>, Path(id): Path<String>) -> Result<Json<DispatchReport>, AppError> {
    staff_action(&st, &staff, "dispatch_notices", &id).await?;
    show_incident(&st, &id).await?;
    Ok(Json(dispatch_all(&st).await?))
}
