//! Who is calling, as extractors (S2, C4): API keys with one role each, the session's client
//! token, and a person's privacy-page link token. (Leaf module: it names no feature.)
//!
//! Every key is `hk_<16 hex>.<secret>`; only the SHA-256 of the secret is stored, next to the
//! key's role (`integrator`, `operator`, `privacy_officer`, `ml_engineer`, `auditor`), its
//! expiry and its revocation, which are read on every request (`api_key_revoked`,
//! `api_key_expired`; no node caches a key, so a revocation holds everywhere at once). What a
//! role may do is `huoti-privacy`'s matrix ([`huoti_privacy::audit::permits`]). A handler names
//! what it needs in its signature:
//!
//! * [`Key<P>`]: an API key whose role has one of `P`'s permissions (401 `unauthorized`, 403
//!   `forbidden`); `P` is a marker made with the crate's `permits!` macro, the same
//!   one its route's [`Access`] entry names.
//! * [`Staff<P>`]: the same, plus the stated purpose (`huoti-purpose`, 400
//!   `purpose_required`) that the feature then writes to the audit log.
//! * [`ClientSession`]: the session of the path, if the bearer is its client token.
//! * [`LinkSubject`]: the person behind a link token `pl_…`.
//!
//! Each feature lists its routes' access in an `ACCESS` table of [`Route`]s; the application
//! concatenates them, and a test walks every route × every role against the matrix.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use huoti_api::ErrorCode;
use huoti_privacy::audit::permits as role_permits;
use huoti_privacy::{Permission, Role};

pub use crate::store::api_keys::{ROLES, parse_role};

use super::bearer;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{Db, SessionRow};
use crate::util::{ct_eq, random_b64, random_hex, sha256_hex};

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
    /// No credentials (policy, keys, health, metrics, schema, pages: no personal data).
    Public,
    /// A session's client token `ct_…`.
    ClientToken,
    /// A person's privacy-page link token `pl_…`.
    LinkToken,
    /// An API key whose role has any of these permissions.
    Key(&'static [Permission]),
}

/// One route's access: method, path (as in the OpenAPI document), and who may call it.
pub type Route = (&'static str, &'static str, Access);

/// A set of permissions a route needs (any one of them), as a type, so that a handler's
/// signature and its route's [`Access`] entry name the same set.
pub trait Permits: Send + Sync + 'static {
    /// The permissions, any of which lets a caller in.
    const ANY_OF: &'static [Permission];
}

/// Declares a [`Permits`] marker: `permits!(pub HandleRequests = [HandleSubjectRequests,
/// HandleComplaints]);`.
macro_rules! permits {
    ($(#[$meta:meta])* $vis:vis $name:ident = [$($permission:ident),+ $(,)?]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::http::auth::Permits for $name {
            const ANY_OF: &'static [huoti_privacy::Permission] = &[$(huoti_privacy::Permission::$permission),+];
        }
    };
}
pub(crate) use permits;

/// Makes a key with `role` and returns it (`hk_<id>.<secret>`); only a hash is stored, so it
/// can be shown once. It does not expire ([`create_expiring_api_key`] makes one that does).
pub async fn create_api_key(db: &Db, name: &str, role: Role, now_ms: u64) -> Result<String, sqlx::Error> {
    create_expiring_api_key(db, name, role, now_ms, None).await
}

/// [`create_api_key`], refused from `expires_at_ms` on (`None`: never).
pub async fn create_expiring_api_key(db: &Db, name: &str, role: Role, now_ms: u64, expires_at_ms: Option<u64>) -> Result<String, sqlx::Error> {
    let id = random_hex(8);
    let secret = random_b64(32);
    db.insert_api_key(&id, name, &sha256_hex(&secret), now_ms).await?;
    db.set_key_role(&id, role.as_str()).await?;
    if let Some(at) = expires_at_ms {
        db.set_key_expiry(&id, Some(i64::try_from(at).unwrap_or(i64::MAX))).await?;
    }
    Ok(format!("hk_{id}.{secret}"))
}

/// The key id and secret of an API key `hk_<16 hex>.<secret>`; `None` for anything else.
/// Pure, so the fuzzer drives it with any bytes a client can send.
pub fn parse_api_key(key: &str) -> Option<(&str, &str)> {
    let (id, secret) = key.strip_prefix("hk_")?.split_once('.')?;
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty()).then_some((id, secret))
}

/// Makes an integrator's key ([`create_api_key`] with role `integrator`).
pub async fn create_integrator_key(db: &Db, name: &str, now_ms: u64) -> Result<String, sqlx::Error> {
    create_api_key(db, name, Role::Integrator, now_ms).await
}

/// The caller named by `Authorization: Bearer hk_…` (401 `unauthorized` otherwise).
pub async fn caller(st: &AppState, headers: &HeaderMap) -> Result<Caller, AppError> {
    caller_of_key(st, bearer(headers)).await
}

/// The caller holding API key `key` (401 `unauthorized` when there is none or it is wrong).
async fn caller_of_key(st: &AppState, key: Option<&str>) -> Result<Caller, AppError> {
    let unauthorized = || AppError::new(ErrorCode::Unauthorized, "send `Authorization: Bearer <API key>`");
    let (id, secret) = key.and_then(parse_api_key).ok_or_else(unauthorized)?;
    // Read on every request, never cached: a revocation or an expiry holds on every node at
    // once (they share the database).
    let stored = st.db.api_key_record(id).await?;
    // Compare even when the id is unknown, so timing does not tell ids apart.
    let expected = stored.as_ref().map_or_else(|| "0".repeat(64), |r| r.key_hash.clone());
    let matches = ct_eq(&sha256_hex(secret), &expected);
    let record = match stored {
        Some(r) if matches => r,
        _ => return Err(unauthorized()),
    };
    // Only the key's holder (who knows the secret) learns why it stopped working.
    if record.revoked_at_ms.is_some() {
        return Err(AppError::new(ErrorCode::ApiKeyRevoked, "this API key was revoked; ask the operator for a new one"));
    }
    if record.expires_at_ms.is_some_and(|at| i128::from(st.clock.now_ms()) >= i128::from(at)) {
        return Err(AppError::new(ErrorCode::ApiKeyExpired, "this API key has expired; ask the operator for a new one"));
    }
    let role = parse_role(&record.role).ok_or_else(|| AppError::internal("a key with an unknown role"))?;
    Ok(Caller { key_id: id.to_owned(), role })
}

