//! Reaction timing: when each action started against its prompt. How it works, for readers
//! and users: [`crate::manual::challenge`] (`src/manual/challenge.md`, "Reaction timing").
//!
//! A person starts an action a fraction of a second after its prompt appears; a recording
//! starts it whenever the recording does. The challenge check credits an action anywhere in its
//! window widened by `window_grace_ms`; this module asks *when* the movement began, and judges
//! one that began before the prompt (beyond `reaction_early_tolerance_ms`) or more than
//! `reaction_late_ms` after it.

use serde::{Deserialize, Serialize};

use crate::actions::{detect, gauge};
use crate::resting::resting;
use crate::timeline::{FaceFrame, face_frames};
use crate::{Action, ChallengePlan, FrameObservation, ReasonCode, Thresholds};

/// How an action's start relates to its prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Started after the prompt (within the tolerance) and not implausibly late.
    InTime,
    /// Started before its prompt appeared, beyond the tolerance.
    Early,
    /// Started more than `reaction_late_ms` after its prompt.
    Late,
    /// Not performed in its window (the challenge check says why): no start to judge.
    NotPerformed,
}

/// When one step's action started, against its prompt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reaction {
    /// The action asked.
    pub action: Action,
    /// When its prompt appeared: the start of the step's window, ms.
    pub prompt_ms: u64,
    /// When the movement started: the first frame of the unbroken run of frames, leading to the
    /// action, whose departure from rest reaches `reaction_start_fraction` of the needed one.
    pub onset_ms: Option<u64>,
    /// `onset_ms − prompt_ms` (negative: before the prompt).
    pub reaction_ms: Option<i64>,
    /// The judgement of `reaction_ms`.
    pub timing: Timing,
}

/// The reaction of every step of `plan`, in plan order, from the session's frames.
///
/// Judged for every plan; [`analyse`](crate::analyse) turns an early or late start into
/// [`ReasonCode::ReactionTiming`] only for a production plan (a fixed, test-mode plan is laid
/// over a recording, whose actions do not react to any prompt).
pub fn reactions(plan: &ChallengePlan, frames: &[FrameObservation], th: &Thresholds) -> Vec<Reaction> {
    let faces = face_frames(frames);
    let first_start = plan.actions.first().map_or(plan.neutral_ms, |s| s.start_ms);
    let Some(first_rest) = resting(plan, &faces, th, first_start) else {
        return plan
            .actions
            .iter()
            .map(|s| Reaction { action: s.action, prompt_ms: s.start_ms, onset_ms: None, reaction_ms: None, timing: Timing::NotPerformed })
            .collect();
    };
    plan.actions
        .iter()
        .map(|step| {
            let rest = resting(plan, &faces, th, step.start_ms).unwrap_or_else(|| first_rest.clone());
            let (from, to) = (step.start_ms.saturating_sub(th.window_grace_ms), step.end_ms.saturating_add(th.window_grace_ms));
            let allowed = step.start_ms.saturating_sub(th.reaction_early_tolerance_ms);
            // The first performance from the earliest allowed start: a spontaneous blink or a
            // word spoken just before the prompt must not hide the real, later reaction. Only
            // when there is none is an earlier one (in the grace margin) the step's action.
            let detected = detect(step.action, &faces, allowed.max(from), to, &rest, th)
                .or_else(|| detect(step.action, &faces, from, to, &rest, th));
            let onset_ms = detected.and_then(|at| {
                let g = gauge(step.action, &faces, from, to, &rest, th)?;
                Some(movement_start(&faces, at, |f| g.departure(f.face).map(|d| d >= th.reaction_start_fraction * g.needed)))
            });
            let reaction_ms = onset_ms.map(|t| t as i64 - step.start_ms as i64);
            let timing = match reaction_ms {
                None => Timing::NotPerformed,
                Some(r) if r < -(th.reaction_early_tolerance_ms as i64) => Timing::Early,
                Some(r) if r > th.reaction_late_ms as i64 => Timing::Late,
                Some(_) => Timing::InTime,
            };
            Reaction { action: step.action, prompt_ms: step.start_ms, onset_ms, reaction_ms, timing }
        })
        .collect()
}

/// The first frame of the unbroken run of `moving` frames that ends at the frame at
/// `detected_ms`; frames without the measure (`None`) neither extend nor break the run.
fn movement_start(faces: &[FaceFrame<'_>], detected_ms: u64, moving: impl Fn(&FaceFrame<'_>) -> Option<bool>) -> u64 {
    let mut start = detected_ms;
    for f in faces.iter().rev().filter(|f| f.t_ms < detected_ms) {
        match moving(f) {
            Some(true) => start = f.t_ms,
            Some(false) => break,
            None => {}
        }
    }
    start
}

/// The reasons reaction timing gives a verdict: [`ReasonCode::ReactionTiming`] when a
/// production plan's action started early or late.
pub(crate) fn check_reactions(plan: &ChallengePlan, frames: &[FrameObservation], th: &Thresholds) -> Vec<ReasonCode> {
    if plan.fixed {
        return Vec::new();
    }
    let off = reactions(plan, frames, th).iter().any(|r| matches!(r.timing, Timing::Early | Timing::Late));
    if off { vec![ReasonCode::ReactionTiming] } else { Vec::new() }
}

#[cfg(test)]
#[path = "onset_tests.rs"]
mod tests;
