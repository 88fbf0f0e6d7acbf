//! Policy versions, consent scopes and the consent ledger (A1, A3, C6, L1, L2, P2, R4, U2).
//!
//! * A [`PolicyVersion`] is one published text of the privacy policy: its version, the SHA-256
//!   of its text (so a consent proves *which words* were agreed to), whether it is a
//!   **material change** (A1: ownership, scope or purpose, recipients, how rights are exercised,
//!   security, complaint channels, other major impact), when it was published, and the
//!   personal-information protection contact it names (A3).
//! * A [`Scope`] is one thing a person agrees to, each asked for separately (C6, L1, L2):
//!   capturing and uploading the face (required for detection), device information (optional,
//!   P2), keeping images for training (optional, L2), sharing with a named recipient (optional,
//!   D1), comparing the face with a stored reference of the person (optional, 本人核验).
//!   On the wire a scope is a string: `face_capture_and_upload`, `device_info`,
//!   `retain_for_training`, `face_comparison`, `share_with:<recipient>`.
//! * A [`ConsentRecord`] is one click on "agree": who, which policy version, which scope, when,
//!   through which channel, and when it was withdrawn, if it was.
//! * The [`ConsentLedger`] is an in-memory view of a subject's records (the server stores them)
//!   that answers the questions the server must ask before acting.
//!
//! ## Rules
//!
//! A scope is granted at instant `now` when the subject has a record for that scope which was
//! granted at or before `now`, is not withdrawn at `now`, and was given under a policy version
//! not superseded by a later **material** version published at or before `now`. Otherwise the
//! answer is [`ConsentRequired::NeedsConsent`] (never asked, refused or withdrawn) or
//! [`ConsentRequired::NeedsReconsent`] (A1: the policy changed materially; the person must
//! accept the new version before it binds them). Non-material versions do not require
//! reconsent.
//!
//! Scopes are independent: refusing or withdrawing an optional scope never affects face capture
//! (C6, P2), and consenting to an optional scope never implies face capture (L1). A use not
//! covered by an existing scope — such as a new recipient — needs fresh consent (U2).
//!
//! Withdrawing ([`ConsentLedger::withdraw`], R4) returns the [`Effect`]s the server must carry
//! out so that the collection or sharing actually **stops**.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

use crate::SubjectId;

/// One published version of the privacy policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// The version label, e.g. `2026-03`.
    pub version: String,
    /// Lower-case hex SHA-256 of the policy text as shown.
    pub text_digest: String,
    /// Whether this version changes the policy materially (A1): consents given under earlier
    /// versions stop counting once it is published.
    pub material_change: bool,
    /// When it was published.
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// The personal-information protection contact the text names (A3).
    pub privacy_contact: String,
}

impl PolicyVersion {
    /// Describes a published text. The contact (A3) must not be empty.
    pub fn new(
        version: impl Into<String>,
        text: &str,
        material_change: bool,
        published_at: OffsetDateTime,
        privacy_contact: impl Into<String>,
    ) -> Result<Self, LedgerError> {
        let version = version.into();
        let privacy_contact = privacy_contact.into();
        if version.trim().is_empty() {
            return Err(LedgerError::EmptyVersion);
        }
        if privacy_contact.trim().is_empty() {
            return Err(LedgerError::MissingPrivacyContact { version });
        }
        Ok(Self {
            version,
            text_digest: text_digest(text),
            material_change,
            published_at,
            privacy_contact,
        })
    }

    /// Whether `text` is exactly the text this version was published with.
    pub fn matches_text(&self, text: &str) -> bool {
        self.text_digest == text_digest(text)
    }
}

/// Lower-case hex SHA-256 of a policy text.
pub fn text_digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// One separately consented purpose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scope {
    /// Capture the face with the front camera and upload it for liveness detection (required
    /// for detection; L1).
    FaceCaptureAndUpload,
    /// Collect phone model, OS type and version (optional; P2).
    DeviceInfo,
    /// Keep face images after verification for model training (optional; L2).
    RetainForTraining,
    /// Compare the live face with a stored reference of the person (本人核验, optional,
    /// asked on its own: the rules on face recognition want separate consent). Refusing it
    /// never blocks liveness detection (C6).
    FaceComparison,
    /// Share with the named recipient (optional; D1).
    ShareWith(String),
}