/// The caller, if its role has any of `needed` (403 `forbidden` otherwise).
pub async fn authorize(st: &AppState, headers: &HeaderMap, needed: &[Permission]) -> Result<Caller, AppError> {
    authorize_key(st, bearer(headers), needed).await
}

/// The holder of API key `key`, if its role has any of `needed`: what [`authorize`] checks,
/// for a key the server itself holds (the dev-mode demo page's integrator).
pub async fn authorize_key(st: &AppState, key: Option<&str>, needed: &[Permission]) -> Result<Caller, AppError> {
    let caller = caller_of_key(st, key).await?;
    if needed.iter().any(|p| role_permits(caller.role, *p)) {
        Ok(caller)
    } else {
        Err(AppError::new(ErrorCode::Forbidden, format!("the role {} may not do this", caller.role.as_str())))
    }
}

/// The purpose of a staff request: header `huoti-purpose`, else `body` (400
/// `purpose_required` when neither; every staff access to personal data is audited with its
/// purpose, S2). HTTP headers carry only ASCII, so the header is percent-decoded (UTF-8): the
/// console sends a purpose written in Chinese as `%E6%A0%B8…`, and the audit log must read it
/// as written.
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
        Access::Key(needed) => needed.iter().any(|p| role_permits(role, *p)),
        _ => true,
    }
}

/// An API key whose role has one of `P`'s permissions; derefs to its [`Caller`].
#[derive(Debug, Clone)]
pub struct Key<P> {
    /// The caller, authorised for `P`.
    pub caller: Caller,
    needs: PhantomData<P>,
}

impl<P> std::ops::Deref for Key<P> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Permits> FromRequestParts<Arc<AppState>> for Key<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Self, AppError> {
        Ok(Key { caller: authorize(st, &parts.headers, P::ANY_OF).await?, needs: PhantomData })
    }
}

/// A member of staff: a [`Key<P>`] and the purpose they state, which the handler records in
/// the audit log with what it did.
#[derive(Debug, Clone)]
pub struct Staff<P> {
    /// The caller, authorised for `P`.
    pub caller: Caller,
    /// Why (header `huoti-purpose`).
    pub purpose: String,
    needs: PhantomData<P>,
}

impl<P: Permits> FromRequestParts<Arc<AppState>> for Staff<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Self, AppError> {
        let caller = authorize(st, &parts.headers, P::ANY_OF).await?;
        let purpose = purpose(&parts.headers, None)?;
        Ok(Staff { caller, purpose, needs: PhantomData })
    }
}

/// A session by id (404 `session_not_found`; ids are short, so a long one is not looked up).
pub async fn known_session(st: &AppState, id: &str) -> Result<SessionRow, AppError> {
    let not_found = || AppError::new(ErrorCode::SessionNotFound, "no such session");
    if id.len() > 64 {
        return Err(not_found());
    }
    st.db.session(id).await?.ok_or_else(not_found)
}

/// The session, if the `Authorization: Bearer <client token>` header is its token.
pub async fn client_session(st: &AppState, id: &str, headers: &HeaderMap) -> Result<SessionRow, AppError> {
    let session = known_session(st, id).await?;
    let token = bearer(headers).unwrap_or("");
    if token.is_empty() || !ct_eq(&sha256_hex(token), &session.token_hash) {
        return Err(AppError::new(ErrorCode::InvalidClientToken, "this endpoint needs the session's client token"));
    }
    Ok(session)
}

/// The session of a `/v1/sessions/{id}/…` route whose client token the caller holds.
#[derive(Debug, Clone)]
pub struct ClientSession(pub SessionRow);

impl FromRequestParts<Arc<AppState>> for ClientSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Self, AppError> {
        let Path(id) = Path::<String>::from_request_parts(parts, st).await.map_err(|_| AppError::new(ErrorCode::SessionNotFound, "no such session"))?;
        client_session(st, &id, &parts.headers).await.map(ClientSession)
    }
}

/// The person (subject id) behind `Authorization: Bearer pl_…` (401 `invalid_link_token`
/// otherwise, also once it expired).
#[derive(Debug, Clone)]
pub struct LinkSubject(pub String);

impl FromRequestParts<Arc<AppState>> for LinkSubject {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Self, AppError> {
        let invalid = || AppError::new(ErrorCode::InvalidLinkToken, "open the privacy page through a fresh link from the service you use");
        let token = bearer(&parts.headers).filter(|t| t.starts_with("pl_")).ok_or_else(invalid)?;
        let (subject, expires) = st.db.link_token(&sha256_hex(token)).await?.ok_or_else(invalid)?;
        if st.clock.now_ms() as i64 >= expires {
            return Err(invalid());
        }
        Ok(LinkSubject(subject))
    }
}

/// The OpenAPI security schemes these credentials are documented as.
pub struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "integrator_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("Integrator API key `hk_…` (backend only)")).build()),
        );
        components.add_security_scheme(
            "link_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("A person's privacy-page link token `pl_…`")).build()),
        );
        components.add_security_scheme(
            "client_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("The session's client token `ct_…`")).build()),
        );
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
