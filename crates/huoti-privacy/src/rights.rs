//! Data-subject requests, their deadlines, refusals and disclosures (R1–R9, S4, C5, D1–D6).
//!
//! ## Deadlines ([`due_date`])
//!
//! | request | due | clause |
//! |---|---|---|
//! | [`RequestKind::LockCredentials`] | the day it is received (at once) | S4 |
//! | [`RequestKind::WithdrawConsent`] | the day it is received (collection stops at once) | R4 |
//! | [`RequestKind::CloseAccount`] | 15 **working** days after receipt | R5 |
//! | [`RequestKind::Complaint`] | 3 working days after receipt, and never more than 30 calendar days | R9 |
//! | access, export, correction, deletion, other requests handled by staff | 15 **calendar** days after the person's identity is verified | R6 |
//!
//! Days are mainland-China dates ([`local_date`]); a request is on time until the end of its
//! due date ([`is_overdue`]). Working days come from the [`WorkCalendar`], which refuses to
//! guess beyond the years its file covers — so does `due_date`. [`deadline`] is what a server
//! uses: where the count reaches a year the calendar lacks, it answers a
//! [`Deadline::Provisional`] date (those days counted Monday–Friday) instead of refusing, so a
//! person's request is accepted whatever the state of our holiday data, and is counted again
//! once the next year's notice is installed.
//!
//! ## Refusals ([`Refusal`], R8)
//!
//! A request may be refused only on one of R8's grounds, and the refusal records which. A
//! [`Refusal`] cannot be built without a [`RefusalGround`], and [`RefusalGround`] has exactly
//! R8's six variants: a refusal "because we'd rather not" is unrepresentable.
//!
//! ## Disclosures ([`Disclosure`], D1–D6, C5)
//!
//! Data leaves huoti only with the person's consent to that recipient
//! ([`DisclosureBasis::Consent`] with [`Scope::ShareWith`]) or on one of C5's legal grounds
//! ([`DisclosureBasis::Law`], with a recorded reason; D6). [`check_disclosure`] checks the
//! basis against the [`ConsentLedger`] before anything is sent; the accepted `Disclosure` is
//! itself the record "who received what, when, on which ground".

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::SubjectId;
use crate::calendar::{CalendarError, Deadline, WorkCalendar, local_date};
use crate::consent::{ConsentLedger, ConsentRequired, Scope};

/// What a data subject asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RequestKind {
    /// See one's own data (R1; shown masked, see [`crate::mask`]).
    Access,
    /// Get a copy of one's data.
    Export,
    /// Correct a field (R2).
    Correction {
        /// Which field.
        field: String,
        /// Whether the field is a verified one (real name, bound phone): changing it needs an
        /// identity-verification step.
        verified_field: bool,
    },
    /// Delete individual records (R3, R7).
    DeleteRecords,
    /// Close the account (R5).
    CloseAccount,
    /// Withdraw a consent (R4).
    WithdrawConsent,
    /// A complaint (R9).
    Complaint,
    /// Lock credentials reported as leaked (S4).
    LockCredentials,
    /// Anything else that staff must handle (R6).
    Other,
}

/// Why a request cannot be scheduled or carried out yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RightsError {
    /// The deadline depends on a year the working-day calendar does not cover.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The person's identity must be verified first (R2, R6, R9); for R6 requests the clock
    /// starts at verification.
    #[error("the person's identity must be verified first")]
    IdentityNotVerified,
}

/// Whether carrying out `kind` needs the person's identity verified first.
///
/// Locking leaked credentials (S4) and withdrawing consent (R4) never wait; correcting a
/// non-verified field is self-service; everything else is verified first (R2, R6, R9).
#[must_use]
pub fn needs_identity_verification(kind: &RequestKind) -> bool {
    match kind {
        RequestKind::LockCredentials | RequestKind::WithdrawConsent => false,
        RequestKind::Correction { verified_field, .. } => *verified_field,
        RequestKind::Access
        | RequestKind::Export
        | RequestKind::DeleteRecords
        | RequestKind::CloseAccount
        | RequestKind::Complaint
        | RequestKind::Other => true,
    }
}

/// Checks that `kind` may be carried out now, given when (if ever) the person's identity was
/// verified.
pub fn may_execute(
    kind: &RequestKind,
    identity_verified_at: Option<OffsetDateTime>,
) -> Result<(), RightsError> {
    if needs_identity_verification(kind) && identity_verified_at.is_none() {
        return Err(RightsError::IdentityNotVerified);
    }
    Ok(())
}