impl Scope {
    /// Whether detection cannot run without this scope.
    pub fn is_required(&self) -> bool {
        matches!(self, Scope::FaceCaptureAndUpload)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::FaceCaptureAndUpload => f.write_str("face_capture_and_upload"),
            Scope::DeviceInfo => f.write_str("device_info"),
            Scope::RetainForTraining => f.write_str("retain_for_training"),
            Scope::FaceComparison => f.write_str("face_comparison"),
            Scope::ShareWith(r) => write!(f, "share_with:{r}"),
        }
    }
}

/// A string is not a known scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown consent scope {0:?}")]
pub struct ScopeParseError(pub String);

impl FromStr for Scope {
    type Err = ScopeParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "face_capture_and_upload" => Ok(Scope::FaceCaptureAndUpload),
            "device_info" => Ok(Scope::DeviceInfo),
            "retain_for_training" => Ok(Scope::RetainForTraining),
            "face_comparison" => Ok(Scope::FaceComparison),
            _ => match s.strip_prefix("share_with:") {
                Some(r)
                    if !r.is_empty() && !r.chars().any(|c| c.is_whitespace() || c.is_control()) =>
                {
                    Ok(Scope::ShareWith(r.to_string()))
                }
                _ => Err(ScopeParseError(s.to_string())),
            },
        }
    }
}

impl TryFrom<String> for Scope {
    type Error = ScopeParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.to_string()
    }
}

/// One recorded "agree".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// Who agreed.
    pub subject: SubjectId,
    /// The [`PolicyVersion::version`] shown when they agreed.
    pub policy_version: String,
    /// What they agreed to.
    pub scope: Scope,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
    /// Through which channel (e.g. `web-sdk`, `android-sdk`, `privacy-centre`).
    pub channel: String,
    /// When it was withdrawn, if it was.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub withdrawn_at: Option<OffsetDateTime>,
}

/// Why an action needs the person's (re)consent first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentRequired {
    /// No valid consent to this scope: never given, refused, or withdrawn.
    #[error("consent to {scope} is needed")]
    NeedsConsent {
        /// The scope to ask for.
        scope: Scope,
    },
    /// Consent was given, but under a policy version that a later material version superseded
    /// (A1): the person must accept `current_version` first.
    #[error(
        "the policy changed materially; consent to {scope} under version {current_version} is needed"
    )]
    NeedsReconsent {
        /// The scope to ask for.
        scope: Scope,
        /// The version to show.
        current_version: String,
    },
}

/// A ledger could not be built or updated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// A record names a policy version the ledger does not know.
    #[error("unknown policy version {0:?}")]
    UnknownPolicyVersion(String),
    /// Two policy versions share a label.
    #[error("policy version {0:?} listed twice")]
    DuplicateVersion(String),
    /// A policy version without a label.
    #[error("policy version label is empty")]
    EmptyVersion,
    /// A policy version without a personal-information protection contact (A3).
    #[error("policy version {version:?} names no personal-information protection contact")]
    MissingPrivacyContact {
        /// The version.
        version: String,
    },
    /// A record granted before its policy version was published.
    #[error("consent under {version:?} recorded before that version was published")]
    GrantedBeforePublication {
        /// The version.
        version: String,
    },
}

/// What the server must do after a withdrawal (R4: the collection or sharing **stops**).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect", content = "recipient")]
pub enum Effect {
    /// Start no new capture for this subject; refuse uploads in flight.
    StopCapture,
    /// Collect no more device information; detection continues without it (P2).
    StopDeviceInfoCollection,
    /// Delete every image kept for training (L2), and exclude them from any pending sample.
    DeleteTrainingImages,
    /// Shred the person's face reference (the sealed template) at once; no face match runs
    /// for them until they consent and enrol again.
    DeleteFaceReference,
    /// Send nothing more to this recipient, and tell it to stop processing.
    StopSharing(String),
}

/// An in-memory view of consent records against the policy's version history.
#[derive(Debug, Clone)]
pub struct ConsentLedger {
    policies: Vec<PolicyVersion>,
    records: Vec<ConsentRecord>,
}

impl ConsentLedger {
    /// A ledger over the policy's version history (any order) with no records yet.
    pub fn new(policies: Vec<PolicyVersion>) -> Result<Self, LedgerError> {
        let mut policies = policies;
        policies.sort_by_key(|p| p.published_at);
        for (i, p) in policies.iter().enumerate() {
            if policies[..i].iter().any(|q| q.version == p.version) {
                return Err(LedgerError::DuplicateVersion(p.version.clone()));
            }
        }
        Ok(Self {
            policies,
            records: Vec::new(),
        })
    }

