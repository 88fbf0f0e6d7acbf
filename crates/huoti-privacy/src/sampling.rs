//! Random training samples: the only way a human sees stored faces (C4).
//!
//! C4: face data is never viewed by a human, except that a **random sample** may be restored
//! into images for technicians (e.g. to test a new model). The flow is:
//!
//! 1. An ML engineer asks for a sample: a size and a purpose ([`SampleRequest::new`]). The
//!    request has **no field for a subject**: nobody can ask for a particular person's face.
//! 2. A **different person** with the privacy-officer role approves it, with an expiry
//!    ([`SampleRequest::approve`]); approving one's own request is an error.
//! 3. The server passes every eligible item (faces kept under retain-for-training consent) and
//!    a cryptographic RNG to [`ApprovedSample::pick_random`], which picks uniformly at random.
//!    The export is readable until [`ApprovedSample::expires_at`] and then refused.
//!
//! Each step is an audit entry on the server (see [`crate::audit`]).

use rand_core::{CryptoRng, RngCore};
use time::{Duration, OffsetDateTime};

use crate::audit::{Permission, Role, permits};

/// Longest an approved sample may stay readable.
pub const MAX_EXPORT_TTL: Duration = Duration::days(7);
/// Largest sample one request may ask for.
pub const MAX_SAMPLE_SIZE: usize = 1000;

/// A member of staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// Staff id.
    pub id: String,
    /// Role.
    pub role: Role,
}

/// Why a sampling step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    /// The role lacks the permission (S2).
    #[error("role {role:?} lacks permission {permission:?}")]
    NotPermitted {
        /// The role.
        role: Role,
        /// The permission needed.
        permission: Permission,
    },
    /// The requester cannot approve their own request (C4: a second person decides).
    #[error("a sample request must be approved by someone other than the requester")]
    SelfApproval,
    /// A request states its purpose.
    #[error("a sample request needs a purpose")]
    MissingPurpose,
    /// Size must be between 1 and [`MAX_SAMPLE_SIZE`].
    #[error("sample size {0} is not between 1 and {MAX_SAMPLE_SIZE}")]
    BadSize(usize),
    /// Expiry must be after approval and at most [`MAX_EXPORT_TTL`] later.
    #[error("an export must expire within {MAX_EXPORT_TTL}")]
    BadExpiry,
    /// The export has expired.
    #[error("the sample export expired")]
    Expired,
}

/// An ML engineer's request for `n` random items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRequest {
    requester: String,
    n: usize,
    purpose: String,
    requested_at: OffsetDateTime,
}

impl SampleRequest {
    /// Asks for a random sample of `n` items for `purpose`. Only an ML engineer may ask.
    pub fn new(
        requester: &Staff,
        n: usize,
        purpose: &str,
        at: OffsetDateTime,
    ) -> Result<Self, SamplingError> {
        if !permits(requester.role, Permission::RequestTrainingSample) {
            return Err(SamplingError::NotPermitted {
                role: requester.role,
                permission: Permission::RequestTrainingSample,
            });
        }
        if purpose.trim().is_empty() {
            return Err(SamplingError::MissingPurpose);
        }
        if n == 0 || n > MAX_SAMPLE_SIZE {
            return Err(SamplingError::BadSize(n));
        }
        Ok(Self {
            requester: requester.id.clone(),
            n,
            purpose: purpose.into(),
            requested_at: at,
        })
    }

    /// Who asked.
    pub fn requester(&self) -> &str {
        &self.requester
    }

    /// How many items.
    pub fn size(&self) -> usize {
        self.n
    }

    /// Why.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// When it was asked.
    pub fn requested_at(&self) -> OffsetDateTime {
        self.requested_at
    }

    /// Approval by a privacy officer who is not the requester; the export expires `ttl` after
    /// approval (at most [`MAX_EXPORT_TTL`]).
    pub fn approve(
        self,
        approver: &Staff,
        at: OffsetDateTime,
        ttl: Duration,
    ) -> Result<ApprovedSample, SamplingError> {
        if approver.id == self.requester {
            return Err(SamplingError::SelfApproval);
        }
        if !permits(approver.role, Permission::ApproveTrainingSample) {
            return Err(SamplingError::NotPermitted {
                role: approver.role,
                permission: Permission::ApproveTrainingSample,
            });
        }
        if ttl <= Duration::ZERO || ttl > MAX_EXPORT_TTL {
            return Err(SamplingError::BadExpiry);
        }
        Ok(ApprovedSample {
            request: self,
            approver: approver.id.clone(),
            approved_at: at,
            expires_at: at + ttl,
        })
    }
}

/// An approved request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedSample {
    request: SampleRequest,
    approver: String,
    approved_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl ApprovedSample {
    /// The request.
    pub fn request(&self) -> &SampleRequest {
        &self.request
    }

    /// Who approved it.
    pub fn approver(&self) -> &str {
        &self.approver
    }

    /// When it was approved.
    pub fn approved_at(&self) -> OffsetDateTime {
        self.approved_at
    }

    /// When the export stops being readable.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// Whether the export has expired at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    /// Picks `min(n, candidates.len())` distinct candidates uniformly at random. `candidates`
    /// is every eligible item, as the server lists them; the requester has no say in it.
    pub fn pick_random<'a, T>(
        &self,
        candidates: &'a [T],
        now: OffsetDateTime,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<&'a T>, SamplingError> {
        if self.is_expired(now) {
            return Err(SamplingError::Expired);
        }
        let k = self.request.n.min(candidates.len());
        let mut idx: Vec<usize> = (0..candidates.len()).collect();
        // Partial Fisher–Yates: the first k positions are a uniform random k-subset, in
        // uniform random order.
        for i in 0..k {
            let j = i + uniform_below(rng, (candidates.len() - i) as u64) as usize;
            idx.swap(i, j);
        }
        Ok(idx[..k].iter().map(|&i| &candidates[i]).collect())
    }
}

