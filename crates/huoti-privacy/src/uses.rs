//! What personal data may be used for (U1), and what else needs fresh consent (U2).
//!
//! U1 lists the uses: the purposes in section C, service notices, security (identity
//! verification, fraud detection, archiving, backup) and reports that regulators require.
//! [`Use`] is that list, closed: code cannot name a use that is not on it, and a use named
//! by a string that is not on it is refused with [`UnlistedUse`], which says that fresh
//! consent comes first (U2, C6).
//!
//! A use is more than a label. The server seals every record with its use bound into the
//! AEAD associated data ([`Use::label`] is the `purpose` of a
//! [`BlobContext`](crate::BlobContext)), so a record collected for one use does not even
//! decrypt when it is opened for another: device info sealed for fraud detection cannot be
//! read as identity data, a liveness frame cannot be read for training, and so on.
//!
//! ```
//! use huoti_privacy::uses::{Use, UnlistedUse};
//!
//! assert_eq!("device-info".parse::<Use>(), Ok(Use::FraudDetection));
//! assert_eq!(Use::FraudDetection.clause(), "U1 security: fraud detection (P2)");
//! // Marketing is not on the list: fresh consent first.
//! assert_eq!("marketing".parse::<Use>(), Err(UnlistedUse("marketing".into())));
//! ```

use std::fmt;
use std::str::FromStr;

use crate::consent::Scope;

/// One use of personal data that the policy lists (U1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Use {
    /// C3: judging whether the captured face is a real, live person present (the frames).
    LivenessCheck,
    /// C4, L2: model training on face images kept with `retain_for_training` consent.
    ModelTraining,
    /// C3 本人核验: comparing a live face with the person's stored reference (a face
    /// template), only with their `face_comparison` consent.
    FaceComparison,
    /// U1 service notices: incident notices (S3), wind-down notices (S6), policy changes (A1).
    ServiceNotice,
    /// U1 security: identity verification (identity data an integrator sends, L3).
    IdentityVerification,
    /// U1 security: fraud detection — device model and OS spot risky requests (P2).
    FraudDetection,
    /// U1 security: archiving — verdict records for their legal minimum, the audit log (L5).
    Archiving,
    /// U1 security: backup.
    Backup,
    /// U1: reports regulators require (the S3 incident report, D3 complaint facts).
    RegulatorReport,
}

impl Use {
    /// Every listed use.
    pub const ALL: [Use; 9] = [
        Use::LivenessCheck,
        Use::ModelTraining,
        Use::FaceComparison,
        Use::ServiceNotice,
        Use::IdentityVerification,
        Use::FraudDetection,
        Use::Archiving,
        Use::Backup,
        Use::RegulatorReport,
    ];

    /// The stable label: the `purpose` sealed into every record's associated data. Changing
    /// one makes records sealed under the old label unreadable, so labels never change.
    pub fn label(self) -> &'static str {
        match self {
            Use::LivenessCheck => "liveness-frame",
            Use::ModelTraining => "model-training",
            Use::FaceComparison => "face-reference",
            Use::ServiceNotice => "service-notice",
            Use::IdentityVerification => "identity",
            Use::FraudDetection => "device-info",
            Use::Archiving => "archiving",
            Use::Backup => "backup",
            Use::RegulatorReport => "regulator-report",
        }
    }

    /// The policy text that allows it.
    pub fn clause(self) -> &'static str {
        match self {
            Use::LivenessCheck => "C3 liveness detection",
            Use::ModelTraining => "C4 model training (L2: separate consent)",
            Use::FaceComparison => "C3 face comparison with the person's own reference (separate consent)",
            Use::ServiceNotice => "U1 service notices",
            Use::IdentityVerification => "U1 security: identity verification",
            Use::FraudDetection => "U1 security: fraud detection (P2)",
            Use::Archiving => "U1 security: archiving",
            Use::Backup => "U1 security: backup",
            Use::RegulatorReport => "U1 reports required by regulators",
        }
    }

    /// The consent scope the use needs beyond the capture consent, if any: training needs
    /// its own (L2); the security uses and notices rest on U1 itself.
    pub fn needs_consent(self) -> Option<Scope> {
        match self {
            Use::LivenessCheck => Some(Scope::FaceCaptureAndUpload),
            Use::ModelTraining => Some(Scope::RetainForTraining),
            Use::FaceComparison => Some(Scope::FaceComparison),
            Use::FraudDetection => Some(Scope::DeviceInfo),
            _ => None,
        }
    }
}

impl fmt::Display for Use {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A use that the policy does not list: it needs fresh consent first (U2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a use the policy lists (U1); it needs fresh consent first (U2)")]
pub struct UnlistedUse(pub String);

impl FromStr for Use {
    type Err = UnlistedUse;

    fn from_str(s: &str) -> Result<Use, UnlistedUse> {
        Use::ALL
            .into_iter()
            .find(|u| u.label() == s)
            .ok_or_else(|| UnlistedUse(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u1_the_listed_uses_are_exactly_the_policy_list_and_round_trip() {
        // U1: the purposes in C (C3: liveness, and face comparison with its own consent);
        // service notices; four security uses; regulator reports.
        let clauses: Vec<&str> = Use::ALL.iter().map(|u| u.clause()).collect();
        for part in [
            "C3 liveness",
            "C3 face comparison",
            "C4",
            "service notices",
            "identity verification",
            "fraud detection",
            "archiving",
            "backup",
            "regulators",
        ] {
            assert_eq!(
                clauses.iter().filter(|c| c.contains(part)).count(),
                1,
                "{part}"
            );
        }
        let mut labels: Vec<&str> = Use::ALL.iter().map(|u| u.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), Use::ALL.len(), "labels are distinct");
        for u in Use::ALL {
            assert_eq!(u.label().parse::<Use>(), Ok(u));
        }
    }

    #[test]
    fn u2_an_unlisted_use_needs_fresh_consent() {
        for other in [
            "marketing",
            "advertising",
            "credit-scoring",
            "",
            "Liveness-Frame",
        ] {
            let e = other.parse::<Use>().unwrap_err();
            assert_eq!(e, UnlistedUse(other.into()));
            assert!(e.to_string().contains("fresh consent"), "{e}");
        }
    }

    #[test]
    fn l2_p2_uses_beyond_u1_name_the_consent_they_rest_on() {
        assert_eq!(
            Use::ModelTraining.needs_consent(),
            Some(Scope::RetainForTraining)
        );
        assert_eq!(Use::FraudDetection.needs_consent(), Some(Scope::DeviceInfo));
        assert_eq!(
            Use::FaceComparison.needs_consent(),
            Some(Scope::FaceComparison)
        );
        assert_eq!(Use::IdentityVerification.needs_consent(), None);
        assert_eq!(Use::RegulatorReport.needs_consent(), None);
    }
}
