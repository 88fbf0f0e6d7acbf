//! The node's memory budget for frames (issue 19, defect 10): a frame upload holds its body
//! and then its decoded pixels (up to 4 MP × 3 bytes) while it waits for an analysis slot, and
//! nothing else bounds how many do so at once across sessions. Each upload therefore reserves
//! what it will hold — its body before reading it, its pixels before decoding them — from one
//! budget per node (`limits.memory_budget_mib`), without waiting: when the budget is spent the
//! upload is refused at once with `503 server_busy` and `Retry-After`, and nothing is stored.
//! A reservation is released when the upload's answer is sent. (Leaf module: it names no
//! feature.)
//!
//! Frames held back for reordering (at most a small window per session, as JPEG bytes) are
//! counted apart, against a quarter of the budget ([`MemoryBudget::reorder_cap_bytes`]): past
//! it a session's run gives up reordering and `complete` re-measures its stored frames, which
//! costs time, never memory.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Budget granularity: permits are KiB.
const UNIT: u64 = 1024;

/// A node-wide budget of bytes held by frame uploads.
#[derive(Debug)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_units: u32,
}

/// Bytes reserved from a [`MemoryBudget`]; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    permit: OwnedSemaphorePermit,
}

impl Reservation {
    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        u64::from(self.permit.num_permits() as u32) * UNIT
    }
}

/// Whole units for `bytes` (rounded up; at least one).
fn units(bytes: u64) -> Option<u32> {
    u32::try_from(bytes.div_ceil(UNIT).max(1)).ok()
}

impl MemoryBudget {
    /// A budget of `bytes` (rounded down to whole KiB; at least 1 KiB).
    pub fn new(bytes: u64) -> MemoryBudget {
        let total_units = u32::try_from((bytes / UNIT).max(1)).unwrap_or(u32::MAX);
        MemoryBudget { permits: Arc::new(Semaphore::new(total_units as usize)), total_units }
    }

    /// Reserves `bytes`, or `None` when the budget has not that much left (never waits).
    pub fn try_reserve(&self, bytes: u64) -> Option<Reservation> {
        let n = units(bytes)?;
        self.permits.clone().try_acquire_many_owned(n).ok().map(|permit| Reservation { permit })
    }

    /// Adds `bytes` to a reservation; `false` (and the reservation unchanged) when the budget
    /// has not that much left.
    pub fn try_grow(&self, held: &mut Reservation, bytes: u64) -> bool {
        match self.try_reserve(bytes) {
            Some(more) => {
                held.permit.merge(more.permit);
                true
            }
            None => false,
        }
    }

    /// The whole budget, in bytes.
    pub fn total_bytes(&self) -> u64 {
        u64::from(self.total_units) * UNIT
    }

    /// Bytes reserved now.
    pub fn in_use_bytes(&self) -> u64 {
        (u64::from(self.total_units) - self.permits.available_permits() as u64) * UNIT
    }

    /// How many bytes of frames held for reordering the node keeps, across sessions.
    pub fn reorder_cap_bytes(&self) -> u64 {
        self.total_bytes() / 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_given_back_on_drop() {
        let budget = MemoryBudget::new(1 << 20);
        assert_eq!(budget.total_bytes(), 1 << 20);
        let mut a = budget.try_reserve(600 * 1024).unwrap();
        assert!(budget.try_reserve(500 * 1024).is_none(), "over the budget: refused at once, not queued");
        assert!(budget.try_grow(&mut a, 424 * 1024));
        assert_eq!(a.bytes(), 1 << 20);
        assert_eq!(budget.in_use_bytes(), 1 << 20);
        assert!(!budget.try_grow(&mut a, 1));
        assert!(budget.try_reserve(u64::MAX).is_none(), "a huge request is refused, not wrapped");
        drop(a);
        assert_eq!(budget.in_use_bytes(), 0);
        assert!(budget.try_reserve(1 << 20).is_some());
    }
}