/// A uniform integer in `0..bound` (bound > 0), without modulo bias (rejection sampling).
fn uniform_below(rng: &mut impl RngCore, bound: u64) -> u64 {
    debug_assert!(bound > 0);
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let x = rng.next_u64();
        if x < zone {
            return x % bound;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-03-01 10:00 UTC);

    fn staff(id: &str, role: Role) -> Staff {
        Staff {
            id: id.into(),
            role,
        }
    }

    fn approved(n: usize) -> ApprovedSample {
        SampleRequest::new(&staff("eve", Role::MlEngineer), n, "test model v7", T0)
            .unwrap()
            .approve(&staff("olga", Role::PrivacyOfficer), T0, Duration::days(2))
            .unwrap()
    }

    #[test]
    fn c4_sample_needs_second_person_approval() {
        let req =
            SampleRequest::new(&staff("eve", Role::MlEngineer), 10, "test model v7", T0).unwrap();
        // Same person, even holding the privacy-officer role as well.
        assert_eq!(
            req.clone()
                .approve(&staff("eve", Role::PrivacyOfficer), T0, Duration::days(1)),
            Err(SamplingError::SelfApproval)
        );
        // A different person without the privacy-officer role.
        assert_eq!(
            req.clone()
                .approve(&staff("mallory", Role::MlEngineer), T0, Duration::days(1)),
            Err(SamplingError::NotPermitted {
                role: Role::MlEngineer,
                permission: Permission::ApproveTrainingSample
            })
        );
        let ok = req
            .approve(&staff("olga", Role::PrivacyOfficer), T0, Duration::days(1))
            .unwrap();
        assert_eq!(ok.approver(), "olga");
        assert_eq!(ok.request().requester(), "eve");
    }

    #[test]
    fn c4_only_ml_engineer_requests_with_purpose_and_size() {
        assert!(matches!(
            SampleRequest::new(&staff("olga", Role::PrivacyOfficer), 10, "p", T0),
            Err(SamplingError::NotPermitted { .. })
        ));
        assert_eq!(
            SampleRequest::new(&staff("eve", Role::MlEngineer), 10, " ", T0),
            Err(SamplingError::MissingPurpose)
        );
        assert_eq!(
            SampleRequest::new(&staff("eve", Role::MlEngineer), 0, "p", T0),
            Err(SamplingError::BadSize(0))
        );
        assert_eq!(
            SampleRequest::new(
                &staff("eve", Role::MlEngineer),
                MAX_SAMPLE_SIZE + 1,
                "p",
                T0
            ),
            Err(SamplingError::BadSize(MAX_SAMPLE_SIZE + 1))
        );
    }

    #[test]
    fn c4_sample_export_expires() {
        let req = SampleRequest::new(&staff("eve", Role::MlEngineer), 2, "p", T0).unwrap();
        assert_eq!(
            req.clone()
                .approve(&staff("olga", Role::PrivacyOfficer), T0, Duration::days(8)),
            Err(SamplingError::BadExpiry)
        );
        assert_eq!(
            req.approve(&staff("olga", Role::PrivacyOfficer), T0, Duration::ZERO),
            Err(SamplingError::BadExpiry)
        );
        let s = approved(2);
        assert_eq!(s.expires_at(), T0 + Duration::days(2));
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        assert!(
            s.pick_random(&[1, 2, 3], T0 + Duration::days(1), &mut rng)
                .is_ok()
        );
        assert_eq!(
            s.pick_random(&[1, 2, 3], T0 + Duration::days(2), &mut rng),
            Err(SamplingError::Expired)
        );
    }

    #[test]
    fn c4_sample_is_distinct_and_bounded() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let items: Vec<u32> = (0..100).collect();
        let picked = approved(10).pick_random(&items, T0, &mut rng).unwrap();
        assert_eq!(picked.len(), 10);
        let mut sorted: Vec<u32> = picked.iter().map(|x| **x).collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        // Fewer candidates than asked: all of them, once.
        assert_eq!(
            approved(10)
                .pick_random(&items[..3], T0, &mut rng)
                .unwrap()
                .len(),
            3
        );
        assert!(
            approved(10)
                .pick_random::<u32>(&[], T0, &mut rng)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn c4_sample_is_uniformly_random() {
        // 3 of 10, 30 000 times: each item should appear ≈ 9 000 times.
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let items: Vec<usize> = (0..10).collect();
        let s = approved(3);
        let mut counts = [0u32; 10];
        let mut first = [0u32; 10];
        for _ in 0..30_000 {
            let picked = s.pick_random(&items, T0, &mut rng).unwrap();
            first[*picked[0]] += 1;
            for p in picked {
                counts[*p] += 1;
            }
        }
        for c in counts {
            assert!((8_600..=9_400).contains(&c), "{counts:?}");
        }
        for c in first {
            assert!((2_700..=3_300).contains(&c), "{first:?}");
        }
        // Different RNG draws give different samples (no fixed choice).
        let a = s.pick_random(&items, T0, &mut rng).unwrap();
        let b: Vec<_> = (0..20)
            .map(|_| s.pick_random(&items, T0, &mut rng).unwrap())
            .collect();
        assert!(b.iter().any(|x| *x != a));
    }

    #[test]
    fn uniform_below_has_no_modulo_bias_at_extremes() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        assert_eq!(uniform_below(&mut rng, 1), 0);
        let big = u64::MAX / 3 * 2;
        let below_half = (0..2000)
            .filter(|_| uniform_below(&mut rng, big) < big / 2)
            .count();
        assert!((900..=1100).contains(&below_half), "{below_half}");
    }
}
