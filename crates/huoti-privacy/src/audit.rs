//! The hash-chained audit log and the staff permission matrix (S2, C4).
//!
//! S2 promises that every staff action on personal data is monitored. Every such action is an
//! [`AuditEntry`]: who ([`actor`](AuditEntry::actor), [`role`](AuditEntry::role)), why
//! ([`purpose`](AuditEntry::purpose)), what ([`action`](AuditEntry::action)), on what
//! ([`target`](AuditEntry::target)) and when.
//!
//! ## Hash chain
//!
//! Entries are numbered from 0 and each commits to the one before it:
//!
//! ```text
//! hash = SHA-256( "huoti-audit-v1\0" ‖ seq (u64 BE) ‖ at (unix ns, i128 BE)
//!                 ‖ len‖actor ‖ len‖role ‖ len‖purpose ‖ len‖action ‖ len‖target ‖ prev_hash )
//! ```
//!
//! (`len` is a 4-byte big-endian length; entry 0's `prev_hash` is 32 zero bytes.) [`verify`]
//! recomputes the chain and names the first entry that does not fit ([`Tampered`]): a changed
//! field, a deleted entry, entries out of order, a forged hash. A rewritten *tail* can be made
//! self-consistent by whoever rewrites it, so the server also keeps the latest
//! [`ChainHead`] somewhere the log's writers cannot change (e.g. published daily) and checks
//! with [`verify_anchored`].
//!
//! ## Roles and permissions (least privilege, S2)
//!
//! | permission | integrator | operator | privacy officer | ML engineer | auditor |
//! |---|:-:|:-:|:-:|:-:|:-:|
//! | `CreateSession` | ✓ | | | | |
//! | `ReadOwnSessionResults` | ✓ | | | | |
//! | `SubmitSubjectRequest` | ✓ | | ✓ | | |
//! | `ReadHealth` | | ✓ | | | |
//! | `ManageConfig` | | ✓ | | | |
//! | `HandleSubjectRequests` | | | ✓ | | |
//! | `HandleComplaints` | | | ✓ | | |
//! | `ManageIncidents` | | | ✓ | | |
//! | `PublishPolicyVersion` | | | ✓ | | |
//! | `RequestTrainingSample` | | | | ✓ | |
//! | `ApproveTrainingSample` | | | ✓ | | |
//! | `ViewTrainingSample` | | | | ✓ | |
//! | `ReadAuditLog` | | | | | ✓ |
//!
//! No role may read face images directly (C4): the only way is an approved, expiring random
//! sample ([`crate::sampling`]). No role may change the audit log; entries are only appended.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// A staff or client role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A business integrating huoti (API key).
    Integrator,
    /// Runs the service: health and configuration.
    Operator,
    /// Handles requests, complaints, incidents and policy versions.
    PrivacyOfficer,
    /// Improves models; sees faces only through an approved random sample.
    MlEngineer,
    /// Reads the audit log.
    Auditor,
}

impl Role {
    /// The role's name as stored (`privacy_officer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Integrator => "integrator",
            Role::Operator => "operator",
            Role::PrivacyOfficer => "privacy_officer",
            Role::MlEngineer => "ml_engineer",
            Role::Auditor => "auditor",
        }
    }
}

/// Something a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create liveness sessions.
    CreateSession,
    /// Read the results of one's own sessions.
    ReadOwnSessionResults,
    /// Submit a data-subject request on a person's behalf.
    SubmitSubjectRequest,
    /// Read service health and metrics.
    ReadHealth,
    /// Change service configuration.
    ManageConfig,
    /// Handle data-subject requests (R1–R8).
    HandleSubjectRequests,
    /// Handle complaints (R9).
    HandleComplaints,
    /// Manage security incidents and notices (S3).
    ManageIncidents,
    /// Publish a new policy version (A1).
    PublishPolicyVersion,
    /// Ask for a random training sample (C4).
    RequestTrainingSample,
    /// Approve someone else's training-sample request (C4).
    ApproveTrainingSample,
    /// View an approved, unexpired training sample (C4).
    ViewTrainingSample,
    /// Read the audit log.
    ReadAuditLog,
}

