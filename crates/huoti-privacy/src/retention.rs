//! How long each kind of data lives, and what happens to it then (S1, S5, L2, R7).
//!
//! [`decide`] looks at one stored item ([`RetentionSubject`]) at instant `now` and returns an
//! [`Action`]: keep it (until when, and whether commercial use is allowed meanwhile), delete it,
//! or anonymise it. The server's retention job calls it for every item and carries out the
//! answer; nothing is kept "just in case".
//!
//! ## Rules, in order
//!
//! 1. **R7** — data collected or used against the law or the agreement (`unlawful`) is deleted
//!    at once, with no legal minimum.
//! 2. **Frames and reference images** (face data) live only until the verdict; if the verdict
//!    never comes they are deleted `pending_verdict_max` after capture. After the verdict they
//!    are deleted at once (**L2**) unless the person gave the separate retain-for-training
//!    consent — then they are kept at most `training_max` (default 90 days) after the verdict.
//!    Once the subject's data is deleted or the account closed, face data is deleted at once
//!    (no law requires keeping it).
//! 3. **Device info** is kept `device_info` (default 30 days) for fraud detection (P2), then
//!    deleted; at once after deletion or closure.
//! 4. **Verdicts** are kept for the legal minimum `verdict_minimum` (default 3 years,
//!    configurable) after the verdict, then **anonymised**: the subject link and device
//!    information are removed and only aggregate fields (decision, score, model and threshold
//!    versions, date) remain.
//! 5. **Identity data** is kept while the account is active; after deletion or closure it is
//!    kept only for the legal minimum `identity_minimum` (default 3 years), then deleted.
//! 6. **Audit log** entries are kept `audit_log` (default 3 years, L5) and then deleted.
//!
//! **S5** — once the subject deleted their data or closed the account, anything still kept is
//! kept only for the legal minimum and with `commercial_use: false`: it may be used to meet a
//! legal obligation, never for business.

use time::{Duration, OffsetDateTime};

/// Kinds of stored data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Captured face frames.
    Frames,
    /// The reference frame attached to a verdict.
    ReferenceImage,
    /// Phone model, OS type and version.
    DeviceInfo,
    /// The verdict record (decision, score, reasons, versions).
    Verdict,
    /// Name, ID number, phone number and other identity data.
    IdentityData,
    /// Audit log entries.
    AuditLog,
}

/// Retention durations; [`Default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Face data whose verdict never came is deleted this long after capture (default 1 hour).
    pub pending_verdict_max: Duration,
    /// With retain-for-training consent, face data is kept at most this long after the verdict
    /// (default 90 days).
    pub training_max: Duration,
    /// Device info is kept this long after capture (default 30 days).
    pub device_info: Duration,
    /// Legal minimum for verdict records, after which they are anonymised (default 3 years).
    pub verdict_minimum: Duration,
    /// Legal minimum for identity data after deletion or account closure (default 3 years).
    pub identity_minimum: Duration,
    /// How long audit entries are kept (default 3 years, PIPL art. 56 via L5).
    pub audit_log: Duration,
}

const THREE_YEARS: Duration = Duration::days(3 * 365 + 1);

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            pending_verdict_max: Duration::hours(1),
            training_max: Duration::days(90),
            device_info: Duration::days(30),
            verdict_minimum: THREE_YEARS,
            identity_minimum: THREE_YEARS,
            audit_log: THREE_YEARS,
        }
    }
}

/// One stored item, as the retention job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSubject {
    /// What it is.
    pub category: DataCategory,
    /// When it was collected or written.
    pub created_at: OffsetDateTime,
    /// When the session's verdict was given, if it was.
    pub verdict_at: Option<OffsetDateTime>,
    /// Whether the person holds a valid retain-for-training consent now (L2).
    pub has_training_consent: bool,
    /// When the person deleted their data or closed their account, if they did (S5).
    pub subject_deleted_at: Option<OffsetDateTime>,
    /// Whether it was collected or used against the law or the agreement (R7).
    pub unlawful: bool,
}

/// What to do with an item now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Keep it.
    Keep {
        /// Decide again at this instant at the latest; `None` while the account is active
        /// (identity data: decide again when the account is closed).
        until: Option<OffsetDateTime>,
        /// Whether it may be used for business; `false` during the legal minimum after
        /// deletion or closure (S5).
        commercial_use: bool,
    },
    /// Delete it now (and its blob; for face data, shred the key if nothing else needs it).
    Delete,
    /// Remove the subject link and device information; keep only aggregates.
    Anonymise,
}

fn keep_until(
    until: OffsetDateTime,
    now: OffsetDateTime,
    then: Action,
    commercial_use: bool,
) -> Action {
    if now < until {
        Action::Keep {
            until: Some(until),
            commercial_use,
        }
    } else {
        then
    }
}

