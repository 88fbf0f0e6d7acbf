//! The personal-information protection impact assessment (L5; PIPL art. 55–56).
//!
//! Processing sensitive personal information — face data is — needs an impact assessment
//! *before* it starts, and its record kept at least 3 years. In huoti the processing is what a
//! policy version describes, so a version that changes it (a material change, A1) can only be
//! published with an assessment completed on or before its publication day. Policy versions
//! are never deleted (consents refer to them), so the record outlives the 3 years.
//!
//! ```
//! use huoti_privacy::assessment::{self, AssessmentError, ImpactAssessment};
//! use time::macros::{date, datetime};
//!
//! let pia = ImpactAssessment { reference: "PIA-2026-04".into(), completed_on: date!(2026 - 10 - 20) };
//! let published = datetime!(2026-11-01 0:00 UTC);
//! assert_eq!(assessment::check("2026-11", true, Some(&pia), published), Ok(()));
//! assert_eq!(
//!     assessment::check("2026-11", true, None, published),
//!     Err(AssessmentError::Required { version: "2026-11".into() }),
//! );
//! ```

use time::{Date, OffsetDateTime};

use crate::calendar::local_date;

/// A completed impact assessment: where its report is kept, and when it was completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpactAssessment {
    /// The report: a document id or path the regulator can be shown.
    pub reference: String,
    /// The day it was completed (China Standard Time).
    pub completed_on: Date,
}

/// A policy version that may not be published as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessmentError {
    /// A material change with no assessment.
    #[error(
        "policy version {version} changes how personal data is processed: an impact assessment must be completed first (L5)"
    )]
    Required {
        /// The version.
        version: String,
    },
    /// The assessment names no report.
    #[error("the impact assessment needs a reference to its report (L5)")]
    NoReference,
    /// The assessment was completed after the version would bind.
    #[error(
        "the impact assessment was completed on {completed_on}, after the version's publication on {published_on}: it must come before processing (L5)"
    )]
    AfterPublication {
        /// When the assessment was completed.
        completed_on: Date,
        /// The publication day.
        published_on: Date,
    },
}

/// L5: whether a version may be published at `published_at` with `assessment`. A material
/// change needs one; any assessment given must name its report and predate publication.
pub fn check(
    version: &str,
    material_change: bool,
    assessment: Option<&ImpactAssessment>,
    published_at: OffsetDateTime,
) -> Result<(), AssessmentError> {
    let Some(a) = assessment else {
        return if material_change {
            Err(AssessmentError::Required {
                version: version.to_owned(),
            })
        } else {
            Ok(())
        };
    };
    if a.reference.trim().is_empty() {
        return Err(AssessmentError::NoReference);
    }
    let published_on = local_date(published_at);
    if a.completed_on > published_on {
        return Err(AssessmentError::AfterPublication {
            completed_on: a.completed_on,
            published_on,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn pia(on: Date) -> ImpactAssessment {
        ImpactAssessment {
            reference: "PIA-7".into(),
            completed_on: on,
        }
    }

    #[test]
    fn l5_a_material_change_needs_an_impact_assessment_completed_before_it_binds() {
        // 2026-11-01 00:30 in China is still 2026-10-31 in UTC: the day counts in China.
        let at = datetime!(2026-10-31 16:30 UTC);
        assert_eq!(
            check("v2", true, Some(&pia(date!(2026 - 11 - 01))), at),
            Ok(())
        );
        assert_eq!(
            check("v2", true, Some(&pia(date!(2026 - 11 - 02))), at),
            Err(AssessmentError::AfterPublication {
                completed_on: date!(2026 - 11 - 02),
                published_on: date!(2026 - 11 - 01)
            })
        );
        assert_eq!(
            check("v2", true, None, at),
            Err(AssessmentError::Required {
                version: "v2".into()
            })
        );
        let blank = ImpactAssessment {
            reference: " ".into(),
            ..pia(date!(2026 - 10 - 01))
        };
        assert_eq!(
            check("v2", true, Some(&blank), at),
            Err(AssessmentError::NoReference)
        );
        // A change that does not alter the processing (wording, contact) needs none.
        assert_eq!(check("v2.1", false, None, at), Ok(()));
    }
}
