//! Policy versions: the shipped version is stored on first start; `GET /v1/policy` tells
//! clients which version to show and which scopes to ask for, each separately (A1, A3, C6).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_privacy::assessment::{self, ImpactAssessment};
use huoti_privacy::{ConsentLedger, PolicyVersion};
use serde::Deserialize;
use utoipa::OpenApi;

use super::audit;
use crate::error::ServerError;
use crate::error::AppError;
use crate::http::JsonBody;
use crate::http::auth::{self, Access, Key, Permits, Route, permits};
use crate::state::AppState;
use crate::store::{Db, PolicyRow};
use crate::util::{format_day, instant, parse_day, rfc3339};

permits!(
    /// Who publishes policy versions: privacy officers.
    pub PublishPolicy = [PublishPolicyVersion]
);

/// The routes of the privacy policy.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/policy", get(get_policy))
        .route("/v1/policy/text", get(get_policy_text))
        .route("/v1/admin/policy-versions", post(publish))
}

/// Their OpenAPI paths.
#[derive(OpenApi)]
#[openapi(paths(get_policy, get_policy_text, publish))]
pub struct Doc;

/// Their access rules.
pub const ACCESS: &[Route] = &[
    ("get", "/v1/policy", Access::Public),
    ("get", "/v1/policy/text", Access::Public),
    ("post", "/v1/admin/policy-versions", Access::Key(PublishPolicy::ANY_OF)),
];

const SHIPPED_TOML: &str = include_str!("../../../../config/policy/policy.toml");
const SHIPPED_TEXT: &str = include_str!("../../../../config/policy/policy.md");

/// Where people read the policy (the web branch serves it).
pub const POLICY_URL: &str = "/privacy/policy";

/// `config/policy/policy.toml`: the shipped version's facts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shipped {
    version: String,
    material_change: bool,
    published_at: String,
    privacy_contact: String,
    share_with: Vec<String>,
    impact_assessment: Option<ShippedAssessment>,
}

/// The shipped version's impact assessment: where the report is, and the day it was done.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShippedAssessment {
    reference: String,
    completed_on: String,
}

/// The policy version shipped in `config/policy/`, as a row published at its date (or at
/// `now_ms`, if that date is still ahead: a version cannot bind before it is shown).
pub fn shipped(now_ms: u64) -> Result<PolicyRow, ServerError> {
    let s: Shipped = toml::from_str(SHIPPED_TOML).map_err(|e| ServerError::Config(format!("config/policy/policy.toml: {e}")))?;
    let at = time::OffsetDateTime::parse(&s.published_at, &time::format_description::well_known::Rfc3339)
        .map_err(|e| ServerError::Config(format!("config/policy/policy.toml published_at: {e}")))?;
    let at_ms = (at.unix_timestamp_nanos() / 1_000_000).clamp(0, i128::from(now_ms)) as i64;
    let assessment = s.impact_assessment.map(|a| assessment_from(&a.reference, &a.completed_on)).transpose()?;
    // Assessed before the declared publication day (the stored time may be earlier when a
    // test clock runs behind it).
    assessment::check(&s.version, s.material_change, assessment.as_ref(), at).map_err(|e| ServerError::Config(format!("config/policy/policy.toml: {e}")))?;
    row(&s.version, SHIPPED_TEXT, s.material_change, at_ms, &s.privacy_contact, &s.share_with, assessment)
}

/// An assessment from its wire or file form.
pub fn assessment_from(reference: &str, completed_on: &str) -> Result<ImpactAssessment, ServerError> {
    let day = parse_day(completed_on).ok_or_else(|| ServerError::Config(format!("impact_assessment.completed_on: {completed_on:?} is not a YYYY-MM-DD day")))?;
    Ok(ImpactAssessment { reference: reference.to_owned(), completed_on: day })
}

/// A validated policy row (label, contact A3, recipients) with its impact assessment. Whether
/// the assessment came early enough (L5) is checked where a version enters: [`shipped`]
/// against its declared date, `POST /v1/admin/policy-versions` against today.
pub fn row(
    version: &str,
    text: &str,
    material: bool,
    at_ms: i64,
    contact: &str,
    share_with: &[String],
    impact_assessment: Option<ImpactAssessment>,
) -> Result<PolicyRow, ServerError> {
    let p = PolicyVersion::new(version, text, material, instant(at_ms.max(0) as u64), contact).map_err(|e| ServerError::Config(e.to_string()))?;
    if share_with.iter().any(|r| format!("share_with:{r}").parse::<huoti_privacy::Scope>().is_err() || r.contains(',')) {
        return Err(ServerError::Config("share_with: recipients are non-empty, without spaces or commas".into()));
    }
    Ok(PolicyRow {
        version: p.version,
        text: text.to_owned(),
        digest: p.text_digest,
        material_change: material,
        published_at_ms: at_ms,
        privacy_contact: p.privacy_contact,
        share_with: share_with.join(","),
        impact_assessment,
    })
}

