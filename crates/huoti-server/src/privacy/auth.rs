//! API keys with roles and the least-privilege check (S2, C4).
//!
//! Every key is `hk_<16 hex>.<secret>`; only the SHA-256 of the secret is stored, next to the
//! key's role (`integrator`, `operator`, `privacy_officer`, `ml_engineer`, `auditor`). What a
//! role may do is `huoti-privacy`'s matrix ([`huoti_privacy::audit::permits`]); [`ROUTES`]
//! says which permission each route needs, and a test walks every route × every role.

use axum::http::HeaderMap;
use huoti_api::ErrorCode;
use huoti_privacy::audit::permits;
use huoti_privacy::{Permission, Role};

use crate::api::{AppState, bearer, ct_eq, random_b64, random_hex, sha256_hex};
use crate::error::AppError;
use crate::store::Db;

/// Every role, in the matrix's order.
pub const ROLES: [Role; 5] = [Role::Integrator, Role::Operator, Role::PrivacyOfficer, Role::MlEngineer, Role::Auditor];

/// Parses a stored or typed role name.
pub fn parse_role(s: &str) -> Option<Role> {
    ROLES.into_iter().find(|r| r.as_str() == s)
}

/// Who called: the key id (never the secret) and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key id (`hk_<id>.…`), the actor of audit entries.
    pub key_id: String,
    /// The key's role.
    pub role: Role,
}

/// How a route is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials (policy, keys, health, metrics, schema: no personal data).
    Public,
    /// A session's client token `ct_…`.
    ClientToken,
    /// A subject's privacy-centre link token `pl_…`.
    LinkToken,
    /// An API key whose role has any of these permissions.
    Key(&'static [Permission]),
}

/// Every route: method, path (as in the OpenAPI document) and access. The matrix test fails
/// for a route missing here.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("post", "/v1/sessions", Access::Key(&[Permission::CreateSession])),
    ("post", "/v1/sessions/{id}/frames", Access::ClientToken),
    ("post", "/v1/sessions/{id}/consent", Access::ClientToken),
    ("post", "/v1/sessions/{id}/complete", Access::ClientToken),
    ("get", "/v1/sessions/{id}/result", Access::Key(&[Permission::ReadOwnSessionResults])),
    ("get", "/v1/policy", Access::Public),
    ("get", "/v1/policy/text", Access::Public),
    ("post", "/v1/admin/policy-versions", Access::Key(&[Permission::PublishPolicyVersion])),
    ("delete", "/v1/subjects/{subject_ref}/consents/{scope}", Access::Key(&[Permission::SubmitSubjectRequest])),
    ("get", "/v1/admin/audit/verify", Access::Key(&[Permission::ReadAuditLog])),
    ("get", "/v1/admin/audit", Access::Key(&[Permission::ReadAuditLog])),
    ("post", "/v1/subjects/{subject_ref}/privacy-link", Access::Key(&[Permission::SubmitSubjectRequest])),
    ("get", "/v1/me", Access::LinkToken),
    ("get", "/v1/me/export", Access::LinkToken),
    ("delete", "/v1/me/consents/{scope}", Access::LinkToken),
    ("post", "/v1/me/requests", Access::LinkToken),
    ("get", "/v1/admin/requests", Access::Key(&[Permission::HandleSubjectRequests, Permission::HandleComplaints])),
    ("get", "/v1/admin/requests/overdue", Access::Key(&[Permission::ReadHealth, Permission::HandleSubjectRequests])),
    ("post", "/v1/admin/requests/{request_id}/verify-identity", Access::Key(&[Permission::HandleSubjectRequests, Permission::HandleComplaints])),
    ("post", "/v1/admin/requests/{request_id}/complete", Access::Key(&[Permission::HandleSubjectRequests, Permission::HandleComplaints])),
    ("post", "/v1/admin/requests/{request_id}/refuse", Access::Key(&[Permission::HandleSubjectRequests, Permission::HandleComplaints])),
    ("post", "/v1/admin/samples", Access::Key(&[Permission::RequestTrainingSample])),
    ("post", "/v1/admin/samples/{sample_id}/approve", Access::Key(&[Permission::ApproveTrainingSample])),
    ("get", "/v1/admin/samples/{sample_id}/export", Access::Key(&[Permission::ViewTrainingSample])),
    ("get", "/v1/keys", Access::Public),
    ("get", "/v1/openapi.json", Access::Public),
    ("get", "/healthz", Access::Public),
    ("get", "/readyz", Access::Public),
    ("get", "/metrics", Access::Public),
    // The web SDK and the pages (crate::pages): static or empty of personal data until their
    // scripts call the API with a link token or a staff key. The /demo routes exist only on a
    // server started with --dev (404 otherwise), where they act as the demo integrator.
    ("get", "/sdk/huoti-liveness.js", Access::Public),
    ("get", "/demo", Access::Public),
    ("post", "/demo/session", Access::Public),
    ("get", "/demo/sessions/{id}/result", Access::Public),
    ("get", "/privacy", Access::Public),
    ("get", "/privacy/policy", Access::Public),
    ("get", "/console", Access::Public),
    ("put", "/v1/sessions/{id}/identity", Access::Key(&[Permission::CreateSession])),
    ("post", "/v1/disclosures", Access::Key(crate::disclosure::STAFF)),
    ("get", "/v1/disclosures", Access::Key(crate::disclosure::STAFF)),
    ("post", "/v1/admin/incidents", Access::Key(crate::incidents::STAFF)),
    ("get", "/v1/admin/incidents", Access::Key(crate::incidents::STAFF)),
    ("get", "/v1/admin/incidents/{id}", Access::Key(crate::incidents::STAFF)),
    ("post", "/v1/admin/incidents/{id}/dispatch", Access::Key(crate::incidents::STAFF)),
];

