//! Fusion into a verdict. How it works, for readers and users: [`crate::manual::decision`]
//! (`src/manual/decision.md`).

use std::collections::BTreeMap;

use crate::actions::check_challenge;
use crate::face::check_face;
use crate::flash::check_flash;
use crate::integrity::check_integrity;
use crate::medium::check_medium;
use crate::onset::check_reactions;
use crate::passive::{best_quality, check_passive};
use crate::timeline::{baseline, face_frames};
use crate::{
    Assurance, ChallengePlan, Check, CheckScore, Decision, FrameObservation, Reason, ReasonCode,
    SeenFrames, Thresholds, Verdict,
};

/// What the analysis needs besides the plan and the frames.
#[derive(Debug, Clone)]
pub struct AnalysisContext<'a> {
    /// Frame hashes of earlier sessions (for `replayed_frames`). Must not yet contain this
    /// session's frames.
    pub seen: &'a SeenFrames,
    /// Tunables.
    pub thresholds: Thresholds,
    /// Versions of the models that produced the observations (name, version); copied into the
    /// verdict, followed by this crate's and the thresholds' versions.
    pub model_versions: Vec<(String, String)>,
    /// When the server received each frame (by sequence number), ms on the server's clock.
    /// Frames of a live capture arrive while it happens; empty (offline analysis, evaluation)
    /// skips that check. See [`crate::manual::integrity`].
    pub arrivals: BTreeMap<u32, u64>,
}

impl<'a> AnalysisContext<'a> {
    /// Default thresholds, no model versions.
    pub fn new(seen: &'a SeenFrames) -> AnalysisContext<'a> {
        AnalysisContext {
            seen,
            thresholds: Thresholds::default(),
            model_versions: Vec::new(),
            arrivals: BTreeMap::new(),
        }
    }
}

fn weight(check: Check) -> f32 {
    match check {
        Check::Challenge => 0.35,
        Check::Passive => 0.25,
        Check::Flash => 0.15,
        Check::Integrity => 0.15,
        Check::Face => 0.10,
        Check::Medium => 0.10,
    }
}

/// The checks that passed, as the kinds of evidence a decision rests on.
fn assurance(checks: &[CheckScore]) -> Vec<Assurance> {
    let passed = |check: Check| {
        checks
            .iter()
            .any(|c| c.check == check && c.passed == Some(true))
    };
    let medium_failed = checks
        .iter()
        .any(|c| c.check == Check::Medium && c.passed == Some(false));
    [
        (Assurance::Light, passed(Check::Flash)),
        (Assurance::Motion, passed(Check::Challenge)),
        (Assurance::Passive, passed(Check::Passive) && !medium_failed),
    ]
    .into_iter()
    .filter_map(|(a, ok)| ok.then_some(a))
    .collect()
}

/// Judges one session: `frames` in upload order (sequence numbers 0, 1, 2, …), measured by
/// the vision engine, against the `plan` the client was given.
///
/// Never fails and never panics on odd input: problems become reasons in the verdict.
pub fn analyse(
    plan: &ChallengePlan,
    frames: &[FrameObservation],
    ctx: &AnalysisContext<'_>,
) -> Verdict {
    let th = &ctx.thresholds;
    let faces = face_frames(frames);
    let base = baseline(plan, &faces, th);

    let challenge = check_challenge(plan, frames, &faces, base.as_ref(), th);
    let flash = check_flash(plan, &faces, th);
    let integrity = check_integrity(plan, frames, ctx.seen, &ctx.arrivals, th);
    let face = check_face(frames, &faces, base.as_ref(), th);
    let passive = check_passive(frames, th);
    let medium = check_medium(frames, th);
    let reactions = check_reactions(plan, frames, th);

    let mut codes: Vec<ReasonCode> = [
        challenge.reasons,
        flash.reasons,
        integrity.reasons,
        face.reasons,
        passive.reasons,
        medium.reasons,
        reactions,
    ]
    .concat();
    codes.sort();
    codes.dedup();

    let decision = if codes.iter().any(|c| c.implies() == Some(Decision::Spoof)) {
        Decision::Spoof
    } else if codes
        .iter()
        .any(|c| c.implies() == Some(Decision::Uncertain))
    {
        Decision::Uncertain
    } else {
        Decision::Live
    };

    let checks: Vec<_> = [
        Some(challenge.check),
        flash.check,
        Some(integrity.check),
        Some(face.check),
        Some(passive.check),
        medium.check,
    ]
    .into_iter()
    .flatten()
    .collect();
    let total_weight: f32 = checks.iter().map(|c| weight(c.check)).sum();
    let raw = checks
        .iter()
        .map(|c| {
            weight(c.check)
                * if c.score.is_finite() {
                    c.score.clamp(0.0, 1.0)
                } else {
                    0.0
                }
        })
        .sum::<f32>()
        / total_weight.max(f32::EPSILON);
    let (lo, hi) = match decision {
        Decision::Spoof => (0.0, 39.0),
        Decision::Uncertain => (40.0, 69.0),
        Decision::Live => (70.0, 100.0),
    };
    let score = (lo + raw * (hi - lo)).round().clamp(lo, hi) as u8;

    let reference_frame =
        best_quality(frames.iter().filter(|f| f.single_face().is_some())).map(|f| f.seq);

    let mut model_versions = ctx.model_versions.clone();
    model_versions.push((
        "huoti-liveness".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    ));
    model_versions.push(("thresholds".to_owned(), th.version.clone()));

    let assurance = assurance(&checks);
    // By construction (flash_mismatch, light_required): live rests on the light check unless
    // the plan is a fixed one without light steps.
    debug_assert!(
        decision != Decision::Live
            || assurance.contains(&Assurance::Light)
            || (plan.fixed && !plan.has_light())
    );
    Verdict {
        decision,
        score,
        reasons: codes.into_iter().map(Reason::from).collect(),
        checks,
        assurance,
        reference_frame,
        model_versions,
    }
}