/// The date by which a request must be completed (table in the [module docs](self)).
pub fn due_date(
    kind: &RequestKind,
    received_at: OffsetDateTime,
    identity_verified_at: Option<OffsetDateTime>,
    calendar: &WorkCalendar,
) -> Result<Date, RightsError> {
    let received = local_date(received_at);
    match kind {
        RequestKind::LockCredentials | RequestKind::WithdrawConsent => Ok(received),
        RequestKind::CloseAccount => Ok(calendar.add_working_days(received, 15)?),
        RequestKind::Complaint => {
            let three = calendar.add_working_days(received, 3)?;
            Ok(three.min(WorkCalendar::add_calendar_days(received, 30)))
        }
        RequestKind::Access
        | RequestKind::Export
        | RequestKind::Correction { .. }
        | RequestKind::DeleteRecords
        | RequestKind::Other => {
            let verified = identity_verified_at.ok_or(RightsError::IdentityNotVerified)?;
            Ok(WorkCalendar::add_calendar_days(local_date(verified), 15))
        }
    }
}

/// The deadline of a request, always answered (table in the [module docs](self)): like
/// [`due_date`], but when a working-day count reaches a year the calendar does not cover, the
/// answer is a [`Deadline::Provisional`] date (uncovered days counted Monday–Friday) instead of
/// an error. A person's request is never refused because of our calendar; the caller stores
/// the provisional flag and counts again when a newer calendar is installed.
///
/// `None` means no deadline runs yet: an R6 request's 15 days start when the person's identity
/// is verified, and `identity_verified_at` is `None`.
#[must_use]
pub fn deadline(
    kind: &RequestKind,
    received_at: OffsetDateTime,
    identity_verified_at: Option<OffsetDateTime>,
    calendar: &WorkCalendar,
) -> Option<Deadline> {
    let received = local_date(received_at);
    Some(match kind {
        RequestKind::LockCredentials | RequestKind::WithdrawConsent => Deadline::Official(received),
        RequestKind::CloseAccount => calendar.add_working_days_or_provisional(received, 15),
        RequestKind::Complaint => calendar
            .add_working_days_or_provisional(received, 3)
            .capped_at(WorkCalendar::add_calendar_days(received, 30)),
        RequestKind::Access
        | RequestKind::Export
        | RequestKind::Correction { .. }
        | RequestKind::DeleteRecords
        | RequestKind::Other => Deadline::Official(WorkCalendar::add_calendar_days(
            local_date(identity_verified_at?),
            15,
        )),
    })
}

/// Whether a request due on `due` is overdue at `now` (due dates are inclusive).
#[must_use]
pub fn is_overdue(due: Date, now: OffsetDateTime) -> bool {
    local_date(now) > due
}

/// The only grounds on which a request may be refused (R8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalGround {
    /// National security or defence.
    NationalSecurity,
    /// Public safety, public health or major public interest.
    PublicSafety,
    /// Criminal investigation, prosecution, trial or enforcement.
    CriminalProceedings,
    /// Sufficient evidence that the person acts in bad faith or abuses their rights.
    MaliciousAbuse,
    /// Answering would seriously harm the lawful rights of others.
    SeriousHarmToOthers,
    /// Answering would reveal trade secrets.
    TradeSecrets,
}

impl RefusalGround {
    /// Every ground, in R8's order.
    pub const ALL: [RefusalGround; 6] = [
        RefusalGround::NationalSecurity,
        RefusalGround::PublicSafety,
        RefusalGround::CriminalProceedings,
        RefusalGround::MaliciousAbuse,
        RefusalGround::SeriousHarmToOthers,
        RefusalGround::TradeSecrets,
    ];
}

/// A refused request: always with its ground (R8).
///
/// ```
/// use huoti_privacy::rights::{Refusal, RefusalGround};
/// let refusal = Refusal {
///     ground: RefusalGround::TradeSecrets,
///     explanation: "the thresholds are a trade secret".into(),
///     at: time::OffsetDateTime::UNIX_EPOCH,
/// };
/// ```
///
/// Without a ground it does not compile:
///
/// ```compile_fail
/// use huoti_privacy::rights::Refusal;
/// let refusal = Refusal {
///     explanation: "we'd rather not".into(),
///     at: time::OffsetDateTime::UNIX_EPOCH,
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The R8 ground.
    pub ground: RefusalGround,
    /// The explanation given to the person.
    pub explanation: String,
    /// When it was refused.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Done.
    Completed {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Refused on an R8 ground.
    Refused(Refusal),
}