/// Makes a key with `role` and returns it (`hk_<id>.<secret>`); only a hash is stored, so it
/// can be shown once.
pub async fn create_key(db: &Db, name: &str, role: Role, now_ms: u64) -> Result<String, sqlx::Error> {
    let id = random_hex(8);
    let secret = random_b64(32);
    db.insert_integrator(&id, name, &sha256_hex(&secret), now_ms).await?;
    db.set_key_role(&id, role.as_str()).await?;
    Ok(format!("hk_{id}.{secret}"))
}

impl Db {
    /// Sets a key's role.
    pub async fn set_key_role(&self, id: &str, role: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE integrators SET role = $2 WHERE id = $1").bind(id).bind(role).execute(self.pool()).await?;
        Ok(())
    }

    /// A key's secret hash and role.
    pub async fn key(&self, id: &str) -> Result<Option<(String, String)>, sqlx::Error> {
        use sqlx::Row;
        let row = sqlx::query("SELECT key_hash, role FROM integrators WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        row.map(|r| Ok((r.try_get("key_hash")?, r.try_get("role")?))).transpose()
    }
}

impl AppState {
    /// The caller named by `Authorization: Bearer hk_…` (401 `unauthorized` otherwise).
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller, AppError> {
        let unauthorized = || AppError::new(ErrorCode::Unauthorized, "send `Authorization: Bearer <API key>`");
        let key = bearer(headers).ok_or_else(unauthorized)?;
        let (id, secret) = key.strip_prefix("hk_").and_then(|k| k.split_once('.')).ok_or_else(unauthorized)?;
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(unauthorized());
        }
        let stored = self.db.key(id).await?;
        // Compare even when the id is unknown, so timing does not tell ids apart.
        let expected = stored.as_ref().map_or_else(|| "0".repeat(64), |(h, _)| h.clone());
        let matches = ct_eq(&sha256_hex(secret), &expected);
        match stored {
            Some((_, role)) if matches => {
                let role = parse_role(&role).ok_or_else(|| AppError::internal("a key with an unknown role"))?;
                Ok(Caller { key_id: id.to_owned(), role })
            }
            _ => Err(unauthorized()),
        }
    }

    /// The caller, if its role has any of `needed` (403 `forbidden` otherwise).
    pub async fn authorize(&self, headers: &HeaderMap, needed: &[Permission]) -> Result<Caller, AppError> {
        let caller = self.caller(headers).await?;
        if needed.iter().any(|p| permits(caller.role, *p)) {
            Ok(caller)
        } else {
            Err(AppError::new(ErrorCode::Forbidden, format!("the role {} may not do this", caller.role.as_str())))
        }
    }
}

/// The purpose of a staff request: header `huoti-purpose` (400 `purpose_required` when
/// missing; every staff access to personal data is audited with its purpose, S2). HTTP
/// headers carry only ASCII, so the header is percent-decoded (UTF-8): the console sends a
/// purpose written in Chinese as `%E6%A0%B8…`, and the audit log must read it as written.
pub fn purpose(headers: &HeaderMap, body: Option<&str>) -> Result<String, AppError> {
    let from_header = match headers.get("huoti-purpose").and_then(|v| v.to_str().ok()) {
        Some(raw) => Some(
            percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| AppError::new(ErrorCode::InvalidRequest, "huoti-purpose: percent-encoded UTF-8 expected"))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    let from_header = from_header.filter(|p| !p.is_empty());
    match from_header.as_deref().or(body.map(str::trim).filter(|p| !p.is_empty())) {
        Some(p) if p.len() <= 500 => Ok(p.to_owned()),
        Some(_) => Err(AppError::new(ErrorCode::InvalidRequest, "purpose: at most 500 bytes")),
        None => Err(AppError::new(ErrorCode::PurposeRequired, "say why: header `huoti-purpose` or body member `purpose`")),
    }
}

/// Whether `role` may use a route (the matrix, for tests and docs).
pub fn allowed(access: Access, role: Role) -> bool {
    match access {
        Access::Key(needed) => needed.iter().any(|p| permits(role, *p)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(purpose: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("huoti-purpose", purpose.parse().unwrap());
        h
    }

    #[test]
    fn s2_purpose_header_is_percent_decoded_so_the_audit_log_reads_it_as_written() {
        // "核实身份" (verify identity), as the console sends it.
        let sent = "%E6%A0%B8%E5%AE%9E%E8%BA%AB%E4%BB%BD";
        assert_eq!(purpose(&with(sent), None).unwrap(), "核实身份");
        assert_eq!(purpose(&with("  handle request 7 "), None).unwrap(), "handle request 7");
        assert_eq!(purpose(&HeaderMap::new(), Some("from the body")).unwrap(), "from the body");
        assert_eq!(purpose(&with("%FF%FE"), None).unwrap_err().code, ErrorCode::InvalidRequest);
        assert_eq!(purpose(&with(" "), None).unwrap_err().code, ErrorCode::PurposeRequired);
        assert_eq!(purpose(&HeaderMap::new(), None).unwrap_err().code, ErrorCode::PurposeRequired);
    }
}
