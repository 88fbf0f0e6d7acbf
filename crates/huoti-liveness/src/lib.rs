//! # huoti-liveness: is a real person in front of the camera, following a fresh challenge?
//!
//! This crate holds the *decision logic* of huoti's liveness check (policy C3: the backend's
//! AI judges whether the face is a real, live person operating in person). It has two jobs:
//!
//! 1. **Plan** a challenge: [`ChallengePlan::random`] draws a fresh timeline of a neutral phase,
//!    a random colour sequence (the light step, in the standard or the
//!    [photosensitivity-safe](light) profile: never left out) and two or three random
//!    head/face actions, bound to the session's nonce. The SDK plays it to the person.
//! 2. **Judge** the session: [`analyse`] takes the plan and per-frame measurements
//!    ([`FrameObservation`], produced by the vision engine) and returns a [`Verdict`]: a
//!    decision (live / spoof / uncertain), a 0–100 score, the [reasons](ReasonCode) with a fixed
//!    English sentence each (policy L4: explainable), the score of each check, the kinds of
//!    evidence it rests on ([`Assurance`]: light, motion, passive) and the reference frame.
//!
//! The checks, one module each:
//!
//! | check | catches | reasons |
//! |---|---|---|
//! | challenge | replayed or pre-recorded video, photos, puppets that cannot follow a fresh random timeline | `challenge_order`, `challenge_missing`, `challenge_unexpected` |
//! | reaction timing | recordings whose actions happen in their windows but not as a reaction to the prompts: a start before the prompt or implausibly late ([`reactions`]) | `reaction_timing` |
//! | flash | video replay and injection: the face's colour must follow random screen colours (and only the face's: glare on a screen held up shows on the whole picture) | `flash_mismatch`, `flash_uniform`, `light_required`, `flash_reduced` |
//! | integrity | injection and replay: sequence, timing, nonce, static presentation, frames seen before, frames uploaded in a burst after the capture | `sequence_invalid`, `timing_implausible`, `nonce_mismatch`, `too_few_frames`, `static_presentation`, `replayed_frames`, `arrival_burst` |
//! | face | a second face, a face swapped mid-session | `no_face`, `multiple_faces`, `face_changed` |
//! | passive | printed photos, screens, masks (anti-spoof models' scores, a low quantile over frames spread across the session) | `passive_spoof`, `passive_unavailable` |
//! | medium | screens: a bright rectangular border around the face, a player's control bar (a cheap cue the engine measures on the same frames) | `screen_medium` |
//!
//! [`ReasonCode`] documents every code and the decision it forces. [`Thresholds`] holds every
//! tunable, with its default. The [`manual`] explains how each check works and why.
//!
//! ## What it deliberately does not do
//!
//! - **No pixels, no models.** Face detection, landmarks, pose, eye/mouth openness, colours,
//!   frame hashes and passive scores are measured by the vision engine; this crate sees only
//!   the numbers. Use [`select_passive_frames`] to decide which frames to run the expensive
//!   anti-spoof models on.
//! - **No clock, no RNG, no I/O, no threads.** Time is a parameter (milliseconds), randomness
//!   is a `&mut impl RngCore`, and the replay store [`SeenFrames`] is a plain value the caller
//!   keeps. Every result is a pure function of its inputs, so every test is deterministic.
//! - **No identity.** It decides whether *a* live person is present, not *who* they are; the
//!   shape signature is only compared within one session.
//! - **No storage of face data.** Frame hashes in [`SeenFrames`] are kept only until the
//!   caller expires them (policy S1).
//!
//! ## Example
//!
//! ```
//! use huoti_liveness::*;
//! use rand_core::SeedableRng;
//!
//! // Production: a random plan from an RNG the server provides (a CSPRNG; seeded here).
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let plan = ChallengePlan::random(&ChallengeConfig::default(), "c0ffee", &mut rng)?;
//! assert!((2..=3).contains(&plan.actions.len()));
//!
//! // Here, a fixed (test-mode) plan without light steps: open the mouth between 1 s and 4 s.
//! // Only a fixed plan may leave the light step out and still be judged live.
//! let step = ActionStep { action: Action::OpenMouth, start_ms: 1000, end_ms: 4000 };
//! let plan = ChallengePlan::fixed("c0ffee", vec![step], vec![])?;
//!
//! // What the vision engine measured, at 15 fps: the mouth opens from 1.5 s to 2.5 s.
//! let frames: Vec<FrameObservation> = (0..75u32)
//!     .map(|i| {
//!         let t_ms = i as u64 * 66;
//!         let mouth = if (1500..2500).contains(&t_ms) { 0.45 } else { 0.03 };
//!         FrameObservation {
//!             seq: i,
//!             t_ms,
//!             nonce: "c0ffee".into(),
//!             faces: 1,
//!             quality: 0.8,
//!             frame_hash: 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1),
//!             face: Some(FaceObservation {
//!                 bbox: [0.3, 0.2, 0.4, 0.5],
//!                 eye_openness: [0.3, 0.3],
//!                 mouth_openness: mouth,
//!                 face_rgb: [180.0, 130.0, 110.0],
//!                 background_rgb: [90.0, 100.0, 110.0],
//!                 landmark_motion: if i == 0 { 0.0 } else { 0.01 },
//!                 passive_real: (i % 15 == 0).then_some(0.93),
//!                 ..Default::default()
//!             }),
//!         }
//!     })
//!     .collect();
//!
//! // Analyse before recording this session's hashes, then record them.
//! let mut seen = SeenFrames::new();
//! let verdict = analyse(&plan, &frames, &AnalysisContext::new(&seen));
//! assert_eq!(verdict.decision, Decision::Live);
//! assert!(verdict.has(ReasonCode::FlashReduced)); // a note: no light step in this plan
//! assert_eq!(verdict.assurance, [Assurance::Motion, Assurance::Passive]);
//! assert!(verdict.score >= 70);
//! seen.insert_session("session-1", frames.iter().map(|f| &f.frame_hash), 1_000_000);
//!
//! // The same frames sent again for another session are a replay.
//! let again = analyse(&plan, &frames, &AnalysisContext::new(&seen));
//! assert_eq!(again.decision, Decision::Spoof);
//! assert!(again.has(ReasonCode::ReplayedFrames));
//! # Ok::<(), huoti_liveness::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod actions;
mod capture;
mod error;
mod face;
mod flash;
mod fusion;
mod integrity;
mod iris_gate;
pub mod light;
pub mod manual;
mod medium;
mod observation;
mod onset;
mod passive;
mod plan;
mod progress;
mod resting;
mod seen;
mod thresholds;
mod timeline;
mod verdict;

#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod actions_tests;

pub use actions::Measure;
pub use error::Error;
pub use flash::glare_wanted;
pub use fusion::{AnalysisContext, analyse};
pub use iris_gate::IrisGate;
pub use light::LightProfile;
pub use observation::{FaceObservation, FrameObservation};
pub use onset::{Reaction, Timing, reactions};
pub use capture::{CaptureConfig, CaptureProfile, CaptureSpan};
pub use passive::{PassivePicker, select_passive_frames};
pub use plan::{Action, ActionStep, ChallengeConfig, ChallengePlan, FlashConfig, FlashStep};
pub use progress::{ActionHint, HintState, StepEvidence, action_hint, iris_wanted, step_evidence};
pub use seen::SeenFrames;
pub use thresholds::Thresholds;
pub use verdict::{Assurance, Check, CheckScore, Decision, Reason, ReasonCode, Verdict};
