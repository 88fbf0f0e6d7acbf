//! The privacy side of the server: it wires `huoti-privacy`'s rules to HTTP and SQL, and
//! decides nothing itself.
//!
//! * [`policy`]: the policy versions (seeded from `config/policy/` on first start) and
//!   `GET /v1/policy` (A1, A3).
//! * [`consent`]: recording consent per session, the frame-upload gate (no capture without a
//!   current consent, no device info without its own scope: L1, A1, P2), subjects, and
//!   withdrawal with its effects (R4, L2).
//! * [`db`]: the queries of these tables.

pub mod audit;
pub mod auth;
pub mod consent;
pub mod db;
pub mod policy;
pub mod rights;
pub mod sampling;
pub mod training;

use time::OffsetDateTime;

/// A Unix-ms time as an instant (the rules of `huoti-privacy` take `OffsetDateTime`).
pub(crate) fn instant(ms: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// [`instant`] for tests outside the crate.
#[doc(hidden)]
pub fn instant_for_tests(ms: u64) -> OffsetDateTime {
    instant(ms)
}