/// Stores the shipped version unless it is there already (first start).
pub async fn seed(db: &Db, now_ms: u64) -> Result<(), ServerError> {
    db.insert_policy(&shipped(now_ms)?).await?;
    Ok(())
}

/// The version in force at `now_ms`: the latest published at or before it.
pub async fn current(db: &Db, now_ms: u64) -> Result<PolicyRow, AppError> {
    db.policies()
        .await?
        .into_iter()
        .rev()
        .find(|p| p.published_at_ms <= now_ms as i64)
        .ok_or_else(|| AppError::internal("no policy version is published"))
}

/// The ledger's view of a stored version.
pub fn version(p: &PolicyRow) -> PolicyVersion {
    PolicyVersion {
        version: p.version.clone(),
        text_digest: p.digest.clone(),
        material_change: p.material_change,
        published_at: instant(p.published_at_ms.max(0) as u64),
        privacy_contact: p.privacy_contact.clone(),
    }
}

/// An empty ledger over every stored version.
pub async fn ledger(db: &Db) -> Result<ConsentLedger, AppError> {
    let versions = db.policies().await?.iter().map(version).collect();
    ConsentLedger::new(versions).map_err(AppError::internal)
}

/// The recipients a version lets people consent to share with.
pub fn recipients(p: &PolicyRow) -> Vec<String> {
    p.share_with.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect()
}

/// A consent scope as `GET /v1/policy` describes it.
fn scope(id: String, required: bool, en: &str, zh: &str) -> wire::PolicyScope {
    wire::PolicyScope { id, required, description_en: en.into(), description_zh: zh.into() }
}

/// The wire form of a version, with its scopes (required first).
pub fn info(p: &PolicyRow) -> wire::PolicyInfo {
    let mut scopes = vec![
        scope(
            "face_capture_and_upload".into(),
            true,
            "Capture your face with the front camera and upload it to check that a live person is present.",
            "使用前置摄像头采集您的人脸并上传，以判断是否为真人本人操作。",
        ),
        scope(
            "device_info".into(),
            false,
            "Send your phone model, OS type and OS version to spot risky requests. Refusing does not stop the check.",
            "发送手机型号、操作系统类型及版本，用于识别风险请求；拒绝不影响检测。",
        ),
        scope(
            "retain_for_training".into(),
            false,
            "Keep your face images, encrypted, for a limited time to improve the models.",
            "在限定期限内加密保存您的人脸图像，用于改进模型。",
        ),
        scope(
            "face_comparison".into(),
            false,
            "Keep an encrypted face template (not an image) of you and compare your live face with it, to confirm it is you. Refusing does not stop the liveness check; withdrawing deletes the template at once.",
            "保存您的加密人脸特征模板（不保存图像），并与您的实时人脸比对，以确认是您本人。拒绝不影响活体检测；撤回后立即删除该模板。",
        ),
    ];
    for r in recipients(p) {
        scopes.push(scope(format!("share_with:{r}"), false, &format!("Share the result with {r}."), &format!("将检测结果共享给 {r}。")));
    }
    wire::PolicyInfo {
        version: p.version.clone(),
        digest: format!("sha256:{}", p.digest),
        material_change: p.material_change,
        published_at: rfc3339(p.published_at_ms.max(0) as u64),
        url: POLICY_URL.into(),
        privacy_contact: p.privacy_contact.clone(),
        scopes,
        impact_assessment: p
            .impact_assessment
            .as_ref()
            .map(|a| wire::ImpactAssessmentInfo { reference: a.reference.clone(), completed_on: format_day(a.completed_on) }),
    }
}

/// The privacy policy in force, and the consent scopes to ask for (public).
#[utoipa::path(get, path = "/v1/policy", tag = "privacy",
    responses((status = 200, description = "The current policy version", body = wire::PolicyInfo)))]
pub async fn get_policy(State(st): State<Arc<AppState>>) -> Result<Json<wire::PolicyInfo>, AppError> {
    Ok(Json(info(&current(&st.db, st.clock.now_ms()).await?)))
}