impl RetentionPolicy {
    /// Decides what to do with `item` at `now` (rules in the [module docs](self)).
    #[must_use]
    pub fn decide(&self, item: &RetentionSubject, now: OffsetDateTime) -> Action {
        if item.unlawful {
            return Action::Delete; // R7: no legal minimum.
        }
        let deleted = item.subject_deleted_at.filter(|d| *d <= now);
        let commercial = deleted.is_none();
        match item.category {
            DataCategory::Frames | DataCategory::ReferenceImage => {
                if deleted.is_some() {
                    return Action::Delete;
                }
                match item.verdict_at.filter(|v| *v <= now) {
                    None => keep_until(
                        item.created_at + self.pending_verdict_max,
                        now,
                        Action::Delete,
                        commercial,
                    ),
                    Some(v) if item.has_training_consent => {
                        keep_until(v + self.training_max, now, Action::Delete, commercial)
                    }
                    Some(_) => Action::Delete, // L2
                }
            }
            DataCategory::DeviceInfo => {
                if deleted.is_some() {
                    return Action::Delete;
                }
                keep_until(
                    item.created_at + self.device_info,
                    now,
                    Action::Delete,
                    commercial,
                )
            }
            DataCategory::Verdict => {
                let from = item.verdict_at.unwrap_or(item.created_at);
                keep_until(
                    from + self.verdict_minimum,
                    now,
                    Action::Anonymise,
                    commercial,
                )
            }
            DataCategory::IdentityData => match deleted {
                None => Action::Keep {
                    until: None,
                    commercial_use: true,
                },
                Some(d) => keep_until(d + self.identity_minimum, now, Action::Delete, false),
            },
            DataCategory::AuditLog => {
                keep_until(item.created_at + self.audit_log, now, Action::Delete, false)
            }
        }
    }
}

impl RetentionPolicy {
    /// The least an audit log may be kept: 3 years (L5, PIPL art. 56). A configuration asking
    /// for less is refused.
    pub const AUDIT_LOG_MINIMUM: Duration = THREE_YEARS;

    /// The audit entries that may be deleted now, as the last sequence number to delete.
    ///
    /// `oldest_first` is the log's `(seq, written at)` in sequence order. Only a *prefix* can
    /// go — the kept remainder must still verify from the last deleted entry's hash (the
    /// anchor) — so the prefix stops at the first entry not yet due, even if later ones are
    /// (clocks of several nodes may disagree a little). The newest entry is always kept: the
    /// chain continues from it. `None`: nothing to delete.
    pub fn audit_log_prune_through(
        &self,
        oldest_first: &[(u64, OffsetDateTime)],
        now: OffsetDateTime,
    ) -> Option<u64> {
        let (_, all_but_newest) = oldest_first.split_last()?;
        let due = |at: OffsetDateTime| {
            let item = RetentionSubject {
                category: DataCategory::AuditLog,
                created_at: at,
                verdict_at: None,
                has_training_consent: false,
                subject_deleted_at: None,
                unlawful: false,
            };
            self.decide(&item, now) == Action::Delete
        };
        all_but_newest
            .iter()
            .take_while(|(_, at)| due(*at))
            .last()
            .map(|(seq, _)| *seq)
    }
}