/// The least-privilege matrix (table in the [module docs](self)).
#[must_use]
pub fn permits(role: Role, permission: Permission) -> bool {
    use Permission as P;
    use Role as R;
    matches!(
        (role, permission),
        (
            R::Integrator,
            P::CreateSession | P::ReadOwnSessionResults | P::SubmitSubjectRequest
        ) | (R::Operator, P::ReadHealth | P::ManageConfig)
            | (
                R::PrivacyOfficer,
                P::SubmitSubjectRequest
                    | P::HandleSubjectRequests
                    | P::HandleComplaints
                    | P::ManageIncidents
                    | P::PublishPolicyVersion
                    | P::ApproveTrainingSample
            )
            | (
                R::MlEngineer,
                P::RequestTrainingSample | P::ViewTrainingSample
            )
            | (R::Auditor, P::ReadAuditLog)
    )
}

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 0.
    pub seq: u64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who (staff id or integrator id).
    pub actor: String,
    /// In which role.
    pub role: Role,
    /// Why (free text, required).
    pub purpose: String,
    /// What was done (e.g. `read_reference_image`, `export_sample`).
    pub action: String,
    /// On what (e.g. a subject id or session id).
    pub target: String,
    /// The previous entry's hash (hex), zeros for entry 0.
    pub prev_hash: String,
    /// This entry's hash (hex).
    pub hash: String,
}

fn push_field(buf: &mut Vec<u8>, field: &[u8]) {
    let len = u32::try_from(field.len()).expect("field longer than 4 GiB");
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(field);
}

impl AuditEntry {
    /// The canonical bytes the hash covers (see the [module docs](self)). A `prev_hash` that is
    /// not 64 hex digits is hashed as given, so it can never match a well-formed chain.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut b = b"huoti-audit-v1\0".to_vec();
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.at.unix_timestamp_nanos().to_be_bytes());
        b.extend_from_slice(&self.at.offset().whole_seconds().to_be_bytes());
        push_field(&mut b, self.actor.as_bytes());
        push_field(&mut b, self.role.as_str().as_bytes());
        push_field(&mut b, self.purpose.as_bytes());
        push_field(&mut b, self.action.as_bytes());
        push_field(&mut b, self.target.as_bytes());
        match hex::decode(&self.prev_hash) {
            Ok(h) if h.len() == 32 => b.extend_from_slice(&h),
            _ => push_field(&mut b, self.prev_hash.as_bytes()),
        }
        b
    }

    /// The hash this entry should carry.
    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_bytes()))
    }
}

/// The hash that entry 0 commits to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The latest position of a chain: store it where the log's writers cannot change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Sequence number of the last entry.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// The log was changed after it was written.
///
/// `first_bad_seq` is the first entry that is changed, missing or out of place. When an entry
/// was changed *and re-hashed*, the chain breaks at the next entry's link; that is
/// indistinguishable from re-linking the next entry, and the verifier names the earlier of the
/// two — the first entry that may have been altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("audit log tampered: first bad entry is seq {first_bad_seq}")]
pub struct Tampered {
    /// The first sequence number whose entry is changed, missing or out of place.
    pub first_bad_seq: u64,
}

/// A purpose-less entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// Every staff action on personal data states why (S2).
    #[error("an audit entry needs a purpose")]
    MissingPurpose,
    /// Every entry names who acted and on what.
    #[error("an audit entry needs an actor, an action and a target")]
    Incomplete,
}

/// The writer's side of the chain: remembers the head and makes the next entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditChain {
    next_seq: u64,
    prev_hash: String,
}

impl Default for AuditChain {
    fn default() -> Self {
        Self::new()
    }
}

impl AuditChain {
    /// An empty chain.
    pub fn new() -> Self {
        Self {
            next_seq: 0,
            prev_hash: GENESIS_HASH.to_string(),
        }
    }

    /// Continues a stored chain after its last entry.
    pub fn resume(last: &AuditEntry) -> Self {
        Self {
            next_seq: last.seq + 1,
            prev_hash: last.hash.clone(),
        }
    }

    /// Continues a chain whose entries up to `head` were deleted under the retention policy
    /// (L5), from the anchor kept for them.
    pub fn after(head: &ChainHead) -> Self {
        Self {
            next_seq: head.seq + 1,
            prev_hash: head.hash.clone(),
        }
    }