    /// A ledger over stored records.
    pub fn from_records(
        policies: Vec<PolicyVersion>,
        records: impl IntoIterator<Item = ConsentRecord>,
    ) -> Result<Self, LedgerError> {
        let mut ledger = Self::new(policies)?;
        for r in records {
            ledger.record(r)?;
        }
        Ok(ledger)
    }

    /// Adds one consent record (a click on "agree").
    pub fn record(&mut self, record: ConsentRecord) -> Result<(), LedgerError> {
        let policy = self
            .policy(&record.policy_version)
            .ok_or_else(|| LedgerError::UnknownPolicyVersion(record.policy_version.clone()))?;
        if record.granted_at < policy.published_at {
            return Err(LedgerError::GrantedBeforePublication {
                version: policy.version.clone(),
            });
        }
        self.records.push(record);
        Ok(())
    }

    /// Convenience for [`record`](Self::record): `subject` agrees to `scope` under `version`.
    pub fn grant(
        &mut self,
        subject: &SubjectId,
        version: &str,
        scope: Scope,
        at: OffsetDateTime,
        channel: &str,
    ) -> Result<(), LedgerError> {
        self.record(ConsentRecord {
            subject: subject.clone(),
            policy_version: version.to_string(),
            scope,
            granted_at: at,
            channel: channel.to_string(),
            withdrawn_at: None,
        })
    }

    /// All records, for the server to store.
    pub fn records(&self) -> &[ConsentRecord] {
        &self.records
    }

    /// The policy version in force at `now`: the latest published at or before `now`.
    pub fn current_policy(&self, now: OffsetDateTime) -> Option<&PolicyVersion> {
        self.policies.iter().rev().find(|p| p.published_at <= now)
    }

    fn policy(&self, version: &str) -> Option<&PolicyVersion> {
        self.policies.iter().find(|p| p.version == version)
    }

    /// The latest material version published at or before `now`.
    fn latest_material(&self, now: OffsetDateTime) -> Option<&PolicyVersion> {
        self.policies
            .iter()
            .rev()
            .find(|p| p.material_change && p.published_at <= now)
    }

    /// Whether `subject` has a valid consent to `scope` at `now` (see the module rules).
    pub fn check(
        &self,
        subject: &SubjectId,
        scope: &Scope,
        now: OffsetDateTime,
    ) -> Result<(), ConsentRequired> {
        let floor = self.latest_material(now).map(|p| p.published_at);
        let mut superseded = false;
        for r in self
            .records
            .iter()
            .filter(|r| &r.subject == subject && &r.scope == scope)
        {
            let active = r.granted_at <= now && r.withdrawn_at.is_none_or(|w| w > now);
            if !active {
                continue;
            }
            let published = self.policy(&r.policy_version).map(|p| p.published_at);
            match (published, floor) {
                (Some(p), Some(f)) if p < f => superseded = true,
                (Some(_), _) => return Ok(()),
                (None, _) => {}
            }
        }
        if superseded {
            let current_version = self
                .current_policy(now)
                .map(|p| p.version.clone())
                .unwrap_or_default();
            Err(ConsentRequired::NeedsReconsent {
                scope: scope.clone(),
                current_version,
            })
        } else {
            Err(ConsentRequired::NeedsConsent {
                scope: scope.clone(),
            })
        }
    }

    /// May the SDK capture and upload `subject`'s face at `now`? (L1, A1)
    pub fn may_capture(
        &self,
        subject: &SubjectId,
        now: OffsetDateTime,
    ) -> Result<(), ConsentRequired> {
        self.check(subject, &Scope::FaceCaptureAndUpload, now)
    }

    /// May the SDK collect device information? A refusal only means detection runs without it
    /// (P2).
    pub fn may_collect_device_info(
        &self,
        subject: &SubjectId,
        now: OffsetDateTime,
    ) -> Result<(), ConsentRequired> {
        self.check(subject, &Scope::DeviceInfo, now)
    }

    /// May the server keep `subject`'s face images after verification for training? (L2)
    pub fn may_retain_for_training(
        &self,
        subject: &SubjectId,
        now: OffsetDateTime,
    ) -> Result<(), ConsentRequired> {
        self.check(subject, &Scope::RetainForTraining, now)
    }

    /// May the server keep `subject`'s face reference (a sealed template) and compare live
    /// faces with it? A refusal only means no face match; liveness runs all the same (C6).
    pub fn may_compare_faces(
        &self,
        subject: &SubjectId,
        now: OffsetDateTime,
    ) -> Result<(), ConsentRequired> {
        self.check(subject, &Scope::FaceComparison, now)
    }

