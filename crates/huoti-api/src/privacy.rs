//! Wire types of the privacy side of the API: the policy and its consent scopes (A1, A3, C6,
//! L1, L2, P2, R4, U2), withdrawals, staff keys and the subject's privacy centre.
//!
//! Scopes are strings on the wire: `face_capture_and_upload` (required), `device_info`,
//! `retain_for_training` and `share_with:<recipient>`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One thing the person is asked to agree to, separately (C6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyScope {
    /// `face_capture_and_upload`, `device_info`, `retain_for_training`, `share_with:<recipient>`.
    pub id: String,
    /// Detection cannot run without it (only `face_capture_and_upload`).
    pub required: bool,
    /// What it allows, in English.
    pub description_en: String,
    /// What it allows, in Chinese.
    pub description_zh: String,
}

/// `GET /v1/policy` answer: the policy version in force and its scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyInfo {
    /// Version label; a consent names it.
    pub version: String,
    /// `sha256:<hex>` of the policy text as shown (`GET /v1/policy/text`).
    pub digest: String,
    /// Whether this version changed the policy materially (A1): consents given under earlier
    /// versions no longer count.
    pub material_change: bool,
    /// Publication time, RFC 3339 UTC.
    pub published_at: String,
    /// Where the person reads the policy and manages their data (`/privacy/policy`).
    pub url: String,
    /// The personal-information protection contact the policy names (A3).
    pub privacy_contact: String,
    /// The scopes, required first.
    pub scopes: Vec<PolicyScope>,
}

/// `POST /v1/sessions/{id}/consent` body: the person agreed to these scopes of this version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// The [`PolicyInfo::version`] shown to the person.
    pub policy_version: String,
    /// Scopes agreed to; must include `face_capture_and_upload`.
    pub scopes: Vec<String>,
    /// `web`, `sdk` or `cli`.
    pub channel: String,
}

/// A consent was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentRecorded {
    /// Id of this act of consent.
    pub consent_id: String,
    /// The version agreed to.
    pub policy_version: String,
    /// The scopes agreed to.
    pub scopes: Vec<String>,
    /// When, RFC 3339 UTC.
    pub recorded_at: String,
}

/// A consent was withdrawn (R4); `effects` says what the server did so that the processing
/// stops (`stop_capture`, `stop_device_info_collection`, `delete_training_images`,
/// `stop_sharing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentWithdrawn {
    /// The scope.
    pub scope: String,
    /// When, RFC 3339 UTC.
    pub withdrawn_at: String,
    /// What the withdrawal caused.
    pub effects: Vec<String>,
    /// Training images deleted (for `retain_for_training`).
    pub training_images_deleted: u64,
}

/// A policy version to publish (privacy officer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishPolicyRequest {
    /// New version label.
    pub version: String,
    /// The full text shown to people.
    pub text: String,
    /// Material change (A1: ownership, scope or purpose, recipients, rights, security,
    /// complaint channels, other major impact): everyone must consent again.
    pub material_change: bool,
    /// The personal-information protection contact (A3).
    pub privacy_contact: String,
    /// Why (audited).
    pub purpose: String,
}

/// One audit-log entry (S2): who (key id and role), why, what, on what, when, chained by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryInfo {
    /// Position in the chain, from 0.
    pub seq: u64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The key id that acted.
    pub actor: String,
    /// Its role.
    pub role: String,
    /// Why.
    pub purpose: String,
    /// What was done.
    pub action: String,
    /// On what (pseudonymous ids only).
    pub target: String,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// `GET /v1/admin/audit/verify`: is the audit chain intact?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerifyResult {
    /// True when every entry fits the chain.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// The first entry changed, missing or out of place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<u64>,
    /// The head (last entry's hash) to anchor elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<String>,
}