    /// The head to anchor, or `None` for an empty chain.
    pub fn head(&self) -> Option<ChainHead> {
        self.next_seq.checked_sub(1).map(|seq| ChainHead {
            seq,
            hash: self.prev_hash.clone(),
        })
    }

    /// Makes the next entry. The caller stores it (append-only).
    pub fn append(
        &mut self,
        at: OffsetDateTime,
        actor: &str,
        role: Role,
        purpose: &str,
        action: &str,
        target: &str,
    ) -> Result<AuditEntry, AppendError> {
        if purpose.trim().is_empty() {
            return Err(AppendError::MissingPurpose);
        }
        if actor.trim().is_empty() || action.trim().is_empty() || target.trim().is_empty() {
            return Err(AppendError::Incomplete);
        }
        let mut e = AuditEntry {
            seq: self.next_seq,
            at,
            actor: actor.into(),
            role,
            purpose: purpose.into(),
            action: action.into(),
            target: target.into(),
            prev_hash: self.prev_hash.clone(),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        self.next_seq += 1;
        self.prev_hash = e.hash.clone();
        Ok(e)
    }
}

/// Verifies a whole chain from entry 0, naming the first entry that does not fit.
pub fn verify(entries: &[AuditEntry]) -> Result<(), Tampered> {
    verify_from(0, GENESIS_HASH, entries)
}

/// Verifies a whole chain and that it ends exactly at `head` (detects a rewritten or
/// truncated tail).
pub fn verify_anchored(entries: &[AuditEntry], head: &ChainHead) -> Result<(), Tampered> {
    verify(entries)?;
    match entries.last() {
        Some(last) if last.seq == head.seq && last.hash == head.hash => Ok(()),
        Some(last) if last.seq < head.seq => Err(Tampered {
            first_bad_seq: last.seq + 1,
        }),
        Some(_) => Err(Tampered {
            first_bad_seq: head.seq,
        }),
        None => Err(Tampered { first_bad_seq: 0 }),
    }
}

/// Verifies a segment that starts at `first_seq` and continues from `prev_hash` (e.g. after
/// old entries were deleted under the retention policy and their last hash kept).
pub fn verify_from(
    first_seq: u64,
    prev_hash: &str,
    entries: &[AuditEntry],
) -> Result<(), Tampered> {
    let mut expected_prev = prev_hash;
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = first_seq + i as u64;
        if e.seq != expected_seq {
            // A deleted or reordered entry: the first position that is wrong.
            return Err(Tampered {
                first_bad_seq: expected_seq,
            });
        }
        let self_consistent = e.compute_hash() == e.hash;
        if e.prev_hash != expected_prev {
            // The link to the previous entry is broken. If this entry is intact, the previous
            // one was changed (and re-hashed to hide it); otherwise this one was.
            let bad = if self_consistent && i > 0 {
                expected_seq - 1
            } else {
                expected_seq
            };
            return Err(Tampered { first_bad_seq: bad });
        }
        if !self_consistent {
            return Err(Tampered {
                first_bad_seq: expected_seq,
            });
        }
        expected_prev = &e.hash;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-03-01 10:00 UTC);

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut c = AuditChain::new();
        (0..n)
            .map(|i| {
                c.append(
                    T0 + Duration::minutes(i as i64),
                    &format!("staff-{}", i % 3),
                    [Role::PrivacyOfficer, Role::MlEngineer, Role::Auditor][i % 3],
                    "handle request R1",
                    "read_subject_record",
                    &format!("subj-{i}"),
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn s2_audit_chain_verifies_when_untouched() {
        let entries = chain(10);
        assert_eq!(verify(&entries), Ok(()));
        assert_eq!(verify(&[]), Ok(()));
        assert_eq!(entries[0].prev_hash, GENESIS_HASH);
        assert_eq!(entries[3].prev_hash, entries[2].hash);
        // Resuming continues the same chain.
        let mut c = AuditChain::resume(&entries[9]);
        let mut more = entries.clone();
        more.push(
            c.append(
                T0,
                "staff-1",
                Role::Auditor,
                "audit",
                "read_audit_log",
                "all",
            )
            .unwrap(),
        );
        assert_eq!(verify(&more), Ok(()));
        assert_eq!(
            c.head(),
            Some(ChainHead {
                seq: 10,
                hash: more[10].hash.clone()
            })
        );
    }

    #[test]
    fn s2_audit_chain_names_first_tampered_entry() {
        let entries = chain(10);
        // Changed field.
        let mut changed = entries.clone();
        changed[4].target = "subj-other".into();
        assert_eq!(verify(&changed), Err(Tampered { first_bad_seq: 4 }));
        // Changed field and its hash recomputed (forged hash).
        let mut forged = entries.clone();
        forged[6].purpose = "curiosity".into();
        forged[6].hash = forged[6].compute_hash();
        assert_eq!(verify(&forged), Err(Tampered { first_bad_seq: 6 }));
        // A random hash.
        let mut random = entries.clone();
        random[2].hash = "ab".repeat(32);
        assert_eq!(verify(&random), Err(Tampered { first_bad_seq: 2 }));
        // Deleted entry.
        let mut deleted = entries.clone();
        deleted.remove(5);
        assert_eq!(verify(&deleted), Err(Tampered { first_bad_seq: 5 }));
        // Reordered entries.
        let mut reordered = entries.clone();
        reordered.swap(3, 7);
        assert_eq!(verify(&reordered), Err(Tampered { first_bad_seq: 3 }));
        // Deleted entry with the rest renumbered and re-linked from there on: still caught at 5.
        let mut rewritten = entries.clone();
        rewritten.remove(5);
        for (i, e) in rewritten.iter_mut().enumerate().skip(5) {
            e.seq = i as u64;
        }
        assert_eq!(verify(&rewritten), Err(Tampered { first_bad_seq: 5 }));
    }

    #[test]
    fn s2_audit_anchor_catches_rewritten_or_truncated_tail() {
        let entries = chain(6);
        let head = ChainHead {
            seq: 5,
            hash: entries[5].hash.clone(),
        };
        assert_eq!(verify_anchored(&entries, &head), Ok(()));
        let mut tail = entries.clone();
        tail[5].action = "nothing".into();
        tail[5].hash = tail[5].compute_hash();
        assert_eq!(verify(&tail), Ok(())); // self-consistent without an anchor…
        assert_eq!(
            verify_anchored(&tail, &head),
            Err(Tampered { first_bad_seq: 5 })
        ); // …caught with one.
        assert_eq!(
            verify_anchored(&entries[..4], &head),
            Err(Tampered { first_bad_seq: 4 })
        );
    }

    #[test]
    fn l5_pruned_prefix_is_replaced_by_its_anchor_and_the_chain_goes_on() {
        let entries = chain(6);
        // Entries 0..=2 deleted under retention; their last hash is the anchor.
        let anchor = ChainHead {
            seq: 2,
            hash: entries[2].hash.clone(),
        };
        assert_eq!(verify_from(3, &anchor.hash, &entries[3..]), Ok(()));
        // A kept entry changed, or one more deleted without moving the anchor: caught.
        assert_eq!(
            verify_from(3, &anchor.hash, &entries[4..]),
            Err(Tampered { first_bad_seq: 3 })
        );
        let mut changed = entries[3..].to_vec();
        changed[1].purpose = "curiosity".into();
        assert_eq!(
            verify_from(3, &anchor.hash, &changed),
            Err(Tampered { first_bad_seq: 4 })
        );
        // Writing resumes from an anchor exactly as from the entry it stands for.
        let mut from_entry = AuditChain::resume(&entries[2]);
        let mut from_anchor = AuditChain::after(&anchor);
        let a = from_entry.append(T0, "s", Role::Auditor, "p", "a", "t");
        assert_eq!(a, from_anchor.append(T0, "s", Role::Auditor, "p", "a", "t"));
        assert_eq!(a.unwrap().seq, 3);
    }

    #[test]
    fn s2_audit_entry_needs_purpose() {
        let mut c = AuditChain::new();
        assert_eq!(
            c.append(T0, "staff-1", Role::PrivacyOfficer, " ", "read", "subj-1"),
            Err(AppendError::MissingPurpose)
        );
        assert_eq!(
            c.append(T0, "", Role::PrivacyOfficer, "p", "read", "subj-1"),
            Err(AppendError::Incomplete)
        );
        assert_eq!(c.head(), None);
    }

    #[test]
    fn s2_segment_verifies_after_old_entries_expire() {
        let entries = chain(8);
        assert_eq!(verify_from(3, &entries[2].hash, &entries[3..]), Ok(()));
        assert_eq!(
            verify_from(3, GENESIS_HASH, &entries[3..]),
            Err(Tampered { first_bad_seq: 3 })
        );
    }

    #[test]
    fn s2_least_privilege_matrix() {
        use Permission as P;
        let all_perms = [
            P::CreateSession,
            P::ReadOwnSessionResults,
            P::SubmitSubjectRequest,
            P::ReadHealth,
            P::ManageConfig,
            P::HandleSubjectRequests,
            P::HandleComplaints,
            P::ManageIncidents,
            P::PublishPolicyVersion,
            P::RequestTrainingSample,
            P::ApproveTrainingSample,
            P::ViewTrainingSample,
            P::ReadAuditLog,
        ];
        let roles = [
            Role::Integrator,
            Role::Operator,
            Role::PrivacyOfficer,
            Role::MlEngineer,
            Role::Auditor,
        ];
        let granted = |r: Role| all_perms.iter().filter(|p| permits(r, **p)).count();
        assert_eq!(granted(Role::Integrator), 3);
        assert_eq!(granted(Role::Operator), 2);
        assert_eq!(granted(Role::PrivacyOfficer), 6);
        assert_eq!(granted(Role::MlEngineer), 2);
        assert_eq!(granted(Role::Auditor), 1);
        // Every permission belongs to someone, and separation of duties holds.
        for p in all_perms {
            assert!(roles.iter().any(|r| permits(*r, p)), "{p:?}");
        }
        assert!(!permits(Role::MlEngineer, P::ApproveTrainingSample));
        assert!(!permits(Role::PrivacyOfficer, P::RequestTrainingSample));
        assert!(!permits(Role::PrivacyOfficer, P::ViewTrainingSample));
        assert!(!permits(Role::Operator, P::ReadAuditLog));
        assert!(!permits(Role::Auditor, P::HandleSubjectRequests));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn s2_prop_any_single_field_change_detected_at_its_seq(
            len in 1usize..12,
            pick in any::<usize>(),
            field in 0usize..9,
            rehash in any::<bool>(),
            junk in "[a-z]{1,8}",
        ) {
            let mut entries = chain(len);
            let idx = pick % len;
            let e = &mut entries[idx];
            match field {
                0 => e.seq += 1,
                1 => e.at += Duration::nanoseconds(1),
                2 => e.actor.push_str(&junk),
                3 => e.role = if e.role == Role::Auditor { Role::Operator } else { Role::Auditor },
                4 => e.purpose.push_str(&junk),
                5 => e.action.push_str(&junk),
                6 => e.target.push_str(&junk),
                7 => e.prev_hash = hex::encode(Sha256::digest(junk.as_bytes())),
                _ => e.hash = hex::encode(Sha256::digest(junk.as_bytes())),
            }
            if rehash && field != 8 {
                e.hash = e.compute_hash();
            }
            let result = verify(&entries);
            if rehash && idx == len - 1 && field != 0 && field != 7 {
                // A re-hashed last entry is self-consistent: only the anchor catches it.
                let head = ChainHead { seq: chain(len)[idx].seq, hash: chain(len)[idx].hash.clone() };
                prop_assert_eq!(verify_anchored(&entries, &head), Err(Tampered { first_bad_seq: idx as u64 }));
            } else if rehash && field == 7 && idx > 0 {
                // A re-linked, re-hashed entry is indistinguishable from a re-hashed change of
                // the entry before it: the verifier names the earlier one.
                prop_assert_eq!(result, Err(Tampered { first_bad_seq: idx as u64 - 1 }));
            } else {
                prop_assert_eq!(result, Err(Tampered { first_bad_seq: idx as u64 }));
            }
        }
    }
}
