//! Wire types of the privacy operations: identity data kept apart from biometric data (L3),
//! the disclosure ledger (D1–D6) and incidents (S3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PUT /v1/sessions/{id}/identity` body: identity data an integrator chooses to send. Kept in
/// separate tables under a separate key domain from face data (L3), sealed at rest (S2), and
/// never logged or echoed unmasked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityData {
    /// Full name (at most 128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Resident ID number (15 or 18 characters, digits and a final `X`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// Phone number (5–20 digits, optional leading `+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Set when the data came from a third-party login: only the fields the person agreed to
    /// share with that party are accepted (D2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_login: Option<ThirdPartyLogin>,
}

/// A third-party login the identity data came through (D2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThirdPartyLogin {
    /// The login provider, e.g. `wechat`.
    pub provider: String,
    /// The fields the person agreed to share with it: any of `name`, `id_number`, `phone`.
    pub agreed_fields: Vec<String>,
}

/// The basis of a disclosure: the person's consent or a legal ground (D1, D4, D6, C5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureBasisWire {
    /// A consent scope; it must be `share_with:<recipient>` for this recipient.
    Consent(String),
    /// A legal ground (`national_security`, `public_safety_or_health`,
    /// `criminal_investigation_and_trial`, `vital_interests`, `made_public_by_subject`,
    /// `lawfully_public_source`, `contract_performance`, `service_security_and_operation`, or
    /// `other` with the law named in `law`) and the reason for this use.
    Law {
        /// The ground.
        ground: String,
        /// For `other`: the law or regulation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        law: Option<String>,
        /// Why this disclosure needs it (recorded, C5).
        reason: String,
    },
}

/// How data leaves huoti.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureKind {
    /// Sharing with a named recipient (D1, D3).
    Share,
    /// Transfer of the data to a new holder (D4).
    Transfer,
    /// Public disclosure (D5).
    Public,
}

/// `POST /v1/disclosures` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRequest {
    /// Whose data (the subject: a session id, or the integrator's subject reference).
    pub subject: String,
    /// Who receives it (for a public disclosure: `public`).
    pub recipient: String,
    /// What is disclosed, e.g. `["verdict"]`.
    pub data: Vec<String>,
    /// Share, transfer or public disclosure.
    pub kind: DisclosureKind,
    /// Consent or legal ground.
    pub basis: DisclosureBasisWire,
}

/// One recorded disclosure: who received what, when, on which ground.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DisclosureRecordWire {
    /// Record id.
    pub id: String,
    /// Whose data.
    pub subject: String,
    /// Who received it.
    pub recipient: String,
    /// What.
    pub data: Vec<String>,
    /// Share, transfer or public.
    pub kind: DisclosureKind,
    /// On which ground.
    pub basis: DisclosureBasisWire,
    /// When, RFC 3339 UTC.
    pub at: String,
}

/// `POST /v1/admin/incidents` body (S3). Affected people are named by subject, by a time
/// range of sessions, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    /// What happened.
    pub summary: String,
    /// Its likely impact.
    pub impact: String,
    /// What was done about it.
    pub measures: String,
    /// What the affected people can do themselves.
    pub advice: String,
    /// The remedy offered.
    pub remedy: String,
    /// Affected subjects, if known.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Start of the affected time range, RFC 3339 (sessions created from then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// End of the affected time range, RFC 3339 (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A recorded incident and its notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncidentWire {
    /// Incident id.
    pub id: String,
    /// When it was recorded, RFC 3339.
    pub recorded_at: String,
    /// The description.
    pub request: IncidentRequest,
    /// Affected subjects found (named, or with sessions in the range).
    pub affected_subjects: u64,
    /// Notices queued (one per affected subject, a public notice when there are none to reach
    /// individually, and the regulator report).
    pub notices_queued: u64,
    /// Notices sent so far.
    pub notices_sent: u64,
}

/// Result of dispatching the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DispatchReport {
    /// Notices handed to the sender.
    pub sent: u64,
    /// Notices the sender refused (kept for the next try).
    pub failed: u64,
}