/// [`RetentionPolicy::decide`] under the default policy.
#[must_use]
pub fn decide(item: &RetentionSubject, now: OffsetDateTime) -> Action {
    RetentionPolicy::default().decide(item, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const CAPTURED: OffsetDateTime = datetime!(2025-03-01 10:00 UTC);
    const VERDICT: OffsetDateTime = datetime!(2025-03-01 10:00:05 UTC);

    fn item(category: DataCategory) -> RetentionSubject {
        RetentionSubject {
            category,
            created_at: CAPTURED,
            verdict_at: Some(VERDICT),
            has_training_consent: false,
            subject_deleted_at: None,
            unlawful: false,
        }
    }

    #[test]
    fn l2_frames_deleted_after_verdict_without_training_consent() {
        for c in [DataCategory::Frames, DataCategory::ReferenceImage] {
            let i = item(c);
            assert_eq!(decide(&i, VERDICT), Action::Delete);
            // Before the verdict they are needed, but not for long.
            let pending = RetentionSubject {
                verdict_at: None,
                ..i.clone()
            };
            assert_eq!(
                decide(&pending, CAPTURED + Duration::seconds(3)),
                Action::Keep {
                    until: Some(CAPTURED + Duration::hours(1)),
                    commercial_use: true
                }
            );
            assert_eq!(
                decide(&pending, CAPTURED + Duration::hours(1)),
                Action::Delete
            );
        }
    }

    #[test]
    fn l2_frames_with_training_consent_kept_at_most_90_days() {
        let i = RetentionSubject {
            has_training_consent: true,
            ..item(DataCategory::Frames)
        };
        let until = VERDICT + Duration::days(90);
        assert_eq!(
            decide(&i, VERDICT + Duration::days(1)),
            Action::Keep {
                until: Some(until),
                commercial_use: true
            }
        );
        assert_eq!(decide(&i, until), Action::Delete);
        // Consent withdrawn later: the next run deletes.
        let withdrawn = RetentionSubject {
            has_training_consent: false,
            ..i
        };
        assert_eq!(
            decide(&withdrawn, VERDICT + Duration::days(1)),
            Action::Delete
        );
    }

    #[test]
    fn s1_verdict_kept_for_legal_minimum_then_anonymised() {
        let i = item(DataCategory::Verdict);
        let until = VERDICT + Duration::days(1096);
        assert_eq!(
            decide(&i, VERDICT + Duration::days(365)),
            Action::Keep {
                until: Some(until),
                commercial_use: true
            }
        );
        assert_eq!(decide(&i, until), Action::Anonymise);
        // The minimum is configurable.
        let p = RetentionPolicy {
            verdict_minimum: Duration::days(5 * 365),
            ..Default::default()
        };
        assert!(matches!(p.decide(&i, until), Action::Keep { .. }));
    }

    #[test]
    fn s1_device_info_kept_only_for_fraud_window() {
        let i = item(DataCategory::DeviceInfo);
        assert!(matches!(
            decide(&i, CAPTURED + Duration::days(29)),
            Action::Keep { .. }
        ));
        assert_eq!(decide(&i, CAPTURED + Duration::days(30)), Action::Delete);
    }

    #[test]
    fn r7_unlawful_data_deleted_without_minimum() {
        for c in [
            DataCategory::Frames,
            DataCategory::ReferenceImage,
            DataCategory::DeviceInfo,
            DataCategory::Verdict,
            DataCategory::IdentityData,
            DataCategory::AuditLog,
        ] {
            let i = RetentionSubject {
                unlawful: true,
                has_training_consent: true,
                ..item(c)
            };
            assert_eq!(decide(&i, CAPTURED), Action::Delete, "{c:?}");
        }
    }

    #[test]
    fn s5_after_deletion_no_commercial_use_only_legal_minimum() {
        let deleted_at = datetime!(2025-06-01 00:00 UTC);
        let now = deleted_at + Duration::days(1);
        // Face data and device info go at once, training consent or not.
        for c in [
            DataCategory::Frames,
            DataCategory::ReferenceImage,
            DataCategory::DeviceInfo,
        ] {
            let i = RetentionSubject {
                subject_deleted_at: Some(deleted_at),
                has_training_consent: true,
                ..item(c)
            };
            assert_eq!(decide(&i, now), Action::Delete, "{c:?}");
        }
        // The verdict stays for its legal minimum, without commercial use, then is anonymised.
        let v = RetentionSubject {
            subject_deleted_at: Some(deleted_at),
            ..item(DataCategory::Verdict)
        };
        assert_eq!(
            decide(&v, now),
            Action::Keep {
                until: Some(VERDICT + Duration::days(1096)),
                commercial_use: false
            }
        );
        assert_eq!(
            decide(&v, VERDICT + Duration::days(1096)),
            Action::Anonymise
        );
        // Identity data: active account → kept; after closure → legal minimum, no commercial use.
        let id = item(DataCategory::IdentityData);
        assert_eq!(
            decide(&id, now),
            Action::Keep {
                until: None,
                commercial_use: true
            }
        );
        let closed = RetentionSubject {
            subject_deleted_at: Some(deleted_at),
            ..id
        };
        assert_eq!(
            decide(&closed, now),
            Action::Keep {
                until: Some(deleted_at + Duration::days(1096)),
                commercial_use: false
            }
        );
        assert_eq!(
            decide(&closed, deleted_at + Duration::days(1096)),
            Action::Delete
        );
    }

    #[test]
    fn l5_audit_log_kept_at_least_three_years() {
        let i = item(DataCategory::AuditLog);
        assert!(matches!(
            decide(&i, CAPTURED + Duration::days(3 * 365)),
            Action::Keep { .. }
        ));
        assert_eq!(decide(&i, CAPTURED + Duration::days(1096)), Action::Delete);
    }

    #[test]
    fn l5_audit_log_is_pruned_only_as_a_due_prefix_and_keeps_its_newest_entry() {
        let p = RetentionPolicy::default();
        let day = |d: i64| CAPTURED + Duration::days(d);
        let log = [
            (7, day(0)),
            (8, day(1)),
            (9, day(5)),
            (10, day(2)),
            (11, day(400)),
        ];
        // Three years after day 1: entries 7 and 8 are due; 9 is not yet, so 10 waits too.
        assert_eq!(p.audit_log_prune_through(&log, day(1097)), Some(8));
        assert_eq!(
            p.audit_log_prune_through(&log, day(1095)),
            None,
            "nothing before 3 years"
        );
        assert_eq!(p.audit_log_prune_through(&log, day(1101)), Some(10));
        // Everything due: all but the newest, which the chain continues from.
        assert_eq!(p.audit_log_prune_through(&log, day(5000)), Some(10));
        assert_eq!(p.audit_log_prune_through(&log[..1], day(5000)), None);
        assert_eq!(p.audit_log_prune_through(&[], day(5000)), None);
        assert_eq!(RetentionPolicy::AUDIT_LOG_MINIMUM, Duration::days(1096));
    }
}