/// The legal grounds for processing, sharing, transfer or disclosure without consent (C5, D6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalGround {
    /// National security or defence.
    NationalSecurity,
    /// Public safety, public health or major public interest.
    PublicSafetyOrHealth,
    /// Criminal investigation, prosecution, trial or enforcement.
    CriminalInvestigationAndTrial,
    /// Protecting the life, property or other major rights of the person or others when consent
    /// cannot be obtained.
    VitalInterests,
    /// Data the person made public themselves.
    MadePublicBySubject,
    /// Data from lawfully public sources (news, government disclosure).
    LawfullyPublicSource,
    /// Needed to conclude or perform a contract at the person's request.
    ContractPerformance,
    /// Needed to keep the service secure and running (e.g. fault handling).
    ServiceSecurityAndOperation,
    /// Another ground provided by law or regulation, named here.
    Other(String),
}

/// On what basis data is disclosed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureBasis {
    /// The person's explicit consent; the scope must be [`Scope::ShareWith`] the recipient.
    Consent(Scope),
    /// A C5 legal ground, with the reason for this use (recorded, C5).
    Law(LegalGround, String),
}

/// One disclosure of personal data to someone outside huoti — and its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// Whose data.
    pub subject: SubjectId,
    /// Who receives it.
    pub recipient: String,
    /// What is disclosed (e.g. `verdict`, `reference_image`).
    pub data: Vec<String>,
    /// On which ground.
    pub basis: DisclosureBasis,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Why a disclosure is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    /// The consent named is not consent to share with this recipient (D1: within its scope).
    #[error("consent scope {scope} does not cover sharing with {recipient}")]
    OutOfScope {
        /// The scope named.
        scope: Scope,
        /// The recipient.
        recipient: String,
    },
    /// The person has not (or no longer) consented.
    #[error(transparent)]
    NoConsent(#[from] ConsentRequired),
    /// A legal ground was named without a reason, or `Other` without naming the law.
    #[error("a legal ground needs a recorded reason")]
    MissingReason,
    /// Nothing to disclose, or no recipient.
    #[error("a disclosure names a recipient and the data disclosed")]
    Incomplete,
}

