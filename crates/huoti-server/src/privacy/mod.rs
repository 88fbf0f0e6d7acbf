//! The privacy side of the server: it wires `huoti-privacy`'s rules to HTTP and the store, and
//! decides nothing itself. One feature per concept, each with its routes, their OpenAPI
//! document and their access rules:
//!
//! * [`audit`]: the hash-chained audit log of staff access (S2, C4) and its retention (L5).
//! * [`policy`]: the policy versions (seeded from `config/policy/` on first start),
//!   `GET /v1/policy` (A1, A3), publishing a version (L5).
//! * [`consent`]: subjects, consent per session, the frame-upload gate (L1, A1, P2), and
//!   withdrawal with its effects (R4, L2).
//! * [`training`]: face images kept for training, only with consent (L2) — no routes.
//! * [`rights`]: the person's rights (R1–R9): link tokens, `/v1/me/…`, staff handling.
//! * [`sampling`]: training samples seen by people only through two-person approval (C4).

pub mod audit;
pub mod consent;
pub mod policy;
pub mod rights;
pub mod sampling;
pub mod training;