/// The text of the policy in force (Markdown, English and Chinese; public). Its SHA-256 is the
/// `digest` of `GET /v1/policy`.
#[utoipa::path(get, path = "/v1/policy/text", tag = "privacy",
    responses((status = 200, description = "Policy text", body = String, content_type = "text/markdown")))]
pub async fn get_policy_text(State(st): State<Arc<AppState>>) -> Result<Response, AppError> {
    let p = current(&st.db, st.clock.now_ms()).await?;
    let mut res = p.text.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/markdown; charset=utf-8"));
    res.headers_mut().insert("huoti-policy-version", header::HeaderValue::from_str(&p.version).map_err(AppError::internal)?);
    Ok(res)
}

/// Publish a new policy version (privacy officer; audited). A material change makes every
/// earlier consent stop counting (A1), and needs an impact assessment completed first (L5).
#[utoipa::path(post, path = "/v1/admin/policy-versions", tag = "admin",
    request_body(content = wire::PublishPolicyRequest),
    security(("integrator_key" = [])),
    responses(
        (status = 201, description = "Published", body = wire::PolicyInfo),
        (status = 400, description = "invalid_request, purpose_required", body = wire::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized", body = wire::Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = wire::Problem, content_type = "application/problem+json"),
        (status = 409, description = "policy_outdated (the version label exists)", body = wire::Problem, content_type = "application/problem+json"),
        (status = 422, description = "impact_assessment_required (L5: a material change without an assessment completed by today)", body = wire::Problem, content_type = "application/problem+json"),
    ))]
pub async fn publish(
    State(st): State<Arc<AppState>>,
    officer: Key<PublishPolicy>,
    headers: axum::http::HeaderMap,
    JsonBody(req): JsonBody<Option<wire::PublishPolicyRequest>>,
) -> Result<Response, AppError> {
    let req = req.ok_or_else(|| AppError::new(ErrorCode::InvalidRequest, "send {version, text, material_change, privacy_contact, purpose}"))?;
    let purpose = auth::purpose(&headers, Some(&req.purpose))?;
    let now = st.clock.now_ms();
    let current = current(&st.db, now).await?;
    let assessment = req
        .impact_assessment
        .as_ref()
        .map(|a| assessment_from(&a.reference, &a.completed_on))
        .transpose()
        .map_err(|e| AppError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    // L5 first, with its own code: the processing is assessed before it starts.
    assessment::check(&req.version, req.material_change, assessment.as_ref(), instant(now))
        .map_err(|e| AppError::new(ErrorCode::ImpactAssessmentRequired, e.to_string()))?;
    let p = row(&req.version, &req.text, req.material_change, now as i64, &req.privacy_contact, &recipients(&current), assessment)
        .map_err(|e| AppError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    if !st.db.insert_policy(&p).await? {
        return Err(AppError::new(ErrorCode::PolicyOutdated, format!("version {} exists already", p.version)));
    }
    audit::record(&st.db, &officer, &purpose, "publish_policy_version", &p.version, now).await?;
    Ok((axum::http::StatusCode::CREATED, Json(info(&p))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a3_shipped_policy_names_a_contact_and_its_digest_is_of_its_text() {
        let p = shipped(u64::MAX / 4).unwrap();
        assert!(!p.privacy_contact.is_empty());
        assert!(p.text.contains(&p.privacy_contact), "the text names the contact");
        assert!(version(&p).matches_text(SHIPPED_TEXT));
        let i = info(&p);
        assert_eq!(i.digest, format!("sha256:{}", huoti_privacy::consent::text_digest(SHIPPED_TEXT)));
        assert_eq!(i.scopes.iter().filter(|s| s.required).map(|s| s.id.as_str()).collect::<Vec<_>>(), ["face_capture_and_upload"]);
    }

    #[test]
    fn l5_the_shipped_policy_comes_with_its_impact_assessment_and_the_report_exists() {
        let p = shipped(u64::MAX / 4).unwrap();
        assert!(p.material_change, "the first version describes all the processing");
        let a = p.impact_assessment.clone().expect("L5: assessed before processing");
        let report = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(&a.reference);
        let text = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
        for section in ["purpose", "risk", "measure"] {
            assert!(text.to_lowercase().contains(section), "the report covers {section}");
        }
        assert_eq!(info(&p).impact_assessment.unwrap().completed_on, format_day(a.completed_on));
    }
}