/// Checks a disclosure before anything is sent (D1, D4, D6, C5).
pub fn check_disclosure(d: &Disclosure, ledger: &ConsentLedger) -> Result<(), DisclosureError> {
    if d.recipient.trim().is_empty() || d.data.is_empty() {
        return Err(DisclosureError::Incomplete);
    }
    match &d.basis {
        DisclosureBasis::Consent(scope) => {
            if *scope != Scope::ShareWith(d.recipient.clone()) {
                return Err(DisclosureError::OutOfScope {
                    scope: scope.clone(),
                    recipient: d.recipient.clone(),
                });
            }
            ledger.check(&d.subject, scope, d.at)?;
            Ok(())
        }
        DisclosureBasis::Law(ground, reason) => {
            let named = match ground {
                LegalGround::Other(law) => !law.trim().is_empty(),
                _ => true,
            };
            if !named || reason.trim().is_empty() {
                return Err(DisclosureError::MissingReason);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::PolicyVersion;
    use time::macros::{date, datetime};

    fn cal() -> WorkCalendar {
        WorkCalendar::embedded_default()
    }

    // 10:00 in Beijing.
    fn at(d: Date) -> OffsetDateTime {
        d.with_hms(2, 0, 0).unwrap().assume_utc()
    }

    #[test]
    fn r5_account_closure_due_in_15_working_days_across_national_day() {
        let due = due_date(
            &RequestKind::CloseAccount,
            at(date!(2025 - 09 - 26)),
            None,
            &cal(),
        )
        .unwrap();
        assert_eq!(due, date!(2025 - 10 - 23));
    }

    #[test]
    fn r5_account_closure_past_calendar_says_not_covered() {
        assert_eq!(
            due_date(
                &RequestKind::CloseAccount,
                at(date!(2026 - 12 - 20)),
                None,
                &cal()
            ),
            Err(RightsError::Calendar(CalendarError::NotCovered {
                year: 2027
            }))
        );
    }

    #[test]
    fn r5_r9_deadline_past_the_calendar_is_provisional_not_an_error() {
        let closure = deadline(
            &RequestKind::CloseAccount,
            at(date!(2026 - 12 - 20)),
            None,
            &cal(),
        );
        assert_eq!(
            closure,
            Some(Deadline::Provisional {
                date: date!(2027 - 01 - 08),
                uncovered_year: 2027
            })
        );
        // Complaint on Sun 20 Dec 2026 stays inside 2026: official.
        assert_eq!(
            deadline(
                &RequestKind::Complaint,
                at(date!(2026 - 12 - 20)),
                None,
                &cal()
            ),
            Some(Deadline::Official(date!(2026 - 12 - 23)))
        );
        // From Tue 29 Dec 2026 a complaint's third working day is in 2027: Wed 30, Thu 31,
        // Fri 1 Jan (Monday–Friday count).
        assert_eq!(
            deadline(
                &RequestKind::Complaint,
                at(date!(2026 - 12 - 29)),
                None,
                &cal()
            ),
            Some(Deadline::Provisional {
                date: date!(2027 - 01 - 01),
                uncovered_year: 2027
            })
        );
        // Wherever the calendar covers the count, deadline and due_date agree.
        for kind in [
            RequestKind::CloseAccount,
            RequestKind::Complaint,
            RequestKind::LockCredentials,
        ] {
            let received = at(date!(2025 - 09 - 26));
            assert_eq!(
                deadline(&kind, received, None, &cal()).map(|d| d.date()),
                due_date(&kind, received, None, &cal()).ok()
            );
        }
        assert_eq!(
            deadline(
                &RequestKind::Access,
                at(date!(2026 - 12 - 20)),
                None,
                &cal()
            ),
            None
        );
    }

    #[test]
    fn r5_received_late_evening_utc_counts_from_china_date() {
        // 2025-09-25 17:00 UTC is already 2025-09-26 01:00 in Beijing.
        let due = due_date(
            &RequestKind::CloseAccount,
            datetime!(2025-09-25 17:00 UTC),
            None,
            &cal(),
        )
        .unwrap();
        assert_eq!(due, date!(2025 - 10 - 23));
    }

    #[test]
    fn r6_staff_handled_request_due_15_days_after_identity_verification() {
        let received = at(date!(2025 - 09 - 26));
        let verified = at(date!(2025 - 09 - 29));
        for kind in [
            RequestKind::Access,
            RequestKind::Export,
            RequestKind::DeleteRecords,
            RequestKind::Other,
            RequestKind::Correction {
                field: "email".into(),
                verified_field: false,
            },
        ] {
            // Calendar days: the National Day holiday does not stop the clock.
            assert_eq!(
                due_date(&kind, received, Some(verified), &cal()),
                Ok(date!(2025 - 10 - 14))
            );
            assert_eq!(
                due_date(&kind, received, None, &cal()),
                Err(RightsError::IdentityNotVerified)
            );
        }
        // Calendar days need no calendar coverage.
        assert_eq!(
            due_date(
                &RequestKind::Other,
                at(date!(2027 - 06 - 01)),
                Some(at(date!(2027 - 06 - 01))),
                &cal()
            ),
            Ok(date!(2027 - 06 - 16))
        );
    }

    #[test]
    fn r9_complaint_due_in_3_working_days_capped_at_30_days() {
        // Received Tue 30 Sep 2025: Oct 1–8 off; Thu 9, Fri 10, Sat 11 (make-up) → Sat 11 Oct.
        assert_eq!(
            due_date(
                &RequestKind::Complaint,
                at(date!(2025 - 09 - 30)),
                None,
                &cal()
            ),
            Ok(date!(2025 - 10 - 11))
        );
        // A calendar with a 40-day closure: the 30-day cap wins.
        let mut tsv = String::from("date\tday\tname\n");
        let mut d = date!(2025 - 01 - 02);
        for _ in 0..40 {
            tsv.push_str(&format!("{d}\toff\tclosure\n"));
            d = d.next_day().unwrap();
        }
        let long = WorkCalendar::from_tsv(&tsv).unwrap();
        assert_eq!(
            due_date(
                &RequestKind::Complaint,
                at(date!(2025 - 01 - 01)),
                None,
                &long
            ),
            Ok(date!(2025 - 01 - 31))
        );
        assert!(needs_identity_verification(&RequestKind::Complaint));
    }

    #[test]
    fn s4_credential_lock_due_at_once_without_waiting_for_verification() {
        let received = at(date!(2025 - 10 - 03)); // a holiday
        assert_eq!(
            due_date(&RequestKind::LockCredentials, received, None, &cal()),
            Ok(date!(2025 - 10 - 03))
        );
        assert_eq!(may_execute(&RequestKind::LockCredentials, None), Ok(()));
    }

    #[test]
    fn r4_consent_withdrawal_due_at_once() {
        let received = at(date!(2025 - 10 - 03));
        assert_eq!(
            due_date(&RequestKind::WithdrawConsent, received, None, &cal()),
            Ok(date!(2025 - 10 - 03))
        );
        assert_eq!(may_execute(&RequestKind::WithdrawConsent, None), Ok(()));
    }

    #[test]
    fn r2_verified_field_correction_requires_identity_verification() {
        let name = RequestKind::Correction {
            field: "real_name".into(),
            verified_field: true,
        };
        assert_eq!(
            may_execute(&name, None),
            Err(RightsError::IdentityNotVerified)
        );
        assert_eq!(may_execute(&name, Some(at(date!(2025 - 03 - 01)))), Ok(()));
        let nickname = RequestKind::Correction {
            field: "nickname".into(),
            verified_field: false,
        };
        assert_eq!(may_execute(&nickname, None), Ok(()));
    }

    #[test]
    fn r3_r5_deletion_and_closure_need_verified_identity() {
        for kind in [
            RequestKind::DeleteRecords,
            RequestKind::CloseAccount,
            RequestKind::Export,
        ] {
            assert_eq!(
                may_execute(&kind, None),
                Err(RightsError::IdentityNotVerified)
            );
        }
    }

    #[test]
    fn r_is_overdue_after_end_of_due_date() {
        let due = date!(2025 - 10 - 23);
        assert!(!is_overdue(due, datetime!(2025-10-23 15:59 UTC))); // 23:59 Beijing
        assert!(is_overdue(due, datetime!(2025-10-23 16:00 UTC))); // 00:00 Beijing on the 24th
    }

    #[test]
    fn r8_refusal_requires_listed_ground() {
        assert_eq!(RefusalGround::ALL.len(), 6);
        let r = Refusal {
            ground: RefusalGround::TradeSecrets,
            explanation: "the model's thresholds are a trade secret".into(),
            at: at(date!(2025 - 03 - 01)),
        };
        let json = serde_json::to_value(Outcome::Refused(r.clone())).unwrap();
        assert_eq!(json["outcome"], "refused");
        assert_eq!(json["ground"], "trade_secrets");
        assert_eq!(
            serde_json::from_value::<Outcome>(json).unwrap(),
            Outcome::Refused(r)
        );
        // A stored refusal without a ground, or with an unlisted one, does not load.
        let no_ground = serde_json::json!({"outcome": "refused", "explanation": "no", "at": "2025-03-01T00:00:00Z"});
        assert!(serde_json::from_value::<Outcome>(no_ground).is_err());
        let unlisted = serde_json::json!({"outcome": "refused", "ground": "too_busy", "explanation": "", "at": "2025-03-01T00:00:00Z"});
        assert!(serde_json::from_value::<Outcome>(unlisted).is_err());
        for g in RefusalGround::ALL {
            let s = serde_json::to_string(&g).unwrap();
            assert_eq!(serde_json::from_str::<RefusalGround>(&s).unwrap(), g);
        }
    }

    fn ledger() -> (ConsentLedger, SubjectId) {
        let t = datetime!(2025-01-01 00:00 UTC);
        let p = PolicyVersion::new("v1", "text", true, t, "privacy@huoti.example").unwrap();
        let mut l = ConsentLedger::new(vec![p]).unwrap();
        let alice = SubjectId::new("alice");
        l.grant(
            &alice,
            "v1",
            Scope::ShareWith("bank-x".into()),
            t,
            "web-sdk",
        )
        .unwrap();
        (l, alice)
    }

    fn disclosure(subject: &SubjectId, recipient: &str, basis: DisclosureBasis) -> Disclosure {
        Disclosure {
            subject: subject.clone(),
            recipient: recipient.into(),
            data: vec!["verdict".into()],
            basis,
            at: datetime!(2025-03-01 00:00 UTC),
        }
    }

    #[test]
    fn d1_disclosure_needs_consent_within_scope() {
        let (mut l, alice) = ledger();
        let to_x = Scope::ShareWith("bank-x".into());
        assert_eq!(
            check_disclosure(
                &disclosure(&alice, "bank-x", DisclosureBasis::Consent(to_x.clone())),
                &l
            ),
            Ok(())
        );
        // Consent to bank-x does not cover bank-y.
        assert!(matches!(
            check_disclosure(
                &disclosure(&alice, "bank-y", DisclosureBasis::Consent(to_x.clone())),
                &l
            ),
            Err(DisclosureError::OutOfScope { .. })
        ));
        // Naming a consent the person never gave.
        assert!(matches!(
            check_disclosure(
                &disclosure(
                    &alice,
                    "bank-y",
                    DisclosureBasis::Consent(Scope::ShareWith("bank-y".into()))
                ),
                &l
            ),
            Err(DisclosureError::NoConsent(
                ConsentRequired::NeedsConsent { .. }
            ))
        ));
        // Another scope is not consent to share.
        assert!(matches!(
            check_disclosure(
                &disclosure(
                    &alice,
                    "bank-x",
                    DisclosureBasis::Consent(Scope::FaceCaptureAndUpload)
                ),
                &l
            ),
            Err(DisclosureError::OutOfScope { .. })
        ));
        // After withdrawal, sharing stops.
        l.withdraw(&alice, &to_x, datetime!(2025-02-01 00:00 UTC));
        assert!(matches!(
            check_disclosure(
                &disclosure(&alice, "bank-x", DisclosureBasis::Consent(to_x)),
                &l
            ),
            Err(DisclosureError::NoConsent(_))
        ));
    }

    #[test]
    fn d4_transfer_needs_consent_or_legal_ground() {
        let (l, alice) = ledger();
        let to_acquirer = |basis| disclosure(&alice, "acquirer-co", basis);
        // No consent to the new holder: refused.
        assert!(matches!(
            check_disclosure(
                &to_acquirer(DisclosureBasis::Consent(Scope::ShareWith(
                    "acquirer-co".into()
                ))),
                &l
            ),
            Err(DisclosureError::NoConsent(_))
        ));
        // A merger is a transfer by law, and must say which law and why.
        let merger = LegalGround::Other("PIPL art. 22 (merger)".into());
        assert_eq!(
            check_disclosure(
                &to_acquirer(DisclosureBasis::Law(
                    merger.clone(),
                    "merger agreement 2025-07".into()
                )),
                &l
            ),
            Ok(())
        );
        assert_eq!(
            check_disclosure(
                &to_acquirer(DisclosureBasis::Law(merger, String::new())),
                &l
            ),
            Err(DisclosureError::MissingReason)
        );
    }

    #[test]
    fn d6_disclosure_on_legal_ground_needs_recorded_reason() {
        let (l, alice) = ledger();
        let police = |g: LegalGround, reason: &str| {
            disclosure(
                &alice,
                "public-security-bureau",
                DisclosureBasis::Law(g, reason.into()),
            )
        };
        assert_eq!(
            check_disclosure(
                &police(
                    LegalGround::CriminalInvestigationAndTrial,
                    "case 2025-001, warrant 17"
                ),
                &l
            ),
            Ok(())
        );
        assert_eq!(
            check_disclosure(&police(LegalGround::CriminalInvestigationAndTrial, " "), &l),
            Err(DisclosureError::MissingReason)
        );
        assert_eq!(
            check_disclosure(&police(LegalGround::Other(String::new()), "reason"), &l),
            Err(DisclosureError::MissingReason)
        );
        assert_eq!(
            check_disclosure(
                &police(LegalGround::Other("Art. X of law Y".into()), "reason"),
                &l
            ),
            Ok(())
        );
        let empty = Disclosure {
            data: vec![],
            ..police(LegalGround::NationalSecurity, "r")
        };
        assert_eq!(
            check_disclosure(&empty, &l),
            Err(DisclosureError::Incomplete)
        );
    }

    #[test]
    fn c5_service_security_ground_is_listed_and_recorded() {
        let (l, alice) = ledger();
        let d = disclosure(
            &alice,
            "cloud-vendor-support",
            DisclosureBasis::Law(
                LegalGround::ServiceSecurityAndOperation,
                "fault ticket 42".into(),
            ),
        );
        assert_eq!(check_disclosure(&d, &l), Ok(()));
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["basis"]["law"][0], "service_security_and_operation");
        assert_eq!(json["basis"]["law"][1], "fault ticket 42");
        assert_eq!(serde_json::from_value::<Disclosure>(json).unwrap(), d);
    }
}
