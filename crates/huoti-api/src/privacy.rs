//! Wire types of the privacy side of the API: the policy and its consent scopes (A1, A3, C6,
//! L1, L2, P2, R4, U2), withdrawals, staff keys and the subject's privacy centre.
//!
//! Scopes are strings on the wire: `face_capture_and_upload` (required), `device_info`,
//! `retain_for_training`, `face_comparison` and `share_with:<recipient>`.

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
    /// The impact assessment done before this version's processing began (L5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_assessment: Option<ImpactAssessmentInfo>,
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
    /// The impact assessment of the processing this version describes: required with a
    /// material change, completed on or before today (L5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_assessment: Option<ImpactAssessmentInfo>,
}

/// A completed personal-information protection impact assessment (L5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactAssessmentInfo {
    /// Where the report is kept (document id or path).
    pub reference: String,
    /// The day it was completed, `YYYY-MM-DD` (China Standard Time).
    pub completed_on: String,
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
    /// Entries up to this sequence number were deleted after their retention period (L5: at
    /// least 3 years); the rest verifies from the hash they left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_through: Option<u64>,
}

/// `POST /v1/subjects/{subject_ref}/privacy-link` answer: a short-lived token for the person's
/// privacy page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrivacyLink {
    /// `pl_…`: `Authorization: Bearer` for `/v1/me/...`.
    pub token: String,
    /// Expiry, RFC 3339 UTC.
    pub expires_at: String,
    /// The page to open (`/privacy#token=…`).
    pub url: String,
}

/// A new request from the person (`POST /v1/me/requests`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRightsRequest {
    /// `access`, `export`, `correction`, `deletion`, `closure`, `complaint` or `other`.
    pub kind: String,
    /// Correction: which field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Correction: a verified field (real name, bound phone) needs identity verification (R2).
    #[serde(default)]
    pub verified_field: bool,
    /// Deletion: the data was collected or used against the law or the agreement (R7: no
    /// legal minimum applies).
    #[serde(default)]
    pub unlawful: bool,
    /// Free text (what to correct, the complaint).
    #[serde(default)]
    pub details: String,
}

/// A rights request or complaint, as the person and staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RightsRequestInfo {
    /// `rq_…`.
    pub id: String,
    /// The kind.
    pub kind: String,
    /// `open`, `identity_verified`, `completed` or `refused`.
    pub status: String,
    /// Received, RFC 3339 UTC.
    pub received_at: String,
    /// Identity verified, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_verified_at: Option<String>,
    /// Due date (China date, inclusive); absent until identity is verified when the clock
    /// starts then (R6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// The due date is **provisional**: it reaches into a year whose official holiday notice
    /// the server's working-day calendar does not have yet, so those days were counted Monday
    /// to Friday. It is counted again, to the official date, as soon as the operator installs
    /// the next year's calendar (docs/API.md § Provisional due dates).
    #[serde(default)]
    pub due_date_provisional: bool,
    /// Past its due date and not closed.
    pub overdue: bool,
    /// R8 ground of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal_ground: Option<String>,
    /// R7: unlawful collection (deleted without the legal minimum).
    pub unlawful: bool,
}

/// `GET /v1/admin/requests/overdue`: how many open requests and complaints are past their due
/// date — a count, no request and no person (operators see it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct OverdueCount {
    /// Open requests and complaints past their due date.
    pub overdue: u64,
}

/// `POST /v1/admin/requests/{id}/complete` body (optional): for a correction of identity
/// data (`name`, `id_number`, `phone`), the corrected value, applied to the person's sealed
/// identity data once their identity was verified (R2). Never logged or audited.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRightsRequest {
    /// The new value of the field the correction names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_value: Option<String>,
}

/// A refusal (staff): only on an R8 ground.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuseRequest {
    /// `national_security`, `public_safety`, `criminal_proceedings`, `malicious_abuse`,
    /// `serious_harm_to_others` or `trade_secrets`.
    pub ground: String,
    /// What the person is told.
    pub explanation: String,
    /// Why (audited).
    #[serde(default)]
    pub purpose: String,
}

/// One of the person's sessions, without face data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MySession {
    /// Session id.
    pub session_id: String,
    /// Created, RFC 3339 UTC.
    pub created_at: String,
    /// State.
    pub state: String,
    /// Decision, when completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Device info kept (P2), masked to its kind only.
    pub device_info_kept: bool,
}

/// One consent record as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyConsent {
    /// Scope.
    pub scope: String,
    /// Policy version agreed to.
    pub policy_version: String,
    /// Channel.
    pub channel: String,
    /// When, RFC 3339 UTC.
    pub granted_at: String,
    /// Withdrawn when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<String>,
}

/// `GET /v1/me`: the person's own data (R1), identity fields masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyData {
    /// The integrator's reference, masked.
    pub subject_ref: String,
    /// Consents, oldest first.
    pub consents: Vec<MyConsent>,
    /// Sessions, newest first.
    pub sessions: Vec<MySession>,
    /// Requests and complaints.
    pub requests: Vec<RightsRequestInfo>,
    /// Face images kept for training (only with retain_for_training).
    pub training_images: u64,
    /// Identity data an integrator sent, masked (R1); absent when none is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<MyIdentity>,
    /// The face reference kept for face match (with `face_comparison`): that it exists and
    /// when it was made — never the template. Absent when none is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_reference: Option<MyFaceReference>,
}

/// The person's face reference as they see it: that it exists, when and from what it was
/// made — never the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyFaceReference {
    /// When it was made, RFC 3339 UTC.
    pub created_at: String,
    /// `image` (sent by the integrator) or `session` (a live session's best frame).
    pub source: String,
    /// The face-recognition model of the template.
    pub model: String,
}

/// Identity data as the person sees it: always masked (R1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MyIdentity {
    /// Name, first character only (`张*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ID number, first 3 and last 4 (`110***********1234`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// Phone, `138****5678`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The third-party login it came through (D2), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_third_party: Option<String>,
}

/// `POST /v1/admin/samples`: ask for `size` random training images (ML engineer). No member
/// names a person: who is picked is random (C4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleAsk {
    /// How many images (1–1000).
    pub size: usize,
    /// Why (audited), e.g. "testing model v3".
    pub purpose: String,
}

/// `POST /v1/admin/samples/{sample_id}/approve` (privacy officer, not the requester).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleApproval {
    /// How long the export stays open, seconds (at most 7 days).
    pub ttl_s: u64,
    /// Why (audited).
    pub purpose: String,
}

/// A training sample's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SampleInfo {
    /// `sm_…`.
    pub id: String,
    /// Images asked for.
    pub size: u64,
    /// `requested`, `approved`.
    pub status: String,
    /// Images picked at approval.
    pub picked: u64,
    /// Export closes, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// One exported image (decrypted; JPEG, base64), identified by a sample-local number only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SampleImage {
    /// 0, 1, 2, … (no subject or session id).
    pub n: u64,
    /// JPEG bytes, standard base64.
    pub jpeg_base64: String,
}