    /// May `subject`'s data be shared with `recipient`? (D1)
    pub fn may_share_with(
        &self,
        subject: &SubjectId,
        recipient: &str,
        now: OffsetDateTime,
    ) -> Result<(), ConsentRequired> {
        self.check(subject, &Scope::ShareWith(recipient.to_string()), now)
    }

    /// R4: withdraws every active consent of `subject` to `scope` at `now` and returns what the
    /// server must do so that the collection or sharing stops. Idempotent: the effects are
    /// returned even if nothing was active.
    pub fn withdraw(
        &mut self,
        subject: &SubjectId,
        scope: &Scope,
        now: OffsetDateTime,
    ) -> Vec<Effect> {
        for r in self
            .records
            .iter_mut()
            .filter(|r| &r.subject == subject && &r.scope == scope)
        {
            if r.withdrawn_at.is_none_or(|w| w > now) {
                r.withdrawn_at = Some(now);
            }
        }
        match scope {
            Scope::FaceCaptureAndUpload => vec![Effect::StopCapture],
            Scope::DeviceInfo => vec![Effect::StopDeviceInfoCollection],
            Scope::RetainForTraining => vec![Effect::DeleteTrainingImages],
            Scope::FaceComparison => vec![Effect::DeleteFaceReference],
            Scope::ShareWith(r) => vec![Effect::StopSharing(r.clone())],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const CONTACT: &str = "privacy@huoti.example";

    fn v(version: &str, material: bool, at: OffsetDateTime) -> PolicyVersion {
        PolicyVersion::new(
            version,
            &format!("policy text {version}"),
            material,
            at,
            CONTACT,
        )
        .unwrap()
    }

    fn ledger() -> ConsentLedger {
        ConsentLedger::new(vec![
            v("v1", true, datetime!(2025-01-01 00:00 UTC)),
            v("v1.1", false, datetime!(2025-06-01 00:00 UTC)),
            v("v2", true, datetime!(2026-01-01 00:00 UTC)),
        ])
        .unwrap()
    }

    fn alice() -> SubjectId {
        SubjectId::new("alice")
    }

    const T0: OffsetDateTime = datetime!(2025-03-01 10:00 UTC);

    #[test]
    fn a1_policy_version_digest_is_sha256_of_text() {
        let p = PolicyVersion::new("v1", "abc", true, T0, CONTACT).unwrap();
        assert_eq!(
            p.text_digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(p.matches_text("abc"));
        assert!(!p.matches_text("abd"));
    }

    #[test]
    fn a3_policy_version_requires_privacy_contact() {
        assert_eq!(
            PolicyVersion::new("v1", "text", true, T0, " "),
            Err(LedgerError::MissingPrivacyContact {
                version: "v1".into()
            })
        );
        assert_eq!(v("v1", true, T0).privacy_contact, CONTACT);
    }

    #[test]
    fn l1_capture_needs_its_own_consent() {
        let mut l = ledger();
        assert_eq!(
            l.may_capture(&alice(), T0),
            Err(ConsentRequired::NeedsConsent {
                scope: Scope::FaceCaptureAndUpload
            })
        );
        // Consenting to other scopes does not imply face capture.
        for s in [
            Scope::DeviceInfo,
            Scope::RetainForTraining,
            Scope::ShareWith("bank-x".into()),
        ] {
            l.grant(&alice(), "v1", s, T0, "web-sdk").unwrap();
        }
        assert!(l.may_capture(&alice(), T0).is_err());
        l.grant(&alice(), "v1", Scope::FaceCaptureAndUpload, T0, "web-sdk")
            .unwrap();
        assert_eq!(l.may_capture(&alice(), T0), Ok(()));
        // Only alice.
        assert!(l.may_capture(&SubjectId::new("bob"), T0).is_err());
        // Not before it was given.
        assert!(
            l.may_capture(&alice(), datetime!(2025-03-01 09:59 UTC))
                .is_err()
        );
    }

    #[test]
    fn a1_material_change_forces_reconsent() {
        let mut l = ledger();
        l.grant(&alice(), "v1", Scope::FaceCaptureAndUpload, T0, "web-sdk")
            .unwrap();
        // v1.1 (not material) does not require reconsent.
        assert_eq!(
            l.may_capture(&alice(), datetime!(2025-12-31 23:59 UTC)),
            Ok(())
        );
        // v2 (material) does, from its publication on.
        let after = datetime!(2026-01-02 00:00 UTC);
        assert_eq!(
            l.may_capture(&alice(), after),
            Err(ConsentRequired::NeedsReconsent {
                scope: Scope::FaceCaptureAndUpload,
                current_version: "v2".into()
            })
        );
        // Accepting v2 binds again.
        l.grant(
            &alice(),
            "v2",
            Scope::FaceCaptureAndUpload,
            after,
            "web-sdk",
        )
        .unwrap();
        assert_eq!(l.may_capture(&alice(), after), Ok(()));
    }

    #[test]
    fn a1_consent_under_non_material_version_stays_valid() {
        let mut l = ledger();
        l.grant(
            &alice(),
            "v1.1",
            Scope::DeviceInfo,
            datetime!(2025-07-01 00:00 UTC),
            "web-sdk",
        )
        .unwrap();
        assert_eq!(
            l.may_collect_device_info(&alice(), datetime!(2025-12-01 00:00 UTC)),
            Ok(())
        );
        assert!(matches!(
            l.may_collect_device_info(&alice(), datetime!(2026-02-01 00:00 UTC)),
            Err(ConsentRequired::NeedsReconsent { .. })
        ));
    }

    #[test]
    fn a1_consent_is_recorded_with_known_policy_version() {
        let mut l = ledger();
        assert_eq!(
            l.grant(&alice(), "v9", Scope::FaceCaptureAndUpload, T0, "web-sdk"),
            Err(LedgerError::UnknownPolicyVersion("v9".into()))
        );
        assert_eq!(
            l.grant(&alice(), "v2", Scope::FaceCaptureAndUpload, T0, "web-sdk"),
            Err(LedgerError::GrantedBeforePublication {
                version: "v2".into()
            })
        );
        assert!(l.records().is_empty());
        assert_eq!(l.current_policy(T0).unwrap().version, "v1");
        assert!(ConsentLedger::new(vec![v("v1", true, T0), v("v1", false, T0)]).is_err());
    }

    #[test]
    fn c6_refusing_optional_scope_never_affects_capture() {
        let mut l = ledger();
        l.grant(&alice(), "v1", Scope::FaceCaptureAndUpload, T0, "web-sdk")
            .unwrap();
        l.grant(&alice(), "v1", Scope::RetainForTraining, T0, "web-sdk")
            .unwrap();
        l.grant(
            &alice(),
            "v1",
            Scope::ShareWith("bank-x".into()),
            T0,
            "web-sdk",
        )
        .unwrap();
        let later = datetime!(2025-04-01 00:00 UTC);
        l.withdraw(&alice(), &Scope::RetainForTraining, later);
        l.withdraw(&alice(), &Scope::ShareWith("bank-x".into()), later);
        assert!(l.may_retain_for_training(&alice(), later).is_err());
        assert!(l.may_share_with(&alice(), "bank-x", later).is_err());
        assert_eq!(l.may_capture(&alice(), later), Ok(()));
    }

    #[test]
    fn p2_device_info_refused_detection_still_runs() {
        let mut l = ledger();
        l.grant(&alice(), "v1", Scope::FaceCaptureAndUpload, T0, "web-sdk")
            .unwrap();
        assert_eq!(
            l.may_collect_device_info(&alice(), T0),
            Err(ConsentRequired::NeedsConsent {
                scope: Scope::DeviceInfo
            })
        );
        assert_eq!(l.may_capture(&alice(), T0), Ok(()));
        assert!(!Scope::DeviceInfo.is_required());
        assert!(Scope::FaceCaptureAndUpload.is_required());
    }

    #[test]
    fn l2_training_retention_needs_separate_consent() {
        let mut l = ledger();
        l.grant(&alice(), "v1", Scope::FaceCaptureAndUpload, T0, "web-sdk")
            .unwrap();
        assert!(l.may_retain_for_training(&alice(), T0).is_err());
        l.grant(&alice(), "v1", Scope::RetainForTraining, T0, "web-sdk")
            .unwrap();
        assert_eq!(l.may_retain_for_training(&alice(), T0), Ok(()));
    }

    #[test]
    fn r4_withdrawal_stops_and_returns_effects() {
        let mut l = ledger();
        for s in [
            Scope::FaceCaptureAndUpload,
            Scope::DeviceInfo,
            Scope::RetainForTraining,
            Scope::ShareWith("bank-x".into()),
        ] {
            l.grant(&alice(), "v1", s, T0, "web-sdk").unwrap();
        }
        let w = datetime!(2025-05-01 00:00 UTC);
        assert_eq!(
            l.withdraw(&alice(), &Scope::RetainForTraining, w),
            vec![Effect::DeleteTrainingImages]
        );
        assert_eq!(
            l.withdraw(&alice(), &Scope::ShareWith("bank-x".into()), w),
            vec![Effect::StopSharing("bank-x".into())]
        );
        assert_eq!(
            l.withdraw(&alice(), &Scope::DeviceInfo, w),
            vec![Effect::StopDeviceInfoCollection]
        );
        assert_eq!(
            l.withdraw(&alice(), &Scope::FaceCaptureAndUpload, w),
            vec![Effect::StopCapture]
        );
        for s in [
            Scope::FaceCaptureAndUpload,
            Scope::DeviceInfo,
            Scope::RetainForTraining,
        ] {
            assert_eq!(
                l.check(&alice(), &s, w),
                Err(ConsentRequired::NeedsConsent { scope: s.clone() })
            );
            // Before the withdrawal, consent was valid (the record keeps history).
            assert_eq!(
                l.check(&alice(), &s, datetime!(2025-04-30 00:00 UTC)),
                Ok(())
            );
        }
        assert!(l.records().iter().all(|r| r.withdrawn_at == Some(w)));
    }

    #[test]
    fn c6_face_comparison_is_its_own_scope_refusing_it_never_blocks_capture() {
        let mut l = ledger();
        l.grant(&alice(), "v1", Scope::FaceCaptureAndUpload, T0, "web-sdk")
            .unwrap();
        // Capture consent implies no comparison (asked separately), and the reverse.
        assert_eq!(
            l.may_compare_faces(&alice(), T0),
            Err(ConsentRequired::NeedsConsent {
                scope: Scope::FaceComparison
            })
        );
        l.grant(&alice(), "v1", Scope::FaceComparison, T0, "web-sdk")
            .unwrap();
        assert_eq!(l.may_compare_faces(&alice(), T0), Ok(()));
        let w = datetime!(2025-05-01 00:00 UTC);
        assert_eq!(
            l.withdraw(&alice(), &Scope::FaceComparison, w),
            vec![Effect::DeleteFaceReference]
        );
        assert!(l.may_compare_faces(&alice(), w).is_err());
        assert_eq!(l.may_capture(&alice(), w), Ok(()));
        assert!(!Scope::FaceComparison.is_required());
        assert_eq!("face_comparison".parse::<Scope>(), Ok(Scope::FaceComparison));
        assert_eq!(Scope::FaceComparison.to_string(), "face_comparison");
    }

    #[test]
    fn u2_new_recipient_needs_fresh_consent() {
        let mut l = ledger();
        l.grant(
            &alice(),
            "v1",
            Scope::ShareWith("bank-x".into()),
            T0,
            "web-sdk",
        )
        .unwrap();
        assert_eq!(l.may_share_with(&alice(), "bank-x", T0), Ok(()));
        assert_eq!(
            l.may_share_with(&alice(), "bank-y", T0),
            Err(ConsentRequired::NeedsConsent {
                scope: Scope::ShareWith("bank-y".into())
            })
        );
    }

    #[test]
    fn scopes_serialise_as_strings() {
        let scopes = vec![
            Scope::FaceCaptureAndUpload,
            Scope::DeviceInfo,
            Scope::RetainForTraining,
            Scope::ShareWith("bank-x".into()),
        ];
        let json = serde_json::to_string(&scopes).unwrap();
        assert_eq!(
            json,
            r#"["face_capture_and_upload","device_info","retain_for_training","share_with:bank-x"]"#
        );
        let back: Vec<Scope> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, scopes);
        for bad in [r#""share_with:""#, r#""share_with:a b""#, r#""camera""#] {
            assert!(serde_json::from_str::<Scope>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn consent_records_roundtrip_through_json() {
        let mut l = ledger();
        l.grant(
            &alice(),
            "v1",
            Scope::ShareWith("bank-x".into()),
            T0,
            "web-sdk",
        )
        .unwrap();
        l.withdraw(
            &alice(),
            &Scope::ShareWith("bank-x".into()),
            datetime!(2025-04-01 00:00 UTC),
        );
        let json = serde_json::to_string(l.records()).unwrap();
        let records: Vec<ConsentRecord> = serde_json::from_str(&json).unwrap();
        let rebuilt = ConsentLedger::from_records(ledger().policies.clone(), records).unwrap();
        assert_eq!(rebuilt.records(), l.records());
    }
}
